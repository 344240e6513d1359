"""`sftgen reproduce` end to end on the smoke recipe: artifacts, consistency, resume, cached base."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sftgen.base.pretrain import BaseConfig, cache_root
from sftgen.experiment import runner
from sftgen.experiment.recipe import load_recipe
from sftgen.train.typed import ConfigError

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cache")
    patch = pytest.MonkeyPatch()
    patch.setenv("SFTGEN_CACHE", str(root))
    yield root
    patch.undo()


@pytest.fixture(scope="module")
def smoke_run(cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "smoke"
    runner.reproduce(load_recipe("smoke"), out, log=lambda _: None)
    return out


def _episode_metrics(eval_dir: Path) -> dict[str, tuple[float, float, int]]:
    """success, validity, n recomputed from the episode records alone."""
    result = {}
    for file in sorted((eval_dir / "episodes").glob("*.jsonl")):
        records = [json.loads(line) for line in file.read_text(encoding="utf-8").splitlines() if line.strip()]
        split = records[0]["split"]
        result[split] = (
            sum(r["success"] for r in records) / len(records),
            sum(r["validity"] for r in records) / len(records),
            len(records),
        )
    return result


def test_every_artifact_is_written(smoke_run: Path) -> None:
    results = json.loads((smoke_run / "results.json").read_text(encoding="utf-8"))
    assert {(r["task"], r["method"]) for r in results["runs"]} == {
        ("sokoban", "answer-only"),
        ("sokoban", "diverse"),
        ("points", "answer-only"),
        ("points", "diverse"),
        ("keys", "answer-only"),
        ("keys", "diverse"),
    }
    for run in results["runs"]:
        train_dir, eval_dir = Path(run["train_dir"]), Path(run["eval_dir"])
        assert (train_dir / "final" / "config.json").is_file()
        assert (train_dir / "run.json").is_file()
        assert (eval_dir / "curves.json").is_file()
        assert (eval_dir / run["chosen"] / "metrics.json").is_file()
        assert f"{run['task']}/validation" in run["metrics"]
    for name in ("report.md", "report.html", "recipe.yaml"):
        assert (smoke_run / name).is_file()
    assert results["base"]["lookup_probe"]["overall"] >= 0.0
    assert (smoke_run / "eval" / "base" / "metrics.json").is_file()
    assert "Answer-only" in (smoke_run / "report.md").read_text(encoding="utf-8")


def test_metrics_agree_with_episode_records(smoke_run: Path) -> None:
    results = json.loads((smoke_run / "results.json").read_text(encoding="utf-8"))
    for run in results["runs"]:
        recomputed = _episode_metrics(Path(run["eval_dir"]) / run["chosen"])
        for split, metrics in run["metrics"].items():
            success, validity, n = recomputed[split]
            assert metrics["n"] == n
            assert metrics["success"] == pytest.approx(success)
            assert metrics["validity"] == pytest.approx(validity)


def test_resume_after_an_injected_failure_gives_identical_metrics(
    smoke_run: Path, cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "smoke"
    recipe = load_recipe("smoke")
    real_run_jobs = runner.run_jobs

    def crash_after_first(jobs, parallel, log, logs_dir, on_done=None):
        real_run_jobs(jobs[:1], 1, log, logs_dir, on_done=on_done)
        raise RuntimeError("injected failure")

    monkeypatch.setattr(runner, "run_jobs", crash_after_first)
    with pytest.raises(RuntimeError, match="injected"):
        runner.reproduce(recipe, out, log=lambda _: None)
    partial = json.loads((out / "results.json").read_text(encoding="utf-8"))  # written after the first job
    assert (len(partial["runs"]), partial["jobs_planned"], partial["complete"]) == (1, 6, False)
    from sftgen.report import build_report

    build_report([out])
    assert "1 of 6 (run not finished)" in (out / "report.md").read_text(encoding="utf-8")
    monkeypatch.setattr(runner, "run_jobs", real_run_jobs)
    with pytest.raises(FileExistsError):
        runner.reproduce(recipe, out, log=lambda _: None)  # an existing run needs --resume
    resumed = runner.reproduce(recipe, out, resume=True, log=lambda _: None)
    first = json.loads((smoke_run / "results.json").read_text(encoding="utf-8"))
    key = lambda run: (run["task"], run["method"])  # noqa: E731
    for a, b in zip(sorted(first["runs"], key=key), sorted(resumed["runs"], key=key), strict=True):
        assert a["chosen"] == b["chosen"]
        assert {s: (m["success"], m["validity"], m["n"]) for s, m in a["metrics"].items()} == {
            s: (m["success"], m["validity"], m["n"]) for s, m in b["metrics"].items()
        }


def test_the_base_model_is_cached_by_content_hash(smoke_run: Path, cache: Path) -> None:
    recipe = load_recipe("smoke")
    folder = cache_root() / recipe.base.fingerprint() / "final"
    info = json.loads((folder / "sftgen_base.json").read_text(encoding="utf-8"))
    stamp = (folder / "model.safetensors").stat().st_mtime_ns
    from sftgen.base.pretrain import pretrain_base

    assert pretrain_base(recipe.base, progress=False) == folder  # second call: no retraining
    assert (folder / "model.safetensors").stat().st_mtime_ns == stamp
    assert info["fingerprint"] == recipe.base.fingerprint()
    stages = sorted(p.name for p in folder.parent.iterdir() if p.name.startswith("stage-"))
    # smoke asks for the navigation stage; the skills and compose stages come last
    assert stages == ["stage-0-lookup", "stage-1-mix", "stage-2-navigate", "stage-3-skills", "stage-4-compose"]
    assert info["replay_data"] == str((folder.parent / "stage-4-compose" / "data").resolve())
    assert info["resumed_stages"] == []  # every stage trained by this build
    assert BaseConfig(rows=10).fingerprint() != BaseConfig(rows=11).fingerprint()


def test_bad_recipes_fail_before_work(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nmodel: tiny\ntasks: [{task: sokoban, n: 2}]\nmethods: [answer-only]\nlr: 1\n")
    with pytest.raises(ConfigError, match="lr"):
        load_recipe(str(bad))
    bad.write_text("name: x\nmodel: tiny\ntasks: [{task: sokoban, n: 2}]\nmethods: [answer-only]\ntrain: {lr: -1}\n")
    with pytest.raises(ConfigError, match=r"train\.lr"):
        load_recipe(str(bad))
    bad.write_text(
        "name: x\nmodel: tiny\ntasks: [{task: sokoban, n: 2}]\nmethods: [answer-only]\neval: {splits: [sokoban/nope]}\n"
    )
    with pytest.raises(ConfigError, match="sokoban/nope"):
        load_recipe(str(bad))
    with pytest.raises(ConfigError, match="no shipped recipe"):
        load_recipe("no-such-recipe")
