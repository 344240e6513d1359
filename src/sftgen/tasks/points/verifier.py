"""The one General Points verifier: evaluation metric, GRPO reward and CoT rejection sampling all call it.

It returns an :class:`Outcome` (kind, formula, exact value, reason), never a bare float, and never raises on
any text. Checks follow docs/study.md's scoring in order: no formula found -> ``no_answer``; illegal formula (characters
other than integers, ``+ - * / ( )``, broken token order, unary minus, division by zero) ->
``illegal_formula``;
numbers whose multiset differs from the card values -> ``wrong_numbers``; legal but not the target ->
``wrong_value``; else ``correct``.

Division by zero (decided in issue 20): a formula that divides by zero anywhere is ``illegal_formula`` (-3),
whatever its numbers, never ``wrong_value``. It has no value, so there is nothing to be wrong about, and scoring
it -1 would pay a model more for ``4/(1+2-3)`` than for using the wrong cards (-2). The study's scorer agrees:
its ``eval`` raises ``ZeroDivisionError`` there, which it counts as illegal. ``4/(1+2-2)`` divides by 1 and is
judged like any formula.

Differences from the study's scorer, on purpose: values are exact fractions, so ``8/(3-8/3)`` counts as 24
(the study's float ``eval`` gives 23.999... and scores it wrong), and the text is parsed, never executed.
Bounds (documented so that odd scores can be explained): responses over :data:`MAX_TEXT_CHARS` characters are
``no_answer``; formulas over ``MAX_FORMULA_CHARS`` characters or nested deeper than ``MAX_DEPTH`` are illegal;
a number with more than :data:`MAX_NUMBER_DIGITS` digits is ``wrong_numbers`` straight away (no card has it,
and skipping its arithmetic keeps the cost bounded), so a division by zero elsewhere in such a formula is not
reported.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

from sftgen.tasks.points.formula import FormulaError, evaluate, numbers, parse_formula
from sftgen.tasks.points.solver import TARGET

MAX_TEXT_CHARS = 65_536
"""Longer responses score ``no_answer`` without being searched (a 4,096-token answer is ~16k characters)."""

MAX_NUMBER_DIGITS = 6

_MAX_JSON_STARTS = 64
"""At most this many ``{`` positions are tried as JSON object starts (bounds the cost on adversarial text)."""

_THINK_END = re.compile(r"</think\s*>", re.IGNORECASE)
_FORMULA_FIELD = re.compile(
    r"""(?:"formula"|'formula'|\bformula)\s*:\s*(?:"([^"]{0,1024})"|'([^']{0,1024})')""",
    re.DOTALL | re.IGNORECASE,
)


class OutcomeKind(StrEnum):
    """What happened to one answer; kept apart so parse failures are never conflated with wrong answers."""

    CORRECT = "correct"
    WRONG_VALUE = "wrong_value"
    WRONG_NUMBERS = "wrong_numbers"
    ILLEGAL_FORMULA = "illegal_formula"
    NO_ANSWER = "no_answer"


REWARDS: dict[OutcomeKind, float] = {
    OutcomeKind.CORRECT: 5.0,
    OutcomeKind.WRONG_VALUE: -1.0,
    OutcomeKind.WRONG_NUMBERS: -2.0,
    OutcomeKind.ILLEGAL_FORMULA: -3.0,
    OutcomeKind.NO_ANSWER: -3.0,
}
"""The study's GP reward (an illegal or missing formula both score -3)."""


@dataclass(frozen=True)
class Outcome:
    """The verdict on one answer, with the reason a person (or a report) can read."""

    kind: OutcomeKind
    formula: str | None
    value: Fraction | None
    reason: str

    @property
    def reward(self) -> float:
        """The study's reward for this outcome."""
        return REWARDS[self.kind]

    @property
    def success(self) -> bool:
        """A correct formula."""
        return self.kind is OutcomeKind.CORRECT

    @property
    def valid(self) -> bool:
        """A legal formula using exactly the card values (spec: reward >= -1)."""
        return self.kind in (OutcomeKind.CORRECT, OutcomeKind.WRONG_VALUE)

    def as_dict(self) -> dict[str, object]:
        """JSON-ready record for episode logs (the value as an exact ``p/q`` string)."""
        return {
            "kind": str(self.kind),
            "formula": self.formula,
            "value": None if self.value is None else str(self.value),
            "reason": self.reason,
            "reward": self.reward,
        }


