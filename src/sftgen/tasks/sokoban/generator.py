"""Seeded level generator: random-walk room, solved placement, reverse play (pulls), then an optimal solve.

Levels are built backwards from the solved state, so every level is solvable by construction; the forward
A* solve then gives the optimal length, which filters levels that are solved already or too long. Reverse play
is a random walk over pulls (the player first walks anywhere in its region; half of the pulls are chosen among
those moving a box farthest from its target) that keeps the state with the best "pulls x box displacement"
score among states with no box on a target, the criterion of the study's gym-sokoban generator, followed by 1-3
random player steps. A random walk instead of gym-sokoban's exhaustive DFS is what makes this fast.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .board import Board
from .rooms import carve_room, floor_cells, walls_of
from .solver import compile_grid, solve

MAX_ATTEMPTS = 2000
REJECT_ATTEMPTS = 50
"""Attempts whose too-long levels are rejected before later ones start truncating them (keeps the length
distribution natural when the budget is generous, and guarantees termination when it is tight)."""
MAX_BOXES = 4
"""Beyond this the move-optimal pure-Python solve (and a 30-move budget) stop being practical."""
CELLS_PER_BOX = 8
"""Validation bound: rooms with less interior per box often cannot separate every box from every target."""
PULLS = (8, 24)
"""Range of the number of reverse pulls per attempt (tuned so optimal lengths resemble the study's levels)."""
GREED = 0.5
"""Probability that a pull is chosen among those moving a box farthest from its target (else uniformly)."""


@dataclass(frozen=True)
class SokobanDifficulty:
    """Level preset: room size including the border walls, box count and the move budget."""

    name: str
    height: int
    width: int
    num_boxes: int
    max_steps: int = 30

    def validate(self) -> None:
        """Raise ValueError for parameters no level can satisfy (so that generation itself never fails)."""
        if min(self.height, self.width) < 5:
            raise ValueError(f"{self.name}: room {self.height}x{self.width} is below the 5x5 minimum (with walls)")
        if not 1 <= self.num_boxes <= MAX_BOXES:
            raise ValueError(f"{self.name}: num_boxes must be in 1..{MAX_BOXES}, got {self.num_boxes}")
        if self.max_steps < self.num_boxes:
            raise ValueError(
                f"{self.name}: max_steps={self.max_steps} is below num_boxes={self.num_boxes}; every box "
                "starts off its target, so a level needs at least one push per box"
            )
        interior = (self.height - 2) * (self.width - 2)
        if self.num_boxes > interior // CELLS_PER_BOX:
            raise ValueError(
                f"{self.name}: {self.num_boxes} boxes do not fit a {self.height}x{self.width} room "
                f"({interior} interior cells, at least {CELLS_PER_BOX} per box)"
            )


DIFFICULTIES: dict[str, SokobanDifficulty] = {
    d.name: d
    for d in (
        SokobanDifficulty("6x6-1", 6, 6, 1),
        SokobanDifficulty("10x10-1", 10, 10, 1),
        SokobanDifficulty("6x6-2", 6, 6, 2),
        SokobanDifficulty("10x10-2", 10, 10, 2),
    )
}


@dataclass(frozen=True)
class Level:
    """A start board and one optimal solution for it."""

    board: Board
    solution: tuple[str, ...]


def _region(nxt: list[list[int]], start: int, occupied: set[int]) -> dict[int, int]:
    """Walking distance from ``start`` to every cell reachable without moving a box."""
    dist = {start: 0}
    order = [start]
    for cell in order:
        d = dist[cell] + 1
        for table in nxt:
            n = table[cell]
            if n >= 0 and n not in dist and n not in occupied:
                dist[n] = d
                order.append(n)
    return dist


def _reverse_play(board: Board, draws: list[float]) -> tuple[int, list[int], int] | None:
    """Random pulls from the solved ``board``, two uniforms per pull from ``draws``.

    Returns (player, boxes, moves) of the best-scoring state, where ``moves`` counts the walks and pulls that
    led there (reversed, they solve the level, so it bounds the optimal length), or None if no state scored.
    """
    grid = compile_grid(board.height, board.width, board.walls, board.targets)
    width, nxt, rows, cols = grid.width, grid.nxt, grid.rows, grid.cols
    origins = [r * width + c for r, c in sorted(board.targets)]
    target_set = set(origins)
    boxes = list(origins)
    player = board.player[0] * width + board.player[1]
    best: tuple[int, list[int], int] | None = None
    best_score = moves = displacement = 0
    for k in range(len(draws) // 2):
        occupied = set(boxes)
        region = _region(nxt, player, occupied)
        options = []  # (gain in displacement, box index, new player cell, new box cell), in a fixed order
        for i, b in enumerate(boxes):
            for table in nxt:
                stand = table[b]
                if stand >= 0 and stand in region:
                    back = table[stand]
                    if back >= 0 and back not in occupied:  # walk to ``stand``, step to ``back``
                        options.append((_gain(rows, cols, b, stand, origins[i]), i, back, stand))
        if not options:
            break
        if draws[2 * k] < GREED:
            top = max(opt[0] for opt in options)
            options = [opt for opt in options if opt[0] == top]
        gain, i, back, stand = options[int(draws[2 * k + 1] * len(options))]
        moves += region[stand] + 1
        displacement += gain
        player, boxes[i] = back, stand
        # Like gym-sokoban, only states with every target uncovered count: no box may start on a target.
        if target_set.isdisjoint(boxes) and (k + 1) * displacement > best_score:
            best_score, best = (k + 1) * displacement, (player, list(boxes), moves)
    return best


def _gain(rows: list[int], cols: list[int], old: int, new: int, origin: int) -> int:
    """Change of one box's Manhattan distance from its origin target caused by a pull."""
    before = abs(rows[old] - rows[origin]) + abs(cols[old] - cols[origin])
    return abs(rows[new] - rows[origin]) + abs(cols[new] - cols[origin]) - before


def _random_steps(draws: list[float], grid_nxt: list[list[int]], player: int, boxes: list[int]) -> tuple[int, int]:
    """1-3 random walking steps (never pushing), as the study does after reverse play: (player, steps).

    ``draws`` holds four uniforms: the number of steps, then one per step.
    """
    occupied = set(boxes)
    steps = 0
    for draw in draws[1 : 2 + int(draws[0] * 3)]:
        options = [t[player] for t in grid_nxt if t[player] >= 0 and t[player] not in occupied]
        if options:
            player = options[int(draw * len(options))]
            steps += 1
    return player, steps


def _attempt(rng: np.random.Generator, difficulty: SokobanDifficulty, truncate: bool) -> Level | None:
    """One try; None when it fails (cramped room, no scoring pull, too long) and the caller retries.

    With ``truncate`` a level whose optimal solution exceeds the budget is not dropped but started further
    along that solution (a suffix of an optimal path is optimal), so tiny budgets still terminate.
    """
    h, w, k = difficulty.height, difficulty.width, difficulty.num_boxes
    floor = carve_room(rng, h, w)
    cells = floor_cells(floor)
    if len(cells) < 2 * k + 1:
        return None
    # One batch of uniforms per attempt: k + 1 distinct cells, the pull count, 4 for the final steps, pulls.
    u = rng.random(k + 6 + 2 * PULLS[1] * ((k + 1) // 2)).tolist()
    order = list(range(len(cells)))
    for j in range(k + 1):  # partial Fisher-Yates shuffle
        swap = j + int(u[j] * (len(cells) - j))
        order[j], order[swap] = order[swap], order[j]
    targets = frozenset(cells[i] for i in order[:k])
    walls = walls_of(floor)
    solved = Board(h, w, walls, targets, targets, cells[order[k]])
    scale = (k + 1) // 2  # more boxes need more pulls before all of them have left the targets
    num_pulls = scale * (PULLS[0] + int(u[k + 1] * (PULLS[1] - PULLS[0] + 1)))
    found = _reverse_play(solved, u[k + 6 : k + 6 + 2 * num_pulls])
    if found is None:
        return None
    player, box_cells, moves = found
    player, steps = _random_steps(u[k + 2 : k + 6], compile_grid(h, w, walls, targets).nxt, player, box_cells)
    start = Board(h, w, walls, targets, frozenset(divmod(b, w) for b in box_cells), divmod(player, w))
    path = solve(start, moves + steps if truncate else difficulty.max_steps)
    if not path:  # None: over the budget (never when truncating); [] cannot happen, boxes are off targets
        return None
    if len(path) > difficulty.max_steps:
        cut = len(path) - difficulty.max_steps
        for action in path[:cut]:
            start = start.step(action).board
        path = path[cut:]
    return Level(board=start, solution=tuple(path))


def generate_level(rng: np.random.Generator, difficulty: SokobanDifficulty) -> Level:
    """A solvable, unsolved level whose optimal solution has 1..max_steps moves; a pure function of rng."""
    difficulty.validate()
    for attempt in range(MAX_ATTEMPTS):
        level = _attempt(rng, difficulty, truncate=attempt >= REJECT_ATTEMPTS)
        if level is not None:
            return level
    raise RuntimeError(f"no level for {difficulty} after {MAX_ATTEMPTS} attempts; the room is probably too cramped")
