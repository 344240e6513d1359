"""``report.html``: one self-contained page (inline CSS/JS, figures as base64 PNG, episodes as inline JSON).

Why self-contained: the page is mailed, attached to issues and opened from ``file://`` on machines with no
network, so nothing may be fetched. Why Jinja2 templates (``resources/report.html.j2`` and the macros of
``resources/report_macros.html.j2``) with autoescape: every text from a run is escaped unless marked safe, and
only the page's own CSS/JS and the viewer's JSON are; the JSON goes through ``embed_json`` (``<``, ``>`` and
``&`` written as ``\\u003c`` etc.), so a model's ``</script>`` cannot end the tag. This module only prepares
the data (rows of formatted strings, cells, captions, base64 figures); the templates hold all markup.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from sftgen.report.aggregate import ordered_items
from sftgen.report.assets import CSS, JS
from sftgen.report.differences import DIFFERENCES
from sftgen.report.findings import thresholds
from sftgen.report.markdown import (
    CHECKPOINT_HEADER,
    FINDINGS_RULE,
    LEGEND,
    PAIRED_HEADER,
    PAIRED_NOTE,
    TIMING_HEADER,
    TIMING_NOTE,
    VALIDITY_HEADER,
    checkpoint_rows,
    paired_rows,
    rejection_header,
    rejection_rows,
    settings_rows,
    timing_rows,
    validity_rows,
)
from sftgen.report.runs import task_title
from sftgen.report.settings import SETTINGS_HEADER
from sftgen.report.study_numbers import DAGGER, STUDY_MODEL, STUDY_SOURCE
from sftgen.report.tables import (
    CATEGORY_TITLES,
    TableRow,
    TaskTable,
    column_title,
    fmt,
    fmt_delta,
    fmt_interval,
    fmt_spread,
    fmt_study,
    fmt_validity,
)

if TYPE_CHECKING:
    from sftgen.report.build import ReportData
    from sftgen.report.figures import FigureFile

RUNS_HEADER = ["run", "folder", "recipe", "model", "template", "wall time", "checkpoint choice", "runs", "seeds"]
RUNS_KEYS = ("label", "folder", "recipe", "model", "template", "wall", "choice", "runs", "seeds")


def embed_json(data: Any) -> str:
    """JSON that is safe inside a ``<script>`` element (no ``</script>``, no ``<!--``)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for char, code in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, code)
    return text


def code_spans(text: str) -> Markup:
    """Escaped text with Markdown's `code` spans as <code> (the differences are written once, for both pages)."""
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(text))))


