"""``report.md``: the report as plain Markdown (tables, findings, figures linked from ``figures/``).

Why four lines per method in Table 1: a cell holding ours, the interval, validity, the study's number and the
difference is unreadable in plain text, so each method gets a success row, a validity row, the study's †
row and a Δ row under one column header; a reader can diff two reports line by line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sftgen.report.aggregate import ordered_items
from sftgen.report.differences import DIFFERENCES, RejectionSection
from sftgen.report.findings import comparisons, thresholds
from sftgen.report.paired import ALPHA, STUDY_EFFECT_MIN, fmt_p
from sftgen.report.runs import task_title
from sftgen.report.settings import SETTINGS_HEADER
from sftgen.report.study_numbers import DAGGER, STUDY_MODEL, STUDY_SOURCE
from sftgen.report.tables import (
    CATEGORY_TITLES,
    TaskTable,
    column_title,
    fmt,
    fmt_delta,
    fmt_seconds,
    fmt_study,
    fmt_success,
    fmt_validity,
)

if TYPE_CHECKING:
    from sftgen.report.build import ReportData

LEGEND = (
    "Cells: success mean over seeds, `±` half its range over seeds (with 2+ seeds), `[lo, hi]` its 95% interval "
    "(Wilson over all seeds' episodes); validity likewise (hull of the seeds' bootstrap intervals). "
    f"`{DAGGER}`: the study's published number for {STUDY_MODEL} (transcribed from the paper's PDF; re-check there). "
    "Δ = ours − study."
)


def _esc(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(_esc(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_esc(c) for c in row) + " |" for row in rows]
    return lines


def task_table(table: TaskTable) -> list[str]:
    """Table 1 for one task: per method a success, validity, study† and Δ row."""
    groups = " | ".join(
        f"{CATEGORY_TITLES.get(c, c)}: {', '.join(s.split('/', 1)[1] for s in ss)}" for c, ss in table.groups
    )
    header = ["method", "row", *(column_title(s) for s in table.columns)]
    rows = []
    for row in table.rows:
        name = f"**{row.label}**" + (f" (seeds {', '.join(map(str, row.seeds))})" if len(row.seeds) > 1 else "")
        if row.ran:
            rows.append([name, "success", *(fmt_success(row.cells.get(s)) for s in table.columns)])
            rows.append(["", "validity", *(fmt_validity(row.cells.get(s)) for s in table.columns)])
        else:
            rows.append([name, "ours", *("not run" for _ in table.columns)])
        if row.study:
            rows.append(["", f"study{DAGGER}", *(fmt_study(row.study.get(s)) for s in table.columns)])
            if row.ran:
                rows.append(["", "Δ", *(fmt_delta(row.delta(s)) for s in table.columns)])
    title = task_title(table.task)
    return [f"## Table 1 — {title}", "", f"Columns: {groups}.", "", *_table(header, rows), ""]


def findings_section(data: ReportData) -> list[str]:
    lines = ["## The study's findings, checked", ""]
    limits = ", ".join(f"`{k}` = {v}" for k, v in thresholds().items())
    lines += [f"Thresholds ({THRESHOLDS_HOME}): {limits}. {FINDINGS_RULE}", ""]
    for f in data.findings:
        lines.append(f"- **{f.status}** — {f.number}. {f.title} _[{f.source}]_")
        for c in f.checks:
            lines.append(f"  - {c.task}: **{c.status}** — " + "; ".join(c.details))
    return [*lines, ""]


THRESHOLDS_HOME = (  # where the levels that report.findings.thresholds() gathers are set
    "a level given per task: that task's `study` findings, in `sftgen/tasks/<task>/study.py` for the built-in tasks; "
    "one value for all tasks: `sftgen/report/findings.py`, `ALPHA` and `STUDY_EFFECT_MIN` in `sftgen/report/paired.py`"
)
FINDINGS_RULE = (
    "A level must hold on every seed (the worst seed is judged); a comparison between methods is paired on the same "
    "episodes (table below)."
)
PAIRED_HEADER = [
    "finding",
    "task",
    "run",
    "comparison",
    "split",
    "pairs",
    "success",
    "Δ [95% interval]",
    "± seeds",
    "discordant",
    "McNemar p",
    f"study{DAGGER}",
    "decides",
]
PAIRED_NOTE = (
    "Each comparison pairs the two methods on the same episodes (matched by instance id; seed k with seed k). "
    "Δ = first − second, mean over seed pairs, with a seeded paired-bootstrap 95% interval; ± seeds is half "
    "the range of the seed pairs' Δ; discordant = episodes only the first / only the second solved; p = exact "
    f"two-sided McNemar. A comparison decides its finding when the study's own difference is at least "
    f"{STUDY_EFFECT_MIN}: it passes when the direction matches the study and p < {ALPHA}."
)


def paired_rows(data: ReportData) -> list[list[str]]:
    """One row per paired comparison a finding rests on (both pages use it)."""
    rows = []
    for finding, check, c in comparisons(data.findings):
        spread = c.spread()
        study = "–"
        if c.study_first is not None and c.study_second is not None:
            study = f"{c.study_first:.2f} vs {c.study_second:.2f} ({fmt_delta(c.study_difference)})"
        rows.append(
            [
                str(finding.number),
                check.task,
                finding.source,
                f"{c.first} vs {c.second}",
                c.where,
                str(c.n),
                f"{c.first_rate:.2f} vs {c.second_rate:.2f}",
                f"{fmt_delta(c.difference)} [{fmt_delta(c.interval[0])}, {fmt_delta(c.interval[1])}]",
                "–" if spread is None else f"±{spread:.2f}",
                f"{c.first_only} / {c.second_only}",
                fmt_p(c.p),
                study,
                "yes" if c.decisive else "no (study: no effect)",
            ]
        )
    return rows


def paired_section(data: ReportData) -> list[str]:
    rows = paired_rows(data)
    return ["## Paired comparisons", "", PAIRED_NOTE, "", *(_table(PAIRED_HEADER, rows) if rows else []), ""]


TIMING_HEADER = ["run", "stage", "wall time"]
TIMING_NOTE = (
    "Wall time per stage of `sftgen reproduce` (`timings.json` in the run folder, which also holds the report's "
    "own time). Jobs run in parallel, so the stages add up to more than the wall clock."
)


def timing_rows(data: ReportData) -> list[list[str]]:
    """Each run folder's stages and its wall clock (both pages use it)."""
    rows = []
    for source in data.sources:
        timings = source.timings() or {}
        stages = timings.get("stages") or []
        rows += [[source.label, str(t.get("stage")), fmt_seconds(t.get("seconds"))] for t in stages]
        if stages:
            rows.append([source.label, "wall clock", fmt_seconds(timings.get("wall_seconds"))])
    return rows


