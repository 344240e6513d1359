"""The findings' logic on synthetic runs: levels on every seed, paired comparisons on the same episodes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sftgen.eval.metrics import wilson_interval
from sftgen.report.findings import Status, check_findings
from sftgen.report.runs import RunEntry

N = 20


def _metric(success: float, n: int = N) -> dict[str, Any]:
    lo, hi = wilson_interval(round(success * n), n)
    return {"n": n, "success": success, "success_ci": [lo, hi], "validity": 1.0}


def _entry(root: Path | None, method: str, task: str = "sokoban", seed: int = 0, **success: float) -> RunEntry:
    """A run with ``success`` per split; with ``root`` its episodes are on disk: the first round(rate * N) succeed."""
    metrics = {f"{task}/{name}": _metric(value) for name, value in success.items()}
    if root is None:
        return RunEntry(source="m", task=task, method=method, seed=seed, metrics=metrics)
    folder = root / task / method / f"seed{seed}"
    for split, metric in metrics.items():
        file = folder / "chosen" / "episodes" / (split.replace("/", "__") + ".jsonl")
        file.parent.mkdir(parents=True, exist_ok=True)
        wins = round(metric["success"] * N)
        rows = [{"instance_id": f"{split}#{i}", "index": i, "split": split, "success": i < wins} for i in range(N)]
        file.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return RunEntry("m", task, method, seed, metrics, eval_dir=folder, chosen="chosen")


def _findings(*entries: RunEntry) -> dict[int, Any]:
    groups: dict[tuple[str, str, str], list[RunEntry]] = {}
    for e in entries:
        groups.setdefault(e.key, []).append(e)
    return {f.number: f for f in check_findings(groups)}


def _statuses(*entries: RunEntry) -> dict[int, Status]:
    return {n: f.status for n, f in _findings(*entries).items()}


def test_answer_only_levels_and_nothing_else_run(tmp_path: Path) -> None:
    leaky = _entry(tmp_path, "answer-only", id=0.5, numerical=0.0, alphabetical=0.0, fake_numerical=0.9, larger=0.3)
    assert _statuses(leaky) == {
        1: Status.FAIL,
        2: Status.NOT_RUN,
        3: Status.NOT_RUN,
        4: Status.NOT_RUN,
        5: Status.NOT_RUN,
    }
    shortcut = _entry(tmp_path, "answer-only", id=0.9, numerical=0.0, alphabetical=0.05, fake_numerical=0.55)
    assert _statuses(shortcut)[1] is Status.PASS


def test_every_seed_must_meet_a_level(tmp_path: Path) -> None:
    seed0 = _entry(tmp_path, "answer-only", id=0.9, numerical=0.0, alphabetical=0.0, fake_numerical=0.7)
    seed1 = _entry(tmp_path, "answer-only", seed=1, id=0.9, numerical=0.0, alphabetical=0.0, fake_numerical=0.4)
    finding = _findings(seed0, seed1)[1]
    assert finding.status is Status.FAIL  # the mean 0.55 would pass; seed 1's 0.40 does not
    assert any("every seed (min 0.40) ≥ 0.50 ✗" in d for d in finding.checks[0].details)


def test_diverse_needs_levels_and_paired_tests(tmp_path: Path) -> None:
    answer = _entry(tmp_path, "answer-only", id=0.9, numerical=0.0, alphabetical=0.0, fake_numerical=0.9)
    diverse = _entry(tmp_path, "diverse", id=0.9, numerical=0.55, alphabetical=0.5, fake_numerical=0.05)
    finding = _findings(answer, diverse)[2]
    assert finding.status is Status.PASS  # 11/0 and 10/0 discordant on the variants, 0/17 on fake: all p < 0.01
    check = finding.checks[0]
    assert [c.where for c in check.comparisons] == ["alphabetical", "numerical", "fake_numerical"]
    assert check.comparisons[1].p == 2 / 2**11 and check.comparisons[2].difference < 0
    assert _statuses(diverse)[2] is Status.NOT_RUN  # levels met, but no answer-only episodes to pair with
    weak = _entry(tmp_path / "weak", "diverse", id=0.9, numerical=0.3, alphabetical=0.8, fake_numerical=0.0)
    assert _statuses(answer, weak)[2] is Status.FAIL  # numerical 0.30 < 0.40
    unpaired = _entry(None, "diverse", id=0.9, numerical=0.55, alphabetical=0.5, fake_numerical=0.05)
    assert _statuses(answer, unpaired)[2] is Status.NOT_RUN  # no episode records: the paired test cannot run


def test_diverse_on_points_gains_over_answer_only(tmp_path: Path) -> None:
    answer = _entry(tmp_path, "answer-only", "points", id=0.7, all_5=0.1, all_7=0.05, fake=0.5)
    diverse = _entry(tmp_path, "diverse", "points", id=0.7, all_5=0.6, all_7=0.3, fake=0.15)
    check = _findings(answer, diverse)[2].checks[0]
    assert check.status is Status.FAIL  # all_7: +0.25 < +0.3 (all_5 +0.50 passes)
    assert any(d.startswith("all_7 ") and d.endswith("≥ +0.3 ✗") for d in check.details)
    # GP fake: the study shows no effect (0.01 vs 0), so the paired fake comparison is printed but decides nothing
    fake = next(c for c in check.comparisons if c.where == "fake")
    assert not fake.decisive


def test_cot_lift_must_be_large_and_significant(tmp_path: Path) -> None:
    answer = _entry(tmp_path, "answer-only", id=0.9, larger=0.3, fake_numerical=0.9)
    small = _entry(tmp_path / "small", "cot", id=1.0, larger=0.45, fake_numerical=0.0)
    assert _statuses(answer, small)[3] is Status.FAIL  # +0.15, but 3/0 discordant: p 0.25
    big = _entry(tmp_path / "big", "cot", id=1.0, larger=0.8, fake_numerical=0.0)
    check = _findings(answer, big)[3].checks[0]
    assert check.status is Status.PASS and check.details[-1].startswith("lift +0.50 on larger (p 0.002)")


def test_diverse_cot_must_beat_every_other_method(tmp_path: Path) -> None:
    best = _entry(tmp_path, "diverse-cot", id=1.0, numerical=0.9, alphabetical=0.9, larger=0.6, fake_numerical=0.0)
    grpo = _entry(tmp_path, "grpo", id=1.0, numerical=0.95, alphabetical=0.95, larger=0.7, fake_numerical=0.0)
    assert _statuses(best, grpo)[4] is Status.FAIL
    cot = _entry(tmp_path, "cot", id=1.0, larger=0.1, fake_numerical=0.0)
    check = _findings(best, cot)[4].checks[0]
    assert check.status is Status.PASS  # only shared non-fake splits (id, larger) are pooled: 10/0 discordant
    assert check.comparisons[0].where == "2 splits pooled (id, larger)"
    assert check.details[-1] == "grpo not run: the ≥ GRPO half is untested"


def test_collapse_needs_two_checkpoints(tmp_path: Path) -> None:
    entry = _entry(None, "answer-only", id=1.0, numerical=0.0, alphabetical=0.0, fake_numerical=1.0)
    entry.eval_dir = tmp_path
    point = {"checkpoint": "checkpoint-1", "step": 1, "splits": {"sokoban/numerical": {"validity": 0.9}}}
    (tmp_path / "curves.json").write_text(json.dumps({"points": [point]}), encoding="utf-8")
    assert _statuses(entry)[5] is Status.NOT_RUN
    late = {"checkpoint": "checkpoint-2", "step": 2, "splits": {"sokoban/numerical": {"validity": 0.15}}}
    (tmp_path / "curves.json").write_text(json.dumps({"points": [point, late]}), encoding="utf-8")
    assert _statuses(entry)[5] is Status.FAIL  # fell 0.75, short of 0.8
    start = {"checkpoint": "start", "step": 0, "splits": {"sokoban/numerical": {"validity": 0.0}}}
    end = {"checkpoint": "checkpoint-3", "step": 3, "splits": {"sokoban/numerical": {"validity": 0.05}}}
    (tmp_path / "curves.json").write_text(json.dumps({"points": [start, point, late, end]}), encoding="utf-8")
    check = _findings(entry)[5].checks[0]
    assert check.status is Status.PASS  # no format at the start, then 0.9 (peak) → 0.05
    assert check.details[0] == "curve: 0.00 → 0.90 → 0.15 → 0.05"
