"""The ``codes`` diverse pool: never an evaluation word, spelled one token per character, and made of the very
characters the evaluation words are, so copying them is trained on codes."""

from __future__ import annotations

import pytest

from sftgen.data.build import BuildConfig, iter_rows
from sftgen.seeding import rng_for
from sftgen.train.modeling import tiny_tokenizer
from sftgen.variants import (
    BASE,
    HELD_OUT_VOCABS,
    diverse_code_pool,
    diverse_pool,
    normalize_word,
    sample_diverse_vocab,
)

EVALUATION_WORDS = [w for v in (BASE, *HELD_OUT_VOCABS) for w in v.words]
BOARD_CELLS = set("#_OXPS√")


@pytest.mark.parametrize("name", ["codes", "codes3"])
def test_no_code_is_an_evaluation_word_or_a_board_cell(name: str) -> None:
    pool = diverse_pool(name)
    assert not {normalize_word(c) for c in pool} & {normalize_word(w) for w in EVALUATION_WORDS}
    assert not set("".join(pool)) & BOARD_CELLS
    assert len({normalize_word(c) for c in pool}) == len(pool)  # answers are matched case-insensitively


@pytest.mark.parametrize("name", ["codes", "codes3"])
def test_every_character_of_a_one_character_evaluation_word_is_a_piece_of_some_codes(name: str) -> None:
    multi = [c for c in diverse_pool(name) if len(c) > 1]
    for word in {w for w in EVALUATION_WORDS if len(w) == 1}:
        assert sum(c.startswith(word) for c in multi) >= 2, word
        assert sum(c.endswith(word) for c in multi) >= 2, word


@pytest.mark.parametrize(("name", "lengths"), [("codes", {1, 2}), ("codes3", {1, 2, 3})])
def test_a_third_of_the_codes_are_one_character_like_the_evaluation_words(name: str, lengths: set[int]) -> None:
    pool = diverse_pool(name)
    assert sum(len(c) == 1 for c in pool) * 3 == len(pool)
    assert {len(c) for c in pool} == lengths


def test_each_code_is_spelled_one_token_per_character() -> None:
    tokenizer = tiny_tokenizer()
    for code in diverse_code_pool(3) + diverse_code_pool(2):
        assert tokenizer.tokenize(f"left={code},") == ["left", "=", *code, ","], code


def test_pools_by_name() -> None:
    assert diverse_pool("codes") == diverse_code_pool()
    assert diverse_pool() == diverse_pool("words")
    with pytest.raises(ValueError, match="unknown diverse pool"):
        diverse_pool("emoji")
    words = {sample_diverse_vocab(rng_for("codes", i), "codes").words for i in range(50)}
    assert all(set(w) <= set(diverse_code_pool()) for w in words) and len(words) == 50


def test_diverse_rows_with_codes_are_deterministic_and_answer_in_the_declared_code() -> None:
    config = BuildConfig("diverse", "sokoban", 3, seed=1, template="compact", pool="codes")
    rows = list(iter_rows(config, frozenset()))
    assert rows == list(iter_rows(config, frozenset()))
    for row in rows:
        words = dict(zip(("up", "down", "left", "right"), row["words"], strict=True))
        assert set(row["words"]) <= set(diverse_code_pool())
        assert row["completion"][0]["content"] == f"<answer> {words[row['action']]} </answer>"
    with pytest.raises(ValueError, match="pool"):
        BuildConfig("diverse", "sokoban", 3, pool="emoji").validate()
