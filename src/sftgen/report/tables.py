"""The Table-1 layout: per task, rows = methods, columns = ID | instruction | difficulty | fake splits.

Why one table model for Markdown, HTML and JSON: the three renderings must show the same numbers, so the
cells (ours over seeds, the study's † number, the difference) are computed once here and only formatted
by the renderers. Every column the paper prints is kept even when a run skipped that split, so the study's
number is always visible; methods the study reports but the run lacks get a row marked "not run".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sftgen.report.aggregate import Cell, Key, method_cells, ordered_splits, split_category
from sftgen.report.runs import RunEntry, task_order
from sftgen.report.study_numbers import STUDY_METHOD_LABELS, STUDY_MODEL, study_column, study_splits, study_value

CATEGORY_TITLES = {
    "id": "ID",
    "instruction": "instruction variants",
    "difficulty": "difficulty variants",
    "fake": "fake",
    "paraphrase": "paraphrase (beyond the study)",
    "validation": "validation (checkpoint choice)",
    "other": "other",
}


@dataclass
class TableRow:
    """One method of one run folder (or a study-only row when ``cells`` is empty)."""

    source: str | None
    method: str
    seeds: list[int]
    cells: dict[str, Cell]
    study: dict[str, float]

    @property
    def ran(self) -> bool:
        return bool(self.cells)

    @property
    def label(self) -> str:
        return self.method if self.source is None else f"{self.method} · {self.source}"

    def delta(self, split: str) -> float | None:
        """Ours minus the study's number (None unless both exist)."""
        cell, ref = self.cells.get(split), self.study.get(split)
        if cell is None or cell.success is None or ref is None:
            return None
        return cell.success - ref


@dataclass
class TaskTable:
    """All rows of one task, with its columns grouped by category."""

    task: str
    columns: list[str]
    rows: list[TableRow] = field(default_factory=list)

    @property
    def groups(self) -> list[tuple[str, list[str]]]:
        """(category, splits) in column order."""
        out: list[tuple[str, list[str]]] = []
        for split in self.columns:
            category = split_category(split)
            if out and out[-1][0] == category:
                out[-1][1].append(split)
            else:
                out.append((category, [split]))
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "columns": self.columns,
            "study_model": STUDY_MODEL,
            "rows": [
                {
                    "source": r.source,
                    "method": r.method,
                    "seeds": r.seeds,
                    "cells": {s: c.to_json() for s, c in r.cells.items()},
                    "study": r.study,
                    "delta": {s: d for s in self.columns if (d := r.delta(s)) is not None},
                }
                for r in self.rows
            ],
        }


def column_title(split: str) -> str:
    """``numerical (Num)``: our split's short name and the paper's column label, if it has one."""
    short = split.split("/", 1)[-1]
    label = study_column(split)
    return f"{short} ({label})" if label else short


def _study_row(method: str, columns: list[str]) -> dict[str, float]:
    return {s: v for s in columns if (v := study_value(s, method)) is not None}


def build_tables(groups: dict[Key, list[RunEntry]]) -> list[TaskTable]:
    """One table per task (registry order), with study-only rows for methods the runs lack."""
    tasks = sorted({task for _, task, _ in groups}, key=task_order)
    tables = []
    for task in tasks:
        keys = [k for k in groups if k[1] == task]
        cells = {k: method_cells(groups[k]) for k in keys}
        columns = ordered_splits({s for c in cells.values() for s in c} | set(study_splits(task)))
        table = TaskTable(task, columns)
        for key in keys:
            source, _, method = key
            seeds = [e.seed for e in groups[key]]
            table.rows.append(TableRow(source, method, seeds, cells[key], _study_row(method, columns)))
        ran = {k[2] for k in keys}
        for method in STUDY_METHOD_LABELS:
            study = _study_row(method, columns)
            if method not in ran and study:
                table.rows.append(TableRow(None, method, [], {}, study))
        tables.append(table)
    return tables


# ---------------------------------------------------------------- formatting shared by the renderers
def fmt(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def fmt_delta(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:+.2f}".replace("-", "−")


def fmt_interval(ci: tuple[float, float] | list[float] | None) -> str:
    return "" if ci is None else f"[{ci[0]:.2f}, {ci[1]:.2f}]"


def fmt_spread(span: tuple[float, float] | None) -> str:
    """``±0.05`` (half the range over seeds), empty with one seed."""
    return "" if span is None else f"±{(span[1] - span[0]) / 2:.2f}"


def fmt_success(cell: Cell | None) -> str:
    """``0.95 ±0.05 [0.83, 0.99]``: mean over seeds, half-range over seeds, 95% interval."""
    if cell is None or cell.success is None:
        return "–"
    return " ".join(p for p in (fmt(cell.success), fmt_spread(cell.success_range), fmt_interval(cell.success_ci)) if p)


def fmt_validity(cell: Cell | None) -> str:
    if cell is None or cell.validity is None:
        return "–"
    parts = (fmt(cell.validity), fmt_spread(cell.validity_range), fmt_interval(cell.validity_ci))
    return " ".join(p for p in parts if p)


def fmt_study(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}†"


def fmt_seconds(seconds: float | None) -> str:
    """``812.4`` -> ``13 min 32 s``."""
    if seconds is None:
        return "–"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if minutes else f"{seconds:.1f} s"
