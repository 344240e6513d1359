"""Key-and-door world: immutable states, the rules a prompt declares or a checker applies, moves and rendering.

The player walks a walled grid to the exit (``E``). Walking onto a key (``r g b y``) picks it up; walking into a
closed door (``R G B Y``) while holding a key that opens it opens the door for good and uses the key up. Which key
opens which door and how many keys fit in the hands are :class:`Rules`, not constants, because rule variants are
the point of the task: they change the optimal plan while the board stays the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from sftgen.tasks.grid import ACTIONS, DELTAS

PALETTE = ("red", "green", "blue", "yellow")
"""Colours in cycle order; a key is the colour's initial in lower case, a door in upper case."""

WALL, FLOOR, PLAYER, EXIT, PLAYER_ON_EXIT = "#", "_", "P", "E", "S"

Cell = tuple[int, int]


def key_symbol(colour: str) -> str:
    return colour[0]


def door_symbol(colour: str) -> str:
    return colour[0].upper()


_COLOUR_OF = {c[0]: c for c in PALETTE}


@dataclass(frozen=True)
class Rules:
    """Which door a key opens and how many keys the hands hold.

    ``shift``: a key opens the door ``shift`` places further along the level's colour cycle (0: its own colour).
    ``capacity``: keys carried at once (0: any number); with full hands a key's square cannot be entered.
    """

    shift: int = 0
    capacity: int = 0

    def opens(self, colours: tuple[str, ...]) -> dict[str, str]:
        """Key colour -> the door colour it opens, over the level's colours (a bijection)."""
        n = len(colours)
        return {c: colours[(i + self.shift) % n] for i, c in enumerate(colours)}

    def as_data(self) -> dict[str, int]:
        return {"shift": self.shift, "capacity": self.capacity}


STANDARD = Rules()
NEXT_COLOUR = Rules(shift=1)
ONE_KEY = Rules(capacity=1)


@dataclass(frozen=True)
class Move:
    """One action's result: the new state, whether the player moved, and what happened (for rewards and CoT)."""

    state: KeysState
    moved: bool
    event: str
    picked: str | None = None
    opened: str | None = None


