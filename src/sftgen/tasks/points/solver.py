"""Exact 24-game solver: decide solvability fast, give one solution, or list every distinct solution.

Why this shape:

* **Exact arithmetic.** Values are Python ``int`` while integral and ``fractions.Fraction`` otherwise (never
  floats, never ``eval``), so ``8/(3-8/3)`` is found and the common integer case stays ~50x cheaper than
  Fraction arithmetic.
* **Split, then aim at the target.** A formula over a multiset is ``x op y`` for a split of the multiset into
  two parts. For small parts (<= 3 numbers) the full table value -> recipe is cached by the sorted multiset.
  For larger ones the search is goal-directed: for each value ``a`` of the smaller part, the value ``b`` the
  other part would need (``t-a``, ``a-t``, ``t+a``, ``t/a``, ``a/t``, ``t*a``) is looked up or searched
  recursively. A six-card hand thus never builds the huge tables of five-card subsets.
* **Distinct solutions** are canonical :mod:`~sftgen.tasks.points.expr` nodes (commutativity and associativity
  of ``+`` and ``*`` normalised), so :func:`solve` returns each solution once, with minimal parentheses.

Inputs must be integers (card values); the target may be any integer.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from functools import lru_cache
from numbers import Integral

from sftgen.tasks.points.expr import Node, combine, leaf, render

Num = int | Fraction
MultiSet = tuple[Num, ...]
Recipe = tuple  # () for a leaf, else (op, swapped, part_a, value_a, part_b, value_b)

TARGET = 24
"""The game's target value."""

_TABLE_MAX = 3
"""Parts up to this many numbers get a full value table; larger ones are searched towards a target."""

_ANY, _NONZERO = "any", "nonzero"
"""Sentinels for ``0 * b`` and ``0 / b`` with target 0: any (non-zero) value of the other part works."""


def _integer(v: object) -> int:
    """Card values and targets are integers; refuse floats and non-integral values rather than round them."""
    if isinstance(v, bool) or not isinstance(v, Integral | Fraction):
        raise TypeError(f"expected an integer, got {v!r} ({type(v).__name__})")
    if isinstance(v, Fraction) and v.denominator != 1:
        raise ValueError(f"expected an integer, got {v}")
    return int(v)


def _key(values: Sequence[int]) -> MultiSet:
    """The memo key: the sorted multiset of the values."""
    return tuple(sorted(_integer(v) for v in values))


def _norm(r: Num) -> Num:
    """Integral Fractions back to int so the fast path stays fast."""
    if type(r) is not int and r.denominator == 1:
        return r.numerator
    return r


def _div(a: Num, b: Num) -> Num:
    """Exact ``a / b`` (``b != 0``); int/int must not go through float division."""
    if type(a) is int and type(b) is int:
        return a // b if a % b == 0 else Fraction(a, b)
    return _norm(Fraction(a) / b)


def _pair_values(a: Num, b: Num) -> list[tuple[Num, str, bool]]:
    """Every ``(value, op, swapped)`` of one binary operation on a and b; swapped means ``b op a``."""
    out = [
        (_norm(a + b), "+", False),
        (_norm(a * b), "*", False),
        (_norm(a - b), "-", False),
        (_norm(b - a), "-", True),
    ]
    if b != 0:
        out.append((_div(a, b), "/", False))
    if a != 0:
        out.append((_div(b, a), "/", True))
    return out


def _needs(a: Num, t: Num) -> list[tuple[str, bool, Num | str]]:
    """For a known left value ``a``: each ``(op, swapped, b)`` such that the combination equals ``t``."""
    out: list[tuple[str, bool, Num | str]] = [
        ("+", False, _norm(t - a)),
        ("-", False, _norm(a - t)),
        ("-", True, _norm(t + a)),
    ]
    if a != 0:
        out.append(("*", False, _div(t, a)))
        out.append(("/", True, _norm(t * a)))
        if t != 0:
            out.append(("/", False, _div(a, t)))
    elif t == 0:
        out.append(("*", False, _ANY))
        out.append(("/", False, _NONZERO))
    return out


def _join(op: str, swapped: bool, x: Node, y: Node) -> Node:
    """Canonical node of ``x op y`` (or ``y op x`` when swapped)."""
    return combine(op, y, x) if swapped else combine(op, x, y)


@lru_cache(maxsize=8192)
def _splits(ms: MultiSet) -> tuple[tuple[MultiSet, MultiSet], ...]:
    """Each unordered split of a multiset into two non-empty parts, once, smaller part first."""
    n = len(ms)
    seen: set[tuple[MultiSet, MultiSet]] = set()
    for mask in range(1, (1 << n) - 1):
        a = tuple(ms[i] for i in range(n) if mask >> i & 1)
        b = tuple(ms[i] for i in range(n) if not mask >> i & 1)
        if (len(a), a) <= (len(b), b):
            seen.add((a, b))
    return tuple(sorted(seen, key=lambda p: (len(p[0]), p)))


