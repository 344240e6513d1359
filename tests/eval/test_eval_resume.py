"""kill -9 in the middle of a run, then resume: the metrics equal those of an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from eval_fakes import HashAgent

from sftgen.eval.evaluate import evaluate
from sftgen.models.sampling import Sampling

SPLITS = ["sokoban/id", "sokoban/numerical", "sokoban/two_boxes", "points/id"]
N = 6
SCRIPT = """
import sys
sys.path.insert(0, {here!r})
from pathlib import Path
from eval_fakes import HashAgent
from sftgen.eval.evaluate import evaluate
from sftgen.models.sampling import Sampling
print("started", flush=True)
evaluate("hash", {splits!r}, Path({out!r}), n={n}, sampling=Sampling(greedy=True), backend=HashAgent(delay=0.15),
         max_batch=5)
"""


def _lines(out: Path) -> int:
    folder = out / "episodes"
    return sum(p.read_bytes().count(b"\n") for p in folder.glob("*.jsonl")) if folder.is_dir() else 0


def test_kill_then_resume_equals_an_uninterrupted_run(tmp_path):
    out = tmp_path / "killed"
    script = SCRIPT.format(here=str(Path(__file__).parent), splits=SPLITS, out=str(out), n=N)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while _lines(out) < 4 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else "finished too early"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    kept = _lines(out)
    assert 4 <= kept < len(SPLITS) * N and not (out / "metrics.json").exists()

    resumed = evaluate("hash", SPLITS, out, n=N, sampling=Sampling(greedy=True), backend=HashAgent())
    assert resumed["config"]["episodes_resumed"] == kept
    assert resumed["config"]["episodes_run"] == len(SPLITS) * N - kept
    whole = evaluate("hash", SPLITS, tmp_path / "whole", n=N, sampling=Sampling(greedy=True), backend=HashAgent())
    assert resumed["splits"] == whole["splits"]
    on_disk = json.loads((out / "metrics.json").read_text())
    assert on_disk["splits"] == json.loads(json.dumps(whole["splits"]))


def test_a_resume_with_nothing_left_records_the_same_settings(tmp_path):
    """Found by benchmarks/crash_trial.py: a resume that found every episode on disk wrote ``memoize: false`` into
    metrics.json (the default was settled only when there was work), unlike the run that made the episodes."""
    sampling = Sampling(greedy=True)
    first = evaluate("hash", ["points/id"], tmp_path, n=3, sampling=sampling, backend=HashAgent())
    again = evaluate("hash", ["points/id"], tmp_path, n=3, sampling=sampling, backend=HashAgent())
    assert again["config"]["episodes_run"] == 0 and again["config"]["episodes_resumed"] == 3
    assert first["config"]["memoize"] is again["config"]["memoize"] is True
    assert first["splits"] == again["splits"]
    oracle = evaluate("oracle", ["points/id"], tmp_path / "oracle", n=3, sampling=sampling)
    assert oracle["config"]["memoize"] is False
    assert evaluate("oracle", ["points/id"], tmp_path / "oracle", n=3, sampling=sampling)["config"]["memoize"] is False