def _json_formula(region: str) -> str | None:
    """The ``formula`` field of the first JSON object in ``region`` that has one."""
    decoder = json.JSONDecoder()
    start = region.find("{")
    tries = 0
    while start != -1 and tries < _MAX_JSON_STARTS:
        tries += 1
        try:
            obj, _ = decoder.raw_decode(region, start)
        except (ValueError, RecursionError):
            obj = None
        if isinstance(obj, dict) and "formula" in obj:
            value = obj["formula"]
            if isinstance(value, str):
                return value
            if isinstance(value, int) and not isinstance(value, bool):
                return str(value)
        start = region.find("{", start + 1)
    return None


def _find_formula(region: str) -> str | None:
    """JSON first (also with single quotes turned into double ones), then the first quoted formula field."""
    requoted = region.replace("'", '"')
    for candidate in (region, requoted) if requoted != region else (region,):  # without quotes: one pass, not two
        found = _json_formula(candidate)
        if found is not None:
            return found
    match = _FORMULA_FIELD.search(region)
    if match is None:
        return None
    return match.group(1) if match.group(1) is not None else match.group(2)


def _answer_tag(body: str) -> str | None:
    """Content of the first ``<answer>...</answer>`` (case-insensitive); ``str.find`` keeps it linear-time."""
    lower = body.lower()
    start = lower.find("<answer>")
    if start == -1:
        return None
    end = lower.find("</answer>", start)
    return None if end == -1 else body[start + len("<answer>") : end]


def parse_answer(text: str) -> str | None:
    """The formula the response commits to: after any ``</think>``, inside ``<answer>`` tags if present.

    Tolerates the study's format (``"formula": '...'``), single-quoted JSON, prose and code fences around the
    object. Drops everything after ``=`` and all whitespace. ``None`` when there is no formula field at all.
    """
    if not isinstance(text, str) or len(text) > MAX_TEXT_CHARS:
        return None
    ends = list(_THINK_END.finditer(text))
    body = text[ends[-1].end() :] if ends else text
    regions = [body]
    tagged = _answer_tag(body)
    if tagged is not None:
        regions.insert(0, tagged)
    for region in regions:
        found = _find_formula(region)
        if found is not None:
            return "".join(found.split("=", 1)[0].split())
    return None


def _numbers_reason(used: Counter[int], cards: Counter[int]) -> str:
    """Say which numbers are extra and which are missing."""
    extra = sorted((used - cards).elements())
    missing = sorted((cards - used).elements())
    parts = [f"extra {extra}" if extra else "", f"missing {missing}" if missing else ""]
    detail = ", ".join(p for p in parts if p)
    return f"numbers {sorted(used.elements())} differ from card values {sorted(cards.elements())} ({detail})"


def verify(text: str, card_values: Sequence[int], target: int = TARGET) -> Outcome:
    """Score one response against the card values (under the *checked* face map) and the target."""
    cards = Counter(int(v) for v in card_values)
    if isinstance(text, str) and len(text) > MAX_TEXT_CHARS:
        return Outcome(OutcomeKind.NO_ANSWER, None, None, f"response longer than {MAX_TEXT_CHARS} characters")
    formula = parse_answer(text)
    if formula is None:
        return Outcome(OutcomeKind.NO_ANSWER, None, None, "no formula field found")
    try:
        tree = parse_formula(formula)
    except FormulaError as exc:
        return Outcome(OutcomeKind.ILLEGAL_FORMULA, formula, None, str(exc))
    literals = numbers(tree)
    long = [d for d in literals if len(d) > MAX_NUMBER_DIGITS]
    if long:
        reason = f"number {long[0][:20]}{'...' if len(long[0]) > 20 else ''} is longer than any card value"
        return Outcome(OutcomeKind.WRONG_NUMBERS, formula, None, reason)
    try:
        value = evaluate(tree)
    except FormulaError as exc:
        return Outcome(OutcomeKind.ILLEGAL_FORMULA, formula, None, str(exc))
    used = Counter(int(d) for d in literals)
    if used != cards:
        return Outcome(OutcomeKind.WRONG_NUMBERS, formula, value, _numbers_reason(used, cards))
    if value != target:
        return Outcome(OutcomeKind.WRONG_VALUE, formula, value, f"evaluates to {value}, not {target}")
    return Outcome(OutcomeKind.CORRECT, formula, value, f"evaluates to {target} using each card once")
