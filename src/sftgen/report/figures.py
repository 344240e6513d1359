"""Matplotlib figures of a report: per-task success bars beside the study's numbers, and training curves.

Why the object API with an Agg canvas and no ``pyplot``: figures are rendered to PNG bytes in memory (the
HTML embeds them, the Markdown links them), with no global figure state and no display needed, so a report
builds the same way on a headless server, in a test and inside a notebook.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sftgen.eval.sweep import CURVE_POINTS
from sftgen.report.aggregate import ordered_splits, split_category
from sftgen.report.runs import RunEntry
from sftgen.report.study_numbers import DAGGER, STUDY_MODEL
from sftgen.report.tables import TaskTable, column_title

DPI = 90
CATEGORY_COLOURS = {
    "id": "#1f77b4",
    "instruction": "#2ca02c",
    "difficulty": "#ff7f0e",
    "fake": "#d62728",
    "paraphrase": "#9467bd",
    "validation": "#7f7f7f",
}
_SEED_STYLES = ("-", "--", ":", "-.")


@dataclass(frozen=True)
class FigureFile:
    """One PNG of the report: its file name under figures/, a caption and the bytes."""

    name: str
    caption: str
    png: bytes


def slug(text: str) -> str:
    """A file-name-safe form of a label."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-").lower() or "x"


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    return buffer.getvalue()


def overview_figure(table: TaskTable, source: str) -> FigureFile | None:
    """Success per split for each method of ``source`` (bars with 95% intervals), study numbers as ◆ marks."""
    rows = [r for r in table.rows if r.source == source and r.ran]
    columns = [s for s in table.columns if any(s in r.cells for r in rows)]
    if not rows or not columns:
        return None
    fig = Figure(figsize=(max(6.0, 0.75 * len(columns) + 2), 3.6))
    ax = fig.add_subplot()
    x = np.arange(len(columns))
    width = 0.8 / len(rows)
    for i, row in enumerate(rows):
        offset = x - 0.4 + width * (i + 0.5)
        values = [
            row.cells[s].success if s in row.cells and row.cells[s].success is not None else np.nan for s in columns
        ]
        lows, highs = [], []
        for s, v in zip(columns, values, strict=True):
            ci = row.cells[s].success_ci if s in row.cells else None
            lows.append(0.0 if ci is None or np.isnan(v) else max(0.0, v - ci[0]))
            highs.append(0.0 if ci is None or np.isnan(v) else max(0.0, ci[1] - v))
        bars = ax.bar(offset, values, width, label=row.method, yerr=[lows, highs], capsize=2, error_kw={"lw": 0.8})
        study = [row.study.get(s, np.nan) for s in columns]
        colour = bars.patches[0].get_facecolor() if bars.patches else None
        ax.scatter(offset, study, marker="D", s=16, color="black", edgecolors=colour, zorder=3)
    ax.scatter([], [], marker="D", s=16, color="black", label=f"study{DAGGER} ({STUDY_MODEL})")
    ax.set_xticks(x, [column_title(s) for s in columns], rotation=35, ha="right", fontsize=8)
    for tick, split in zip(ax.get_xticklabels(), columns, strict=True):
        tick.set_color(CATEGORY_COLOURS.get(split_category(split), "black"))
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("success")
    ax.set_title(f"{table.task} · {source}: success per split (95% intervals)", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7, ncol=min(4, len(rows) + 1), loc="upper center", bbox_to_anchor=(0.5, -0.32), frameon=False)
    return FigureFile(
        f"overview-{slug(table.task)}-{slug(source)}.png",
        f"{table.task} · {source}: our success per split (bars, 95% intervals) and the study's † numbers (◆)",
        _png(fig),
    )


def _curve_splits(curves: list[dict | None]) -> list[str]:
    names = set()
    for data in curves:
        for point in (data or {}).get(CURVE_POINTS, []):
            names.update(point.get("splits", {}))
    return ordered_splits(names)


def curves_figure(source: str, task: str, method: str, entries: list[RunEntry]) -> FigureFile | None:
    """Loss over steps, then success and validity per split over checkpoints; one line style per seed."""
    curves = [e.curves() for e in entries]
    losses = [(e, e.losses()) for e in entries]
    splits = _curve_splits(curves)
    if not splits and not any(points for _, points in losses):
        return None
    fig = Figure(figsize=(13, 3.4))
    axes = fig.subplots(1, 3)
    palette = colormaps["tab10" if len(splits) <= 10 else "tab20"]
    colours = {s: palette(i % palette.N) for i, s in enumerate(splits)}
    for k, (entry, points) in enumerate(losses):
        if points:
            steps, values = zip(*points, strict=True)
            axes[0].plot(steps, values, _SEED_STYLES[k % 4], lw=1, label=f"seed {entry.seed}")
    for k, data in enumerate(curves):
        points = (data or {}).get(CURVE_POINTS, [])
        xs: list[float] = []
        for p in points:  # a final model of unknown step goes just after the last checkpoint
            xs.append(p["step"] if isinstance(p.get("step"), int | float) else (xs[-1] + 1 if xs else 0))
        for split in splits:
            have = [(x, p["splits"][split]) for x, p in zip(xs, points, strict=True) if split in p.get("splits", {})]
            if not have:
                continue
            label = split.split("/", 1)[-1] if k == 0 else None
            style = _SEED_STYLES[k % 4]
            for ax, key in ((axes[1], "success"), (axes[2], "validity")):
                ys = [m.get(key) if m.get(key) is not None else np.nan for _, m in have]
                ax.plot([x for x, _ in have], ys, style, marker="o", ms=3, lw=1, color=colours[split], label=label)
    titles = ("training loss", "success per split (checkpoints)", "validity per split (checkpoints)")
    for ax, title in zip(axes, titles, strict=True):
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for ax in axes[1:]:
        ax.set_ylim(-0.03, 1.03)
    if not any(points for _, points in losses):
        axes[0].text(0.5, 0.5, "no training log", ha="center", va="center", transform=axes[0].transAxes)
    elif len(entries) > 1:
        axes[0].legend(fontsize=7)
    if splits:
        axes[2].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5), frameon=False)
    else:
        for ax in axes[1:]:
            ax.text(0.5, 0.5, "no curves.json", ha="center", va="center", transform=ax.transAxes)
    seeds = ", ".join(str(e.seed) for e in entries)
    fig.suptitle(f"{task} · {method} · {source} (seeds {seeds}; line style = seed)", fontsize=10)
    return FigureFile(
        f"curves-{slug(source)}-{slug(task)}-{slug(method)}.png",
        f"{task} · {method} · {source}: training loss and per-split success/validity over checkpoints",
        _png(fig),
    )
