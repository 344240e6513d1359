"""Instruction variants of the keys task: action words and rules, each as *declared* versus *checked*.

Two kinds of shift, as the issue asks: action-word variants reuse Sokoban's vocabularies (numerical,
alphabetical, random symbols), and rule variants declare other rules in the prompt (keys open the next colour's
door, one key at a time) that change the optimal plan. A fake variant declares words or rules other than the ones
the checker applies; an honest one declares exactly what is checked.
"""

from __future__ import annotations

from dataclasses import dataclass

from sftgen.tasks.grid import ALPHABETICAL, BASE, NUMERICAL, RANDOM, ActionVocab

from .world import NEXT_COLOUR, ONE_KEY, STANDARD, Rules


@dataclass(frozen=True)
class KeysVariant:
    """What the prompt declares (words, rules) and what the verifier checks."""

    name: str
    declared_words: ActionVocab
    checked_words: ActionVocab
    declared_rules: Rules
    checked_rules: Rules
    description: str

    @property
    def fake(self) -> bool:
        return self.declared_words != self.checked_words or self.declared_rules != self.checked_rules

    @property
    def kind(self) -> str:
        """``rules`` when the rules differ from the training ones, ``action_words`` when the words do."""
        if self.declared_rules != STANDARD or self.checked_rules != STANDARD:
            return "rules"
        return "base" if self.declared_words == self.checked_words == BASE else "action_words"


def _honest(name: str, words: ActionVocab, rules: Rules, description: str) -> KeysVariant:
    return KeysVariant(name, words, words, rules, rules, description)


VARIANTS: dict[str, KeysVariant] = {
    v.name: v
    for v in (
        _honest("base", BASE, STANDARD, "Up/Down/Left/Right; a key opens its own colour; any number of keys"),
        _honest("numerical", NUMERICAL, STANDARD, "actions 1/2/3/4"),
        _honest("alphabetical", ALPHABETICAL, STANDARD, "actions A/B/C/D"),
        _honest("random", RANDOM, STANDARD, "actions * & 1 M"),
        _honest("next_colour", BASE, NEXT_COLOUR, "a key opens the door of the next colour"),
        _honest("one_key", BASE, ONE_KEY, "one key in hand at a time"),
        KeysVariant("fake_numerical", NUMERICAL, BASE, STANDARD, STANDARD, "declares 1/2/3/4, checks Up/Down/..."),
        KeysVariant(
            "fake_next_colour", BASE, BASE, NEXT_COLOUR, STANDARD, "declares next-colour keys, checks own colour"
        ),
    )
}
