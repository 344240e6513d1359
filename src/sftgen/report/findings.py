"""The study's five findings, checked against a run as PASS / FAIL / NOT RUN lines with their numbers.

Why explicit thresholds: "high" and "near 0" must mean the same thing in every report, so each is a named
constant below or, where the tasks differ, a field of the task's ``StudyFindings`` (``Task.study.findings``,
which also says which splits each finding reads); ``thresholds()`` lists them all under one set of names, the
values are issue 16's acceptance, and each is printed next to the number it judges. A level must hold on every
seed (the worst seed is judged; the mean and its 95% interval are printed). Every comparison between two methods
is paired on the same episodes (``paired.py``): it passes when its direction matches the study and the exact
McNemar p < 0.01; comparisons where the study itself shows no effect (|difference| < ``STUDY_EFFECT_MIN``) are
printed but decide nothing. A finding whose methods (or curves, or episode records) are missing is NOT RUN, never
FAIL. Only tasks the study has findings for are checked; their instruction and fake checks use the study's
Table-1 columns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple

from sftgen.eval.sweep import CURVE_POINTS
from sftgen.report.aggregate import Cell, Key, method_cells, split_category
from sftgen.report.paired import ALPHA, STUDY_EFFECT_MIN, Comparison, compare
from sftgen.report.runs import RunEntry
from sftgen.report.tables import fmt, fmt_interval
from sftgen.tasks.protocol import StudyFindings, get_task, task_names

# ------------------------------------------------------------------------------------------ thresholds
# The levels every task shares; those that differ by task are its StudyFindings' fields (see thresholds()).
ANSWER_ONLY_INSTRUCTION_MAX = 0.1  # "near 0" (study Sokoban: 0, 0, 0)
ANSWER_ONLY_FAKE_MIN = 0.5  # study: Sokoban 0.93 / 0.90, GP Llama 0.68
COT_DIFFICULTY_GAIN = 0.10  # CoT over answer-only on at least one difficulty split
COLLAPSE_LAST_MAX = 0.2  # validity at the last point must end at most here
NON_FAKE_CATEGORIES = ("id", "instruction", "difficulty")


class Status(StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    NOT_RUN = "NOT RUN"


@dataclass
class Check:
    """One task's verdict on a finding, the numbers behind it and the paired comparisons it rests on."""

    task: str
    status: Status
    details: list[str] = field(default_factory=list)
    comparisons: list[Comparison] = field(default_factory=list)


@dataclass
class Finding:
    number: int
    title: str
    source: str
    checks: list[Check]

    @property
    def status(self) -> Status:
        """FAIL if any task fails, else PASS if any passes, else NOT RUN."""
        statuses = {c.status for c in self.checks}
        if Status.FAIL in statuses:
            return Status.FAIL
        return Status.PASS if Status.PASS in statuses else Status.NOT_RUN

    def to_json(self) -> dict[str, object]:
        checks = [
            {
                "task": c.task,
                "status": str(c.status),
                "details": c.details,
                "comparisons": [x.to_json() for x in c.comparisons],
            }
            for c in self.checks
        ]
        return {
            "number": self.number,
            "title": self.title,
            "source": self.source,
            "status": str(self.status),
            "checks": checks,
        }


class TaskRuns(NamedTuple):
    """One task of one run folder: the splits and levels its findings read, per method its seeds' entries and
    their cells."""

    task: str
    spec: StudyFindings
    runs: dict[str, list[RunEntry]]
    cells: dict[str, dict[str, Cell]]


# (verdict, text): True/False judge a number; None means it could not be judged (data missing).
Part = tuple[bool | None, str]


def _num(cell: Cell | None) -> str:
    if cell is None or cell.success is None:
        return "–"
    return f"{fmt(cell.success)} {fmt_interval(cell.success_ci)}".strip()


def _rate(cell: Cell) -> float:
    """The cell's success (callers only pass cells that have one)."""
    return cell.success if cell.success is not None else float("nan")


def _worst(cell: Cell, low: bool) -> tuple[float, str]:
    """The seed that judges a bound (lowest for ≥, highest for ≤), and a note when it is not the mean."""
    if cell.success_range is None:
        return _rate(cell), ""
    value = cell.success_range[0] if low else cell.success_range[1]
    return value, f", every seed ({'min' if low else 'max'} {value:.2f})"


def _mark(ok: bool | None) -> str:
    return {True: "✓", False: "✗", None: "?"}[ok]


