"""The paired statistics against hand-worked examples: exact McNemar, paired bootstrap, episode pairing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sftgen.report.paired import compare, fmt_p, mcnemar_exact, paired_bootstrap
from sftgen.report.runs import RunEntry


def test_mcnemar_exact_by_hand() -> None:
    assert mcnemar_exact(0, 0) == 1.0  # all ties: no discordant pair, no evidence
    assert mcnemar_exact(1, 0) == 1.0  # n = 1: 2 * 1/2, capped at 1
    assert mcnemar_exact(0, 5) == pytest.approx(2 / 32)  # 2 * (1/2)^5
    assert mcnemar_exact(10, 2) == pytest.approx(2 * (1 + 12 + 66) / 4096)  # 0.03857, R: binom.test(2, 12)
    assert mcnemar_exact(2, 10) == mcnemar_exact(10, 2)  # two-sided
    assert mcnemar_exact(4, 4) == 1.0
    assert mcnemar_exact(8, 0) == pytest.approx(2 / 256)
    assert mcnemar_exact(8, 0) < 0.01 < mcnemar_exact(7, 0)  # 8 one-sided pairs: the fewest that reach p < 0.01
    assert 0 < mcnemar_exact(100, 0) < 1e-29  # exact arithmetic, no underflow to 0


def test_fmt_p() -> None:
    assert [fmt_p(1.0), fmt_p(0.0385742), fmt_p(2 / 256), fmt_p(2.4e-5)] == ["1", "0.039", "0.008", "2.4e-05"]


def test_paired_bootstrap_ties_single_pair_and_determinism() -> None:
    same = np.array([True, False, True])
    assert paired_bootstrap([(same, same)], "ties") == (0.0, 0.0)
    assert paired_bootstrap([(np.array([True]), np.array([False]))], "n1") == (1.0, 1.0)
    a = np.array([True] * 6 + [False] * 4)
    b = np.array([True] * 2 + [False] * 8)
    first = paired_bootstrap([(a, b)], "key")
    assert first == paired_bootstrap([(a, b)], "key")  # seeded by the key: same data, same interval
    assert first[0] <= 0.4 <= first[1] and first[1] <= 0.8
    # two strata: the mean of the strata's differences (here exactly +1 and 0, so the interval is the point 0.5)
    ones, zeros = np.ones(5, dtype=bool), np.zeros(5, dtype=bool)
    assert paired_bootstrap([(ones, zeros), (ones, ones)], "strata") == (0.5, 0.5)


def _entry(
    root: Path, method: str, seed: int, successes: dict[int, bool], split: str = "sokoban/numerical"
) -> RunEntry:
    """A run whose chosen checkpoint played the episodes ``index -> success`` of ``split``."""
    folder = root / method / f"seed{seed}"
    file = folder / "chosen" / "episodes" / (split.replace("/", "__") + ".jsonl")
    file.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        json.dumps({"instance_id": f"{split}#{i}", "index": i, "split": split, "success": ok})
        for i, ok in successes.items()
    ]
    file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return RunEntry("m", "sokoban", method, seed, {}, eval_dir=folder, chosen="chosen")


def test_compare_pairs_by_instance_and_zips_seeds(tmp_path: Path) -> None:
    # diverse played episodes 0-9 in another order; answer-only played 0-11: only the shared ten are paired
    diverse = _entry(tmp_path, "diverse", 0, {i: i < 8 for i in reversed(range(10))})
    answer = _entry(tmp_path, "answer-only", 0, {i: i == 9 for i in range(12)})
    c = compare([diverse], [answer], ("sokoban/numerical",))
    assert c is not None
    assert (c.n, c.first_only, c.second_only) == (10, 8, 1)
    assert c.first_rate == pytest.approx(0.8) and c.second_rate == pytest.approx(0.1)
    assert c.difference == pytest.approx(0.7) and c.p == pytest.approx(2 * (1 + 9) / 512)
    assert c.study_first == 0.89 and c.study_second == 0.0 and c.decisive
    assert not c.agrees(1)  # the right direction, but p 0.039 is not below 0.01
    assert "numerical: diverse 0.80 vs answer-only 0.10, Δ +0.70" in c.text() and "study 0.89 vs 0.00" in c.text()
    # a second seed on each side: pooled test, mean and spread of the two seed pairs' differences
    diverse1 = _entry(tmp_path, "diverse", 1, {i: i < 4 for i in range(10)})
    answer1 = _entry(tmp_path, "answer-only", 1, {i: False for i in range(10)})
    two = compare([diverse1, diverse], [answer, answer1], ("sokoban/numerical",))
    assert two is not None and two.seed_differences == pytest.approx((0.7, 0.4))
    assert two.difference == pytest.approx(0.55) and two.spread() == pytest.approx(0.15)
    assert (two.n, two.first_only, two.second_only) == (20, 12, 1)
    assert two.p == pytest.approx(2 * (1 + 13) / 8192) and two.agrees(1) and not two.agrees(-1)
    assert "±0.15 over 2 seeds" in two.text()
    # no episodes on disk: nothing to pair
    bare = RunEntry("m", "sokoban", "cot", 0, {})
    assert compare([bare], [answer], ("sokoban/numerical",)) is None
