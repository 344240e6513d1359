"""Units of the report: the study's numbers, seed aggregation, paths, escaping, the viewer's data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sftgen.eval.metrics import wilson_interval
from sftgen.report.aggregate import aggregate_cell, ordered_splits
from sftgen.report.assets import CSS
from sftgen.report.html import embed_json
from sftgen.report.runs import load_sources, resolve_path
from sftgen.report.study_numbers import study_column, study_splits, study_value
from sftgen.report.viewer import StringTable
from sftgen.splits import SPLITS
from sftgen.tasks.protocol import GRID_ROLES, get_task


def test_study_numbers_map_to_real_splits() -> None:
    assert study_value("sokoban/numerical", "answer-only") == 0.0
    assert study_value("sokoban/fake_numerical", "answer-only") == 0.93
    assert study_value("sokoban/complex", "diverse-cot") == 0.40
    assert study_value("points/all_12", "diverse-cot") == 0.90
    assert study_value("points/fake", "grpo") == 0.05
    assert study_value("points/fake", "answer-only", model="Llama-3.1-8B-Inst") == 0.68
    assert study_value("sokoban/cardinal", "answer-only") is None  # not a column of the paper's table
    assert study_value("sokoban/id", "proximity-kl") is None
    assert study_column("sokoban/numerical") == "Num" and study_column("points/all_12") == "All-12"
    assert study_column("sokoban/cardinal") is None and study_column("no-such-task/id") is None
    assert study_value("no-such-task/id", "answer-only") is None
    for task in ("sokoban", "points"):
        study = get_task(task).study
        assert study is not None and len(study_splits(task)) == 8 and set(study_splits(task)) <= set(SPLITS)
        for row in study.results["Qwen2.5-7B"].values():
            assert list(row) == list(study_splits(task))
    assert get_task("keys").study is None and study_splits("keys") == ()


def _metric(success: float, n: int = 10, validity: float = 1.0, **extra: Any) -> dict[str, Any]:
    lo, hi = wilson_interval(round(success * n), n)
    return {
        "n": n,
        "success": success,
        "success_ci": [lo, hi],
        "validity": validity,
        "validity_ci": [max(0.0, validity - 0.1), min(1.0, validity + 0.1)],
        "validity_study": validity,
        **extra,
    }


def test_seeds_aggregate_to_mean_range_and_pooled_interval() -> None:
    cell = aggregate_cell("sokoban/id", [_metric(0.6, validity=0.5), _metric(0.8, validity=0.9)])
    assert cell.success == pytest.approx(0.7) and cell.success_range == (0.6, 0.8)
    assert cell.success_ci == pytest.approx(wilson_interval(14, 20))
    assert cell.validity == pytest.approx(0.7) and cell.validity_ci == pytest.approx((0.4, 1.0))
    assert cell.n == 20 and cell.seeds == 2
    single = aggregate_cell("sokoban/id", [_metric(0.6)])
    assert single.success_range is None and single.success_ci == pytest.approx(wilson_interval(6, 10))
    empty = aggregate_cell("sokoban/id", [{"n": 0, "success": None}])
    assert empty.success is None and empty.success_ci is None


def test_split_order_is_task_then_category() -> None:
    names = ["points/fake", "sokoban/fake_numerical", "sokoban/larger", "sokoban/numerical", "sokoban/id", "points/id"]
    assert ordered_splits(names) == [
        "sokoban/id",
        "sokoban/numerical",
        "sokoban/larger",
        "sokoban/fake_numerical",
        "points/id",
        "points/fake",
    ]


def test_paths_are_found_wherever_results_json_wrote_them(tmp_path: Path) -> None:
    run = tmp_path / "runs" / "quick"
    (run / "eval" / "x").mkdir(parents=True)
    assert resolve_path(run, "eval/x") == run / "eval" / "x"
    assert resolve_path(run, "RUN/eval/x") == run / "eval" / "x"
    assert resolve_path(run, "/old/machine/quick/eval/x") == run / "eval" / "x"  # folder moved
    assert resolve_path(run, "runs/quick/eval/x") is not None
    assert resolve_path(run, None) is None
    assert not resolve_path(run, "eval/missing").exists()


def test_sources_get_unique_labels(tmp_path: Path) -> None:
    for name, recipe in (("a", "quick"), ("b", "full"), ("c", "full")):
        (tmp_path / name).mkdir()
        results = {"recipe": {"name": recipe}, "model": "tiny", "runs": []}
        (tmp_path / name / "results.json").write_text(json.dumps(results), encoding="utf-8")
    labels = [s.label for s in load_sources([tmp_path / "a", tmp_path / "b", tmp_path / "c"])]
    assert labels == ["tiny (quick) [a]", "tiny (full) [b]", "tiny (full) [c]"]
    with pytest.raises(FileNotFoundError, match=r"results\.json"):
        load_sources([tmp_path / "missing"])
    (tmp_path / "a" / "results.json").write_text(json.dumps({"runs": [{"task": "sokoban"}]}), encoding="utf-8")
    with pytest.raises(ValueError, match="lacks 'metrics'"):
        load_sources([tmp_path / "a"])


def test_embedded_json_cannot_close_its_script_tag() -> None:
    data = {"s": "</script><script>alert(1)</script><!-- & \u2028"}
    text = embed_json(data)
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == data


def test_every_grid_role_has_a_style() -> None:
    assert all(f".cell.{role} " in CSS for role in GRID_ROLES if role != "floor")


def test_string_table_interns() -> None:
    table = StringTable()
    assert [table.add("a"), table.add("b"), table.add("a"), table.add(None)] == [0, 1, 0, -1]
    assert table.items == ["a", "b"]


def test_viewer_draws_a_task_from_its_record_states(tmp_path: Path) -> None:
    """A task beyond the study's two is drawn from the states its records carry (no prompt parsing)."""
    from sftgen.eval.evaluate import evaluate
    from sftgen.eval.records import episodes_path, read_records
    from sftgen.models.sampling import Sampling
    from sftgen.report.viewer import state_episode

    evaluate("oracle", ["keys/id"], tmp_path, n=2, sampling=Sampling(greedy=True))
    record = read_records(episodes_path(tmp_path, "keys/id"))[0]
    strings = StringTable()
    episode = state_episode(record, "keys", strings)
    assert len(episode["frames"]) == len(record["turns"]) + 1 and episode["ok"]
    assert all("holding:" in strings.items[i] for i in episode["frames"])
    assert state_episode({**record, "state": None}, "keys", StringTable())["frames"] == []


def test_the_settings_table_names_every_regulariser_a_run_used() -> None:
    """Two rows compare only when the reader sees what each was trained with, regularisers included."""
    from sftgen.report.settings import _extras

    assert _extras({"lora": {"enabled": False}, "proximity": {"kind": "none"}}) == "–"
    config = {"proximity": {"kind": "kl", "alpha": 0.1}, "attention_dropout": 0.1, "neftune_noise_alpha": 5.0}
    assert _extras(config) == "kl α=0.1, attention dropout 0.1, NEFTune α=5"
    assert _extras({"attention_dropout": 0.0, "neftune_noise_alpha": None}) == "–"
