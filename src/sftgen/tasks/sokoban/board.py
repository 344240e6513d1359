"""Sokoban state, moves and text rendering.

The board is an immutable value so that it can be hashed, cached and shared between the generator, the solver
and the environment without defensive copies. Coordinates are ``(row, col)``; anything outside the grid counts
as a wall, so boards parsed from text need no border.
"""

from __future__ import annotations

from dataclasses import dataclass

from sftgen.tasks.grid import ACTIONS, DELTAS  # re-exported: Sokoban's callers import ACTIONS from here

STEP_PENALTY = -0.1
BOX_ON_TARGET_REWARD = 1.0
BOX_OFF_TARGET_PENALTY = -1.0
SOLVED_REWARD = 10.0

WALL, FLOOR, TARGET, BOX, PLAYER, BOX_ON_TARGET, PLAYER_ON_TARGET = "#", "_", "O", "X", "P", "√", "S"
SYMBOLS = (WALL, FLOOR, TARGET, BOX, PLAYER, BOX_ON_TARGET, PLAYER_ON_TARGET)

Cell = tuple[int, int]


@dataclass(frozen=True)
class StepResult:
    """Outcome of one action: the new board, whether anything moved, and the gym-sokoban reward."""

    board: Board
    moved: bool
    pushed: bool
    reward: float


@dataclass(frozen=True)
class Board:
    """One Sokoban state: static walls and targets plus the movable boxes and player."""

    height: int
    width: int
    walls: frozenset[Cell]
    targets: frozenset[Cell]
    boxes: frozenset[Cell]
    player: Cell

    def __post_init__(self) -> None:
        """Reject impossible states early: a bad board would surface later as a confusing solver result."""
        if self.height < 1 or self.width < 1:
            raise ValueError(f"board size must be positive, got {self.height}x{self.width}")
        if not self.boxes:
            raise ValueError("a board needs at least one box")
        if len(self.boxes) != len(self.targets):
            raise ValueError(f"{len(self.boxes)} boxes but {len(self.targets)} targets: counts must match")
        for name, cells in (("player", (self.player,)), ("box", self.boxes), ("target", self.targets)):
            for cell in cells:
                if not self.in_bounds(cell):
                    raise ValueError(f"{name} at {cell} is outside the {self.height}x{self.width} board")
                if cell in self.walls:
                    raise ValueError(f"{name} at {cell} is on a wall")
        if self.player in self.boxes:
            raise ValueError(f"player at {self.player} is on a box")

    # ------------------------------------------------------------------ queries
    def in_bounds(self, cell: Cell) -> bool:
        """True if ``cell`` lies on the grid."""
        return 0 <= cell[0] < self.height and 0 <= cell[1] < self.width

    def is_free(self, cell: Cell) -> bool:
        """True if a player or box could enter ``cell`` (on the grid, no wall, no box)."""
        return self.in_bounds(cell) and cell not in self.walls and cell not in self.boxes

    def is_solved(self) -> bool:
        """All boxes stand on targets."""
        return self.boxes == self.targets

    def boxes_on_targets(self) -> int:
        """How many boxes stand on targets (drives the +1/-1 rewards)."""
        return len(self.boxes & self.targets)

    # ------------------------------------------------------------------ dynamics
    def step(self, action: str) -> StepResult:
        """Apply one action, gym-sokoban style: walk, push one box, never pull; -0.1 even if blocked."""
        delta = DELTAS.get(action)
        if delta is None:
            raise ValueError(f"unknown action {action!r}; expected one of {ACTIONS}")
        dr, dc = delta
        nxt = (self.player[0] + dr, self.player[1] + dc)
        reward = STEP_PENALTY
        board, moved, pushed = self, False, False
        if self.in_bounds(nxt) and nxt not in self.walls:
            if nxt not in self.boxes:
                board, moved = self._replace(self.boxes, nxt), True
            else:
                beyond = (nxt[0] + dr, nxt[1] + dc)
                if self.is_free(beyond):
                    boxes = (self.boxes - {nxt}) | {beyond}
                    board, moved, pushed = self._replace(frozenset(boxes), nxt), True, True
                    gained = board.boxes_on_targets() - self.boxes_on_targets()
                    if gained > 0:
                        reward += BOX_ON_TARGET_REWARD * gained
                    elif gained < 0:
                        reward += BOX_OFF_TARGET_PENALTY * -gained
        if board.is_solved():
            reward += SOLVED_REWARD
        return StepResult(board=board, moved=moved, pushed=pushed, reward=round(reward, 10))

    def _replace(self, boxes: frozenset[Cell], player: Cell) -> Board:
        """A sibling state sharing the static layout."""
        return Board(self.height, self.width, self.walls, self.targets, boxes, player)

    # ------------------------------------------------------------------ rendering
    def symbol_at(self, cell: Cell) -> str:
        """The study's symbol for one cell."""
        if cell in self.walls or not self.in_bounds(cell):
            return WALL
        on_target = cell in self.targets
        if cell == self.player:
            return PLAYER_ON_TARGET if on_target else PLAYER
        if cell in self.boxes:
            return BOX_ON_TARGET if on_target else BOX
        return TARGET if on_target else FLOOR

    def symbol_grid(self) -> list[list[str]]:
        """Row-major grid of symbols (``#`` wall, ``_`` floor, ``O`` target, ``X`` box, ``P`` player, ...)."""
        return [[self.symbol_at((r, c)) for c in range(self.width)] for r in range(self.height)]

    def to_text(self) -> str:
        """The study's observation text: each cell as ``" # \\t"``, rows joined by newlines."""
        return "\n".join("".join(f" {sym} \t" for sym in row) for row in self.symbol_grid())

    def to_rows(self) -> list[str]:
        """Compact rendering, one character per cell (parsable by :meth:`from_rows`)."""
        return ["".join(row) for row in self.symbol_grid()]

    def key(self) -> str:
        """Canonical text identity, stable across processes (used for hashing and leakage checks)."""
        return "\n".join(self.to_rows())

    def __str__(self) -> str:
        return self.key()

    @classmethod
    def from_rows(cls, rows: list[str] | str) -> Board:
        """Parse the compact rendering (a list of rows or one newline-separated string)."""
        if isinstance(rows, str):
            rows = rows.strip("\n").split("\n")
        if not rows or not rows[0]:
            raise ValueError("empty board")
        width = len(rows[0])
        walls, targets, boxes, players = set(), set(), set(), []
        for r, row in enumerate(rows):
            if len(row) != width:
                raise ValueError(f"row {r} has {len(row)} cells, expected {width} (rows must have equal length)")
            for c, sym in enumerate(row):
                cell = (r, c)
                if sym == WALL:
                    walls.add(cell)
                elif sym in (TARGET, BOX_ON_TARGET, PLAYER_ON_TARGET):
                    targets.add(cell)
                elif sym not in (FLOOR, BOX, PLAYER):
                    raise ValueError(f"unknown symbol {sym!r} at {cell}; expected one of {''.join(SYMBOLS)}")
                if sym in (BOX, BOX_ON_TARGET):
                    boxes.add(cell)
                if sym in (PLAYER, PLAYER_ON_TARGET):
                    players.append(cell)
        if len(players) != 1:
            raise ValueError(f"expected exactly one player (P or S), found {len(players)}")
        return cls(len(rows), width, frozenset(walls), frozenset(targets), frozenset(boxes), players[0])
