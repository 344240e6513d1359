"""The base model's curriculum: seeded, correct answers, never an evaluation mapping, every word seen."""

from __future__ import annotations

import functools
import re

import numpy as np
import pytest

from sftgen.base.curriculum import curriculum_rows, first_moves, lookup_prompt
from sftgen.base.pretrain import BaseConfig, declared_word_list
from sftgen.base.probe import lookup_probe, navigate_probe
from sftgen.models.sampling import Sampling
from sftgen.prompts import read_declared_words
from sftgen.tasks.sokoban import ACTIONS
from sftgen.tasks.sokoban.prompts import read_board
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


@pytest.mark.parametrize("kind", ["lookup", "lookup-far"])
def test_lookup_answers_are_the_declared_words_for_every_query(kind: str) -> None:
    for queries in (1, 4):
        for row in rows(100, mix={kind: 1.0}, lookup_queries=queries):
            prompt = text(row, "prompt")
            lines = prompt.split("\n")
            between = lines[lines.index(next(x for x in lines if x.startswith("actions:"))) + 1 : -2]
            if kind == "lookup":
                assert between == []
            else:  # a walled grid with a player and a goal between the map and the query
                assert between[0] == "board:" and 4 <= len(between) - 1 <= 9
                assert all(set(row) <= set("#_PO") and row[0] == row[-1] == "#" for row in between[1:])
                assert sum(row.count("P") for row in between[1:]) == sum(row.count("O") for row in between[1:]) == 1
            declared = read_declared_words(prompt).words
            asked = re.search(r"^query:(.*)$", prompt, re.MULTILINE).group(1).split(",")
            assert len(asked) == queries
            assert ANSWER.findall(text(row, "completion")) == [declared[ACTIONS.index(a)] for a in asked]


def test_no_row_declares_an_evaluation_mapping() -> None:
    evaluation = {tuple(normalize_word(w) for w in v.words) for v in (BASE, *HELD_OUT_VOCABS)}
    for row in rows(400, mix={"lookup": 0.5, "navigate": 0.5}):
        declared = tuple(normalize_word(w) for w in read_declared_words(text(row, "prompt")).words)
        assert len(set(declared)) == 4 and declared not in evaluation


def test_navigate_answers_an_optimal_first_move() -> None:
    for row in rows(80, mix={"navigate": 1.0}):
        prompt = text(row, "prompt")
        declared = read_declared_words(prompt).words
        grid = [list(line) for line in prompt.split("\n") if set(line) <= set("#_PO") and len(line) >= 3]
        cells = {ch: (r, c) for r, line in enumerate(grid) for c, ch in enumerate(line) if ch in "PO"}
        (word,) = ANSWER.findall(text(row, "completion"))
        assert ACTIONS[declared.index(word)] in first_moves(grid, cells["P"], cells["O"])
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
    far = lookup_prompt(("1", "2", "3", "4"), ["left"], ["board:", "####", "#PO#", "####"])
    assert far == "lookup\nactions:up=1,down=2,left=3,right=4\nboard:\n####\n#PO#\n####\nquery:left\nformat:answer"


def test_base_config_names_bad_sizes_and_skips_empty_stages() -> None:
    with pytest.raises(ValueError, match="lookup_rows"):
        BaseConfig(rows=0, lookup_rows=0, skill_rows=0, compose_rows=0).validate()
    with pytest.raises(ValueError, match="lookup_queries"):
        BaseConfig(lookup_queries=0).validate()
    assert [stage.name for stage in BaseConfig(lookup_rows=0, compose_rows=0).stages()] == ["mix", "skills"]
    lookup, mix, skills, compose = BaseConfig().stages()
    assert (lookup.queries, lookup.stop_loss, mix.queries, mix.stop_loss) == (4, 0.05, 1, None)  # tasks ask once
    assert (skills.lr, skills.scheduler, skills.mix["skills"]) == (2e-3, "cosine", 0.85)
    assert (compose.rows, compose.lr, compose.scheduler, compose.mix["compose"]) == (48_000, 1e-3, "cosine", 0.45)
    with pytest.raises(ValueError, match="compose_lr"):
        BaseConfig(compose_lr=0).validate()
    with pytest.raises(ValueError, match="compose_mix"):
        BaseConfig(compose_mix={"composition": 1.0}).validate()
    with pytest.raises(ValueError, match="skill_tasks"):
        BaseConfig(skill_tasks=("chess",)).validate()
    with pytest.raises(ValueError, match="presume no skill"):
        BaseConfig(skill_tasks=("sokoban",)).validate()
    with pytest.raises(ValueError, match="skill_lr"):
        BaseConfig(skill_lr=0).validate()
    with pytest.raises(ValueError, match="mix_lr"):
        BaseConfig(mix_lr=0).validate()
    assert BaseConfig(lookup_rows=10).fingerprint() != BaseConfig(lookup_rows=11).fingerprint()


