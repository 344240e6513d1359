"""Seeded level generator: walled chambers chained by doors, keys placed where they can be reached in time.

Each door cuts the remaining room in two with a wall line (random orientation and side), so the exit sits behind
every door. Keys are then placed by replaying the opening: a door next to the area the player can already reach
gets its key (the key that opens it under the *checked* rules) somewhere in that area, then the area grows through
it. The level is solvable by construction with unlimited hands; the BFS solve afterwards gives the optimal plan and
rejects what construction cannot promise (full hands blocking a corridor, a plan over the turn budget).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from .solver import solve
from .world import DELTAS, PALETTE, Cell, KeysState, Rules

MAX_ATTEMPTS = 1000
OBSTACLES = 0.12
"""Chance that an interior floor cell away from doors becomes a wall (variety inside the chambers)."""

T = TypeVar("T")
Rect = tuple[int, int, int, int]  # rows r0..r1-1, columns c0..c1-1


@dataclass(frozen=True)
class KeysDifficulty:
    """Level preset: grid size including the border walls, key/door pairs and the turn budget."""

    name: str
    height: int
    width: int
    pairs: int
    max_steps: int

    def validate(self) -> None:
        """Raise ValueError for presets no level can satisfy (so generation itself never fails for them)."""
        if not 1 <= self.pairs <= len(PALETTE):
            raise ValueError(f"{self.name}: pairs must be in 1..{len(PALETTE)}, got {self.pairs}")
        if min(self.height, self.width) - 2 < 2 * self.pairs - 1 or min(self.height, self.width) < 5:
            raise ValueError(f"{self.name}: a {self.height}x{self.width} grid has no room for {self.pairs} chambers")


DIFFICULTIES: dict[str, KeysDifficulty] = {
    d.name: d for d in (KeysDifficulty("7x7-2", 7, 7, 2, 30), KeysDifficulty("9x9-3", 9, 9, 3, 60))
}


@dataclass(frozen=True)
class Level:
    """A start state and one optimal plan for it under the rules it was generated for."""

    state: KeysState
    solution: tuple[str, ...]


def _pick(rng: np.random.Generator, items: Sequence[T]) -> T:
    return items[int(rng.integers(len(items)))]


def _oriented(cells: list[Cell], vertical: bool) -> list[Cell]:
    """Cells as (coordinate along a line, coordinate across it) for a vertical or horizontal line."""
    return cells if vertical else [(c, r) for r, c in cells]


def _cut(rng: np.random.Generator, rect: Rect, doors: list[Cell]) -> tuple[list[Cell], Cell, Rect, Rect] | None:
    """A wall line across ``rect`` with one door: (wall cells, door, the side before it, the side after it).

    Lines right beside an existing door are not drawn: they would wall that door in.
    """
    r0, c0, r1, c1 = rect
    options = []
    for vertical in (True, False):
        lo, hi, a0, a1 = (c0, c1, r0, r1) if vertical else (r0, r1, c0, c1)
        for t in range(lo + 1, hi - 1):
            beside = any(abs(across - t) <= 1 and a0 <= along < a1 for along, across in _oriented(doors, vertical))
            if not beside:
                options.append((vertical, t))
    if not options:
        return None
    vertical, t = _pick(rng, options)
    if vertical:
        line = [(r, t) for r in range(r0, r1)]
        sides = ((r0, c0, r1, t), (r0, t + 1, r1, c1))
    else:
        line = [(t, c) for c in range(c0, c1)]
        sides = ((r0, c0, t, c1), (t + 1, c0, r1, c1))
    door = line[int(rng.integers(len(line)))]
    flip = bool(rng.integers(2))
    before, after = (sides[1], sides[0]) if flip else sides
    return [c for c in line if c != door], door, before, after


def _cells(rect: Rect) -> list[Cell]:
    r0, c0, r1, c1 = rect
    return [(r, c) for r in range(r0, r1) for c in range(c0, c1)]


def _flood(start: Cell, open_cells: set[Cell]) -> set[Cell]:
    seen, order = {start}, [start]
    for r, c in order:
        for dr, dc in DELTAS.values():
            n = (r + dr, c + dc)
            if n in open_cells and n not in seen:
                seen.add(n)
                order.append(n)
    return seen


def _attempt(rng: np.random.Generator, difficulty: KeysDifficulty, rules: Rules) -> Level | None:
    """One try; None when it fails (a chamber walled off, a blocked corridor, too long) and the caller retries."""
    h, w, pairs = difficulty.height, difficulty.width, difficulty.pairs
    rect: Rect = (1, 1, h - 1, w - 1)
    walls = {(r, c) for r in range(h) for c in range(w) if r in (0, h - 1) or c in (0, w - 1)}
    door_cells: list[Cell] = []
    first: Rect | None = None
    for _ in range(pairs):
        cut = _cut(rng, rect, door_cells)
        if cut is None:
            return None
        line, door, before, rect = cut
        walls.update(line)
        door_cells.append(door)
        first = first or before
    assert first is not None
    near_door = {(r + dr, c + dc) for r, c in door_cells for dr, dc in DELTAS.values()}
    for cell in _cells((1, 1, h - 1, w - 1)):
        if cell not in walls and cell not in door_cells and cell not in near_door and rng.random() < OBSTACLES:
            walls.add(cell)
    start_cells = [c for c in _cells(first) if c not in walls]
    exit_cells = [c for c in _cells(rect) if c not in walls]
    if not start_cells or not exit_cells:
        return None
    player, exit_ = _pick(rng, start_cells), _pick(rng, exit_cells)
    chosen = rng.choice(len(PALETTE), size=pairs, replace=False)
    colours = tuple(c for i, c in enumerate(PALETTE) if i in {int(x) for x in chosen})
    door_colour = dict(zip(door_cells, (colours[int(i)] for i in rng.permutation(pairs)), strict=True))
    opener = {d: k for k, d in rules.opens(colours).items()}
    floor = {c for c in _cells((1, 1, h - 1, w - 1)) if c not in walls}
    reach = _flood(player, floor - set(door_cells))
    keys: list[tuple[Cell, str]] = []
    closed = list(door_cells)
    while closed:
        frontier = [d for d in closed if any((d[0] + dr, d[1] + dc) in reach for dr, dc in DELTAS.values())]
        spots = sorted(reach - {player, exit_, *door_cells} - {k for k, _ in keys})
        if not frontier or not spots:
            return None
        door = _pick(rng, frontier)
        keys.append((_pick(rng, spots), opener[door_colour[door]]))
        closed.remove(door)
        reach = _flood(player, floor - set(closed))
    if exit_ not in reach:
        return None
    doors = tuple((d, door_colour[d]) for d in door_cells)
    state = KeysState(h, w, frozenset(walls), tuple(keys), doors, colours, exit_, player)
    plan = solve(state, rules)
    if plan is None or len(plan) > difficulty.max_steps:
        return None
    return Level(state, tuple(plan))


def generate_level(rng: np.random.Generator, difficulty: KeysDifficulty, rules: Rules) -> Level:
    """A solvable level (under ``rules``) whose optimal plan has 1..max_steps moves; a pure function of rng."""
    difficulty.validate()
    for _ in range(MAX_ATTEMPTS):
        level = _attempt(rng, difficulty, rules)
        if level is not None:
            return level
    raise RuntimeError(f"no level for {difficulty} under {rules} after {MAX_ATTEMPTS} attempts")
