"""A small, safe formula language: integers, ``+ - * /`` and parentheses, evaluated exactly.

Model output is untrusted text, so it is never handed to ``eval``/``exec``/``ast``: a hand-written tokenizer
and recursive-descent parser accept exactly the grammar

    expr   := term (('+' | '-') term)*
    term   := factor (('*' | '/') factor)*
    factor := INTEGER | '(' expr ')'

and everything else (other characters, unary minus or plus, ``**``, ``4+*3``, unbalanced parentheses, numbers
with a leading zero such as ``08``, which Python's ``eval`` in the study also rejects) is an illegal formula.
Size limits keep the cost bounded whatever the input: at most :data:`MAX_FORMULA_CHARS` characters (so at
most that many tokens) and :data:`MAX_DEPTH` nested parentheses. Evaluation uses ``fractions.Fraction``, so
``8/(3-8/3)`` is exactly 24 (the study's float ``eval`` gives 23.999... and rejects it).
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any, TypeAlias

MAX_FORMULA_CHARS = 256
"""Longer formulas are illegal: a 6-card answer needs about 30 characters."""

MAX_DEPTH = 32
"""Deeper parenthesis nesting is illegal (bounds the parser's recursion)."""

ALLOWED = frozenset("0123456789+-*/()")

Tree: TypeAlias = tuple  # ("num", digits) | (op, left, right)


class FormulaError(ValueError):
    """The formula is not legal; the message says why (it becomes the outcome's reason)."""


def tokenize(formula: str) -> list[str]:
    """Split into integer and single-character operator/parenthesis tokens; reject anything else."""
    if len(formula) > MAX_FORMULA_CHARS:
        raise FormulaError(f"formula longer than {MAX_FORMULA_CHARS} characters")
    tokens: list[str] = []
    i, n = 0, len(formula)
    while i < n:
        ch = formula[i]
        if ch.isascii() and ch.isdigit():
            j = i
            while j < n and formula[j].isascii() and formula[j].isdigit():
                j += 1
            number = formula[i:j]
            if len(number) > 1 and number[0] == "0":
                raise FormulaError(f"number with a leading zero: {number!r}")
            tokens.append(number)
            i = j
        elif ch in ALLOWED:
            tokens.append(ch)
            i += 1
        else:
            raise FormulaError(f"illegal character {ch!r} at position {i}")
    return tokens


class _Parser:
    """Recursive descent over a token list; each method consumes one grammar rule."""

    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.depth = 0

    def peek(self) -> str | None:
        """The next token, or None at the end (never raises IndexError)."""
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def parse(self) -> Tree:
        """A whole formula: one expression and nothing left over."""
        if not self.tokens:
            raise FormulaError("empty formula")
        tree = self.expr()
        extra = self.peek()
        if extra is not None:
            what = "unbalanced ')'" if extra == ")" else f"unexpected {extra!r}"
            raise FormulaError(f"{what} at token {self.pos}")
        return tree

    def expr(self) -> Tree:
        """Left-associative ``+``/``-`` chain."""
        tree = self.term()
        while (op := self.peek()) in ("+", "-"):
            self.pos += 1
            tree = (op, tree, self.term())
        return tree

    def term(self) -> Tree:
        """Left-associative ``*``/``/`` chain (binds tighter than ``+``/``-``)."""
        tree = self.factor()
        while (op := self.peek()) in ("*", "/"):
            self.pos += 1
            tree = (op, tree, self.factor())
        return tree

    def factor(self) -> Tree:
        """A number or a parenthesised expression; a sign here is a unary operator, which is refused."""
        tok = self.peek()
        if tok is None:
            raise FormulaError("formula ends where a number or '(' is expected")
        if tok[0].isdigit():
            self.pos += 1
            return ("num", tok)
        if tok == "(":
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise FormulaError(f"parentheses nested deeper than {MAX_DEPTH}")
            self.pos += 1
            tree = self.expr()
            if self.peek() != ")":
                raise FormulaError(f"unbalanced '(' (missing ')' at token {self.pos})")
            self.pos += 1
            self.depth -= 1
            return tree
        if tok in ("+", "-"):
            raise FormulaError(f"unary {tok!r} at token {self.pos} is not allowed")
        raise FormulaError(f"unexpected {tok!r} at token {self.pos} (expected a number or '(')")


def parse_formula(formula: str) -> Tree:
    """Parse a whitespace-free formula into a tree, or raise :class:`FormulaError` saying why not."""
    return _Parser(tokenize(formula)).parse()


def numbers(tree: Tree) -> list[str]:
    """The integer literals of a tree as digit strings, left to right."""
    if tree[0] == "num":
        return [tree[1]]
    return numbers(tree[1]) + numbers(tree[2])


def evaluate(tree: Tree, number: Callable[[int], Any] = Fraction) -> Any:
    """Exact value (``number=Fraction``); ``number=int`` gives what Python's ``eval`` gives (``/`` is float
    division), the study's own check. Division by zero raises :class:`FormulaError` (an illegal formula, not a
    wrong value)."""
    if tree[0] == "num":
        return number(int(tree[1]))
    op, left, right = tree
    a, b = evaluate(left, number), evaluate(right, number)
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if b == 0:
        raise FormulaError("division by zero")
    return a / b