@dataclass(frozen=True)
class KeysState:
    """One state. ``colours`` is fixed for the level (keys and doors vanish, the colour cycle must not)."""

    height: int
    width: int
    walls: frozenset[Cell]
    keys: tuple[tuple[Cell, str], ...]
    doors: tuple[tuple[Cell, str], ...]
    colours: tuple[str, ...]
    exit: Cell
    player: Cell
    held: tuple[str, ...] = ()
    _key_at: dict[Cell, str] = field(init=False, repr=False, compare=False, hash=False)
    _door_at: dict[Cell, str] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        """Sort keys and doors (one state, one value) and reject malformed states before a solver sees them."""
        object.__setattr__(self, "keys", tuple(sorted(self.keys)))
        object.__setattr__(self, "doors", tuple(sorted(self.doors)))
        object.__setattr__(self, "_key_at", dict(self.keys))
        object.__setattr__(self, "_door_at", dict(self.doors))
        if list(self.colours) != [c for c in PALETTE if c in self.colours]:
            raise ValueError(f"colours {self.colours} must be distinct palette colours in palette order")
        for colour in [c for _, c in self.keys] + [c for _, c in self.doors] + list(self.held):
            if colour not in self.colours:
                raise ValueError(f"{colour!r} is not one of the level's colours {self.colours}")
        items = [self.exit, *self._key_at, *self._door_at]
        if len(set(items)) != 1 + len(self.keys) + len(self.doors) or self.player in items[1:]:
            raise ValueError("exit, keys and doors need distinct cells, and the player none of a key's or door's")
        for cell in (self.player, *items):
            if not (0 <= cell[0] < self.height and 0 <= cell[1] < self.width) or cell in self.walls:
                raise ValueError(f"{cell} is off the grid or on a wall")
        if tuple(sorted(self.held, key=PALETTE.index)) != self.held:
            raise ValueError(f"held keys {self.held} must be in palette order")

    def is_solved(self) -> bool:
        return self.player == self.exit

    def step(self, action: str, rules: Rules) -> Move:
        """Apply one action: a wall, a closed door without its key or a key with full hands blocks it."""
        dr, dc = DELTAS[action]
        target = (self.player[0] + dr, self.player[1] + dc)
        if target in self.walls or not (0 <= target[0] < self.height and 0 <= target[1] < self.width):
            return Move(self, False, "blocked by a wall")
        door = self._door_at.get(target)
        if door is not None:
            opener = next(k for k, d in rules.opens(self.colours).items() if d == door)
            if opener not in self.held:
                return Move(self, False, f"the {door} door needs the {opener} key")
            state = replace(
                self,
                doors=tuple(d for d in self.doors if d[0] != target),
                held=tuple(c for c in self.held if c != opener),
                player=target,
            )
            return Move(state, True, f"opens the {door} door with the {opener} key", opened=door)
        key = self._key_at.get(target)
        if key is not None:
            if rules.capacity and len(self.held) >= rules.capacity:
                return Move(self, False, f"hands are full, cannot step onto the {key} key")
            held = tuple(sorted((*self.held, key), key=PALETTE.index))
            state = replace(self, keys=tuple(k for k in self.keys if k[0] != target), held=held, player=target)
            return Move(state, True, f"picks up the {key} key", picked=key)
        state = replace(self, player=target)
        return Move(state, True, "reaches the exit" if state.is_solved() else "walks")

    # ------------------------------------------------------------------ rendering
    def symbol_at(self, cell: Cell) -> str:
        if cell in self.walls:
            return WALL
        if cell == self.player:
            return PLAYER_ON_EXIT if cell == self.exit else PLAYER
        if cell in self._key_at:
            return key_symbol(self._key_at[cell])
        if cell in self._door_at:
            return door_symbol(self._door_at[cell])
        return EXIT if cell == self.exit else FLOOR

    def to_rows(self) -> list[str]:
        """One character per cell (parsable by :meth:`from_rows`)."""
        return ["".join(self.symbol_at((r, c)) for c in range(self.width)) for r in range(self.height)]

    def to_text(self) -> str:
        """The study-style observation: each cell as ``" # \\t"``, rows joined by newlines (as Sokoban's)."""
        return "\n".join("".join(f" {s} \t" for s in row) for row in self.to_rows())

    def key(self) -> str:
        """Canonical text identity: the board, the colour cycle and the keys in hand."""
        return "\n".join([*self.to_rows(), ",".join(self.colours), ",".join(self.held)])

    def as_data(self) -> dict[str, list[str]]:
        """JSON-ready state (board rows, colour cycle, keys held): what travels in info and rows."""
        return {"board": self.to_rows(), "colours": list(self.colours), "held": list(self.held)}

    @classmethod
    def from_data(cls, data: dict[str, list[str]]) -> KeysState:
        return cls.from_rows(data["board"], tuple(data["colours"]), tuple(data["held"]))

    @classmethod
    def from_rows(
        cls, rows: list[str], colours: tuple[str, ...] | None = None, held: tuple[str, ...] = ()
    ) -> KeysState:
        """Parse :meth:`to_rows`; ``colours`` defaults to the colours drawn on the board and held."""
        if not rows or any(len(row) != len(rows[0]) for row in rows):
            raise ValueError("rows must be non-empty and of equal length")
        walls, keys, doors, players, exits = set(), [], [], [], []
        for r, row in enumerate(rows):
            for c, sym in enumerate(row):
                cell = (r, c)
                if sym in (PLAYER, PLAYER_ON_EXIT):
                    players.append(cell)
                if sym in (EXIT, PLAYER_ON_EXIT):
                    exits.append(cell)
                if sym == WALL:
                    walls.add(cell)
                elif sym.lower() in _COLOUR_OF:
                    (keys if sym.islower() else doors).append((cell, _COLOUR_OF[sym.lower()]))
                elif sym not in (FLOOR, PLAYER, EXIT, PLAYER_ON_EXIT):
                    raise ValueError(f"unknown symbol {sym!r} at {cell}")
        if len(players) != 1 or len(exits) != 1:
            raise ValueError(f"expected one player and one exit, found {len(players)} and {len(exits)}")
        present = {c for _, c in keys} | {c for _, c in doors} | set(held)
        colours = colours if colours is not None else tuple(c for c in PALETTE if c in present)
        return cls(
            len(rows), len(rows[0]), frozenset(walls), tuple(keys), tuple(doors), colours, exits[0], players[0], held
        )


__all__ = ["ACTIONS", "DELTAS", "NEXT_COLOUR", "ONE_KEY", "PALETTE", "STANDARD", "Cell", "KeysState", "Move", "Rules"]
