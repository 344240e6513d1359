"""Instruction and difficulty variants: what the prompt *declares* versus what the checker *accepts*.

The study's central trick is the fake environment: the prompt declares one vocabulary while the
checker still accepts the training one. Keeping the declared and the checked side as two separate
fields makes that (and every honest variant, where they are equal) a plain data choice.
"""

from __future__ import annotations

import itertools
import string
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

from sftgen.tasks.grid import ACTIONS
from sftgen.tasks.points import FaceMap
from sftgen.tasks.sokoban import DIFFICULTIES, SokobanDifficulty

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


@dataclass(frozen=True)
class PointsVariant:
    """A face-card variant: the prompt declares ``declared``; answers are scored with ``scored``."""

    name: str
    declared: FaceMap
    scored: FaceMap

    @property
    def is_fake(self) -> bool:
        return self.declared != self.scored


def _points(name: str, declared: str, scored: str | None = None) -> PointsVariant:
    return PointsVariant(name, FaceMap.parse(declared), FaceMap.parse(scored or declared))


POINTS_VARIANTS: dict[str, PointsVariant] = {
    v.name: v
    for v in (
        _points("all_10", "all_10"),
        _points("all_5", "all_5"),
        _points("all_7", "all_7"),
        _points("all_12", "all_12"),
        _points("regular", "11-12-13"),
        _points("fake", "11-12-13", "all_10"),
        _points("fake_all_5", "all_5", "all_10"),
    )
}
# Face-card maps the diverse sampler must never produce whole: the held-out instruction variants.
HELD_OUT_FACE_MAPS = frozenset(v.declared for v in POINTS_VARIANTS.values() if v.name != "all_10")


@dataclass(frozen=True)
class PointsDifficulty:
    """Hand shape: number of cards, whether one card is forced into 14..19 or to be J/Q/K (docs/study.md)."""

    name: str
    num_cards: int
    large: bool = False
    require_face: bool = True


POINTS_DIFFICULTIES: dict[str, PointsDifficulty] = {
    d.name: d
    for d in (
        PointsDifficulty("four", 4),
        PointsDifficulty("five", 5, require_face=False),
        PointsDifficulty("six", 6, require_face=False),
        PointsDifficulty("large", 4, large=True, require_face=False),
    )
}


def sokoban_difficulty(name: str) -> SokobanDifficulty:
    return DIFFICULTIES[name]


@cache
def diverse_word_pool() -> tuple[str, ...]:
    """The ≥200-word pool for diverse mappings, checked to exclude every held-out evaluation word."""
    text = resources.files("sftgen.resources").joinpath("word_pool.txt").read_text(encoding="utf-8")
    words = tuple(w.strip() for w in text.splitlines() if w.strip() and not w.startswith("#"))
    forbidden = {normalize_word(w) for w in forbidden_words()}
    bad = [w for w in words if normalize_word(w) in forbidden or len(w) < 2 or not w.isalpha()]
    if bad or len(set(words)) != len(words) or len(words) < 200:
        raise RuntimeError(f"word pool is malformed: forbidden or short words {bad}, size {len(words)}")
    return words


# Characters a code is spelled from: letters and digits, and symbols that mean nothing else in a prompt (not a board
# cell, a field separator, a tag bracket or a quote). Board letters O, X, P, S are left out in both cases.
CODE_LETTERS = "".join(c for c in string.ascii_letters if c.upper() not in "OXPS")
CODE_SYMBOLS = "!$%&*+?@^~"
CODE_CHARS = CODE_LETTERS + string.digits + CODE_SYMBOLS
DIVERSE_POOLS = ("words", "codes", "codes3")
CODE_LENGTHS = {"codes": 2, "codes3": 3}  # the longest code of each code pool


def forbidden_words() -> tuple[str, ...]:
    """Every evaluation action word: no diverse pool may contain one."""
    return tuple(w for v in (BASE, *HELD_OUT_VOCABS) for w in v.words)


def _kind(char: str) -> str:
    return "letter" if char.isalpha() else "digit" if char.isdigit() else "symbol"


@cache
def diverse_code_pool(longest: int = 2) -> tuple[str, ...]:
    """Codes of 1 to ``longest`` characters (``7``, ``k&``, ``Q2b``) for the code pools; never an evaluation word.

    Why: a from-scratch model answers only with tokens its SFT trained as answers, so a pool of whole-word
    tokens teaches it to copy *those* tokens and the evaluation words (``1``, ``A``, ``*``), never an SFT
    answer, are lost. A code is spelled one character per token (no two letters or two digits side by side,
    so the tokenizer never joins them), and codes use every character of the evaluation words, so the copy
    trained on codes is a copy of the very pieces the evaluation words are made of. A third of the codes
    are one character long, as every numerical, alphabetical and random evaluation word is. Longer codes make the
    copy harder for a tiny model: each further character is one more look-up step (``codes`` stops at 2).
    """
    rng = np.random.default_rng(20261204)
    forbidden = {normalize_word(w) for w in forbidden_words()}
    letters = sorted({c.lower() for c in CODE_LETTERS})
    cased = [c.upper() if i % 2 else c for i, c in enumerate(letters)]  # one case per letter: answers ignore case
    singles = [c for c in (*cased, *string.digits, *CODE_SYMBOLS) if normalize_word(c) not in forbidden]
    seen = {normalize_word(c) for c in singles}
    codes: list[str] = list(singles)
    # every character of a one-character evaluation word is an answer piece, first and last, in a few codes
    pieces = sorted({w for w in forbidden_words() if len(w) == 1})
    required = [(piece, first) for piece in pieces for first in (True, False)] * 2
    while len(codes) < 3 * len(singles):
        chars = [CODE_CHARS[int(i)] for i in rng.integers(0, len(CODE_CHARS), size=int(rng.integers(2, longest + 1)))]
        if required:
            piece, first = required[0]
            chars[0 if first else -1] = piece
        code = "".join(chars)
        adjacent = any(_kind(a) == _kind(b) != "symbol" for a, b in itertools.pairwise(chars))
        if adjacent or normalize_word(code) in seen:
            continue
        seen.add(normalize_word(code))
        codes.append(code)
        required = required[1:]
    return tuple(codes)


def diverse_pool(name: str = "words") -> tuple[str, ...]:
    """The named pool of diverse action words: ``words`` (the study's kind), ``codes`` or ``codes3``."""
    if name not in DIVERSE_POOLS:
        raise ValueError(f"unknown diverse pool {name!r}; choose from {DIVERSE_POOLS}")
    return diverse_word_pool() if name == "words" else diverse_code_pool(CODE_LENGTHS[name])


def sample_diverse_vocab(rng: np.random.Generator, pool_name: str = "words") -> ActionVocab:
    """Four distinct pool words mapped to Up, Down, Left, Right (training only)."""
    pool = diverse_pool(pool_name)
    picks = rng.choice(len(pool), size=4, replace=False)
    return ActionVocab("diverse", tuple(pool[int(i)] for i in picks), explained=True)  # type: ignore[arg-type]


def sample_diverse_face_map(rng: np.random.Generator) -> FaceMap:
    """A random J/Q/K map with values in 1..10 that is never a held-out evaluation map."""
    while True:
        jack, queen, king = (int(v) for v in rng.integers(1, 11, size=3))
        face_map = FaceMap(jack, queen, king)
        if face_map not in HELD_OUT_FACE_MAPS:
            return face_map