def _judge(task: str, parts: list[Part], comparisons: list[Comparison] | None = None) -> Check:
    """FAIL if any part fails, else NOT RUN if any could not be judged, else PASS."""
    marks = [f"{text} {_mark(ok)}" for ok, text in parts]
    verdicts = {ok for ok, _ in parts}
    status = Status.FAIL if False in verdicts else Status.NOT_RUN if None in verdicts else Status.PASS
    return Check(task, status, marks, comparisons or [])


def _missing(task: str, what: str) -> Check:
    return Check(task, Status.NOT_RUN, [f"not run: {what}"])


def _present(cells: dict[str, Cell], splits: tuple[str, ...]) -> list[str]:
    return [s for s in splits if s in cells and cells[s].success is not None]


def _short(split: str) -> str:
    return split.split("/", 1)[-1]


def _at_least(cells: dict[str, Cell], split: str, bound: float, name: str = "") -> Part:
    value, note = _worst(cells[split], low=True)
    return value >= bound, f"{name or _short(split)} {_num(cells[split])}{note} ≥ {bound:.2f}"


def _at_most(cells: dict[str, Cell], split: str, bound: float) -> Part:
    value, note = _worst(cells[split], low=False)
    return value <= bound, f"{_short(split)} {_num(cells[split])}{note} ≤ {bound:.2f}"


def _paired(data: TaskRuns, first: str, second: str, splits: list[str]) -> tuple[list[Part], list[Comparison]]:
    """One paired comparison per split; those where the study shows an effect must match its direction."""
    parts: list[Part] = []
    found = []
    for split in splits:
        comparison = compare(data.runs[first], data.runs[second], (split,))
        if comparison is None:
            parts.append((None, f"{_short(split)}: no episode records of both {first} and {second} to pair"))
            continue
        found.append(comparison)
        study = comparison.study_difference
        if comparison.decisive and study is not None:
            direction = "higher" if study > 0 else "lower"
            ok = comparison.agrees(1 if study > 0 else -1)
            parts.append((ok, f"paired {comparison.text()}: {first} {direction}, p < {ALPHA}"))
    return parts, found


def _answer_only(data: TaskRuns) -> Check:
    task, spec, ao = data.task, data.spec, data.cells.get("answer-only")
    if ao is None:
        return _missing(task, "no answer-only run")
    inst, fake, ids = (
        _present(ao, spec.instruction_splits),
        _present(ao, spec.fake_splits),
        _present(ao, (spec.id_split,)),
    )
    if not ids or not inst or not fake:
        return _missing(task, "answer-only lacks the ID, instruction or fake splits")
    parts = [_at_least(ao, ids[0], spec.answer_only_id_min, "ID")]
    parts += [_at_most(ao, s, ANSWER_ONLY_INSTRUCTION_MAX) for s in inst]
    parts += [_at_least(ao, s, ANSWER_ONLY_FAKE_MIN) for s in fake]
    return _judge(task, parts)


def _diverse(data: TaskRuns) -> Check:
    task, spec, dv, ao = data.task, data.spec, data.cells.get("diverse"), data.cells.get("answer-only", {})
    if dv is None:
        return _missing(task, "no diverse run")
    inst, fake = _present(dv, spec.instruction_splits), _present(dv, spec.fake_splits)
    if not inst or not fake:
        return _missing(task, "diverse lacks the instruction or fake splits")
    parts: list[Part] = []
    if spec.diverse_id_min is not None and _present(dv, (spec.id_split,)):
        parts.append(_at_least(dv, spec.id_split, spec.diverse_id_min, "ID"))
    if spec.diverse_instruction_min is not None:
        parts += [_at_least(dv, s, spec.diverse_instruction_min) for s in inst]
    if spec.diverse_instruction_mean_min is not None:
        mean = sum(_rate(dv[s]) for s in inst) / len(inst)
        bound = spec.diverse_instruction_mean_min
        parts.append((mean >= bound, f"mean of {len(inst)} instruction splits {mean:.2f} ≥ {bound:.2f}"))
    if spec.diverse_instruction_gain is not None:
        gain = spec.diverse_instruction_gain
        for s in inst:
            base = ao[s].success if s in ao else None
            if base is None:
                parts.append((None, f"{_short(s)}: no answer-only number to gain over"))
                continue
            diff = _rate(dv[s]) - base
            parts.append((diff >= gain, f"{_short(s)} {_num(dv[s])} − answer-only {fmt(base)} = {diff:+.2f} ≥ +{gain}"))
    parts += [_at_most(dv, s, spec.diverse_fake_max) for s in fake]
    if "answer-only" not in data.runs:
        parts.append((None, "no answer-only run to pair with"))
        return _judge(task, parts)
    paired, comparisons = _paired(data, "diverse", "answer-only", [*inst, *fake])
    return _judge(task, parts + paired, comparisons)