def test_the_navigation_stage_is_optional_and_keeps_cached_names() -> None:
    assert [stage.name for stage in BaseConfig().stages()] == ["lookup", "mix", "skills", "compose"]
    navigate = BaseConfig(navigate_rows=100).stages()[-3]
    assert (navigate.name, navigate.rows, navigate.queries, navigate.lr) == ("navigate", 100, 1, BaseConfig().mix_lr)
    assert navigate.mix == {"navigate": 0.7, "lookup": 0.3}
    # Settings added later enter the name only when changed, so a default base keeps its name across releases
    # (it changes with the curriculum version: v6 added the skills stage, v7 the compose stage).
    assert BaseConfig().fingerprint() == "5a962a2729d7fa01"
    assert BaseConfig(pool="codes").fingerprint() != BaseConfig().fingerprint()
    assert BaseConfig(navigate_rows=100).fingerprint() != BaseConfig().fingerprint()
    assert (
        BaseConfig(navigate_rows=100).fingerprint()
        != BaseConfig(navigate_rows=100, navigate_mix={"navigate": 1}).fingerprint()
    )
    for bad in ({"navigate": 1.0, "sokoban": 1.0}, {}, {"navigate": 0.0}):
        with pytest.raises(ValueError, match="navigate_mix"):
            BaseConfig(navigate_rows=10, navigate_mix=bad).validate()
    with pytest.raises(ValueError, match="navigate_rows"):
        BaseConfig(navigate_rows=-1).validate()


class Oracle:
    """A backend that answers every probe question correctly, or with a fixed text."""

    def __init__(self, fixed: str | None = None) -> None:
        self.fixed = fixed

    def generate(self, chats: list[list[dict]], sampling: Sampling) -> list[str]:
        return [self.fixed if self.fixed is not None else self._answer(chat[-1]["content"]) for chat in chats]

    @staticmethod
    def _answer(prompt: str) -> str:
        declared = read_declared_words(prompt).words
        query = re.search(r"^query:(.*)$", prompt, re.MULTILINE)
        if query:
            return " ".join(f"<answer> {declared[ACTIONS.index(a)]} </answer>" for a in query.group(1).split(","))
        grid = [list(line) for line in prompt.split("\n") if set(line) <= set("#_PO") and len(line) >= 3]
        cells = {ch: (r, c) for r, row in enumerate(grid) for c, ch in enumerate(row) if ch in "PO"}
        move = first_moves(grid, cells["P"], cells["O"])[0]
        return f"<answer> {declared[ACTIONS.index(move)]} </answer>"


@pytest.mark.parametrize("probe", [lookup_probe, functools.partial(lookup_probe, far=True), navigate_probe])
def test_probes_score_an_oracle_one_and_silence_zero(probe) -> None:
    names = {v.name for v in HELD_OUT_VOCABS} | {"overall"}
    perfect = probe(Oracle(), n=8)
    assert set(perfect) == names and all(v == 1.0 for v in perfect.values())
    assert all(v == 0.0 for v in probe(Oracle(""), n=8).values())


def test_navigate_probe_counts_any_optimal_move_but_only_in_the_declared_words() -> None:
    always_first = navigate_probe(Oracle("<answer> 1 </answer>"), n=40)
    assert 0.0 < always_first["numerical"] < 1.0  # "1" is Up there: right only where Up is optimal
    assert always_first["alphabetical"] == 0.0  # "1" is not an alphabetical word


def _skill_rows(kind: str, n: int) -> list[dict]:
    """``n`` rows of skill ``kind`` from General Points, after checking the kind needs named tasks and is seeded."""
    words, tokens = ["fox", "owl", "cat", "dog", "sun"], ["a", "b"]
    with pytest.raises(ValueError, match="skill_tasks"):
        next(curriculum_rows(4, 0, words, tokens, {kind: 1.0}))
    rows = list(curriculum_rows(n, 0, words, tokens, {kind: 1.0}, 1, ("points",)))
    assert {row["kind"] for row in rows} == {kind}
    assert rows == list(curriculum_rows(n, 0, words, tokens, {kind: 1.0}, 1, ("points",)))
    return rows


def test_skills_rows_come_from_the_named_tasks_and_need_them() -> None:
    from sftgen.tasks.protocol import get_task

    rows = _skill_rows("skills", 40)
    skill = get_task("points").skill(np.random.default_rng(0))
    assert skill is not None and skill.prompt.startswith("arithmetic\n")
    for row in rows:
        assert row["prompt"][0]["content"].startswith("arithmetic\nnumbers:")
        assert '"formula": "' in row["completion"][0]["content"]


def test_compose_rows_write_the_numbers_as_sums_and_answer_with_the_worked_out_numbers() -> None:
    import json

    from sftgen.tasks.protocol import get_task

    rows = _skill_rows("compose", 60)
    sums = 0
    for row in rows:
        written = re.search(r"numbers:(\S+)", row["prompt"][0]["content"]).group(1).split(",")
        numbers = json.loads(row["completion"][0]["content"])["number"]
        assert [sum(int(part) for part in item.split("+")) for item in written] == numbers
        sums += sum("+" in item for item in written)
    assert 0.25 < sums / (4 * len(rows)) < 0.6  # half of the numbers that can be a sum (those >= 2) are
    task = get_task("points")
    for seed in range(20):  # the same draw as the plain row: the same numbers and formula, only written differently
        plain = task.skill(np.random.default_rng(seed))
        composed = task.skill(np.random.default_rng(seed), composed=True)
        assert composed.completion == plain.completion and composed.correct(composed.completion)
    assert get_task("sokoban").skill(np.random.default_rng(0), composed=True) is None
