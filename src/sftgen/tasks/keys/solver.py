"""Move-optimal BFS over (position, keys in hand, doors opened).

Every move costs one, so breadth-first search is optimal. Keys are consumed and every key opens exactly one door,
so the keys still on the floor follow from the other two parts: a key is on the floor unless it is in hand or its
door was opened. States are plain ints because hashing ints is the cheapest thing Python does.
"""

from __future__ import annotations

from collections.abc import Iterator

from .world import ACTIONS, DELTAS, KeysState, Rules


class _Compiled:
    """A state's static layout as flat tables: neighbours per action, key and door colour index per cell."""

    def __init__(self, state: KeysState, rules: Rules) -> None:
        h, w = state.height, state.width
        self.size = h * w
        index = {c: i for i, c in enumerate(state.colours)}
        self.n = len(state.colours)
        opens = rules.opens(state.colours)
        self.key_door = [index[opens[c]] for c in state.colours]  # key colour index -> door colour index
        self.door_key = [0] * self.n
        for k, d in enumerate(self.key_door):
            self.door_key[d] = k
        self.capacity = rules.capacity
        self.key_at = [-1] * self.size
        self.door_at = [-1] * self.size
        for (r, c), colour in state.keys:
            self.key_at[r * w + c] = index[colour]
        for (r, c), colour in state.doors:
            self.door_at[r * w + c] = index[colour]
        self.exit = state.exit[0] * w + state.exit[1]
        self.nxt: list[list[int]] = []
        for action in ACTIONS:
            dr, dc = DELTAS[action]
            table = [-1] * self.size
            for r in range(h):
                for c in range(w):
                    r2, c2 = r + dr, c + dc
                    if (r, c) not in state.walls and 0 <= r2 < h and 0 <= c2 < w and (r2, c2) not in state.walls:
                        table[r * w + c] = r2 * w + c2
            self.nxt.append(table)
        self.start = (state.player[0] * w + state.player[1], sum(1 << index[c] for c in state.held), 0)

    def successors(self, p: int, held: int, opened: int) -> Iterator[tuple[int, int, int, int]]:
        """(action index, position, held, opened) for every action that moves the player."""
        for a, table in enumerate(self.nxt):
            q = table[p]
            if q < 0:
                continue
            door, key = self.door_at[q], self.key_at[q]
            if door >= 0 and not opened >> door & 1:
                k = self.door_key[door]
                if not held >> k & 1:
                    continue
                yield a, q, held & ~(1 << k), opened | 1 << door
            elif key >= 0 and not held >> key & 1 and not opened >> self.key_door[key] & 1:
                if self.capacity and held.bit_count() >= self.capacity:
                    continue
                yield a, q, held | 1 << key, opened
            else:
                yield a, q, held, opened

    def encode(self, p: int, held: int, opened: int) -> int:
        return (opened << self.n | held) * self.size + p


def _search(state: KeysState, rules: Rules) -> tuple[int, int, dict[int, tuple[int, int]], int]:
    """BFS from ``state``: (optimal length or -1, bitmask of every optimal first action, parents, a goal key).

    First actions propagate along all shortest paths: each layer is expanded completely before the next is
    popped, so a state's first-action mask is final by the time it is expanded.
    """
    grid = _Compiled(state, rules)
    p0, h0, o0 = grid.start
    if p0 == grid.exit:
        return 0, 0, {}, grid.encode(p0, h0, o0)
    start = grid.encode(p0, h0, o0)
    dist, first, parent = {start: 0}, {start: 0}, {}
    frontier = [(start, p0, h0, o0)]
    depth = 0
    while frontier:
        depth += 1
        found, goal = 0, -1
        layer = []
        for key, p, held, opened in frontier:
            for a, q, held2, opened2 in grid.successors(p, held, opened):
                key2 = grid.encode(q, held2, opened2)
                mask = first[key] if key != start else 1 << a
                if key2 not in dist:
                    dist[key2], first[key2], parent[key2] = depth, mask, (key, a)
                    layer.append((key2, q, held2, opened2))
                elif dist[key2] == depth:
                    first[key2] |= mask
        for key2, q, _, _ in layer:
            if q == grid.exit:
                found |= first[key2]
                goal = key2 if goal < 0 else goal
        if goal >= 0:
            return depth, found, parent, goal
        frontier = layer
    return -1, 0, parent, -1


def solve(state: KeysState, rules: Rules) -> list[str] | None:
    """A fewest-moves action list; ``[]`` if the player stands on the exit, ``None`` if the exit is unreachable."""
    length, _, parent, goal = _search(state, rules)
    if length < 0:
        return None
    actions = []
    while goal in parent:
        goal, a = parent[goal]
        actions.append(ACTIONS[a])
    return actions[::-1]


def optimal_first_actions(state: KeysState, rules: Rules) -> frozenset[str]:
    """Every action that starts some optimal plan (empty if solved or unsolvable): the RL step reward's set."""
    length, firsts, _, _ = _search(state, rules)
    return frozenset(a for i, a in enumerate(ACTIONS) if firsts >> i & 1) if length > 0 else frozenset()
