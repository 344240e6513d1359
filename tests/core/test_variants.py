"""Variants: declared versus checked vocabularies, the diverse word pool and face-map sampler, word matching."""

from __future__ import annotations

import re

import numpy as np
import pytest

from sftgen.prompts import RESPONSE_FORMATS, TEMPLATES, PromptStyle, paraphrase_count
from sftgen.seeding import derive_seed, rng_for
from sftgen.tasks.points import FaceMap, Hand
from sftgen.tasks.points.prompts import points_messages
from sftgen.tasks.points.variants import (
    HELD_OUT_FACE_MAPS,
    POINTS_DIFFICULTIES,
    POINTS_VARIANTS,
    sample_diverse_face_map,
)
from sftgen.tasks.sokoban import ACTIONS, Board
from sftgen.tasks.sokoban.prompts import sokoban_messages
from sftgen.tasks.sokoban.variants import SOKOBAN_VARIANTS
from sftgen.variants import (
    BASE,
    CARDINAL,
    EMOJI,
    HELD_OUT_VOCABS,
    NUMERICAL,
    ActionVocab,
    diverse_word_pool,
    normalize_word,
    sample_diverse_vocab,
)

# ---------------------------------------------------------------------------------------------- declared vs checked


def test_sokoban_variants_table() -> None:
    expected = {
        "base": ("base", "base"),
        "cardinal": ("cardinal", "cardinal"),
        "emoji": ("emoji", "emoji"),
        "empty": (None, "base"),
        "numerical": ("numerical", "numerical"),
        "alphabetical": ("alphabetical", "alphabetical"),
        "random": ("random", "random"),
        "fake_numerical": ("numerical", "base"),
        "fake_cardinal": ("cardinal", "base"),
        "fake_emoji": ("emoji", "base"),
    }
    got = {name: (v.declared.name if v.declared else None, v.checked.name) for name, v in SOKOBAN_VARIANTS.items()}
    assert got == expected


def test_fake_variants_declare_something_else_than_they_check() -> None:
    fakes = {name for name, v in SOKOBAN_VARIANTS.items() if v.is_fake}
    assert fakes == {"fake_numerical", "fake_cardinal", "fake_emoji"}
    for name in fakes:
        v = SOKOBAN_VARIANTS[name]
        assert v.declared != v.checked and v.checked == BASE
    assert not SOKOBAN_VARIANTS["empty"].is_fake  # declares nothing, checks the base words
    points_fakes = {name for name, v in POINTS_VARIANTS.items() if v.is_fake}
    assert points_fakes == {"fake", "fake_all_5"}
    assert POINTS_VARIANTS["fake"].declared == FaceMap(11, 12, 13)
    assert POINTS_VARIANTS["fake"].scored == FaceMap.uniform(10)
    assert POINTS_VARIANTS["fake_all_5"].declared == FaceMap.uniform(5)
    assert POINTS_VARIANTS["fake_all_5"].scored == FaceMap.uniform(10)
    for name in ("all_10", "all_5", "all_7", "all_12", "regular"):
        assert POINTS_VARIANTS[name].declared == POINTS_VARIANTS[name].scored
    assert POINTS_VARIANTS["regular"].declared == FaceMap(11, 12, 13)


def test_points_difficulties() -> None:
    d = POINTS_DIFFICULTIES
    assert (d["four"].num_cards, d["four"].require_face, d["four"].large) == (4, True, False)
    assert (d["five"].num_cards, d["six"].num_cards) == (5, 6)
    assert d["large"].large and d["large"].num_cards == 4


def test_vocab_word_lookup() -> None:
    assert [NUMERICAL.word_for(a) for a in ACTIONS] == ["1", "2", "3", "4"]
    assert CARDINAL.action_for("west") == "left"
    assert CARDINAL.action_for("Left") is None
    assert BASE.action_for(" RIGHT ") == "right"
    assert EMOJI.action_for("⬇") == "down"  # without the variation selector
    assert EMOJI.action_for("⬇️") == "down"
    with pytest.raises(ValueError, match="four distinct"):
        ActionVocab("dup", ("a", "b", "A", "c"), explained=True)


# ---------------------------------------------------------------------------------------------- normalize_word


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Up", "up"),
        ("  UP\n", "up"),
        ("\tNorth \t", "north"),
        ("⬆️", "⬆"),
        ("⬆", "⬆"),
        (" ⬅️ ", "⬅"),
        ("Cafe\u0301", "café"),  # decomposed accent -> NFC
        ("M", "m"),
    ],
)
def test_normalize_word(raw: str, expected: str) -> None:
    assert normalize_word(raw) == expected


