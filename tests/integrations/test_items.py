"""The shared item layer: every registered task is served through its protocol, references score full marks, the
ground truth is the task's check data, single-turn items of multi-turn tasks are first moves, episodes are capped."""

from __future__ import annotations

import random

import pytest
from integration_helpers import sampled_answers

from sftgen.integrations.items import (
    make_items,
    resolve_split,
    score,
    score_final_answer,
    split_for_stack_name,
    start_episode,
    task_split,
    turn_budget,
)
from sftgen.splits import SPLITS, TASKS, get_split
from sftgen.tasks.protocol import get_task, task_names


def test_every_registered_task_is_served() -> None:
    assert set(TASKS) == set(task_names())
    for task in task_names():
        assert split_for_stack_name(f"sftgen_{task}") == task_split(task)
        assert task_split(task).task == task and task_split(task).category == "id"


@pytest.mark.parametrize("split", sorted(SPLITS))
def test_reference_answers_score_full_marks(split: str) -> None:
    for item in make_items(split, 3):
        verdict = score(item.reference, item.ground_truth)
        assert verdict.success and verdict.reward == get_task(item.task).full_marks


@pytest.mark.parametrize("task", task_names())
def test_ground_truth_is_the_tasks_check_data_and_scores_as_verify(task: str) -> None:
    """200 items per task across its splits: the ground truth is ``check_data`` of the start state, and every
    sampled answer scores exactly ``Task.verify`` on it (the same Outcome)."""
    spec, rng = get_task(task), random.Random(3)
    splits = [s for s in SPLITS.values() if s.task == task]
    checked = 0
    for split in splits:
        for item in make_items(split, max(1, 200 // len(splits))):
            state = split.instance(item.index).state()
            assert item.state == spec.state_data(state)
            assert item.ground_truth == {"task": task, **spec.check_data(state, split.variant)}
            for answer in sampled_answers(item, rng):
                assert score(answer, item.ground_truth) == spec.verify(answer, spec.check_data(state, split.variant))
                checked += 1
    assert checked >= 1000


@pytest.mark.parametrize("task", task_names())
def test_a_bare_final_answer_scores_as_the_typed_response(task: str) -> None:
    spec = get_task(task)
    item = make_items(task_split(task), 1)[0]
    answer = spec.parse_answer(item.reference)
    assert answer is not None and score_final_answer(answer, item.ground_truth).success
    assert score_final_answer(item.reference, item.ground_truth).success  # a full response is kept as it is
    assert not score_final_answer(None, item.ground_truth).valid


def test_custom_splits_are_checked() -> None:
    assert resolve_split("sokoban/id", difficulty="10x10-2").name == "sokoban/base@10x10-2"
    assert resolve_split("keys/id", variant="one_key").name == "keys/one_key@7x7-2"
    with pytest.raises(ValueError, match="unknown sokoban difficulty"):
        resolve_split("sokoban/id", difficulty="99x99")
    with pytest.raises(ValueError, match="unknown keys variant"):
        resolve_split("keys/id", variant="nope")


@pytest.mark.parametrize("task", task_names())
def test_episodes_are_the_tasks_env_capped_at_max_turns(task: str) -> None:
    split = task_split(task)
    budget = turn_budget(split)
    assert budget == get_task(task).difficulties[split.difficulty].max_turns
    assert start_episode(split, 0).max_turns == budget
    assert start_episode(split, 0, max_turns=10**6).max_turns == budget  # never past the task's own budget
    episode = start_episode(split, 0, max_turns=2)
    assert episode.id == f"{split.name}#0" and episode.observation() == split.instance(0).make_env().observation()
    done, turns = False, 0
    while not done:
        _, _, terminated, truncated, _ = episode.step("no answer")
        done, turns = terminated or truncated, turns + 1
    assert turns == min(2, budget) == episode.turn
    with pytest.raises(ValueError, match="max_turns"):
        start_episode(get_split(split.name), 0, max_turns=0)
