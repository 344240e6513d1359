"""Sokoban board rules, rendering and the seeded generator (golden and negative cases)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from sftgen.seeding import rng_for
from sftgen.tasks.sokoban import (
    ACTIONS,
    DIFFICULTIES,
    Board,
    Level,
    SokobanDifficulty,
    StepResult,
    generate_level,
    optimal_first_actions,
    solve,
)

# ---------------------------------------------------------------------------------------------- rendering


def test_actions_are_the_study_order() -> None:
    assert ACTIONS == ("up", "down", "left", "right")


def test_to_text_golden() -> None:
    board = Board.from_rows(["#####", "#PXO#", "#_√_#", "#####"])
    expected = (
        " # \t # \t # \t # \t # \t\n # \t P \t X \t O \t # \t\n # \t _ \t √ \t _ \t # \t\n # \t # \t # \t # \t # \t"
    )
    assert board.to_text() == expected
    assert board.symbol_grid()[2] == ["#", "_", "√", "_", "#"]


def test_player_on_target_symbol_and_round_trip() -> None:
    rows = ["######", "#S_X_#", "#_√__#", "######"]
    board = Board.from_rows(rows)
    assert board.player == (1, 1)
    assert board.targets == frozenset({(1, 1), (2, 2)})
    assert board.boxes == frozenset({(1, 3), (2, 2)})
    assert board.to_rows() == rows
    assert Board.from_rows(board.to_rows()) == board
    assert Board.from_rows(board.key()) == board
    assert board.key() == "\n".join(rows)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (["#####", "#_XO#", "#####"], "exactly one player"),
        (["#####", "#PXP#", "#O__#", "#####"], "exactly one player"),
        (["#####", "#PXX#", "#O__#", "#####"], "2 boxes but 1 targets"),
        (["#####", "#P_O#", "#####"], "at least one box"),
        (["#####", "#PXO?", "#####"], "unknown symbol"),
        (["#####", "#PXO#", "####"], "equal length"),
        ([], "empty board"),
    ],
)
def test_from_rows_rejects_bad_boards(rows: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Board.from_rows(rows)


def test_constructor_rejects_overlaps() -> None:
    walls = frozenset({(0, 0)})
    with pytest.raises(ValueError, match="on a wall"):
        Board(3, 3, walls, frozenset({(1, 1)}), frozenset({(0, 0)}), (2, 2))
    with pytest.raises(ValueError, match="on a box"):
        Board(3, 3, walls, frozenset({(1, 1)}), frozenset({(2, 2)}), (2, 2))
    with pytest.raises(ValueError, match="outside"):
        Board(3, 3, walls, frozenset({(1, 1)}), frozenset({(3, 1)}), (2, 2))


# ---------------------------------------------------------------------------------------------- step rules


def _step(rows: list[str], action: str) -> tuple[StepResult, Board]:
    board = Board.from_rows(rows)
    return board.step(action), board


def test_walk() -> None:
    result, board = _step(["#####", "#P_O#", "#_X_#", "#####"], "right")
    assert result.moved and not result.pushed
    assert result.board.player == (1, 2) and result.board.boxes == board.boxes
    assert result.reward == pytest.approx(-0.1)


def test_walk_into_wall_is_a_penalised_no_op() -> None:
    result, board = _step(["#####", "#P_O#", "#_X_#", "#####"], "up")
    assert not result.moved and not result.pushed
    assert result.board == board
    assert result.reward == pytest.approx(-0.1)


def test_grid_edge_counts_as_wall() -> None:
    result, board = _step(["P_XO"], "left")
    assert not result.moved and result.board == board


def test_push_onto_last_target_pays_one_plus_ten() -> None:
    result, _ = _step(["#####", "#PXO#", "#####"], "right")
    assert result.moved and result.pushed
    assert result.board.is_solved()
    assert result.board.to_rows()[1] == "#_P√#"
    assert result.reward == pytest.approx(-0.1 + 1.0 + 10.0)


def test_push_onto_target_with_boxes_left() -> None:
    result, _ = _step(["######", "#PXO_#", "#_X_O#", "######"], "right")
    assert result.pushed and not result.board.is_solved()
    assert result.reward == pytest.approx(0.9)


def test_push_off_target_costs_one() -> None:
    result, _ = _step(["######", "#P√__#", "#_X_O#", "######"], "right")
    assert result.pushed
    assert result.board.boxes == frozenset({(1, 3), (2, 2)})
    assert result.reward == pytest.approx(-1.1)


def test_push_along_floor_has_only_the_step_cost() -> None:
    result, _ = _step(["######", "#PX_O#", "######"], "right")
    assert result.pushed and result.reward == pytest.approx(-0.1)


def test_push_blocked_by_wall_and_by_box() -> None:
    against_wall, board = _step(["#####", "#OPX#", "#####"], "right")
    assert not against_wall.moved and not against_wall.pushed and against_wall.board == board
    assert against_wall.reward == pytest.approx(-0.1)
    against_box, board = _step(["######", "#PXXO#", "#___O#", "######"], "right")
    assert not against_box.moved and against_box.board == board


def test_no_pull() -> None:
    result, board = _step(["######", "#OXP_#", "######"], "right")
    assert result.moved and not result.pushed
    assert result.board.boxes == board.boxes and result.board.player == (1, 4)


def test_unknown_action() -> None:
    board = Board.from_rows(["#####", "#PXO#", "#####"])
    with pytest.raises(ValueError, match="unknown action"):
        board.step("Up")


def test_board_is_immutable_and_hashable() -> None:
    board = Board.from_rows(["#####", "#PXO#", "#####"])
    assert board.step("right").board != board
    assert len({board, Board.from_rows(board.to_rows())}) == 1
    with pytest.raises(AttributeError):
        board.player = (1, 2)  # type: ignore[misc]


# ---------------------------------------------------------------------------------------------- generator


def test_presets() -> None:
    shapes = {name: (d.height, d.width, d.num_boxes, d.max_steps) for name, d in DIFFICULTIES.items()}
    assert shapes["6x6-1"] == (6, 6, 1, 30)
    assert shapes["10x10-1"] == (10, 10, 1, 30)
    assert shapes["6x6-2"] == (6, 6, 2, 30)
    assert shapes["10x10-2"] == (10, 10, 2, 30)


@pytest.mark.parametrize(("name", "count"), [("6x6-1", 200), ("10x10-1", 100), ("6x6-2", 100), ("10x10-2", 40)])
def test_generated_levels_are_valid(name: str, count: int) -> None:
    difficulty = DIFFICULTIES[name]
    rng = rng_for("test_sokoban", name)
    for _ in range(count):
        level = generate_level(rng, difficulty)
        board = level.board
        assert isinstance(level, Level)
        assert (board.height, board.width) == (difficulty.height, difficulty.width)
        assert len(board.boxes) == len(board.targets) == difficulty.num_boxes
        assert not board.is_solved()
        border = {(r, c) for r in range(board.height) for c in range(board.width)}
        border = {(r, c) for r, c in border if r in (0, board.height - 1) or c in (0, board.width - 1)}
        assert border <= board.walls
        assert 1 <= len(level.solution) <= difficulty.max_steps
        state = board
        for action in level.solution:
            state = state.step(action).board
        assert state.is_solved()
        assert len(solve(board) or []) == len(level.solution)  # optimal
        assert level.solution[0] in optimal_first_actions(board)


def test_small_budget_still_terminates() -> None:
    rng = np.random.default_rng(3)
    for difficulty in (
        SokobanDifficulty("tight", 10, 10, 2, max_steps=2),
        SokobanDifficulty("one", 6, 6, 1, 1),
    ):
        for _ in range(3):
            level = generate_level(rng, difficulty)
            assert 1 <= len(level.solution) <= difficulty.max_steps
            assert len(solve(level.board) or []) == len(level.solution)


def _keys(seeds: list[int], name: str) -> list[str]:
    return [generate_level(np.random.default_rng(s), DIFFICULTIES[name]).board.key() for s in seeds]


def test_same_seed_same_level_and_no_global_rng() -> None:
    np_state, py_state = np.random.get_state(), random.getstate()
    first = [generate_level(np.random.default_rng(11), DIFFICULTIES["6x6-2"]) for _ in range(3)]
    assert first[0] == first[1] == first[2]
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    assert [generate_level(rng_a, DIFFICULTIES["10x10-1"]) for _ in range(5)] == [
        generate_level(rng_b, DIFFICULTIES["10x10-1"]) for _ in range(5)
    ]
    assert np.all(np.random.get_state()[1] == np_state[1]) and random.getstate() == py_state


def test_different_seeds_give_different_levels() -> None:
    for name in DIFFICULTIES:
        keys = _keys(list(range(30)), name)
        assert len(set(keys)) >= 27, name


def test_determinism_across_processes() -> None:
    seeds = [0, 1, 2, 99, 12345]
    script = textwrap.dedent(
        f"""
        import json
        import numpy as np
        from sftgen.tasks.sokoban import DIFFICULTIES, generate_level
        out = {{}}
        for name in DIFFICULTIES:
            levels = [generate_level(np.random.default_rng(s), DIFFICULTIES[name]) for s in {seeds!r}]
            out[name] = [[lv.board.key(), list(lv.solution)] for lv in levels]
        print(json.dumps(out))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "1"},  # string hashing unlike this process's (likely random)
    )
    theirs = json.loads(done.stdout)
    for name in DIFFICULTIES:
        ours = [generate_level(np.random.default_rng(s), DIFFICULTIES[name]) for s in seeds]
        assert theirs[name] == [[lv.board.key(), list(lv.solution)] for lv in ours]


@pytest.mark.parametrize(
    ("difficulty", "message"),
    [
        (SokobanDifficulty("tiny", 3, 3, 5), "below the 5x5 minimum"),
        (SokobanDifficulty("narrow", 4, 10, 1), "below the 5x5 minimum"),
        (SokobanDifficulty("crowded", 6, 6, 3), "do not fit"),
        (SokobanDifficulty("none", 6, 6, 0), "num_boxes must be in 1..4"),
        (SokobanDifficulty("many", 20, 20, 5), "num_boxes must be in 1..4"),
        (SokobanDifficulty("budget", 10, 10, 2, max_steps=1), "max_steps=1 is below num_boxes=2"),
        (SokobanDifficulty("zero", 6, 6, 1, max_steps=0), "max_steps=0"),
    ],
)
def test_invalid_parameters_raise_up_front(difficulty: SokobanDifficulty, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        generate_level(np.random.default_rng(0), difficulty)