def test_normalize_word_keeps_inner_differences() -> None:
    assert normalize_word("up down") == "up down"
    assert normalize_word("u p") != normalize_word("up")


# ---------------------------------------------------------------------------------------------- word pool

HELD_OUT_WORDS = {
    *("up", "down", "left", "right", "north", "south", "west", "east"),
    *(str(d) for d in range(10)),
    *"abcdefghijklmnopqrstuvwxyz",
    "*",
    "&",
    "m",
    "⬆",
    "⬇",
    "⬅",
    "➡",
}
TEMPLATE_WORDS = {"box", "boxes", "wall", "walls", "target", "targets", "floor", "player", "push", "pull", "move"}


def test_word_pool_size_and_shape() -> None:
    pool = diverse_word_pool()
    assert len(pool) >= 200
    assert len(set(pool)) == len(pool)
    assert len({normalize_word(w) for w in pool}) == len(pool)
    assert all(re.fullmatch(r"[a-z]{2,}", w) for w in pool), [w for w in pool if not re.fullmatch(r"[a-z]{2,}", w)]


def test_word_pool_has_no_held_out_or_template_word() -> None:
    pool = {normalize_word(w) for w in diverse_word_pool()}
    assert not pool & HELD_OUT_WORDS
    for vocab in (BASE, *HELD_OUT_VOCABS):
        assert not pool & {normalize_word(w) for w in vocab.words}, vocab.name
    assert not pool & TEMPLATE_WORDS


def test_word_pool_has_no_word_of_any_prompt_template() -> None:
    """A declared word must not also appear in the surrounding instructions (e.g. 'Key:', 'puzzle')."""
    board = Board.from_rows(["#####", "#PXO#", "#####"])
    texts = []
    for template in TEMPLATES:
        for response_format in RESPONSE_FORMATS:
            for p in range(paraphrase_count("sokoban") if template == "study" else 1):
                style = PromptStyle(template, p, response_format)
                texts.append(sokoban_messages(board, None, style)[0]["content"])
                texts.append(sokoban_messages(board, BASE, style)[0]["content"])
            for p in range(paraphrase_count("points") if template == "study" else 1):
                style = PromptStyle(template, p, response_format)
                texts.append(points_messages(Hand((1, 11, 12, 13)), FaceMap(11, 12, 13), style)[0]["content"])
    words = set(re.findall(r"[a-z]+", "\n".join(texts).lower()))
    assert not {normalize_word(w) for w in diverse_word_pool()} & words


# ---------------------------------------------------------------------------------------------- diverse sampling


def test_sample_diverse_vocab() -> None:
    pool = set(diverse_word_pool())
    seen = set()
    for i in range(200):
        vocab = sample_diverse_vocab(rng_for("test", i))
        assert len(set(vocab.words)) == 4
        assert set(vocab.words) <= pool
        assert vocab.explained
        assert sample_diverse_vocab(rng_for("test", i)) == vocab  # deterministic per rng state
        seen.add(vocab.words)
    assert len(seen) > 190  # and not stuck on a few mappings


def test_sample_diverse_vocab_depends_only_on_the_rng() -> None:
    a = sample_diverse_vocab(np.random.default_rng(derive_seed("golden")))
    b = sample_diverse_vocab(np.random.default_rng(derive_seed("golden")))
    c = sample_diverse_vocab(np.random.default_rng(derive_seed("golden", 1)))
    assert a.words == b.words
    assert a.words != c.words


def test_held_out_face_maps() -> None:
    assert {m.name for m in HELD_OUT_FACE_MAPS} == {"all_5", "all_7", "all_12", "11-12-13"}


def test_sample_diverse_face_map_never_held_out() -> None:
    rng = np.random.default_rng(1234)
    maps = [sample_diverse_face_map(rng) for _ in range(20_000)]
    assert not set(maps) & HELD_OUT_FACE_MAPS
    assert all(1 <= v <= 10 for m in maps for v in (m.jack, m.queen, m.king))
    assert len(set(maps)) > 900  # covers nearly all of the 998 allowed maps
    uniform = {m.jack for m in maps if m.is_uniform}
    assert 5 not in uniform and 7 not in uniform
    assert {1, 2, 3, 10} <= uniform
    # deterministic per rng state
    assert [sample_diverse_face_map(np.random.default_rng(7)) for _ in range(3)] == [
        sample_diverse_face_map(np.random.default_rng(7))
    ] * 3
