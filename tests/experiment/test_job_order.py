"""Jobs start largest first, so two workers finish together instead of one waiting on a long last job."""

from __future__ import annotations

import json
import math
from pathlib import Path

from sftgen.experiment.jobs import Job, longest_first, training_work
from sftgen.train.data import DATA_FORMAT, TRAIN_COLUMNS


def _data(folder: Path, prompt: str, completion: str, rows: int = 10) -> str:
    folder.mkdir(parents=True)
    chat = [{"role": "user", "content": prompt}]
    row = {"prompt": chat, "completion": [{"role": "assistant", "content": completion}]}
    (folder / "data.jsonl").write_text("".join(json.dumps(row) + "\n" for _ in range(rows)))
    (folder / "dataset").mkdir()  # the rows a run reads; their count is the manifest's
    manifest = {"format": DATA_FORMAT, "config": {"kind": "answer-only"}, "columns": list(TRAIN_COLUMNS), "rows": rows}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return str(folder)


def _job(name: str, data: str, grpo: dict | None = None, **sft: int) -> Job:
    return Job(
        task="t", method=name, seed=0, sft={"data": [data], "batch_size": 4, **sft}, train_dir="", eval_dir="",
        validation_split="t/validation", curve_splits=[], curve_n=None, final_splits=[], final_n=None,
        sampling={}, batch_size=8, template="compact", response_format="answer", grpo=grpo,
    )  # fmt: skip


def test_work_is_rows_seen_times_row_length(tmp_path: Path) -> None:
    short = _data(tmp_path / "short", "ab", "c")  # 3 characters a row
    long = _data(tmp_path / "long", "abcdef", "ghi")  # 9
    assert training_work(_job("a", short, max_steps=100)) == 100 * 4 * 3
    assert training_work(_job("b", long, max_steps=100)) == 100 * 4 * 9
    assert training_work(_job("c", long, epochs=2)) == 10 * 2 * 9  # epochs: every row, twice
    assert training_work(_job("d", short, grpo={}, max_steps=1)) == math.inf  # unknown: first


def test_longest_first_puts_the_short_jobs_last(tmp_path: Path) -> None:
    short, long = _data(tmp_path / "short", "ab", "c"), _data(tmp_path / "long", "abcdef", "ghi")
    jobs = [_job("short", short, max_steps=300), _job("long", long, max_steps=200), _job("more", short, max_steps=500)]
    assert [j.method for j in longest_first(jobs)] == ["long", "more", "short"]
