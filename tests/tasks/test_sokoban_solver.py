"""The solver against an independent brute force: optimal lengths, unsolvability and optimal first actions.

The reference below is deliberately naive (full reachable-state exploration, then backward BFS from the solved
states, with its own move rules on tuples) so that it shares no code or trick with the solver under test.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest

from sftgen.tasks.sokoban import (
    ACTIONS,
    Board,
    SokobanDifficulty,
    dead_squares,
    generate_level,
    optimal_first_actions,
    solve,
)

_DELTA = {"up": (-1, 0), "down": (1, 0), "left": (0, -1), "right": (0, 1)}
State = tuple[tuple[int, int], frozenset[tuple[int, int]]]


def _brute(board: Board) -> tuple[int | None, frozenset[str]]:
    """(optimal length or None, optimal first actions) by exhaustive search."""

    def free(cell: tuple[int, int], boxes: frozenset[tuple[int, int]]) -> bool:
        r, c = cell
        return 0 <= r < board.height and 0 <= c < board.width and cell not in board.walls and cell not in boxes

    def succ(state: State, action: str) -> State | None:
        (r, c), boxes = state
        dr, dc = _DELTA[action]
        one = (r + dr, c + dc)
        if free(one, boxes):
            return one, boxes
        if one in boxes and free((r + 2 * dr, c + 2 * dc), boxes):
            return one, (boxes - {one}) | {(r + 2 * dr, c + 2 * dc)}
        return None

    start: State = (board.player, board.boxes)
    edges: dict[State, list[tuple[str, State]]] = {}
    queue = deque([start])
    edges[start] = []
    while queue:
        state = queue.popleft()
        for action in ACTIONS:
            nxt = succ(state, action)
            if nxt is None:
                continue
            edges[state].append((action, nxt))
            if nxt not in edges:
                edges[nxt] = []
                queue.append(nxt)
    reverse: dict[State, list[State]] = {s: [] for s in edges}
    for state, outs in edges.items():
        for _, nxt in outs:
            reverse[nxt].append(state)
    dist = {s: 0 for s in edges if s[1] == board.targets}
    queue = deque(dist)
    while queue:
        state = queue.popleft()
        for prev in reverse[state]:
            if prev not in dist:
                dist[prev] = dist[state] + 1
                queue.append(prev)
    if start not in dist:
        return None, frozenset()
    best = dist[start]
    firsts = frozenset(a for a, nxt in edges[start] if dist.get(nxt) == best - 1)
    return best, firsts


def _random_board(rng: np.random.Generator, size: int, boxes: int) -> Board | None:
    """A board not made by our generator: random inner walls, random boxes, targets and player."""
    walls = {(r, c) for r in range(size) for c in range(size) if r in (0, size - 1) or c in (0, size - 1)}
    inner = [(r, c) for r in range(1, size - 1) for c in range(1, size - 1)]
    for cell in inner:
        if rng.random() < 0.2:
            walls.add(cell)
    floor = [cell for cell in inner if cell not in walls]
    if len(floor) < 2 * boxes + 1:
        return None
    picks = rng.choice(len(floor), size=2 * boxes + 1, replace=False)
    cells = [floor[int(i)] for i in picks]
    # Let some boxes start on targets (shared cells) so that pushing off a target is exercised too.
    targets = cells[:boxes]
    box_cells = cells[boxes : 2 * boxes]
    if rng.random() < 0.3:
        box_cells[0] = targets[0]
    return Board(size, size, frozenset(walls), frozenset(targets), frozenset(box_cells), cells[-1])


def _check(board: Board) -> None:
    length, firsts = _brute(board)
    path = solve(board)
    if length is None:
        assert path is None, board.key()
        assert optimal_first_actions(board) == frozenset()
        return
    assert path is not None and len(path) == length, board.key()
    state = board
    for action in path:
        state = state.step(action).board
    assert state.is_solved()
    assert optimal_first_actions(board) == firsts, board.key()
    if length > 0:
        assert path[0] in firsts
        assert solve(board, max_steps=length) is not None
        assert solve(board, max_steps=length - 1) is None
        assert optimal_first_actions(board, max_steps=length - 1) == frozenset()


@pytest.mark.parametrize(
    ("height", "width", "boxes", "count"),
    [(5, 5, 1, 400), (6, 6, 1, 900), (7, 7, 1, 150), (6, 6, 2, 300), (7, 7, 2, 60)],
)
def test_solver_matches_brute_force_on_generated_levels(height: int, width: int, boxes: int, count: int) -> None:
    difficulty = SokobanDifficulty(f"{height}x{width}-{boxes}", height, width, boxes)
    rng = np.random.default_rng(20240 + height * 10 + boxes)
    for _ in range(count):
        level = generate_level(rng, difficulty)
        _check(level.board)
        # Mid-trajectory states too: the RL reward queries these.
        mid = level.board
        for action in level.solution[: len(level.solution) // 2]:
            mid = mid.step(action).board
        _check(mid)


@pytest.mark.parametrize(("size", "boxes", "count"), [(5, 1, 600), (6, 1, 500), (5, 2, 250), (6, 2, 150)])
def test_solver_matches_brute_force_on_random_boards(size: int, boxes: int, count: int) -> None:
    """Random placements include many unsolvable and some already-solved boards, unlike generated levels."""
    rng = np.random.default_rng(7 + size * 10 + boxes)
    checked = unsolvable = 0
    while checked < count:
        board = _random_board(rng, size, boxes)
        if board is None:
            continue
        checked += 1
        unsolvable += _brute(board)[0] is None
        _check(board)
    assert 0 < unsolvable < count  # both kinds were exercised


def test_already_solved_board() -> None:
    board = Board.from_rows(["#####", "#P√_#", "#####"])
    assert solve(board) == []
    assert optimal_first_actions(board) == frozenset()


def test_straight_pushes() -> None:
    assert solve(Board.from_rows(["######", "#O_XP#", "######"])) == ["left", "left"]
    board = Board.from_rows(["######", "#PX_O#", "#____#", "######"])
    assert solve(board) == ["right", "right"]
    assert optimal_first_actions(board) == frozenset({"right"})


def test_walk_around_counts_every_move_and_ties_give_two_first_actions() -> None:
    # The player stands between box and target: it walks around either side (4 moves), then pushes twice.
    board = Board.from_rows(["#####", "#_O_#", "#_P_#", "#_X_#", "#___#", "#####"])
    assert len(solve(board) or []) == 6 == _brute(board)[0]
    assert optimal_first_actions(board) == frozenset({"left", "right"}) == _brute(board)[1]


def test_dead_squares_golden() -> None:
    board = Board.from_rows(["######", "#P___#", "#_X__#", "#___O#", "######"])
    # The top row and the left column can never be left towards the target at the bottom right.
    assert dead_squares(board) == frozenset({(1, 1), (1, 2), (1, 3), (1, 4), (2, 1), (3, 1)})


def test_box_on_dead_square_is_unsolvable() -> None:
    board = Board.from_rows(["######", "#X___#", "#__P_#", "#___O#", "######"])
    assert (1, 1) in dead_squares(board)
    assert solve(board) is None
    assert _brute(board)[0] is None
