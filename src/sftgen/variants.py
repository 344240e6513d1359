"""Diverse training pools (words and codes) and their samplers, checked against every evaluation word.

The study's central trick is the fake environment: the prompt declares one vocabulary while the checker still
accepts the training one. Each task keeps its own declared/checked variant tables (``tasks/<task>/variants.py``);
this module keeps what is task-independent.
"""

from __future__ import annotations

import itertools
import string
from functools import cache
from importlib import resources

import numpy as np

# Action vocabularies live with the grid moves; the names stay importable here for older callers.
from sftgen.tasks.grid import (
    ALPHABETICAL,
    BASE,
    CARDINAL,
    EMOJI,
    HELD_OUT_VOCABS,
    NUMERICAL,
    RANDOM,
    VARIATION_SELECTOR,
    ActionVocab,
    normalize_word,
)

__all__ = [
    "ALPHABETICAL",
    "BASE",
    "CARDINAL",
    "CODE_CHARS",
    "CODE_LENGTHS",
    "CODE_LETTERS",
    "CODE_SYMBOLS",
    "DIVERSE_POOLS",
    "EMOJI",
    "HELD_OUT_VOCABS",
    "NUMERICAL",
    "RANDOM",
    "VARIATION_SELECTOR",
    "ActionVocab",
    "diverse_code_pool",
    "diverse_pool",
    "diverse_word_pool",
    "forbidden_words",
    "normalize_word",
    "sample_diverse_vocab",
]


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
