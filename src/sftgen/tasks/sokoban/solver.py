"""Move-optimal Sokoban solver.

Every player step costs one move (walks and pushes alike), so the search runs over full (player, boxes)
states; normalising the player to its reachable region would only be push-optimal. A* with a consistent
heuristic keeps optimality while expanding far fewer states than plain BFS, and static dead squares prune
pushes that can never be undone. States are plain ints (``boxes_bitmask * cells + player``) because hashing
ints is the cheapest thing Python can do.
"""

from __future__ import annotations

import heapq
from functools import lru_cache

from .board import ACTIONS, DELTAS, Board, Cell

_INF = 1 << 30


class Grid:
    """The static part of a board compiled to flat int tables (built once per layout and cached)."""

    def __init__(self, height: int, width: int, walls: frozenset[Cell], targets: frozenset[Cell]) -> None:
        self.height, self.width = height, width
        self.size = size = height * width
        self.rows = rows = [i // width for i in range(size)]
        self.cols = cols = [i % width for i in range(size)]
        floor = [True] * size
        for r, c in walls:
            if 0 <= r < height and 0 <= c < width:
                floor[r * width + c] = False
        self.floor = floor
        # nxt[a][i]: the cell reached from i by action a, or -1 for a wall / the edge of the grid.
        self.nxt: list[list[int]] = []
        for action in ACTIONS:
            dr, dc = DELTAS[action]
            offset = dr * width + dc
            table = [-1] * size
            for i in range(size):
                r2, c2 = rows[i] + dr, cols[i] + dc
                if floor[i] and 0 <= r2 < height and 0 <= c2 < width and floor[i + offset]:
                    table[i] = i + offset
            self.nxt.append(table)
        self.target_mask = 0
        for r, c in targets:
            self.target_mask |= 1 << (r * width + c)
        self.push_dist = self._push_distances(targets)

    def _push_distances(self, targets: frozenset[Cell]) -> list[int]:
        """Fewest pushes from each cell to the nearest target ignoring other boxes (``_INF`` = dead square).

        Computed backwards from the targets: a box at ``y`` can be pushed to ``z = y + d`` when the player can
        stand at ``y - d``. This is a lower bound on the pushes, hence on the moves (admissible heuristic).
        """
        dist = [_INF] * self.size
        frontier = sorted(r * self.width + c for r, c in targets)
        for t in frontier:
            dist[t] = 0
        opposite = (1, 0, 3, 2)
        while frontier:
            nxt_frontier = []
            for z in frontier:
                for a in range(4):
                    back = self.nxt[opposite[a]]
                    y = back[z]
                    if y >= 0 and dist[y] == _INF and back[y] >= 0:
                        dist[y] = dist[z] + 1
                        nxt_frontier.append(y)
            frontier = nxt_frontier
        return dist

    def encode(self, board: Board) -> tuple[int, int]:
        """(player index, boxes bitmask) of a board with this layout."""
        mask = 0
        for r, c in board.boxes:
            mask |= 1 << (r * self.width + c)
        return board.player[0] * self.width + board.player[1], mask


@lru_cache(maxsize=512)
def compile_grid(height: int, width: int, walls: frozenset[Cell], targets: frozenset[Cell]) -> Grid:
    """Cached :class:`Grid` per layout: the env and data builders solve many states of one level."""
    return Grid(height, width, walls, targets)


def _grid_of(board: Board) -> Grid:
    return compile_grid(board.height, board.width, board.walls, board.targets)


def dead_squares(board: Board) -> frozenset[Cell]:
    """Floor cells from which a box can never reach any target (a box there makes the level unsolvable)."""
    grid = _grid_of(board)
    return frozenset(divmod(i, grid.width) for i in range(grid.size) if grid.floor[i] and grid.push_dist[i] >= _INF)


def _heuristic(grid: Grid, player: int, mask: int) -> int:
    """Pushes still needed (sum of per-box push distances) plus the walk to the nearest box before any push.

    Consistent: a walk changes only the walk term, by at most one; a push changes one box's distance by at
    most one and leaves the player next to a box both before and after. It is zero exactly on solved states.
    """
    push = 0
    near = _INF
    pr, pc, rows, cols, dist = grid.rows[player], grid.cols[player], grid.rows, grid.cols, grid.push_dist
    m = mask
    while m:
        low = m & -m
        b = low.bit_length() - 1
        m ^= low
        push += dist[b]
        d = abs(rows[b] - pr) + abs(cols[b] - pc)
        if d < near:
            near = d
    if push == 0:
        return 0
    return push + near - 1


def _search(
    grid: Grid, player: int, mask: int, max_steps: int, all_first: bool
) -> tuple[int, int, dict[int, tuple[int, int]], int]:
    """A* from one state. Returns (distance or -1, first-action bitmask, parent links, a solved state's key).

    With ``all_first`` the search keeps a bitmask of the first actions of all shortest paths to each state
    and finishes every state with f == optimum, so the union over solved states is every optimal first action.
    Ties pop lower g first, so all optimal predecessors of a state are expanded before the state itself.
    """
    size, target, nxt, dist = grid.size, grid.target_mask, grid.nxt, grid.push_dist
    start = mask * size + player
    h0 = _heuristic(grid, player, mask)
    if h0 >= _INF or h0 > max_steps:
        return -1, 0, {}, -1
    g_of = {start: 0}
    first = {start: 0}
    parent: dict[int, tuple[int, int]] = {}
    heap = [(h0, 0, start, player, mask)]
    best, best_first, goal = -1, 0, -1
    pop, push = heapq.heappop, heapq.heappush
    while heap:
        f, g, key, p, m = pop(heap)
        if g != g_of[key]:
            continue  # stale entry
        if best >= 0 and f > best:
            break
        if m == target:
            if best < 0:
                best, goal = g, key
                if not all_first:
                    break
            best_first |= first[key]
            continue
        g2 = g + 1
        fmask = first[key]
        for a in range(4):
            q = nxt[a][p]
            if q < 0:
                continue
            m2 = m
            if m >> q & 1:
                r = nxt[a][q]
                if r < 0 or m >> r & 1 or dist[r] >= _INF:
                    continue  # wall, box or dead square beyond: no push
                m2 = m ^ (1 << q) ^ (1 << r)
            key2 = m2 * size + q
            old = g_of.get(key2, _INF)
            if g2 < old:
                h2 = _heuristic(grid, q, m2)
                if g2 + h2 > max_steps:
                    continue
                g_of[key2] = g2
                first[key2] = fmask if g else 1 << a
                parent[key2] = (key, a)
                push(heap, (g2 + h2, g2, key2, q, m2))
            elif g2 == old and all_first:
                first[key2] |= fmask if g else 1 << a
    return best, best_first, parent, goal


def _path(parent: dict[int, tuple[int, int]], end: int) -> list[str]:
    actions = []
    while end in parent:
        end, a = parent[end]
        actions.append(ACTIONS[a])
    actions.reverse()
    return actions


def solve(board: Board, max_steps: int | None = None) -> list[str] | None:
    """A fewest-moves action list; ``[]`` if already solved, ``None`` if unsolvable within ``max_steps``."""
    if board.is_solved():
        return []
    grid = _grid_of(board)
    player, mask = grid.encode(board)
    limit = _INF if max_steps is None else max_steps
    best, _, parent, goal = _search(grid, player, mask, limit, all_first=False)
    return None if best < 0 else _path(parent, goal)


def solution_length(board: Board, max_steps: int | None = None) -> int | None:
    """Optimal number of moves (``None`` if unsolvable within ``max_steps``)."""
    path = solve(board, max_steps)
    return None if path is None else len(path)


def optimal_first_actions(board: Board, max_steps: int | None = None) -> frozenset[str]:
    """Every action that starts some optimal solution (empty if solved or unsolvable within ``max_steps``)."""
    if board.is_solved():
        return frozenset()
    grid = _grid_of(board)
    player, mask = grid.encode(board)
    limit = _INF if max_steps is None else max_steps
    best, firsts, _, _ = _search(grid, player, mask, limit, all_first=True)
    if best < 0:
        return frozenset()
    return frozenset(a for i, a in enumerate(ACTIONS) if firsts >> i & 1)
