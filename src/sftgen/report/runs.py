"""Read experiment run folders (``RUN/results.json`` and the files it points at) into typed entries.

Why a loader of its own: the report must not care how a run was made, only what it left on disk. Paths in
``results.json`` may be absolute, relative to the run folder or to its parent, or stale after the folder
was moved; ``resolve_path`` finds them in each case, and a missing file (a curve, a train log) is a gap in
the report, never a crash. Several run folders are merged; each keeps a unique label so rows never mix.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sftgen.eval.records import episodes_path
from sftgen.experiment.timing import TIMINGS_FILE
from sftgen.io import read_json
from sftgen.tasks.protocol import get_task, task_names

RESULTS_FILE = "results.json"
CURVES_FILE = "curves.json"
BASE_PROBES = {
    "lookup_probe": "Look-up probe (the declared word of a queried direction; held-out vocabularies, greedy)",
    "far_lookup_probe": "Far look-up probe (the same with a grid between the declared map and the query)",
    "navigate_probe": "Navigation probe (the declared word of an optimal move, box-free grids; held-out vocabularies)",
}


def resolve_path(run_dir: Path, value: str | None) -> Path | None:
    """``value`` as written in results.json, found on disk if possible (else its run-relative form)."""
    if not value:
        return None
    path = Path(value).expanduser()
    candidates = [path] if path.is_absolute() else [run_dir / path, run_dir.parent / path, Path.cwd() / path]
    parts = path.parts
    if run_dir.name in parts:  # written under the folder's old location: keep what follows its name
        tail = parts[len(parts) - 1 - parts[::-1].index(run_dir.name) + 1 :]
        candidates.append(run_dir.joinpath(*tail))
    if parts and parts[0] == "RUN":
        candidates.append(run_dir.joinpath(*parts[1:]))
    return next((c for c in candidates if c.exists()), candidates[0])


@dataclass
class RunEntry:
    """One trained (task, method, seed) of a run folder, with its chosen checkpoint's metrics."""

    source: str
    task: str
    method: str
    seed: int
    metrics: dict[str, dict[str, Any]]
    eval_dir: Path | None = None
    train_dir: Path | None = None
    train_log: Path | None = None
    chosen: str | None = None
    choice_rule: str | None = None
    study_rule_choice: str | None = None
    wall_seconds: float | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.source, self.task, self.method)

    def curves(self) -> dict[str, Any] | None:
        """``curves.json`` of this run's checkpoint sweep, or None when there is none."""
        if self.eval_dir is None or not (self.eval_dir / CURVES_FILE).is_file():
            return None
        return read_json(self.eval_dir / CURVES_FILE)

    def losses(self) -> list[tuple[float, float]]:
        """(step, loss) pairs of the training log (TRL's closing summary line has no ``loss`` and is skipped)."""
        if self.train_log is None or not self.train_log.is_file():
            return []
        points = []
        for line in self.train_log.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a crash
            loss, step = row.get("loss"), row.get("step")
            if isinstance(loss, int | float) and isinstance(step, int | float) and math.isfinite(loss):
                points.append((float(step), float(loss)))
        return points

    def episodes_file(self, split: str) -> Path | None:
        """The chosen checkpoint's JSONL records for ``split`` (None if not on disk)."""
        if self.eval_dir is None:
            return None
        folder = self.eval_dir / self.chosen if self.chosen else self.eval_dir
        path = episodes_path(folder, split)
        return path if path.is_file() else None


@dataclass
class Source:
    """One run folder: its results.json and the runs it lists."""

    run_dir: Path
    label: str
    results: dict[str, Any]
    runs: list[RunEntry] = field(default_factory=list)

    @property
    def recipe(self) -> dict[str, Any]:
        recipe = self.results.get("recipe") or {}
        return recipe if isinstance(recipe, dict) else {"name": str(recipe)}

    @property
    def base(self) -> dict[str, Any] | None:
        base = self.results.get("base")
        return base if isinstance(base, dict) else None

    def base_probes(self) -> list[tuple[str, dict[str, float]]]:
        """(title, scores per held-out vocabulary) of each zero-shot probe the base recorded."""
        base = self.base or {}
        return [(title, base[key]) for key, title in BASE_PROBES.items() if isinstance(base.get(key), dict)]

    def base_metrics(self) -> dict[str, Any] | None:
        """The base model's zero-shot ``metrics.json`` (None when there is no base section or no file)."""
        base = self.base
        folder = resolve_path(self.run_dir, base.get("eval_dir")) if base else None
        if folder is None or not (folder / "metrics.json").is_file():
            return None
        return read_json(folder / "metrics.json")

    def tasks(self) -> list[str]:
        return sorted({r.task for r in self.runs}, key=task_order)

    def timings(self) -> dict[str, Any] | None:
        """``timings.json``: wall time per stage, as ``sftgen reproduce`` wrote it (None for older runs)."""
        file = self.run_dir / TIMINGS_FILE
        return read_json(file) if file.is_file() else None


