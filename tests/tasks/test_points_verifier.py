"""General Points verifier: golden and negative answers, answer extraction, and property tests."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sftgen.tasks.points import REWARDS, OutcomeKind, parse_answer, solve, verify
from sftgen.tasks.points.expr import combine, evaluate, leaf, render
from sftgen.tasks.points.formula import parse_formula

CARDS = (4, 3, 2, 10)  # e.g. ['4', '3', '2', 'K'] with K = 10
K = OutcomeKind
PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _answer(formula: str) -> str:
    return json.dumps({"formula": formula})


def _kind(formula: str, cards: tuple[int, ...] = CARDS) -> OutcomeKind:
    return verify(_answer(formula), cards).kind


# ------------------------------------------------------------------ golden and negative answers


def test_correct_answer_and_rewards() -> None:
    outcome = verify('{"cards": ["4", "3", "2", "K"], "number": [4, 3, 2, 10], "formula": "4*3+2+10"}', CARDS)
    assert outcome.kind is K.CORRECT and outcome.success and outcome.valid
    assert outcome.reward == 5.0 and outcome.value == 24 and outcome.formula == "4*3+2+10"
    assert {k.value: v for k, v in REWARDS.items()} == {
        "correct": 5.0,
        "wrong_value": -1.0,
        "wrong_numbers": -2.0,
        "illegal_formula": -3.0,
        "no_answer": -3.0,
    }
    assert json.loads(json.dumps(outcome.as_dict()))["kind"] == "correct"


@pytest.mark.parametrize(
    ("formula", "kind"),
    [
        ("4*3+2+10=24", K.CORRECT),
        ("4 * 3 + 2 + 10 = 24", K.CORRECT),
        ("(10-4)*(3+2)-6=24", K.WRONG_NUMBERS),
        ("((4*3))+(2+10)", K.CORRECT),
        ("4*3+2*10", K.WRONG_VALUE),
        ("10/4*3*2", K.WRONG_VALUE),
        ("4*3+2+10+2", K.WRONG_NUMBERS),  # 2 used twice
        ("4*3*2+10-10", K.WRONG_NUMBERS),  # 10 used twice
        ("4*3+2+9", K.WRONG_NUMBERS),  # 9 is not on the cards
        ("4*3*2", K.WRONG_NUMBERS),  # 10 missing
        ("4*3+2+10+0", K.WRONG_NUMBERS),
        ("4x3+2+10", K.ILLEGAL_FORMULA),
        ("4^3+2+10", K.ILLEGAL_FORMULA),
        ("4**3+2+10", K.ILLEGAL_FORMULA),
        ("four*3+2+10", K.ILLEGAL_FORMULA),
        ("4×3+2+10", K.ILLEGAL_FORMULA),
        ("4.0*3+2+10", K.ILLEGAL_FORMULA),
        ("-4+3*2*10", K.ILLEGAL_FORMULA),  # unary minus
        ("4*(-3)+2+10", K.ILLEGAL_FORMULA),
        ("+4*3+2+10", K.ILLEGAL_FORMULA),
        ("4+*3+2+10", K.ILLEGAL_FORMULA),
        ("4*3+2+10-", K.ILLEGAL_FORMULA),
        ("(4*3+2+10", K.ILLEGAL_FORMULA),
        ("4*3+2+10)", K.ILLEGAL_FORMULA),
        ("4*3+(2+)10", K.ILLEGAL_FORMULA),
        ("4(3+2)+10", K.ILLEGAL_FORMULA),
        ("()4*3+2+10", K.ILLEGAL_FORMULA),
        ("4*3+2+010", K.ILLEGAL_FORMULA),  # leading zero: Python's eval (the study) rejects it too
        ("4*3/(2-2)+10", K.ILLEGAL_FORMULA),  # division by zero
        ("", K.ILLEGAL_FORMULA),
        ("=24", K.ILLEGAL_FORMULA),
        ("4*3+2+1000000", K.WRONG_NUMBERS),  # > 6 digits: never a card
    ],
)
def test_golden_and_negative_formulas(formula: str, kind: OutcomeKind) -> None:
    outcome = verify(_answer(formula), CARDS)
    assert outcome.kind is kind, outcome
    assert outcome.reward == REWARDS[kind]
    assert outcome.valid == (kind in (K.CORRECT, K.WRONG_VALUE))


def test_reasons_name_the_problem() -> None:
    assert "division by zero" in verify(_answer("4*3/(2-2)+10"), CARDS).reason
    assert "unary" in verify(_answer("-4+3*2*10"), CARDS).reason
    assert "'x'" in verify(_answer("4x3+2+10"), CARDS).reason
    reason = verify(_answer("4*3+2+2"), CARDS).reason
    assert "extra [2]" in reason and "missing [10]" in reason
    assert "evaluates to 32" in verify(_answer("4*3+2*10"), CARDS).reason


def test_exact_fractions_accept_what_float_eval_rejects() -> None:
    outcome = verify(_answer("8/(3-8/3)"), (3, 3, 8, 8))
    assert outcome.success and outcome.value == Fraction(24)
    assert verify(_answer("8/(3-8/3)"), (3, 3, 8, 8), target=25).value == 24
    assert verify(_answer("10/4*3*2"), CARDS).value == 15


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "I don't know.",
        "24",
        "4*3+2+10",
        '{"cards": ["4", "3", "2", "K"], "number": [4, 3, 2, 10]}',
        "<answer></answer>",
        "<think>4*3+2+10</think>",
        '{"formula": ["4*3+2+10"]}',
        "\x00\udcff\U0001f600",
    ],
)
def test_no_answer(text: str) -> None:
    outcome = verify(text, CARDS)
    assert outcome.kind is K.NO_ANSWER and outcome.reward == -3.0 and not outcome.valid


@pytest.mark.parametrize(
    "text",
    [
        # the study's format: single-quoted formula, trailing comma, placeholders that are not JSON
        "{\n  \"cards\": [x, y, z, w], where 'J', 'Q', and 'K' all count as '10',\n"
        '  "number": [4, 3, 2, 10],\n  "formula": \'4*3+2+10 = 24\',\n}',
        "{'cards': ['4', '3', '2', 'K'], 'number': [4, 3, 2, 10], 'formula': '4*3+2+10'}",
        'Sure! Here is my answer:\n```json\n{"cards": ["4", "3", "2", "K"],\n "formula": "4*3+2+10"}\n```\nDone.',
        '<think>\nTry {"formula": "4+3+2+10"}: 19, no.\nThen 4*3 = 12.\n</think>\n'
        '<answer>\n{"number": [4, 3, 2, 10],\n "formula": "4*3+2+10"}\n</answer>',
        '<think>draft "formula": "1+1"</think> <answer> "formula": "4 * 3 + 2 + 10" </answer>',
        '"formula":\n  "4*3+\n2+10"',
        "formula: '4*3+2+10'",
        '{"Formula": "4*3+2+10"}\n{"formula": "4*3+2+10"}',
    ],
)
def test_answer_extraction_tolerates_real_outputs(text: str) -> None:
    assert parse_answer(text) == "4*3+2+10"
    assert verify(text, CARDS).success


def test_parse_answer_prefers_the_answer_tag_then_the_first_object() -> None:
    text = '{"formula": "1+1"} <answer>{"formula": "2+2"}</answer>'
    assert parse_answer(text) == "2+2"
    assert parse_answer('{"formula": "1+1"} {"formula": "2+2"}') == "1+1"
    assert parse_answer('{"formula": 24}') == "24"
    assert parse_answer('{"formula": "(4+8)*2=24=24"}') == "(4+8)*2"


def test_huge_and_adversarial_inputs_return_quickly() -> None:
    inputs = [
        "x" * 1_000_000,
        '{"formula": "' + "1+" * 500_000 + '1"}',
        "<answer>" * 8_000,
        "{" * 65_000,
        '{"a": ' + "[" * 60_000,
        '"formula": "' * 5_000,
        '{"formula": "' + "(" * 200 + "1" + ")" * 200 + '"}',
        '{"formula": "' + "9" * 250 + '"}',
        '{"formula": "' + "(" * 40 + "4*3+2+10" + ")" * 40 + '"}',
    ]
    start = time.perf_counter()
    for text in inputs:
        outcome = verify(text, CARDS)
        assert not outcome.success
    assert verify('{"formula": "' + "(" * 30 + "4*3+2+10" + ")" * 30 + '"}', CARDS).success
    assert time.perf_counter() - start < 2.0


# ------------------------------------------------------------------ property tests


@PROPS
@given(st.text())
def test_verify_never_raises_on_any_text(text: str) -> None:
    outcome = verify(text, CARDS)
    assert outcome.kind in set(OutcomeKind)


formula_text = st.text(alphabet="0123456789+-*/() =", max_size=40)


@PROPS
@given(formula_text, st.sampled_from(['{"formula": "%s"}', "{'formula': '%s'}", '"formula": "%s"', "%s"]))
def test_verify_never_raises_on_formula_like_text(formula: str, wrapper: str) -> None:
    outcome = verify(wrapper % formula, CARDS)
    if outcome.success:
        assert outcome.formula is not None
        assert Counter(int(n) for n in re.findall(r"\d+", outcome.formula)) == Counter(CARDS)


# formulas made of the card values' digits and operators, so correct ones do occur
card_formula = st.lists(st.sampled_from(["4", "3", "2", "10", "+", "-", "*", "/", "(", ")"]), max_size=14)


@PROPS
@given(card_formula)
def test_never_accepts_different_numbers(tokens: list[str]) -> None:
    formula = "".join(tokens)
    outcome = verify(_answer(formula), CARDS)
    used = Counter(int(n) for n in re.findall(r"\d+", formula))
    if used != Counter(CARDS):
        assert outcome.kind in (K.WRONG_NUMBERS, K.ILLEGAL_FORMULA, K.NO_ANSWER)
    if outcome.success:
        assert used == Counter(CARDS)


@PROPS
@given(st.data())
def test_mutated_solutions_are_never_correct(data: st.DataObject) -> None:
    cards = data.draw(st.sampled_from([(4, 3, 2, 10), (3, 3, 8, 8), (1, 5, 5, 5), (13, 12, 11, 10, 9, 8)]))
    formula = data.draw(st.sampled_from(solve(cards)[:40]))
    spans = [m.span() for m in re.finditer(r"\d+", formula)]
    start, end = data.draw(st.sampled_from(spans))
    replacement = data.draw(st.integers(1, 20).filter(lambda n: n != int(formula[start:end])))
    mutated = formula[:start] + str(replacement) + formula[end:]
    assert verify(_answer(mutated), cards).kind in (K.WRONG_NUMBERS, K.ILLEGAL_FORMULA)
    assert verify(_answer(formula + "+" + str(replacement)), cards).kind is K.WRONG_NUMBERS
    assert verify(_answer(formula), cards).success


@st.composite
def trees(draw: st.DrawFn) -> tuple[tuple[int, ...], str, Fraction | None, tuple]:
    """A random expression tree over random card values: (cards, text, exact value or None, canonical node)."""
    cards = tuple(draw(st.lists(st.integers(1, 19), min_size=1, max_size=6)))
    items: list[tuple[str, Fraction | None, tuple]] = [(str(v), Fraction(v), leaf(v)) for v in cards]
    items = draw(st.permutations(items))
    while len(items) > 1:
        i = draw(st.integers(0, len(items) - 2))
        op = draw(st.sampled_from("+-*/"))
        (ta, va, na), (tb, vb, nb) = items[i], items[i + 1]
        if va is None or vb is None or (op == "/" and vb == 0):
            value = None
        else:
            value = {"+": va + vb, "-": va - vb, "*": va * vb, "/": va / vb if vb else None}[op]
        items[i : i + 2] = [(f"({ta}{op}{tb})", value, combine(op, na, nb))]
    text, value, node = items[0]
    return cards, text, value, node


@PROPS
@given(trees())
def test_random_trees_evaluate_to_the_reported_fraction(case: tuple) -> None:
    cards, text, value, node = case
    outcome = verify(_answer(text), cards)
    if value is None:
        assert outcome.kind is K.ILLEGAL_FORMULA and "division by zero" in outcome.reason
        return
    assert outcome.value == value and evaluate(node) == value
    assert outcome.kind is (K.CORRECT if value == 24 else K.WRONG_VALUE)
    # the solver's canonical minimal-parenthesis rendering keeps the value and the numbers
    minimal = render(node)
    assert len(minimal) <= len(text)
    again = verify(_answer(minimal), cards)
    assert again.value == value and again.kind is outcome.kind
    assert parse_formula(minimal) is not None
