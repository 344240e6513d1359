"""``build_report``: run folders in, ``report.md``, ``report.html``, ``report.json`` and ``figures/`` out.

Why one entry point that gathers everything first: the Markdown page, the HTML page and the JSON must agree,
so every number is computed once into a ``ReportData`` and the renderers only format it. Every file is
written atomically (figures as one folder swap), so a crash never leaves a report whose figures or tables
belong to different runs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sftgen.io import atomic_dir, atomic_write_json, atomic_write_text
from sftgen.report.aggregate import Key, group_runs
from sftgen.report.differences import DIFFERENCES, RejectionSection, checkpoint_rows, rejection_sections, validity_rows
from sftgen.report.figures import FigureFile, curves_figure, overview_figure
from sftgen.report.findings import Finding, check_findings, thresholds
from sftgen.report.runs import RunEntry, Source, load_sources
from sftgen.report.settings import training_rows
from sftgen.report.tables import TaskTable, build_tables, fmt_seconds
from sftgen.report.viewer import EPISODES_PER_SPLIT, viewer_data

FIGURES_DIR = "figures"


@dataclass
class ReportData:
    """Everything a report shows, computed once."""

    sources: list[Source]
    groups: dict[Key, list[RunEntry]]
    tables: list[TaskTable]
    findings: list[Finding]
    figures: list[FigureFile]
    validity: list[dict[str, Any]]
    rejections: list[RejectionSection]
    checkpoints: list[dict[str, Any]]
    training: list[dict[str, str]]
    viewer: dict[str, Any]
    generated: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"))

    def header_rows(self) -> list[dict[str, str]]:
        """One row per run folder: recipe, model, template, wall time, checkpoint choice rule."""
        rows = []
        for s in self.sources:
            recipe = s.recipe
            extra = ", ".join(f"{k}={v}" for k, v in recipe.items() if k != "name" and not isinstance(v, dict | list))
            rules = sorted({r.choice_rule for r in s.runs if r.choice_rule}) or ["–"]
            rows.append(
                {
                    "label": s.label,
                    "folder": str(s.run_dir),
                    "recipe": str(recipe.get("name", "–")) + (f" ({extra})" if extra else ""),
                    "model": str(s.results.get("model", "–")),
                    "template": str(s.results.get("template", "–")),
                    "wall": fmt_seconds(s.results.get("wall_seconds")),
                    "choice": ", ".join(rules),
                    "runs": _runs_cell(len(s.runs), s.results),
                    "seeds": ", ".join(str(x) for x in sorted({r.seed for r in s.runs})) or "–",
                }
            )
        return rows

    def to_json(self) -> dict[str, Any]:
        return {
            "generated": self.generated,
            "runs": self.header_rows(),
            "thresholds": thresholds(),
            "findings": [f.to_json() for f in self.findings],
            "timings": {s.label: s.timings() for s in self.sources},
            "tables": [t.to_json() for t in self.tables],
            "checkpoints": self.checkpoints,
            "training_settings": self.training,
            "validity_vs_study": self.validity,
            "float_rejections": [vars(r) for s in self.rejections for r in s.rows],  # named for GP's float check
            "differences": [{"title": t, "text": x} for t, x in DIFFERENCES],
            "figures": [{"file": f"{FIGURES_DIR}/{f.name}", "caption": f.caption} for f in self.figures],
        }


@dataclass(frozen=True)
class Report:
    """Where a built report lies, and its findings (for callers that act on them)."""

    out: Path
    markdown: Path
    html: Path
    json: Path
    figures: list[Path]
    findings: list[Finding]


def collect(run_dirs: list[Path], episodes_per_split: int = EPISODES_PER_SPLIT) -> ReportData:
    """Load the run folders and compute tables, findings, figures, differences and viewer data."""
    sources = load_sources(run_dirs)
    groups = group_runs(sources)
    tables = build_tables(groups)
    figures = [f for t in tables for s in sources if (f := overview_figure(t, s.label)) is not None]
    figures += [f for (src, task, method), es in groups.items() if (f := curves_figure(src, task, method, es))]
    return ReportData(
        sources=sources,
        groups=groups,
        tables=tables,
        findings=check_findings(groups),
        figures=figures,
        validity=validity_rows(groups),
        rejections=rejection_sections(groups),
        checkpoints=checkpoint_rows(sources),
        training=training_rows(sources),
        viewer=viewer_data(groups, episodes_per_split),
    )


def build_report(
    run_dirs: list[Path] | list[str] | Path | str,
    out: Path | str | None = None,
    *,
    episodes_per_split: int = EPISODES_PER_SPLIT,
) -> Report:
    """Write ``OUT/report.md``, ``OUT/report.html``, ``OUT/report.json`` and ``OUT/figures/*.png``.

    ``run_dirs``: one or more experiment run folders (each with ``results.json``); several are merged, each
    labelled by its model. ``out`` defaults to the first run folder. ``episodes_per_split`` caps the episodes
    the HTML viewer embeds per split (0: no viewer data).
    """
    from sftgen.report.html import render_html
    from sftgen.report.markdown import render_markdown

    dirs = [Path(run_dirs)] if isinstance(run_dirs, str | Path) else [Path(d) for d in run_dirs]
    data = collect(dirs, episodes_per_split)
    out_dir = Path(out) if out is not None else dirs[0]
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_dir(out_dir / FIGURES_DIR, overwrite=True) as tmp:
        for figure in data.figures:
            (tmp / figure.name).write_bytes(figure.png)
    paths = [out_dir / FIGURES_DIR / f.name for f in data.figures]
    atomic_write_json(out_dir / "report.json", data.to_json())
    atomic_write_text(out_dir / "report.md", render_markdown(data, FIGURES_DIR))
    atomic_write_text(out_dir / "report.html", render_html(data))
    return Report(
        out_dir, out_dir / "report.md", out_dir / "report.html", out_dir / "report.json", paths, data.findings
    )


def _runs_cell(finished: int, results: dict[str, Any]) -> str:
    """How many runs the folder holds, and how many were planned when the run has not finished."""
    planned = results.get("jobs_planned")
    if results.get("complete", True) or planned is None:
        return str(finished)
    return f"{finished} of {planned} (run not finished)"