def _cot(data: TaskRuns) -> Check:
    task, cot, ao = data.task, data.cells.get("cot"), data.cells.get("answer-only")
    if cot is None or ao is None:
        return _missing(task, "needs cot and answer-only runs")
    shared = [
        s
        for s in cot
        if split_category(s) == "difficulty" and s in ao and cot[s].success is not None and ao[s].success is not None
    ]
    if not shared:
        return _missing(task, "cot and answer-only share no difficulty split")
    comparisons = [c for s in shared if (c := compare(data.runs["cot"], data.runs["answer-only"], (s,)))]
    if not comparisons:
        return _missing(task, "no episode records of both cot and answer-only to pair")
    lifts = [c for c in comparisons if c.difference >= COT_DIFFICULTY_GAIN and c.agrees(1)]
    details = [f"paired {c.text()}" for c in comparisons]
    best = max(comparisons, key=lambda c: c.difference)
    ok = bool(lifts)
    shown = lifts[0] if lifts else best
    verdict = (
        f"{'lift' if ok else 'best'} {shown.difference:+.2f} on {shown.where} (p {shown.p:.2g}): "
        f"≥ +{COT_DIFFICULTY_GAIN:.2f} with p < {ALPHA} on some difficulty split {_mark(ok)}"
    )
    return Check(task, Status.PASS if ok else Status.FAIL, [*details, verdict], comparisons)


def _diverse_cot(data: TaskRuns) -> Check:
    task, cells = data.task, data.cells
    dc = cells.get("diverse-cot")
    others = {m: c for m, c in cells.items() if m != "diverse-cot"}
    if dc is None or not others:
        return _missing(task, "needs diverse-cot and at least one other method")
    splits = tuple(
        s
        for s in dc
        if split_category(s) in NON_FAKE_CATEGORIES
        and dc[s].success is not None
        and all(s in c and c[s].success is not None for c in others.values())
    )
    if not splits:
        return _missing(task, "no non-fake split shared by every method")
    parts: list[Part] = []
    comparisons = []
    for method in others:
        comparison = compare(data.runs["diverse-cot"], data.runs[method], splits)
        if comparison is None:
            parts.append((None, f"no episode records of both diverse-cot and {method} to pair"))
            continue
        comparisons.append(comparison)
        parts.append((comparison.agrees(1), f"paired {comparison.text()}: diverse-cot higher, p < {ALPHA}"))
    check = _judge(task, parts, comparisons)
    if "grpo" not in others:
        check.details.append("grpo not run: the ≥ GRPO half is untested")
    return check


class _ValidityCurve(NamedTuple):
    """One answer-only seed's validity on the collapse split: its peak before the last checkpoint, and the last."""

    peak_checkpoint: str
    peak: float
    last_checkpoint: str
    last: float
    shown: str  # every point, for the report


def _validity_curve(entry: RunEntry, split: str) -> _ValidityCurve | None:
    points = [p for p in (entry.curves() or {}).get(CURVE_POINTS, []) if split in p.get("splits", {})]
    if len(points) < 2:
        return None
    peak = max(points[:-1], key=lambda p: p["splits"][split]["validity"])
    last = points[-1]
    return _ValidityCurve(
        peak["checkpoint"],
        peak["splits"][split]["validity"],
        last["checkpoint"],
        last["splits"][split]["validity"],
        " → ".join(f"{p['splits'][split]['validity']:.2f}" for p in points),
    )