def _require(obj: dict[str, Any], key: str, where: str) -> Any:
    if key not in obj:
        raise ValueError(f"{where} lacks {key!r}")
    return obj[key]


def _entry(run_dir: Path, label: str, row: dict[str, Any], where: str) -> RunEntry:
    metrics = _require(row, "metrics", where)
    if not isinstance(metrics, dict):
        raise ValueError(f"{where}: metrics must map split names to metric dicts")
    wall = row.get("wall_seconds")
    return RunEntry(
        source=label,
        task=str(_require(row, "task", where)),
        method=str(_require(row, "method", where)),
        seed=int(row.get("seed", 0)),
        metrics={k: v for k, v in metrics.items() if isinstance(v, dict)},
        eval_dir=resolve_path(run_dir, row.get("eval_dir")),
        train_dir=resolve_path(run_dir, row.get("train_dir")),
        train_log=resolve_path(run_dir, row.get("train_log")),
        chosen=row.get("chosen"),
        choice_rule=row.get("choice_rule"),
        study_rule_choice=row.get("study_rule_choice"),
        wall_seconds=float(wall) if isinstance(wall, int | float) else None,
    )


def _labels(results: list[tuple[Path, dict[str, Any]]]) -> list[str]:
    """The model name; recipe and then folder name added only where that is needed to tell folders apart."""
    labels = [str(r.get("model") or p.name) for p, r in results]
    if len(set(labels)) < len(labels):
        recipes = [
            (r.get("recipe") or {}).get("name") if isinstance(r.get("recipe"), dict) else None for _, r in results
        ]
        labels = [f"{lab} ({rec})" if rec else lab for lab, rec in zip(labels, recipes, strict=True)]
    if len(set(labels)) < len(labels):
        labels = [f"{lab} [{p.name}]" for lab, (p, _) in zip(labels, results, strict=True)]
    seen: dict[str, int] = {}
    unique = []
    for lab in labels:
        seen[lab] = seen.get(lab, 0) + 1
        unique.append(lab if seen[lab] == 1 else f"{lab} #{seen[lab]}")
    return unique


def load_sources(run_dirs: list[Path] | list[str]) -> list[Source]:
    """Each run folder's results, labelled uniquely; a missing or malformed results.json raises, naming it."""
    if not run_dirs:
        raise ValueError("no run folder given")
    loaded = []
    for run_dir in (Path(d) for d in run_dirs):
        file = run_dir / RESULTS_FILE
        if not file.is_file():
            raise FileNotFoundError(f"{run_dir} has no {RESULTS_FILE} (is it an experiment run folder?)")
        results = read_json(file)
        if not isinstance(results, dict) or not isinstance(results.get("runs"), list):
            raise ValueError(f"{file} must be a JSON object with a 'runs' list")
        loaded.append((run_dir, results))
    sources = []
    for (run_dir, results), label in zip(loaded, _labels(loaded), strict=True):
        source = Source(run_dir, label, results)
        for i, row in enumerate(results["runs"]):
            if not isinstance(row, dict):
                raise ValueError(f"{run_dir / RESULTS_FILE}: runs[{i}] is not an object")
            source.runs.append(_entry(run_dir, label, row, f"{run_dir / RESULTS_FILE}: runs[{i}]"))
        sources.append(source)
    return sources


def task_order(task: str) -> tuple[int, str]:
    """Tasks in registry order (the study's two first); a task no longer registered goes last."""
    names = task_names()
    return (names.index(task) if task in names else len(names), task)


def task_title(task: str) -> str:
    """A task's heading: its registered title, else its name."""
    return get_task(task).title if task in task_names() else task