@lru_cache(maxsize=16384)
def _table(ms: MultiSet) -> dict[Num, Recipe]:
    """Every value a multiset can make, each with one recipe (the first found)."""
    if len(ms) == 1:
        return {ms[0]: ()}
    tab: dict[Num, Recipe] = {}
    for part_a, part_b in _splits(ms):
        tab_b = _table(part_b)
        for a in _table(part_a):
            for b in tab_b:
                for value, op, swapped in _pair_values(a, b):
                    if value not in tab:
                        tab[value] = (op, swapped, part_a, a, part_b, b)
    return tab


def _build(ms: MultiSet, value: Num) -> Node:
    """Rebuild the expression behind a table entry."""
    recipe = _table(ms)[value]
    if not recipe:
        return leaf(ms[0])
    op, swapped, part_a, a, part_b, b = recipe
    return _join(op, swapped, _build(part_a, a), _build(part_b, b))


def _sum_node(ms: MultiSet) -> Node:
    """``n1+n2+...``: a valid expression over any multiset (used when any value will do)."""
    node = leaf(ms[0])
    for n in ms[1:]:
        node = combine("+", node, leaf(n))
    return node


def _any_node(ms: MultiSet, nonzero: bool) -> Node | None:
    """Some expression over ``ms`` (non-zero if asked); the sum works unless the cards sum to zero."""
    if not nonzero or sum(ms) != 0:
        return _sum_node(ms)
    value = next((v for v in _table(ms) if v != 0), None)
    return None if value is None else _build(ms, value)


def _lookup(ms: MultiSet, t: Num | str) -> Node | None:
    """One expression over ``ms`` worth ``t`` (or any / any non-zero value), else None."""
    if isinstance(t, str):
        return _any_node(ms, t == _NONZERO)
    if len(ms) <= _TABLE_MAX:
        return _build(ms, t) if t in _table(ms) else None
    return _search(ms, t)


@lru_cache(maxsize=65536)
def _search(ms: MultiSet, t: Num) -> Node | None:
    """Goal-directed search for a large multiset: smaller part enumerated, larger part asked for a value."""
    for part_a, part_b in _splits(ms):
        for a in _table(part_a):
            for op, swapped, need in _needs(a, t):
                node_b = _lookup(part_b, need)
                if node_b is not None:
                    return _join(op, swapped, _build(part_a, a), node_b)
    return None


def is_solvable(values: Sequence[int], target: int = TARGET) -> bool:
    """Whether the values (each used once) can make the target; memoised by sorted multiset, early exit."""
    ms = _key(values)
    return bool(ms) and _lookup(ms, _integer(target)) is not None


def one_solution(values: Sequence[int], target: int = TARGET) -> str | None:
    """One solution formula (the first found, deterministic), or None; fast enough for data building."""
    ms = _key(values)
    if not ms:
        return None
    node = _lookup(ms, _integer(target))
    return None if node is None else render(node)


# ---------------------------------------------------------------- every distinct solution

Forms = dict[Num, frozenset[Node]]


@lru_cache(maxsize=2048)
def _forms_table(ms: MultiSet) -> Forms:
    """Every value of a small multiset with all its distinct canonical expressions."""
    if len(ms) == 1:
        return {ms[0]: frozenset({leaf(ms[0])})}
    acc: dict[Num, set[Node]] = {}
    for part_a, part_b in _splits(ms):
        forms_b = _forms_table(part_b)
        for a, nodes_a in _forms_table(part_a).items():
            for b, nodes_b in forms_b.items():
                for value, op, swapped in _pair_values(a, b):
                    bucket = acc.setdefault(value, set())
                    bucket.update(_join(op, swapped, x, y) for x in nodes_a for y in nodes_b)
    return {v: frozenset(nodes) for v, nodes in acc.items()}


def _forms_lookup(ms: MultiSet, t: Num | str) -> frozenset[Node]:
    """All distinct expressions over ``ms`` worth ``t`` (or any / any non-zero value)."""
    if isinstance(t, str):
        table = _forms_table(ms)
        return frozenset(n for v, nodes in table.items() if t == _ANY or v != 0 for n in nodes)
    if len(ms) <= _TABLE_MAX:
        return _forms_table(ms).get(t, frozenset())
    return _forms_search(ms, t)


@lru_cache(maxsize=4096)
def _forms_search(ms: MultiSet, t: Num) -> frozenset[Node]:
    """Goal-directed enumeration of all expressions over a large multiset worth ``t``."""
    out: set[Node] = set()
    for part_a, part_b in _splits(ms):
        for a, nodes_a in _forms_table(part_a).items():
            for op, swapped, need in _needs(a, t):
                nodes_b = _forms_lookup(part_b, need)
                out.update(_join(op, swapped, x, y) for x in nodes_a for y in nodes_b)
    return frozenset(out)


def solve(values: Sequence[int], target: int = TARGET) -> list[str]:
    """Every distinct solution (see :mod:`~sftgen.tasks.points.expr`), shortest first; ``[]`` proves none."""
    ms = _key(values)
    if not ms:
        return []
    nodes = _forms_lookup(ms, _integer(target))
    return sorted({render(n) for n in nodes}, key=lambda s: (len(s), s))


def clear_caches() -> None:
    """Drop memoised tables (benchmarks measure cold runs; long-lived processes may want the memory back)."""
    for fn in (_splits, _table, _search, _forms_table, _forms_search):
        fn.cache_clear()