@cache
def _environment() -> Environment:
    """Autoescaping templates from ``sftgen/resources`` (package data, so an installed wheel has them)."""
    env = Environment(
        loader=PackageLoader("sftgen", "resources"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["code"] = code_spans
    env.filters["embed_json"] = lambda data: Markup(embed_json(data))
    return env


@dataclass(frozen=True)
class CellView:
    """One Table-1 cell as shown: ours (with spread and interval), validity, the study's number and Δ."""

    method: str
    split: str
    success: str  # the number, "–" without one, "not run" for a study-only row
    interval: str | None  # "±0.05 [0.83, 0.99]"; None without a number
    shade: str | None  # the green background's opacity, grows with success
    validity: str | None
    study: str | None
    delta: str | None
    delta_class: str


@dataclass(frozen=True)
class RowView:
    """One method's row of Table 1: its label, seeds and cells (a study-only row did not run)."""

    label: str
    seeds: str  # "0, 1"; empty for a study-only row
    ran: bool
    cells: list[CellView]


@dataclass(frozen=True)
class TableView:
    """Table 1 of one task, formatted; ``task`` also names the table's anchor and ``data-task``."""

    task: str
    title: str
    groups: list[tuple[str, int]]  # (category title, how many columns it spans)
    columns: list[str]
    rows: list[RowView]


@dataclass(frozen=True)
class FigureView:
    """A figure as a data: URI's payload, so the page fetches nothing."""

    caption: str
    png_base64: str


@dataclass(frozen=True)
class BaseView:
    """One run folder's base model: its folder, the probes' one-row tables and its zero-shot evaluation."""

    label: str
    folder: str
    probes: list[tuple[str, list[str], list[str]]]  # (title, header, row)
    zero_shot: list[list[str]] | None  # None when the base has no metrics.json


@dataclass(frozen=True)
class RejectionView:
    """One task's successes the study's answer check would reject: heading, summary and the rows that have any."""

    heading: str
    summary: str
    header: list[str]
    rows: list[list[str]]


def _cell(row: TableRow, split: str) -> CellView:
    cell, ref, delta = row.cells.get(split), row.study.get(split), row.delta(split)
    success, interval, shade = "not run", None, None
    if row.ran:
        success = "–"
        if cell is not None and cell.success is not None:
            success = fmt(cell.success)
            interval = f"{fmt_spread(cell.success_range)} {fmt_interval(cell.success_ci)}"
            shade = f"{0.08 + 0.3 * cell.success:.2f}"
    validity = fmt_validity(cell) if row.ran and cell is not None and cell.validity is not None else None
    return CellView(
        method=row.method,
        split=split,
        success=success,
        interval=interval,
        shade=shade,
        validity=validity,
        study=None if ref is None else fmt_study(ref),
        delta=None if delta is None else fmt_delta(delta),
        delta_class="d-pos" if delta is not None and delta >= 0 else "d-neg",
    )


def _table(table: TaskTable) -> TableView:
    """Table 1 of one task: a category header row, a split header row, one row per method."""
    rows = [
        RowView(row.label, ", ".join(map(str, row.seeds)), row.ran, [_cell(row, s) for s in table.columns])
        for row in table.rows
    ]
    groups = [(CATEGORY_TITLES.get(c, c), len(ss)) for c, ss in table.groups]
    columns = [column_title(s) for s in table.columns]
    return TableView(table.task, task_title(table.task), groups, columns, rows)


def _figure(fig: FigureFile) -> FigureView:
    return FigureView(fig.caption, base64.b64encode(fig.png).decode("ascii"))


def _bases(data: ReportData) -> list[BaseView]:
    """The base model of each run folder that evaluated one."""
    views = []
    for source in data.sources:
        base = source.base
        if base is None:
            continue
        probes = [(title, list(probe), [fmt(v) for v in probe.values()]) for title, probe in source.base_probes()]
        metrics = source.base_metrics()
        zero_shot = None
        if metrics:
            zero_shot = [
                [
                    s,
                    str(m.get("n")),
                    f"{fmt(m.get('success'))} {fmt_interval(m.get('success_ci'))}",
                    fmt(m.get("validity")),
                ]
                for s, m in ordered_items(metrics.get("splits", {}))
            ]
        views.append(BaseView(source.label, str(base.get("dir", "–")), probes, zero_shot))
    return views


def render_html(data: ReportData) -> str:
    """The whole report.html."""
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            css=Markup(CSS),  # the page's own constants, the only markup not escaped
            js=Markup(JS),
            generated=data.generated,
            runs_header=RUNS_HEADER,
            runs=[[r[k] for k in RUNS_KEYS] for r in data.header_rows()],
            findings=data.findings,
            thresholds=thresholds(),
            findings_rule=FINDINGS_RULE,
            paired_header=PAIRED_HEADER,
            paired=paired_rows(data),
            paired_note=PAIRED_NOTE,
            legend=LEGEND,
            study_source=STUDY_SOURCE,
            tables=[_table(t) for t in data.tables],
            overview=[_figure(f) for f in data.figures if f.name.startswith("overview-")],
            curves=[_figure(f) for f in data.figures if f.name.startswith("curves-")],
            checkpoint_header=CHECKPOINT_HEADER,
            checkpoints=checkpoint_rows(data),
            timing_header=TIMING_HEADER,
            timings=timing_rows(data),
            timing_note=TIMING_NOTE,
            settings_header=SETTINGS_HEADER,
            settings=settings_rows(data),
            bases=_bases(data),
            per_split=data.viewer.get("per_split", 0),
            differences=DIFFERENCES,
            validity_header=VALIDITY_HEADER,
            validity=validity_rows(data),
            rejections=[
                RejectionView(s.heading, s.summary, rejection_header(s), rejection_rows(s)) for s in data.rejections
            ],
            dagger=DAGGER,
            study_model=STUDY_MODEL,
            viewer=data.viewer,
        )
    )
