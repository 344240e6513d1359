"""Every user error through the real CLI (a subprocess): non-zero exit, no traceback, one line on stderr that names
the file / field / value and what would be valid; ``--debug`` shows the traceback (issue 20)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SMOKE = Path(__file__).resolve().parents[2] / "recipes" / "smoke.yaml"


@dataclass(frozen=True)
class Case:
    """One bad input: the arguments (``{dir}`` is the work folder), the exit code and what stderr must say."""

    name: str
    args: tuple[str, ...]
    needles: tuple[str, ...]
    exit_code: int = 1
    absent: tuple[str, ...] = field(default=())


CASES = (
    Case("recipe-yaml-syntax", ("reproduce", "--recipe", "syntax.yaml"), ("syntax.yaml", "line 4", "YAML syntax")),
    Case("recipe-eval-n-negative", ("reproduce", "--recipe", "eval_n.yaml"), ("eval.n", "-3", ">= 1")),
    Case("recipe-negative-steps", ("reproduce", "--recipe", "steps.yaml"), ("train.max_steps", "-5", ">= 1")),
    Case("recipe-task-n-negative", ("reproduce", "--recipe", "task_n.yaml"), ("tasks[1]", "n must be", "-2")),
    Case("recipe-unknown-split", ("reproduce", "--recipe", "split.yaml"), ("eval.splits", "points/nope", "mean")),
    Case("recipe-missing", ("reproduce", "--recipe", "nonesuch"), ("nonesuch", "shipped:", "smoke")),
    Case("recipe-bad-temperature", ("reproduce", "--recipe", "temp.yaml"), ("eval.temperature", "-1")),
    Case("show-group-name", ("show", "quick"), ("'quick' is a group", "sokoban/id"), exit_code=2),
    Case("show-unknown-split", ("show", "quik"), ("unknown split 'quik'", "sftgen splits"), absent=("'quick'",)),
    Case("show-index-range", ("show", "points/id", "--index", "99999"), ("--index", "0..499")),
    Case("generate-negative-n", ("generate", "answer-only", "--task", "points", "--n", "-3", "--out", "g"), ("n ",)),
    Case(
        "generate-out-under-proc",
        ("generate", "answer-only", "--task", "points", "--n", "2", "--out", "/proc/sftgen-test/g"),
        ("/proc/sftgen-test", "No such file or directory"),
    ),
    Case(
        "generate-out-below-a-file",
        ("generate", "answer-only", "--task", "points", "--n", "2", "--out", "a_file/g"),
        ("a_file", "choose another path"),
    ),
    Case(
        "eval-out-under-proc",
        ("eval", "--model", "oracle", "--splits", "points/id", "--n", "1", "--out", "/proc/sftgen-test/e"),
        ("/proc/sftgen-test", "No such file or directory"),
    ),
    Case("eval-unknown-split", ("eval", "--model", "oracle", "--splits", "nope", "--out", "e"), ("'nope'",)),
    Case(
        "eval-negative-n",
        ("eval", "--model", "oracle", "--splits", "points/id", "--n", "-3", "--out", "e"),
        ("-3", ">= 1"),
    ),
    Case(
        "eval-hub-name-offline",
        ("eval", "--model", "org/name", "--splits", "points/id", "--n", "1", "--out", "e"),
        ("'org/name'", "HF_HUB_OFFLINE", "smollm2-135m"),
    ),
    Case("serve-hub-name-offline", ("serve", "--model", "org/name"), ("'org/name'", "HF_HUB_OFFLINE", "smollm2-135m")),
    Case("serve-unknown-model", ("serve", "--model", "nonsense"), ("'nonsense'", "smollm2-135m")),
    Case("serve-bad-port", ("serve", "--model", "oracle", "--port", "70000"), ("--port", "70000"), exit_code=2),
    Case(
        "train-corrupt-manifest",
        ("train", "sft", "--data", "run", "--model", "tiny", "--out", "t", "--max-steps", "1"),
        ("run/manifest.json", "not valid JSON"),
    ),
    Case("export-unknown-split", ("export", "verl", "--split", "nope", "--out", "x.parquet"), ("'nope'",)),
    Case("unknown-command", ("evaluate",), ("No such command 'evaluate'",), exit_code=2),
)


def _recipe(work: Path, name: str, old: str, new: str) -> None:
    text = SMOKE.read_text(encoding="utf-8")
    assert old in text, old
    (work / name).write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bad inputs on disk: broken recipes, a corrupt dataset manifest, a file where a folder should be."""
    work = tmp_path_factory.mktemp("bad-input")
    (work / "syntax.yaml").write_text("name: bad\nmodel: tiny\ntasks: [\n  - {task: points\n", encoding="utf-8")
    _recipe(work, "eval_n.yaml", "  n: 3", "  n: -3")
    _recipe(work, "steps.yaml", "max_steps: 8", "max_steps: -5")
    _recipe(work, "task_n.yaml", "{task: points, n: 40}", "{task: points, n: -2}")
    _recipe(work, "split.yaml", "points/fake,", "points/nope,")
    _recipe(work, "temp.yaml", "  greedy: true", "  temperature: -1")
    (work / "run" / "dataset").mkdir(parents=True)
    (work / "run" / "manifest.json").write_text('{"format": "sftgen-data-v1", "rows": ', encoding="utf-8")
    (work / "a_file").write_text("not a folder\n", encoding="utf-8")
    return work


def run_cli(args: tuple[str, ...], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "NO_COLOR": "1", "COLUMNS": "200"}
    command = [sys.executable, "-m", "sftgen.cli", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_is_one_line(case: Case, work: Path) -> None:
    started = time.monotonic()
    result = run_cli(case.args, work)
    seconds = time.monotonic() - started
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == case.exit_code, result.stderr
    assert "Traceback" not in result.stderr
    assert lines and lines[-1].startswith("Error: "), result.stderr
    if case.exit_code == 1:  # usage errors (2) add click's "Usage:" and "Try --help" lines above it
        assert len(lines) == 1, result.stderr
    for needle in case.needles:
        assert needle in lines[-1], (needle, lines[-1])
    for word in case.absent:
        assert word not in lines[-1], (word, lines[-1])
    assert seconds < 60, f"{case.name} took {seconds:.0f} s"  # a hub name offline fails at once, not after retries


def test_at_least_fifteen_cases() -> None:
    assert len(CASES) >= 15


def test_debug_shows_the_traceback(work: Path) -> None:
    result = run_cli(("--debug", "reproduce", "--recipe", "syntax.yaml"), work)
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "YAML syntax error" in result.stderr


def test_describe_error_names_the_file() -> None:
    from sftgen.cli import describe_error

    err = PermissionError(13, "Permission denied", "/root/out")
    assert describe_error(err) == "/root/out: Permission denied; choose a path you can write to"
    assert "rerun with --debug" in describe_error(TypeError("boom"))
    assert describe_error(KeyError("unknown split 'x'")) == "unknown split 'x'"
    assert "\n" not in describe_error(ValueError("two\nlines"))


def test_corrupt_json_names_the_file(tmp_path: Path) -> None:
    from sftgen.io import read_json

    bad = tmp_path / "manifest.json"
    bad.write_text("{", encoding="utf-8")
    with pytest.raises(ValueError, match=r"manifest\.json is not valid JSON"):
        read_json(bad)
    bad.write_text(json.dumps({"ok": 1}), encoding="utf-8")
    assert read_json(bad) == {"ok": 1}
