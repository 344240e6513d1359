"""The per-stage time table of ``sftgen reproduce``: stages in order, job stages labelled, JSON on disk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sftgen.experiment.timing import TIMINGS_FILE, StageTimes


def test_stages_jobs_and_table(tmp_path: Path) -> None:
    times = StageTimes()
    with times.stage("data build"):
        pass
    with pytest.raises(RuntimeError), times.stage("report"):
        raise RuntimeError("a failed stage still shows its cost")
    times.add_job(
        {
            "task": "sokoban",
            "method": "diverse",
            "seed": 1,
            "stage_seconds": {"train": 61.25, "sweep": 9, "evaluate": 3},
        }
    )
    times.add_job({"task": "points", "method": "cot", "seed": 0})  # an old result without stage times: no rows
    names = [name for name, _ in times.stages]
    assert names == [
        "data build",
        "report",
        "train sokoban/diverse/seed1",
        "checkpoint sweep sokoban/diverse/seed1",
        "final evaluation sokoban/diverse/seed1",
    ]
    assert times.stages[2][1] == pytest.approx(61.2, abs=0.05)
    table = times.table().splitlines()
    assert table[0].split() == ["stage", "wall", "s"]
    assert "sum of stages" in table[-2] and table[-2].split()[-1] == f"{sum(s for _, s in times.stages):.1f}"
    assert table[-1].startswith("wall clock (jobs run in parallel)")
    times.write(tmp_path)
    written = json.loads((tmp_path / TIMINGS_FILE).read_text(encoding="utf-8"))
    assert [s["stage"] for s in written["stages"]] == names and written["wall_seconds"] >= 0
