"""``report.html``: one self-contained page (inline CSS/JS, figures as base64 PNG, episodes as inline JSON).

Why self-contained: the page is mailed, attached to issues and opened from ``file://`` on machines with no
network, so nothing may be fetched. Every text from a run goes through ``html.escape``; the viewer's JSON is
embedded with ``<``, ``>`` and ``&`` written as ``\\u003c`` etc., so a model's ``</script>`` cannot end the tag.
"""

from __future__ import annotations

import base64
import json
import re
from functools import cache
from html import escape
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, PackageLoader

from sftgen.report.aggregate import ordered_items
from sftgen.report.assets import CSS, JS
from sftgen.report.differences import DIFFERENCES, float_summary
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
)

if TYPE_CHECKING:
    from sftgen.report.build import ReportData


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


@cache
def _sections() -> Any:
    """The Jinja2 macros (autoescaped) of ``resources/report_sections.html.j2``."""
    env = Environment(loader=PackageLoader("sftgen", "resources"), autoescape=True)
    return env.get_template("report_sections.html.j2").module


def _code(text: str) -> str:
    """Escaped text with Markdown's `code` spans as <code> (the differences are written once, for both pages)."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(text))


def _table(header: list[str], rows: list[list[str]], raw: bool = False) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c if raw else escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _cell(row: TableRow, split: str) -> str:
    cell, ref, delta = row.cells.get(split), row.study.get(split), row.delta(split)
    attrs = f'data-method="{escape(row.method)}" data-split="{escape(split)}"'
    parts = []
    if row.ran:
        if cell is None or cell.success is None:
            parts.append('<div class="s">–</div>')
        else:
            spread = fmt_spread(cell.success_range)
            parts.append(
                f'<div class="s">{fmt(cell.success)} <span class="ci">{spread} {fmt_interval(cell.success_ci)}'
                f"</span></div>"
            )
            shade = f' style="background: rgba(46, 158, 79, {0.08 + 0.3 * cell.success:.2f})"'
            attrs += shade
        if cell is not None and cell.validity is not None:
            validity = f"{fmt(cell.validity)} {fmt_spread(cell.validity_range)} {fmt_interval(cell.validity_ci)}"
            parts.append(f'<div class="v">validity {validity}</div>')
    else:
        parts.append('<div class="s">not run</div>')
    if ref is not None:
        d = "" if delta is None else f' <span class="{"d-pos" if delta >= 0 else "d-neg"}">Δ {fmt_delta(delta)}</span>'
        parts.append(f'<div class="st">study {fmt_study(ref)}{d}</div>')
    return f"<td {attrs}>{''.join(parts)}</td>"


def task_table(table: TaskTable) -> str:
    """Table 1 of one task: a category header row, a split header row, one row per method."""
    cats = "".join(
        f'<th class="cat" colspan="{len(ss)}">{escape(CATEGORY_TITLES.get(c, c))}</th>' for c, ss in table.groups
    )
    cols = "".join(f"<th>{escape(column_title(s))}</th>" for s in table.columns)
    body = []
    for row in table.rows:
        seeds = f'<div class="ci">seeds {", ".join(map(str, row.seeds))}</div>' if row.seeds else ""
        cls = "" if row.ran else ' class="study-only"'
        cells = "".join(_cell(row, s) for s in table.columns)
        body.append(f"<tr{cls}><th>{escape(row.label)}{seeds}</th>{cells}</tr>")
    title = escape(task_title(table.task))
    return (
        f'<h3 id="table-{escape(table.task)}">Table 1 — {title}</h3><div class="scroll">'
        f'<table class="t1" data-task="{escape(table.task)}"><thead><tr><th rowspan="2">method</th>{cats}</tr>'
        f"<tr>{cols}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    )


def _findings(data: ReportData) -> str:
    limits = ", ".join(f"<code>{escape(k)}</code> = {escape(str(v))}" for k, v in thresholds().items())
    items = []
    for f in data.findings:
        status = str(f.status)
        checks = "".join(
            f'<li><span class="badge {c.status.replace(" ", "-")}">{escape(str(c.status))}</span>'
            f"<b>{escape(c.task)}</b>: {escape('; '.join(c.details))}</li>"
            for c in f.checks
        )
        items.append(
            f'<li data-finding="{f.number}" data-status="{escape(status)}"><span class="badge '
            f'{status.replace(" ", "-")}">{escape(status)}</span><b>{f.number}. {escape(f.title)}</b> '
            f'<span class="muted">[{escape(f.source)}]</span><ul class="checks">{checks}</ul></li>'
        )
    note = f'<p class="muted">Thresholds: {limits}. {escape(FINDINGS_RULE)}</p>'
    return f'{note}<ul class="findings">{"".join(items)}</ul>'


def _figure(fig: Any) -> str:
    b64 = base64.b64encode(fig.png).decode("ascii")
    return (
        f'<figure><img alt="{escape(fig.caption)}" src="data:image/png;base64,{b64}">'
        f"<figcaption>{escape(fig.caption)}</figcaption></figure>"
    )


def _base(data: ReportData) -> str:
    parts = []
    for source in data.sources:
        base = source.base
        if base is None:
            continue
        parts.append(
            f"<h3>Base model — {escape(source.label)}</h3><p class='muted'>{escape(str(base.get('dir', '–')))}</p>"
        )
        for title, probe in source.base_probes():
            parts.append(f"<p>{escape(title)}:</p>")
            parts.append(_table(list(probe), [[fmt(v) for v in probe.values()]]))
        metrics = source.base_metrics()
        if metrics:
            rows = [
                [
                    s,
                    str(m.get("n")),
                    f"{fmt(m.get('success'))} {fmt_interval(m.get('success_ci'))}",
                    fmt(m.get("validity")),
                ]
                for s, m in ordered_items(metrics.get("splits", {}))
            ]
            parts.append("<p>Zero-shot evaluation:</p>" + _table(["split", "n", "success [95%]", "validity"], rows))
    return f'<h2 id="base">Base model</h2>{"".join(parts)}' if parts else ""


def _differences(data: ReportData) -> str:
    items = "".join(f"<li><b>{escape(t)}.</b> {_code(x)}</li>" for t, x in DIFFERENCES)
    html = f'<h2 id="differences">Differences from the study</h2><ul>{items}</ul>'
    if data.validity:
        html += "<h3>Validity: ours (every episode) vs the study's way (episodes with a valid turn only)</h3>"
        html += _table(VALIDITY_HEADER, validity_rows(data))
    if data.float_rejections:
        html += "<h3>General Points: exact successes the study's float check would reject</h3>"
        html += f"<p>{_code(float_summary(data.float_rejections))}</p>"
        rows = [
            [r.run, r.split, str(r.successes), str(r.rejected), ", ".join(r.examples)]
            for r in data.float_rejections
            if r.rejected
        ]
        html += _table(["run", "split", "successes", "float-rejected", "examples"], rows) if rows else ""
    return html


VIEWER = """<h2 id="viewer-section">Episode viewer</h2>
<div id="viewer" tabindex="0"><p class="muted">Episodes of each method's chosen checkpoint (lowest seed, up to {per}
per split). Step with the buttons or the arrow keys.</p>
<div class="controls"><label>run <select id="viewer-run"></select></label>
<label>split <select id="viewer-split"></select></label><label>episode <select id="viewer-episode"></select></label>
<button id="viewer-first" type="button">« first</button><button id="viewer-prev" type="button">◀ prev</button>
<span id="viewer-turn"></span><button id="viewer-next" type="button">next ▶</button>
<button id="viewer-last" type="button">last »</button></div>
<p id="viewer-declared" class="muted"></p>
<div class="stage"><div><div id="viewer-board"></div><div id="viewer-hand" class="hand"></div>
<p id="viewer-board-note" class="muted"></p></div>
<div id="viewer-turn-panel"><table><tbody id="viewer-details"></tbody></table></div></div>
<details><summary>prompt of the split's first embedded episode (turn 1)</summary>
<pre id="viewer-prompt"></pre></details>
</div>"""


def render_html(data: ReportData) -> str:
    """The whole report.html."""
    header = data.header_rows()
    runs = _table(
        ["run", "folder", "recipe", "model", "template", "wall time", "checkpoint choice", "runs", "seeds"],
        [
            [
                r["label"],
                r["folder"],
                r["recipe"],
                r["model"],
                r["template"],
                r["wall"],
                r["choice"],
                r["runs"],
                r["seeds"],
            ]
            for r in header
        ],
    )
    checkpoints = _table(CHECKPOINT_HEADER, checkpoint_rows(data))
    settings = _table(SETTINGS_HEADER, [[_code(c) for c in row] for row in settings_rows(data)], raw=True)
    overview = [f for f in data.figures if f.name.startswith("overview-")]
    curves = [f for f in data.figures if f.name.startswith("curves-")]
    nav = " ".join(
        f'<a href="#{a}">{t}</a>'
        for a, t in (
            ("findings", "findings"),
            ("paired", "paired comparisons"),
            ("tables", "Table 1"),
            ("curves", "training curves"),
            ("checkpoints", "checkpoints"),
            ("timings", "time per stage"),
            ("viewer-section", "episodes"),
            ("differences", "differences"),
        )
    )
    body = [
        f'<header><h1>sftgen report</h1><p class="muted">Generated {escape(data.generated)}</p>{runs}</header>',
        f"<nav>{nav}</nav>",
        f'<h2 id="findings">The study\'s findings, checked</h2>{_findings(data)}',
        str(_sections().paired(PAIRED_HEADER, paired_rows(data), PAIRED_NOTE)),
        '<h2 id="tables">Table 1</h2>',
        f'<p class="muted">{_code(LEGEND)} Study: {escape(STUDY_SOURCE)}.</p>',
        *(task_table(t) for t in data.tables),
        *(_figure(f) for f in overview),
        f'<h2 id="curves">Training curves</h2>{"".join(_figure(f) for f in curves) or "<p>No curves.</p>"}',
        f'<h2 id="checkpoints">Checkpoints</h2>{checkpoints}',
        str(_sections().timings(TIMING_HEADER, rows, TIMING_NOTE)) if (rows := timing_rows(data)) else "",
        f'<h2 id="settings">Training settings</h2>{settings}' if data.training else "",
        _base(data),
        VIEWER.replace("{per}", str(data.viewer.get("per_split", 0))),
        _differences(data),
        f'<p class="muted">{DAGGER} numbers: {escape(STUDY_MODEL)} rows of the study, transcribed from its PDF.</p>',
    ]
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">'
        f"<title>sftgen report</title><style>{CSS}</style></head><body>\n"
        + "\n".join(body)
        + f'\n<script type="application/json" id="viewer-data">{embed_json(data.viewer)}</script>'
        + f"\n<script>{JS}</script>\n</body></html>\n"
    )