def timing_section(data: ReportData) -> list[str]:
    rows = timing_rows(data)
    return ["## Time per stage", "", TIMING_NOTE, "", *_table(TIMING_HEADER, rows), ""] if rows else []


def header_section(data: ReportData) -> list[str]:
    rows = [
        [r["label"], r["recipe"], r["model"], r["template"], r["wall"], r["choice"], r["runs"], r["seeds"]]
        for r in data.header_rows()
    ]
    header = ["run", "recipe", "model", "template", "wall time", "checkpoint choice", "runs", "seeds"]
    folders = ", ".join(f"`{r['folder']}`" for r in data.header_rows())
    return ["# sftgen report", "", f"Generated {data.generated} from {folders}.", "", *_table(header, rows), ""]


def base_section(data: ReportData) -> list[str]:
    lines: list[str] = []
    for source in data.sources:
        base = source.base
        if base is None:
            continue
        lines += [f"### Base model — {source.label}", "", f"Folder: `{base.get('dir', '–')}`", ""]
        for title, probe in source.base_probes():
            lines += [f"{title}:", "", *_table(list(probe), [[fmt(v) for v in probe.values()]]), ""]
        metrics = source.base_metrics()
        if metrics:
            rows = [
                [s, str(m.get("n")), fmt(m.get("success")), fmt(m.get("validity"))]
                for s, m in ordered_items(metrics.get("splits", {}))
            ]
            lines += ["Zero-shot evaluation:", "", *_table(["split", "n", "success", "validity"], rows), ""]
    return ["## Base model", "", *lines] if lines else []


CHECKPOINT_HEADER = [
    "task",
    "method",
    "run",
    "seed",
    "chosen",
    "rule",
    "study's rule (best mean non-fake test)",
    "agree",
    "wall time",
]


