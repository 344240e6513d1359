"""Seeds -> one number per (run folder, task, method, split): mean, range over seeds and a 95% interval.

Why pooled intervals: a recipe may train several seeds of a method, and a bare mean hides both the seed
spread and the sampling error of small splits. Success pools every seed's episodes into one Wilson
interval (the seeds' episodes are draws of the same rate under the null of no seed effect); validity,
a per-episode mean, takes the hull of the seeds' bootstrap intervals, a conservative bound. The range
over seeds is shown beside it, so seed spread and sampling error stay visible separately.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from sftgen.eval.metrics import wilson_interval
from sftgen.report.runs import RunEntry, Source, task_order
from sftgen.report.study_numbers import method_order
from sftgen.splits import CATEGORIES, SPLITS

_REGISTRY_ORDER = {name: i for i, name in enumerate(SPLITS)}
Key = tuple[str, str, str]  # (source label, task, method)


@dataclass(frozen=True)
class Cell:
    """One split's numbers for one method, over its seeds."""

    split: str
    success: float | None
    success_ci: tuple[float, float] | None
    success_range: tuple[float, float] | None
    validity: float | None
    validity_ci: tuple[float, float] | None
    validity_range: tuple[float, float] | None
    validity_study: float | None
    n: int
    seeds: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def split_category(split: str, metric: dict[str, Any] | None = None) -> str:
    """id / instruction / difficulty / fake / paraphrase / validation (from the registry, else the metrics)."""
    spec = SPLITS.get(split)
    if spec is not None:
        return spec.category
    category = (metric or {}).get("category")
    return str(category) if category else "other"


def ordered_splits(names: Iterable[str]) -> list[str]:
    """Splits by task, then category (ID, instruction, difficulty, fake, ...), then registry order."""
    categories = {c: i for i, c in enumerate(CATEGORIES)}

    def key(split: str) -> tuple[int, int, int, str]:
        task = split.split("/", 1)[0]
        return (
            task_order(task)[0],
            categories.get(split_category(split), len(categories)),
            _REGISTRY_ORDER.get(split, 10**6),
            split,
        )

    return sorted(set(names), key=key)


def _numbers(metrics: list[dict[str, Any]], key: str) -> list[float]:
    values = [m.get(key) for m in metrics]
    return [float(v) for v in values if isinstance(v, int | float) and math.isfinite(v)]


def _mean(values: list[float]) -> float | None:
    return math.fsum(values) / len(values) if values else None


def _span(values: list[float]) -> tuple[float, float] | None:
    return (min(values), max(values)) if len(values) > 1 else None


def _hull(metrics: list[dict[str, Any]], key: str) -> tuple[float, float] | None:
    cis = [m[key] for m in metrics if isinstance(m.get(key), list | tuple) and len(m[key]) == 2]
    if not cis:
        return None
    return (min(float(c[0]) for c in cis), max(float(c[1]) for c in cis))


def _success_ci(metrics: list[dict[str, Any]]) -> tuple[float, float] | None:
    if len(metrics) == 1:
        return _hull(metrics, "success_ci")
    counted = [m for m in metrics if isinstance(m.get("n"), int) and isinstance(m.get("success"), int | float)]
    if len(counted) != len(metrics):
        return _hull(metrics, "success_ci")
    n = sum(m["n"] for m in counted)
    successes = sum(round(m["success"] * m["n"]) for m in counted)
    return wilson_interval(successes, n)


def aggregate_cell(split: str, metrics: list[dict[str, Any]]) -> Cell:
    """One cell from the seeds' per-split metric dicts (as in metrics.json)."""
    success, validity = _numbers(metrics, "success"), _numbers(metrics, "validity")
    return Cell(
        split=split,
        success=_mean(success),
        success_ci=_success_ci(metrics) if success else None,
        success_range=_span(success),
        validity=_mean(validity),
        validity_ci=_hull(metrics, "validity_ci") if validity else None,
        validity_range=_span(validity),
        validity_study=_mean(_numbers(metrics, "validity_study")),
        n=sum(int(m.get("n") or 0) for m in metrics),
        seeds=len(metrics),
    )


def group_runs(sources: list[Source]) -> dict[Key, list[RunEntry]]:
    """Runs by (source, task, method), seeds ascending; sources in given order, methods in the study's order."""
    groups: dict[Key, list[RunEntry]] = {}
    for source in sources:
        for task in source.tasks():
            runs = [r for r in source.runs if r.task == task]
            for method in method_order({r.method for r in runs}):
                groups[(source.label, task, method)] = sorted(
                    (r for r in runs if r.method == method), key=lambda r: r.seed
                )
    return groups


def method_cells(entries: list[RunEntry]) -> dict[str, Cell]:
    """split -> Cell over the seeds of one (source, task, method); a split missing in a seed is averaged
    over the seeds that have it."""
    splits = ordered_splits(s for e in entries for s in e.metrics)
    return {s: aggregate_cell(s, [e.metrics[s] for e in entries if s in e.metrics]) for s in splits}


def success_of(cells: dict[str, Cell], split: str) -> float | None:
    cell = cells.get(split)
    return cell.success if cell else None


def ordered_items(metrics: dict[str, Any]) -> list[tuple[str, Any]]:
    """``metrics.json``'s per-split dicts in report order (the file itself is sorted alphabetically)."""
    return [(s, metrics[s]) for s in ordered_splits(metrics)]
