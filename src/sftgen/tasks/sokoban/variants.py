"""Sokoban's instruction variants: the action words a prompt *declares* versus the words the env *checks*.

Keeping the two sides as separate fields makes the fake variants (they differ) and every honest one (they are
equal) a plain data choice.
"""

from __future__ import annotations

from dataclasses import dataclass

from sftgen.tasks.grid import ALPHABETICAL, BASE, CARDINAL, EMOJI, NUMERICAL, RANDOM, ActionVocab

from .generator import DIFFICULTIES, SokobanDifficulty


@dataclass(frozen=True)
class SokobanVariant:
    """An instruction variant: ``declared`` is what the prompt shows (None: no action section)."""

    name: str
    declared: ActionVocab | None
    checked: ActionVocab

    @property
    def is_fake(self) -> bool:
        return self.declared is not None and self.declared != self.checked


SOKOBAN_VARIANTS: dict[str, SokobanVariant] = {
    v.name: v
    for v in (
        SokobanVariant("base", BASE, BASE),
        SokobanVariant("cardinal", CARDINAL, CARDINAL),
        SokobanVariant("emoji", EMOJI, EMOJI),
        SokobanVariant("empty", None, BASE),
        SokobanVariant("numerical", NUMERICAL, NUMERICAL),
        SokobanVariant("alphabetical", ALPHABETICAL, ALPHABETICAL),
        SokobanVariant("random", RANDOM, RANDOM),
        SokobanVariant("fake_numerical", NUMERICAL, BASE),
        SokobanVariant("fake_cardinal", CARDINAL, BASE),
        SokobanVariant("fake_emoji", EMOJI, BASE),
    )
}


def sokoban_difficulty(name: str) -> SokobanDifficulty:
    return DIFFICULTIES[name]
