"""Helpers of benchmarks/gpu_study.sh: training steps from measured rates, and the result table (JSON + Markdown).

python benchmarks/gpu_study_table.py plan WORK TRAIN_SECONDS MAX_EPOCHS GLOBAL_BATCH RUN...
    # RUN = task:method; reads WORK/probe-RUN/log.jsonl (the side-by-side probe) and WORK/data/RUN/manifest.json,
    # prints "RUN STEPS" per run: the steps one run does in TRAIN_SECONDS at its probed rate (x0.85), capped at
    # MAX_EPOCHS passes over its rows; the methods of one task get the same steps (the smaller), so each
    # comparison is at equal compute and equal rows seen.
python benchmarks/gpu_study_table.py table WORK OUT_JSON OUT_MD RUN...
    # collects run.json / log.jsonl / eval metrics of every run (and of the model before SFT: task:base) into
    # one JSON table and a Markdown table per task (success, validity in brackets).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

SAFETY = 0.85  # the probe's side-by-side overlap is imperfect: size the runs a little under the measured rate
SPLITS = {
    "sokoban": ["sokoban/id", "sokoban/numerical", "sokoban/alphabetical", "sokoban/random", "sokoban/fake_numerical"],
    "points": ["points/id", "points/all_5", "points/all_7", "points/fake"],
}


def slug(run: str) -> str:
    return run.replace(":", "-")


def read_jsonl(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def data_rows(work: Path, run: str) -> int:
    manifest = json.loads((work / "data" / slug(run) / "manifest.json").read_text(encoding="utf-8"))
    for key in ("rows", "n_rows", "num_rows"):
        if isinstance(manifest.get(key), int):
            return manifest[key]
    return sum(1 for _ in (work / "data" / slug(run) / "data.jsonl").open(encoding="utf-8"))


def probed_rate(work: Path, run: str) -> float | None:
    """Optimizer steps per second of the run's probe (side by side with the others), from TRL's last record."""
    for record in reversed(read_jsonl(work / f"probe-{slug(run)}" / "log.jsonl")):
        if record.get("train_runtime"):
            return record["step"] / record["train_runtime"]
    return None


def plan(work: Path, seconds: float, max_epochs: float, batch: int, runs: list[str]) -> dict[str, int]:
    """Steps per run: its probed rate x the budget x SAFETY, at most ``max_epochs``; a run whose probe failed
    borrows the slowest rate of its task (its own run then shows what failed); the runs of one task get the same
    steps, the smallest."""
    rates = {run: probed_rate(work, run) for run in runs}
    steps: dict[str, int] = {}
    for run in runs:
        task = run.split(":")[0]
        rate = rates[run] or min((r for other, r in rates.items() if r and other.split(":")[0] == task), default=None)
        full = max(1, math.ceil(max_epochs * data_rows(work, run) / batch))
        budget = int(rate * seconds * SAFETY) if rate else 0
        steps[run] = max(2, min(full, budget)) if rate else 0
        print(
            f"# {run}: {data_rows(work, run)} rows, {max_epochs:g} epochs = {full} steps; probe "
            f"{f'{rate:.2f} steps/s -> {budget} steps in {seconds:g} s' if rate else 'failed'}"
            + ("" if rates[run] or not rate else " (its own probe failed: its task's rate)"),
            file=sys.stderr,
        )
    for task in {run.split(":")[0] for run in runs}:
        same = [run for run in runs if run.split(":")[0] == task and steps[run]]
        if same:
            low = min(steps[run] for run in same)
            for run in same:
                steps[run] = low
    return steps


def run_row(work: Path, run: str) -> dict:
    task, method = run.split(":")
    row: dict = {"task": task, "method": method}
    folder = work / slug(run)
    logs = read_jsonl(folder / "log.jsonl")
    losses = [r for r in logs if "loss" in r]
    if losses:
        row.update(loss_first=round(losses[0]["loss"], 4), loss_last=round(losses[-1]["loss"], 4))
    done = [r for r in logs if "train_runtime" in r]
    if done:
        row["train_seconds"] = round(done[-1]["train_runtime"], 1)
    if (folder / "run.json").is_file():
        info = json.loads((folder / "run.json").read_text(encoding="utf-8"))
        for key in ("steps", "device", "bf16", "wall_seconds"):
            if key in info:
                row[key] = info[key]
    elif logs:
        row["steps"] = logs[-1]["step"]
    model_file = work / f"{slug(run)}.model"
    if model_file.is_file():
        row["evaluated"] = Path(model_file.read_text().strip()).name
    return row


def eval_cells(work: Path, run: str, row: dict) -> None:
    task = run.split(":")[0]
    metrics = work / f"eval-{slug(run)}" / "metrics.json"
    if not metrics.is_file():
        log = work / f"eval-{slug(run)}.log"
        row["eval_error"] = log.read_text(encoding="utf-8", errors="replace")[-1500:] if log.is_file() else "no eval"
        return
    m = json.loads(metrics.read_text(encoding="utf-8"))
    row["eval_seconds"] = m["config"].get("seconds")
    row["splits"] = {
        name: {key: s[key] for key in ("n", "success", "success_ci", "validity", "validity_ci", "outcomes") if key in s}
        for name, s in m["splits"].items()
        if name in SPLITS[task]
    }


def table(work: Path, out_json: Path, out_md: Path, runs: list[str], extra: dict) -> str:
    rows = []
    for run in runs:
        row = run_row(work, run) if not run.endswith(":base") else {"task": run.split(":")[0], "method": "base"}
        settings = work / f"{slug(run)}.settings.json"
        if settings.is_file():
            row.update(json.loads(settings.read_text(encoding="utf-8")))
        eval_cells(work, run, row)
        rows.append(row)
    out_json.write_text(json.dumps({**extra, "rows": rows}, indent=1) + "\n", encoding="utf-8")
    lines = []
    for task, splits in SPLITS.items():
        task_rows = [r for r in rows if r["task"] == task]
        if not task_rows:
            continue
        short = [s.split("/")[1] for s in splits]
        lines += [
            f"### {task}: success (validity), {extra.get('n_eval', '?')} episodes per split, greedy",
            "",
            "| method | steps (epochs) | loss | " + " | ".join(short) + " |",
            "|---|---|---|" + "---|" * len(short),
        ]
        for r in task_rows:
            steps = "—" if r["method"] == "base" else f"{r.get('steps', '?')} ({r.get('epochs', '?')})"
            loss = f"{r['loss_first']:.2f} → {r['loss_last']:.3f}" if "loss_last" in r else "—"
            cells = []
            for split in splits:
                s = r.get("splits", {}).get(split)
                cells.append(f"{s['success']:.2f} ({s['validity']:.2f})" if s else "error")
            lines.append(f"| {r['method']} | {steps} | {loss} | " + " | ".join(cells) + " |")
        lines.append("")
    markdown = "\n".join(lines)
    out_md.write_text(markdown + "\n", encoding="utf-8")
    return markdown


def main(argv: list[str]) -> int:
    if argv[:1] == ["plan"] and len(argv) >= 6:
        work, seconds, epochs, batch = Path(argv[1]), float(argv[2]), float(argv[3]), int(argv[4])
        for run, steps in plan(work, seconds, epochs, batch, argv[5:]).items():
            print(run, steps)
        return 0
    if argv[:1] == ["table"] and len(argv) >= 5:
        work, out_json, out_md = Path(argv[1]), Path(argv[2]), Path(argv[3])
        extra = json.loads((work / "study.json").read_text(encoding="utf-8")) if (work / "study.json").is_file() else {}
        print(table(work, out_json, out_md, argv[4:], extra))
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
