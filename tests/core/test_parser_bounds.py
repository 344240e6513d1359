"""Answer parsers read a bounded prefix in linear time: hostile text costs milliseconds, never seconds."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from sftgen.tasks.points.verifier import MAX_TEXT_CHARS, OutcomeKind, verify
from sftgen.tasks.sokoban.env import MAX_PARSE_CHARS, parse_action
from sftgen.variants import BASE

BUDGET_S = 0.05  # issue 20: 128 KB of repeated tags in < 50 ms


def fastest(call: Callable[[], object], repeats: int = 3) -> float:
    """Best of a few timings: the machine is shared, and the bound is about the parser, not the neighbours."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - started)
    return best


def repeat_to(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size]


@pytest.mark.parametrize("unit", ["<answer>", "<answer> Up", "</answer><answer>", "<", "<answer> Up </answe"])
def test_parse_action_on_128kb_is_fast(unit):
    text = repeat_to(unit, 128 * 1024)
    assert fastest(lambda: parse_action(text, BASE)) < BUDGET_S
    assert not parse_action(text, BASE).valid


def test_parse_action_reads_only_the_bounded_prefix():
    assert parse_action("<answer> Up </answer>", BASE).action == "up"
    late = "x" * MAX_PARSE_CHARS + "<answer> Up </answer>"
    assert not parse_action(late, BASE).valid
    assert "first 65536 characters" in parse_action(late, BASE).reason
    spanning = "x" * (MAX_PARSE_CHARS - 12) + "<answer> Up </answer>"
    assert not parse_action(spanning, BASE).valid  # its closing tag lies past the prefix


def test_parse_action_keeps_the_study_rule():
    assert parse_action("<answer>\n Down \n</answer><answer> Up </answer>", BASE).action == "down"
    assert parse_action("<answer><answer> Up </answer>", BASE).answer == "<answer> Up"
    assert parse_action("</answer> <answer> Left </answer>", BASE).action == "left"


@pytest.mark.parametrize(
    "unit",
    ["{", "<answer>", "</think>", '"formula": ', '{"formula": "1', "{'formula': '", '{"a":', '{"a":[1,', "formula   "],
)
def test_points_verifier_on_hostile_text_is_fast(unit):
    for size in (MAX_TEXT_CHARS - 1, 128 * 1024):
        text = repeat_to(unit, size)
        assert fastest(lambda text=text: verify(text, [1, 2, 3, 4])) < BUDGET_S
        assert verify(text, [1, 2, 3, 4]).kind is not OutcomeKind.CORRECT
