"""Room topology: a random walk carves floor inside the border walls (gym-sokoban style).

Kept apart from level generation so that the shape of rooms can be changed or tested without touching the
reverse play. All randomness comes from the caller's ``numpy.random.Generator``, drawn in fixed-size batches
so that the same generator state always yields the same room.
"""

from __future__ import annotations

import numpy as np

# Cells carved around the walker at each step, as (row, col) offsets from its position: a horizontal bar, a
# vertical bar and three small corner shapes, the same family of stamps gym-sokoban uses.
_STAMPS: tuple[tuple[tuple[int, int], ...], ...] = (
    ((0, -1), (0, 0), (0, 1)),
    ((-1, 0), (0, 0), (1, 0)),
    ((0, -1), (0, 0), (1, 0)),
    ((0, -1), (0, 0), (1, -1), (1, 0)),
    ((0, 0), (0, 1), (1, 0)),
)
_DIRECTIONS: tuple[tuple[int, int], ...] = ((1, 0), (0, 1), (-1, 0), (0, -1))

P_CHANGE_DIRECTION = 0.35


def walk_steps(height: int, width: int) -> int:
    """The study's number of walk steps for a room: ``1.7 * (h + w)``."""
    return int(1.7 * (height + width))


def carve_room(rng: np.random.Generator, height: int, width: int, steps: int | None = None) -> list[list[bool]]:
    """A ``height x width`` floor map (True = floor) whose border is always wall.

    The walker starts at a random interior cell, keeps its direction or (with probability 0.35) picks a new
    one, is clamped to the interior, and stamps a random small shape of floor at each position.
    """
    if height < 3 or width < 3:
        raise ValueError(f"a room needs at least 3x3 cells including walls, got {height}x{width}")
    n = walk_steps(height, width) if steps is None else steps
    # One batch of uniforms (as a list: indexing numpy scalars is slow): start row, start column, first
    # direction, then (turn?, new direction, stamp) per step.
    u = rng.random(3 + 3 * n).tolist()
    row = 1 + int(u[0] * (height - 2))
    col = 1 + int(u[1] * (width - 2))
    dr, dc = _DIRECTIONS[int(u[2] * len(_DIRECTIONS))]
    floor = [[False] * width for _ in range(height)]
    for s in range(3, 3 + 3 * n, 3):
        if u[s] < P_CHANGE_DIRECTION:
            dr, dc = _DIRECTIONS[int(u[s + 1] * len(_DIRECTIONS))]
        row = min(max(row + dr, 1), height - 2)
        col = min(max(col + dc, 1), width - 2)
        for orow, ocol in _STAMPS[int(u[s + 2] * len(_STAMPS))]:
            r, c = row + orow, col + ocol
            if 0 < r < height - 1 and 0 < c < width - 1:
                floor[r][c] = True
    return floor


def floor_cells(floor: list[list[bool]]) -> list[tuple[int, int]]:
    """Floor cells in row-major order (a deterministic order to sample from)."""
    return [(r, c) for r, line in enumerate(floor) for c, is_floor in enumerate(line) if is_floor]


def walls_of(floor: list[list[bool]]) -> frozenset[tuple[int, int]]:
    """Every non-floor cell of the map."""
    return frozenset((r, c) for r, line in enumerate(floor) for c, is_floor in enumerate(line) if not is_floor)