def checkpoint_rows(data: ReportData) -> list[list[str]]:
    """One row per run: the checkpoint chosen on validation beside the study's rule (both pages use it)."""
    return [
        [
            r["task"],
            r["method"],
            r["source"],
            str(r["seed"]),
            r["chosen"] or "–",
            r["choice_rule"] or "–",
            r["study_rule_choice"] or "–",
            "–" if r["same"] is None else ("same" if r["same"] else "differs"),
            fmt_seconds(r["wall_seconds"]),
        ]
        for r in data.checkpoints
    ]


def checkpoints_section(data: ReportData) -> list[str]:
    header, rows = CHECKPOINT_HEADER, checkpoint_rows(data)
    return ["## Checkpoints", "", *_table(header, rows), ""]


def settings_rows(data: ReportData) -> list[list[str]]:
    """One row per trained run: the settings its ``run.json`` records (both pages use it)."""
    keys = (
        "task",
        "method",
        "run",
        "seed",
        "lr",
        "batch",
        "steps",
        "epochs",
        "frozen",
        "expanded",
        "extras",
        "parameters",
    )
    return [[r[k] for k in keys] for r in data.training]


def settings_section(data: ReportData) -> list[str]:
    if not data.training:
        return []
    return ["## Training settings", "", *_table(SETTINGS_HEADER, settings_rows(data)), ""]


VALIDITY_HEADER = ["run", "split", "validity", "validity_study", "episodes with no valid turn"]


def validity_rows(data: ReportData) -> list[list[str]]:
    """Our validity (every episode) beside the study's rule (episodes with a valid turn only)."""
    return [
        [
            r["run"],
            r["split"],
            fmt(r["validity"]),
            fmt(r["validity_study"]) if r["validity_study"] is not None else "none left",
            f"{r['zero_valid_episodes']} / {r['episodes']}",
        ]
        for r in data.validity
    ]


def rejection_header(section: RejectionSection) -> list[str]:
    return ["run", "split", "successes", section.column, "examples"]


def rejection_rows(section: RejectionSection) -> list[list[str]]:
    """Runs with successes the study's answer check rejects, examples as `code` (both pages use it)."""
    return [
        [r.run, r.split, str(r.successes), str(r.rejected), ", ".join(f"`{e}`" for e in r.examples)]
        for r in section.rows
        if r.rejected
    ]


def differences_section(data: ReportData) -> list[str]:
    lines = ["## Differences from the study", ""]
    lines += [f"- **{title}.** {text}" for title, text in DIFFERENCES]
    lines.append("")
    if data.validity:
        lines += ["### Validity: ours (every episode) vs the study's way (episodes with a valid turn only)", ""]
        lines += [*_table(VALIDITY_HEADER, validity_rows(data)), ""]
    for section in data.rejections:
        lines += [f"### {section.heading}", "", section.summary, ""]
        rows = rejection_rows(section)
        lines += [*_table(rejection_header(section), rows), ""] if rows else []
    return lines


def render_markdown(data: ReportData, figures_dir: str = "figures") -> str:
    """The whole report.md."""
    lines = header_section(data) + findings_section(data) + paired_section(data)
    for table in data.tables:
        lines += task_table(table)
    lines += [LEGEND, "", f"Study: {STUDY_SOURCE}.", ""]
    overview = [f for f in data.figures if f.name.startswith("overview-")]
    curves = [f for f in data.figures if f.name.startswith("curves-")]
    if overview:
        lines += ["## Success per split", ""] + [f"![{f.caption}]({figures_dir}/{f.name})\n" for f in overview]
    if curves:
        lines += ["## Training curves", ""] + [f"![{f.caption}]({figures_dir}/{f.name})\n" for f in curves]
    lines += checkpoints_section(data) + timing_section(data) + settings_section(data) + base_section(data)
    lines += differences_section(data)
    runs = len(data.viewer.get("runs", []))
    lines += [
        "## Episodes",
        "",
        f"Open `report.html` for the episode viewer ({runs} runs, up to "
        f"{data.viewer.get('per_split', 0)} episodes per split of each chosen checkpoint).",
        "",
    ]
    return "\n".join(lines).rstrip("\n") + "\n"
