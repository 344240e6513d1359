"""Canonical arithmetic expressions: one form per formula up to commutativity and associativity.

The solver must report every *distinct* solution. Two formulas count as the same solution when they differ
only by reordering or regrouping ``+``/``-`` chains or ``*``/``/`` chains (``4*3+2+10`` = ``10+2+3*4``,
``a-(b-c)`` = ``a-b+c``, ``a/(b/c)`` = ``a*c/b``). A canonical node flattens each chain into the multiset of
positive and negative terms (or numerator and denominator factors), so equal solutions are equal tuples and a
``set`` removes the duplicates. Rendering uses the fewest parentheses the left-associative grammar allows.

Nodes are plain tuples so they hash and compare fast and never mix incomparable types:

* ``(LEAF, n)`` an integer,
* ``(SUM, pos, neg)`` ``pos[0] + pos[1] ... - neg[0] - ...`` (terms: leaves or products, ``pos`` non-empty),
* ``(PROD, num, den)`` ``num[0] * num[1] ... / den[0] / ...`` (factors: leaves or sums, ``num`` non-empty),

with each tuple of children kept sorted.
"""

from __future__ import annotations

from fractions import Fraction
from typing import TypeAlias

LEAF, SUM, PROD = 0, 1, 2

Node: TypeAlias = tuple  # (LEAF, int) | (SUM, tuple[Node, ...], tuple[Node, ...]) | (PROD, ...)

OPS = ("+", "-", "*", "/")


def leaf(n: int) -> Node:
    """A number leaf; only integers exist in formulas, so a Fraction here is a caller bug."""
    return (LEAF, int(n))


def _parts(node: Node, kind: int) -> tuple[tuple[Node, ...], tuple[Node, ...]]:
    """A node as (positive, negative) children of chain ``kind``; any other node is one positive child."""
    if node[0] == kind:
        return node[1], node[2]
    return (node,), ()


def combine(op: str, left: Node, right: Node) -> Node:
    """The canonical node of ``left op right``: chains of the same kind are merged, children sorted."""
    kind = SUM if op in "+-" else PROD
    lp, ln = _parts(left, kind)
    rp, rn = _parts(right, kind)
    if op in "+*":
        return (kind, tuple(sorted(lp + rp)), tuple(sorted(ln + rn)))
    if op in "-/":
        return (kind, tuple(sorted(lp + rn)), tuple(sorted(ln + rp)))
    raise ValueError(f"unknown operator {op!r}")


def render(node: Node) -> str:
    """Minimal-parenthesis text; children are written largest-first so products and big numbers lead."""
    if node[0] == LEAF:
        return str(node[1])
    pos, neg = node[1], node[2]
    if node[0] == SUM:
        text = "+".join(render(n) for n in reversed(pos))
        return text + "".join("-" + render(n) for n in reversed(neg))
    text = "*".join(_factor(n) for n in reversed(pos))
    return text + "".join("/" + _factor(n) for n in reversed(neg))


def _factor(node: Node) -> str:
    """A factor of a product: sums need parentheses, leaves do not (factors are never products)."""
    text = render(node)
    return f"({text})" if node[0] == SUM else text


def evaluate(node: Node) -> Fraction:
    """Exact value of a node (used by tests and CoT traces; the solver tracks values itself)."""
    if node[0] == LEAF:
        return Fraction(node[1])
    pos = [evaluate(n) for n in node[1]]
    neg = [evaluate(n) for n in node[2]]
    if node[0] == SUM:
        return sum(pos, Fraction(0)) - sum(neg, Fraction(0))
    value = Fraction(1)
    for f in pos:
        value *= f
    for f in neg:
        value /= f
    return value


def leaves(node: Node) -> list[int]:
    """The integers a node uses, in canonical order (one per card)."""
    if node[0] == LEAF:
        return [node[1]]
    return [n for child in (*node[1], *node[2]) for n in leaves(child)]
