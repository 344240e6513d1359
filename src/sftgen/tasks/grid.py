"""The four grid moves and the action-word vocabularies, shared by every grid task (Sokoban, keys) and the base
curriculum's look-up drills.

Why a module of its own: a move set is not any one task's, and a task importing another task's internals would
couple them (keys once took these from ``tasks/sokoban/board.py`` and ``variants.py``).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

ACTIONS: tuple[str, ...] = ("up", "down", "left", "right")
"""Canonical action ids, in the study's order (Up, Down, Left, Right)."""

DELTAS: dict[str, tuple[int, int]] = {"up": (-1, 0), "down": (1, 0), "left": (0, -1), "right": (0, 1)}
"""(row, column) change of each move."""

VARIATION_SELECTOR = "\ufe0f"


def normalize_word(text: str) -> str:
    """Case-insensitive, whitespace- and emoji-variation-insensitive form of an answer word."""
    text = unicodedata.normalize("NFC", text.strip()).replace(VARIATION_SELECTOR, "")
    return text.casefold()


@dataclass(frozen=True)
class ActionVocab:
    """Four action words in the study's order (Up, Down, Left, Right).

    ``explained`` adds the "where 1 is Up, ..." line: the study explains numerical, alphabetical,
    random and diverse words, but not Cardinal or Emoji words, whose meaning is self-evident.
    """

    name: str
    words: tuple[str, str, str, str]
    explained: bool

    def __post_init__(self) -> None:
        if len({normalize_word(w) for w in self.words}) != 4:
            raise ValueError(f"vocabulary {self.name!r} needs four distinct words, got {self.words}")

    def word_for(self, action: str) -> str:
        return self.words[ACTIONS.index(action)]

    def action_for(self, word: str) -> str | None:
        """The action a word means under this vocabulary, or None (case-insensitive exact match)."""
        wanted = normalize_word(word)
        for action, candidate in zip(ACTIONS, self.words, strict=True):
            if normalize_word(candidate) == wanted:
                return action
        return None


BASE = ActionVocab("base", ("Up", "Down", "Left", "Right"), explained=False)
CARDINAL = ActionVocab("cardinal", ("North", "South", "West", "East"), explained=False)
EMOJI = ActionVocab("emoji", ("⬆️", "⬇️", "⬅️", "➡️"), explained=False)
NUMERICAL = ActionVocab("numerical", ("1", "2", "3", "4"), explained=True)
ALPHABETICAL = ActionVocab("alphabetical", ("A", "B", "C", "D"), explained=True)
RANDOM = ActionVocab("random", ("*", "&", "1", "M"), explained=True)
HELD_OUT_VOCABS = (CARDINAL, EMOJI, NUMERICAL, ALPHABETICAL, RANDOM)


def vocab_for(words: Sequence[str]) -> ActionVocab:
    """The vocabulary that ``words`` (in the study's order) stand for: a named one when they are its words, else
    an explained one. Why: check data carries only the words, and a prompt rebuilt from them must explain them
    exactly as the prompt the words came from did (the base, cardinal and emoji words are never explained)."""
    known = next((v for v in (BASE, *HELD_OUT_VOCABS) if v.words == tuple(words)), None)
    return known or ActionVocab("declared", tuple(words), explained=True)  # type: ignore[arg-type]
