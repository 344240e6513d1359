"""The base model's curriculum: seeded, correct answers, never an evaluation mapping, every word seen."""

from __future__ import annotations

import re

import pytest

from sftgen.agents import read_board, read_declared_words
from sftgen.base.curriculum import DELTAS, curriculum_rows, lookup_prompt
from sftgen.base.pretrain import BaseConfig, declared_word_list
from sftgen.tasks.sokoban import ACTIONS
from sftgen.variants import BASE, HELD_OUT_VOCABS, normalize_word
from sftgen.vocabulary import forced_tokens

ANSWER = re.compile(r"<answer> (.*?) </answer>")
WORDS = declared_word_list(12)


def rows(n: int, seed: int = 0, **kw) -> list[dict]:
    return list(curriculum_rows(n, seed, WORDS, forced_tokens(), **kw))


def text(row: dict, role: str) -> str:
    return row[role][0]["content"]


def test_same_seed_same_rows_other_seed_other_rows() -> None:
    assert rows(60, seed=3) == rows(60, seed=3)
    assert rows(60, seed=3) != rows(60, seed=4)


def test_lookup_answers_are_the_declared_words_for_every_query() -> None:
    counts = set()
    for row in rows(100, mix={"lookup": 1.0}, lookup_queries=4, vary_queries=True):
        prompt = text(row, "prompt")
        declared = read_declared_words(prompt).words
        asked = re.search(r"^query:(.*)$", prompt, re.MULTILINE).group(1).split(",")
        counts.add(len(asked))
        assert ANSWER.findall(text(row, "completion")) == [declared[ACTIONS.index(a)] for a in asked]
    assert counts == {1, 2, 3, 4}  # single questions too: the tasks answer once
    assert {text(row, "completion").count("<answer>") for row in rows(20, mix={"lookup": 1.0}, lookup_queries=4)} == {4}


def test_no_row_declares_an_evaluation_mapping() -> None:
    evaluation = {tuple(normalize_word(w) for w in v.words) for v in (BASE, *HELD_OUT_VOCABS)}
    for row in rows(400, mix={"lookup": 0.5, "navigate": 0.5}):
        declared = tuple(normalize_word(w) for w in read_declared_words(text(row, "prompt")).words)
        assert len(set(declared)) == 4 and declared not in evaluation


def test_navigate_answers_a_first_move_toward_the_goal() -> None:
    for row in rows(80, mix={"navigate": 1.0}):
        prompt = text(row, "prompt")
        declared = read_declared_words(prompt).words
        grid = [line for line in prompt.split("\n") if set(line) <= set("#_PO") and len(line) >= 3]
        (word,) = ANSWER.findall(text(row, "completion"))
        direction = ACTIONS[declared.index(word)]
        ((pr, pc),) = [(r, line.index("P")) for r, line in enumerate(grid) if "P" in line]
        dr, dc = DELTAS[direction]
        assert grid[pr + dr][pc + dc] != "#"
        with pytest.raises(ValueError):
            read_board(prompt)  # no box: not a Sokoban board, so no Sokoban agent could be fooled by it


def test_every_evaluation_word_is_read_as_an_input() -> None:
    prompts = " ".join(text(row, "prompt") for row in rows(3000))
    for vocab in HELD_OUT_VOCABS:
        for word in vocab.words:
            assert f"={word}," in prompts or f"={word}\n" in prompts, (vocab.name, word)


def test_the_probe_asks_in_the_same_layout_as_training() -> None:
    prompt = lookup_prompt(("1", "2", "3", "4"), ["left"])
    assert prompt == "lookup\nactions:up=1,down=2,left=3,right=4\nquery:left\nformat:answer"


def test_base_config_names_bad_sizes_and_skips_empty_stages() -> None:
    with pytest.raises(ValueError, match="lookup_rows"):
        BaseConfig(rows=0, lookup_rows=0).validate()
    with pytest.raises(ValueError, match="lookup_queries"):
        BaseConfig(lookup_queries=0).validate()
    assert [name for name, _, _ in BaseConfig(lookup_rows=0).stages()] == ["mix"]
    assert [name for name, _, _ in BaseConfig().stages()] == ["lookup", "mix"]
    assert BaseConfig(lookup_rows=10).fingerprint() != BaseConfig(lookup_rows=11).fingerprint()