def _collapse(data: TaskRuns) -> Check:
    """Validity from its peak before the last checkpoint to the last one, on every seed.

    The peak, not the first point: a small pretrained model may not follow the answer format at all
    before SFT (validity 0 at the start), so validity first rises with the format and then collapses.
    """
    task, split = data.task, data.spec.collapse_split
    series = [c for entry in data.runs.get("answer-only", []) if (c := _validity_curve(entry, split)) is not None]
    if not series:
        return _missing(task, f"no answer-only curves with {split} at two or more checkpoints")
    drop = min(c.peak - c.last for c in series)
    last = max(c.last for c in series)
    where = f"{series[0].peak_checkpoint} → {series[0].last_checkpoint}"
    where += f" (worst of {len(series)} seeds)" if len(series) > 1 else ""
    bound = data.spec.collapse_drop_min
    check = _judge(
        task,
        [
            (
                drop >= bound,
                f"{_short(split)} validity "
                + ", ".join(f"peak {c.peak:.2f} → last {c.last:.2f}" for c in series)
                + f", {where}: drop {drop:.2f} ≥ {bound:.2f}",
            ),
            (last <= COLLAPSE_LAST_MAX, f"last {last:.2f} ≤ {COLLAPSE_LAST_MAX:.2f}"),
        ],
    )
    check.details = [*(f"curve: {c.shown}" for c in series), *check.details]
    return check


TITLES = {
    1: "Answer-only learns a shortcut: high ID, ~0 on instruction variants, high on fake",
    2: "Prompt diversity: instruction variants rise over answer-only (paired), fake collapses to ~0",
    3: "CoT lifts at least one difficulty split over answer-only by ≥ 0.10 (paired) on each task",
    4: "Diverse+CoT beats every other method on the non-fake splits (paired), GRPO included",
    5: "Validity on instruction variants collapses during answer-only training",
}
_CHECKS: dict[int, Callable[[TaskRuns], Check]] = {
    1: _answer_only,
    2: _diverse,
    3: _cot,
    4: _diverse_cot,
    5: _collapse,
}


def task_findings() -> dict[str, StudyFindings]:
    """Every registered task the study has findings for (registry order), with the splits and levels they read."""
    found = {}
    for name in task_names():
        study = get_task(name).study
        if study is not None and study.findings is not None:
            found[name] = study.findings
    return found


def check_findings(groups: dict[Key, list[RunEntry]]) -> list[Finding]:
    """Every finding for every run folder (source), each checked per task the study has findings for."""
    specs = task_findings()
    sources = list(dict.fromkeys(k[0] for k in groups))
    findings = []
    for source in sources:
        tasks = [t for t in specs if any(k[0] == source and k[1] == t for k in groups)]
        data = []
        for task in tasks:
            runs = {k[2]: v for k, v in groups.items() if k[0] == source and k[1] == task}
            data.append(TaskRuns(task, specs[task], runs, {m: method_cells(v) for m, v in runs.items()}))
        for number, title in TITLES.items():
            findings.append(Finding(number, title, source, [_CHECKS[number](d) for d in data]))
    return findings


def comparisons(findings: list[Finding]) -> list[tuple[Finding, Check, Comparison]]:
    """Every paired comparison the findings rest on, with its finding and task check (for the report's table)."""
    return [(f, c, x) for f in findings for c in f.checks for x in c.comparisons]


def thresholds() -> dict[str, object]:
    """Every level by name, per task where the tasks differ, and the paired test's, for the report's legend."""
    specs = task_findings()

    def per_task(level: str) -> dict[str, float]:
        return {task: value for task, spec in specs.items() if (value := getattr(spec, level)) is not None}

    return {
        "STUDY_EFFECT_MIN": STUDY_EFFECT_MIN,
        "ANSWER_ONLY_ID_MIN": per_task("answer_only_id_min"),
        "ANSWER_ONLY_INSTRUCTION_MAX": ANSWER_ONLY_INSTRUCTION_MAX,
        "ANSWER_ONLY_FAKE_MIN": ANSWER_ONLY_FAKE_MIN,
        "DIVERSE_ID_MIN": per_task("diverse_id_min"),
        "DIVERSE_INSTRUCTION_MIN": per_task("diverse_instruction_min"),
        "DIVERSE_INSTRUCTION_MEAN_MIN": per_task("diverse_instruction_mean_min"),
        "DIVERSE_INSTRUCTION_GAIN": per_task("diverse_instruction_gain"),
        "DIVERSE_FAKE_MAX": per_task("diverse_fake_max"),
        "COT_DIFFICULTY_GAIN": COT_DIFFICULTY_GAIN,
        "COLLAPSE_DROP_MIN": per_task("collapse_drop_min"),
        "COLLAPSE_LAST_MAX": COLLAPSE_LAST_MAX,
        "ALPHA": ALPHA,
    }
