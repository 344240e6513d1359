"""Clean splits (issue 20): validation disjoint from every test split, no repeats inside a split unless the split is
declared to sample with replacement (and then counted), no training row whose state is an evaluation start board
(every task and training kind), and the General Points division-by-zero rule."""

from __future__ import annotations

import pytest

from sftgen.data.build import KINDS, BuildConfig, iter_rows
from sftgen.data.leakage import EvaluationStates, evaluation_keys
from sftgen.splits import SPLITS, WITH_REPLACEMENT, split_keys, split_report
from sftgen.tasks.points.verifier import OutcomeKind, verify
from sftgen.tasks.sokoban import Board
from sftgen.tasks.sokoban.identity import board_key
from sftgen.tasks.sokoban.prompts import read_board

TEST_SPLITS = [n for n, s in SPLITS.items() if s.category != "validation"]


@pytest.mark.parametrize("name", TEST_SPLITS)
def test_validation_is_disjoint_from_every_test_split(name):
    task = SPLITS[name].task
    assert not split_keys(f"{task}/validation") & split_keys(name)


@pytest.mark.parametrize("name", list(SPLITS))
def test_no_repeats_inside_a_split_unless_declared_and_counted(name):
    keys = [inst.key() for inst in SPLITS[name].instances()]
    row = split_report()[name]
    assert row["instances"] == len(keys) == SPLITS[name].size  # sizes unchanged
    assert row["distinct"] == len(set(keys)) and row["repeats"] == len(keys) - len(set(keys))
    if name not in WITH_REPLACEMENT:
        assert row["repeats"] == 0


@pytest.mark.parametrize("name", ["sokoban/validation", "points/validation", "sokoban/id", "points/five"])
def test_smaller_sizes_stay_prefixes(name):
    full = SPLITS[name].instances()
    assert SPLITS[name].with_size(17).instances() == full[:17]
    assert SPLITS[name].with_size(len(full) + 3).instances()[: len(full)] == full


def _row_state_key(row: dict) -> str:
    """The key of the board a Sokoban row's prompt shows (RL rows carry it; SFT rows are read back from the
    prompt, independently of how the builder filtered)."""
    if "board" in row:
        return board_key(Board.from_rows(row["board"]))
    return board_key(read_board(row["prompt"][-1]["content"]))


@pytest.mark.parametrize("task", ["sokoban", "points"])
@pytest.mark.parametrize("kind", KINDS)
def test_no_training_row_is_an_evaluation_puzzle(task, kind):
    exclude = evaluation_keys()
    states = EvaluationStates(exclude)
    rows = list(iter_rows(BuildConfig(kind, task, 40 if task == "sokoban" else 60, 0), exclude, states))
    assert rows
    assert not {row["instance_key"] for row in rows} & exclude
    if task == "sokoban":
        assert not {_row_state_key(row) for row in rows} & exclude
        assert states.dropped > 0  # these 40 levels do pass through evaluation start boards
    else:
        assert states.dropped == 0


def test_dropping_states_leaves_the_other_rows_unchanged():
    exclude = evaluation_keys()
    config = BuildConfig("answer-only", "sokoban", 40, 0)
    kept = list(iter_rows(config, exclude))
    everything = list(iter_rows(config, exclude, EvaluationStates(frozenset())))
    assert len(everything) > len(kept) and all(row in everything for row in kept)


@pytest.mark.parametrize(
    ("text", "cards"),
    [
        ('{"formula": "4/(1+2-3)"}', [1, 2, 3, 4]),  # the right cards, dividing by zero
        ('{"formula": "9/(5-5)"}', [1, 2, 3, 4]),  # wrong cards too: still illegal, not wrong_numbers
        ('{"formula": "(6-6)/(6-6)*4"}', [6, 6, 6, 6]),
    ],
)
def test_division_by_zero_is_an_illegal_formula(text, cards):
    outcome = verify(text, cards)
    assert outcome.kind is OutcomeKind.ILLEGAL_FORMULA and outcome.reward == -3.0
    assert outcome.value is None and "division by zero" in outcome.reason


def test_dividing_by_a_nonzero_value_is_judged_normally():
    assert verify('{"formula": "4/(1+2-2)"}', [1, 2, 2, 4]).kind is OutcomeKind.WRONG_VALUE
    assert verify('{"formula": "8/(3-8/3)"}', [8, 3, 8, 3]).kind is OutcomeKind.CORRECT
