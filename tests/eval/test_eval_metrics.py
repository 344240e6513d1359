"""Confidence intervals, the repetition signal and validity over every episode."""

from __future__ import annotations

import pytest

from sftgen.eval.metrics import bootstrap_interval, is_repetitive, split_metrics, wilson_interval


def test_wilson_interval_known_values():
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson_interval(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert wilson_interval(10, 10) == pytest.approx((0.7225, 1.0), abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_bootstrap_is_fixed_by_its_key():
    values = [0.0, 0.5, 1.0, 1.0, 0.25, 0.75]
    assert bootstrap_interval(values, "a") == bootstrap_interval(values, "a")
    lo, hi = bootstrap_interval(values, "a")
    assert 0 <= lo < sum(values) / len(values) < hi <= 1
    assert bootstrap_interval([0.4] * 5, "b") == pytest.approx((0.4, 0.4))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("!!!!!!!!!!!!", True),
        ("Up Up Up Up Up Up", True),
        ("<answer<answer<answer<answer<answer", True),
        ("<answer> Up </answer>", False),
        ('{"cards": ["4", "3", "2", "K"], "number": [4, 3, 2, 10], "formula": "4*3+2+10"}', False),
        ("<think> the box is left of the target, push right </think> <answer> Right </answer>", False),
        ("", False),
        ("!!!", False),
    ],
)
def test_repetition_signal(text, expected):
    assert is_repetitive(text) is expected


def _record(index: int, valid: list[bool], success: bool) -> dict:
    turns = [
        {"valid": v, "outcome": "valid" if v else "no_tag", "response": "x", "response_chars": 1, "reward": 0.0}
        for v in valid
    ]
    return {
        "index": index,
        "task": "sokoban",
        "turns": turns,
        "n_turns": len(turns),
        "validity": sum(valid) / len(valid),
        "success": success,
        "return": 0.0,
    }


def test_validity_counts_episodes_with_no_valid_turn():
    records = [_record(0, [True, True], True), _record(1, [False] * 4, False), _record(2, [True, False], False)]
    m = split_metrics("sokoban/id", records, requested=4)
    assert m["validity"] == pytest.approx((1 + 0 + 0.5) / 3)
    assert m["validity_study"] == pytest.approx((1 + 0.5) / 2)  # the study's rule, kept for comparison
    assert m["zero_valid_episodes"] == 1 and m["n"] == 3 and m["complete"] is False
    assert m["outcomes"] == {"valid": 3, "unknown_word": 0, "no_tag": 5} and m["mean_turns"] == pytest.approx(8 / 3)
