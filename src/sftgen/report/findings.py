"""The study's five findings, checked against a run as PASS / FAIL / NOT RUN lines with their numbers.

Why explicit thresholds: "high" and "near 0" must mean the same thing in every report, so each is a named
constant below (the only place they live) and printed next to the number it judges. Decisions use the mean
over seeds; the 95% interval is printed beside it so a PASS on 3 episodes reads as what it is. A finding
whose methods (or curves) are missing is NOT RUN, never FAIL. Instruction and fake checks use the study's
Table-1 columns (the Empty variant declares no words, so a shortcut model rightly solves it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple

from sftgen.report.aggregate import Cell, Key, method_cells, split_category
from sftgen.report.runs import RunEntry
from sftgen.report.tables import fmt, fmt_interval

# ------------------------------------------------------------------------------------------ thresholds
ANSWER_ONLY_ID_MIN = {"sokoban": 0.8, "points": 0.5}  # study: 0.98 / 0.92 Sokoban, 0.61 / 0.71 GP
ANSWER_ONLY_INSTRUCTION_MAX = 0.1  # "near 0" (study Sokoban: 0, 0, 0)
ANSWER_ONLY_FAKE_MIN = 0.6  # study: Sokoban 0.93 / 0.90, GP Llama 0.68
DIVERSE_INSTRUCTION_MIN = 0.6  # study: 0.84-0.92 Sokoban, 0.70-0.71 GP
DIVERSE_INSTRUCTION_GAIN = 0.3  # ... or this much above answer-only on the same split
DIVERSE_FAKE_MAX = 0.1  # study: 0
COT_DIFFICULTY_GAIN = 0.10  # CoT over answer-only on at least one difficulty split
COLLAPSE_DROP_MIN = 0.2  # validity must fall at least this much from its peak to the last checkpoint
COLLAPSE_LAST_MAX = 0.2  # ... and end at most here

ID_SPLITS = {"sokoban": "sokoban/id", "points": "points/id"}
INSTRUCTION_SPLITS = {
    "sokoban": ("sokoban/alphabetical", "sokoban/numerical", "sokoban/random"),
    "points": ("points/all_5", "points/all_7"),
}
FAKE_SPLITS = {"sokoban": ("sokoban/fake_numerical",), "points": ("points/fake",)}
COLLAPSE_SPLITS = {"sokoban": "sokoban/numerical", "points": "points/all_5"}
NON_FAKE_CATEGORIES = ("id", "instruction", "difficulty")


class Status(StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    NOT_RUN = "NOT RUN"


@dataclass
class Check:
    """One task's verdict on a finding and the numbers behind it."""

    task: str
    status: Status
    details: list[str] = field(default_factory=list)


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
        checks = [{"task": c.task, "status": str(c.status), "details": c.details} for c in self.checks]
        return {
            "number": self.number,
            "title": self.title,
            "source": self.source,
            "status": str(self.status),
            "checks": checks,
        }


def _num(cell: Cell | None) -> str:
    if cell is None or cell.success is None:
        return "–"
    return f"{fmt(cell.success)} {fmt_interval(cell.success_ci)}".strip()


def _rate(cell: Cell) -> float:
    """The cell's success (callers only pass cells that have one)."""
    return cell.success if cell.success is not None else float("nan")


def _judge(task: str, parts: list[tuple[bool, str]]) -> Check:
    marks = [f"{text} {'✓' if ok else '✗'}" for ok, text in parts]
    return Check(task, Status.PASS if all(ok for ok, _ in parts) else Status.FAIL, marks)


def _missing(task: str, what: str) -> Check:
    return Check(task, Status.NOT_RUN, [f"not run: {what}"])


def _present(cells: dict[str, Cell], splits: tuple[str, ...]) -> list[str]:
    return [s for s in splits if s in cells and cells[s].success is not None]


def _short(split: str) -> str:
    return split.split("/", 1)[-1]


def _at_least(cells: dict[str, Cell], split: str, bound: float, name: str = "") -> tuple[bool, str]:
    return _rate(cells[split]) >= bound, f"{name or _short(split)} {_num(cells[split])} ≥ {bound:.2f}"


def _at_most(cells: dict[str, Cell], split: str, bound: float) -> tuple[bool, str]:
    return _rate(cells[split]) <= bound, f"{_short(split)} {_num(cells[split])} ≤ {bound:.2f}"


def _answer_only(task: str, cells: dict[str, dict[str, Cell]]) -> Check:
    ao = cells.get("answer-only")
    if ao is None:
        return _missing(task, "no answer-only run")
    inst, fake, ids = (
        _present(ao, INSTRUCTION_SPLITS[task]),
        _present(ao, FAKE_SPLITS[task]),
        _present(ao, (ID_SPLITS[task],)),
    )
    if not ids or not inst or not fake:
        return _missing(task, "answer-only lacks the ID, instruction or fake splits")
    parts = [_at_least(ao, ids[0], ANSWER_ONLY_ID_MIN[task], "ID")]
    parts += [_at_most(ao, s, ANSWER_ONLY_INSTRUCTION_MAX) for s in inst]
    parts += [_at_least(ao, s, ANSWER_ONLY_FAKE_MIN) for s in fake]
    return _judge(task, parts)


def _diverse(task: str, cells: dict[str, dict[str, Cell]]) -> Check:
    dv, ao = cells.get("diverse"), cells.get("answer-only", {})
    if dv is None:
        return _missing(task, "no diverse run")
    inst, fake = _present(dv, INSTRUCTION_SPLITS[task]), _present(dv, FAKE_SPLITS[task])
    if not inst or not fake:
        return _missing(task, "diverse lacks the instruction or fake splits")
    parts = []
    for s in inst:
        value = _rate(dv[s])
        base = ao[s].success if s in ao else None
        ok = value >= DIVERSE_INSTRUCTION_MIN or (base is not None and value - base >= DIVERSE_INSTRUCTION_GAIN)
        versus = f", answer-only {fmt(base)}" if base is not None else ""
        bounds = f"≥ {DIVERSE_INSTRUCTION_MIN:.2f} or +{DIVERSE_INSTRUCTION_GAIN:.2f} over answer-only"
        parts.append((ok, f"{_short(s)} {_num(dv[s])}{versus} ({bounds})"))
    parts += [_at_most(dv, s, DIVERSE_FAKE_MAX) for s in fake]
    return _judge(task, parts)


def _cot(task: str, cells: dict[str, dict[str, Cell]]) -> Check:
    cot, ao = cells.get("cot"), cells.get("answer-only")
    if cot is None or ao is None:
        return _missing(task, "needs cot and answer-only runs")
    shared = [
        s
        for s in cot
        if split_category(s) == "difficulty" and s in ao and cot[s].success is not None and ao[s].success is not None
    ]
    if not shared:
        return _missing(task, "cot and answer-only share no difficulty split")
    gains = {s: _rate(cot[s]) - _rate(ao[s]) for s in shared}
    best = max(gains, key=lambda s: gains[s])
    details = [f"{_short(s)}: cot {_num(cot[s])} vs answer-only {_num(ao[s])} ({gains[s]:+.2f})" for s in shared]
    ok = gains[best] >= COT_DIFFICULTY_GAIN
    verdict = f"best gain {gains[best]:+.2f} on {_short(best)} ≥ +{COT_DIFFICULTY_GAIN:.2f} {'✓' if ok else '✗'}"
    return Check(task, Status.PASS if ok else Status.FAIL, [*details, verdict])


def _non_fake_mean(cells: dict[str, Cell], splits: list[str]) -> float:
    return sum(_rate(cells[s]) for s in splits) / len(splits)


def _diverse_cot(task: str, cells: dict[str, dict[str, Cell]]) -> Check:
    dc = cells.get("diverse-cot")
    others = {m: c for m, c in cells.items() if m != "diverse-cot"}
    if dc is None or not others:
        return _missing(task, "needs diverse-cot and at least one other method")
    splits = [
        s
        for s in dc
        if split_category(s) in NON_FAKE_CATEGORIES
        and dc[s].success is not None
        and all(s in c and c[s].success is not None for c in others.values())
    ]
    if not splits:
        return _missing(task, "no non-fake split shared by every method")
    means = {m: _non_fake_mean(c, splits) for m, c in {"diverse-cot": dc, **others}.items()}
    rival = max(others, key=lambda m: means[m])
    parts = [
        (
            means["diverse-cot"] >= means[rival],
            f"diverse-cot {means['diverse-cot']:.2f} ≥ best other ({rival}) {means[rival]:.2f}",
        )
    ]
    details = [f"mean of {len(splits)} non-fake splits: " + ", ".join(f"{m} {v:.2f}" for m, v in means.items())]
    if "grpo" in means:
        parts.append((means["diverse-cot"] >= means["grpo"], f"≥ grpo {means['grpo']:.2f}"))
    else:
        details.append("grpo not run: the ≥ GRPO half is untested")
    check = _judge(task, parts)
    check.details = details + check.details
    return check


class _ValidityCurve(NamedTuple):
    """One answer-only seed's validity on the collapse split: its peak before the last checkpoint, and the last."""

    peak_checkpoint: str
    peak: float
    last_checkpoint: str
    last: float
    shown: str  # every point, for the report


def _validity_curve(entry: RunEntry, split: str) -> _ValidityCurve | None:
    points = [p for p in (entry.curves() or {}).get("points", []) if split in p.get("splits", {})]
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


def _collapse(task: str, runs: dict[str, list[RunEntry]]) -> Check:
    """Validity from its peak before the last checkpoint to the last one.

    The peak, not the first point: a small pretrained model may not follow the answer format at all
    before SFT (validity 0 at the start), so validity first rises with the format and then collapses.
    """
    split = COLLAPSE_SPLITS[task]
    series = [c for entry in runs.get("answer-only", []) if (c := _validity_curve(entry, split)) is not None]
    if not series:
        return _missing(task, f"no answer-only curves with {split} at two or more checkpoints")
    first = sum(c.peak for c in series) / len(series)
    last = sum(c.last for c in series) / len(series)
    where = f"{series[0].peak_checkpoint} → {series[0].last_checkpoint}"
    where += f" (mean of {len(series)} seeds)" if len(series) > 1 else ""
    check = _judge(
        task,
        [
            (
                first - last >= COLLAPSE_DROP_MIN,
                f"{_short(split)} validity peak {first:.2f} → last {last:.2f}, {where}: "
                f"drop {first - last:.2f} ≥ {COLLAPSE_DROP_MIN:.2f}",
            ),
            (last <= COLLAPSE_LAST_MAX, f"last {last:.2f} ≤ {COLLAPSE_LAST_MAX:.2f}"),
        ],
    )
    check.details = [f"curve: {series[0].shown}", *check.details]
    return check


TITLES = {
    1: "Answer-only learns a shortcut: high ID, ~0 on instruction variants, high on fake",
    2: "Prompt diversity: instruction variants rise, fake collapses to ~0",
    3: "CoT lifts at least one difficulty split over answer-only by ≥ 0.10 on each task",
    4: "Diverse+CoT is best on the mean of non-fake splits, and ≥ GRPO",
    5: "Validity on instruction variants collapses during answer-only training",
}
_CELL_CHECKS: dict[int, Callable[[str, dict[str, dict[str, Cell]]], Check]] = {
    1: _answer_only,
    2: _diverse,
    3: _cot,
    4: _diverse_cot,
}


def check_findings(groups: dict[Key, list[RunEntry]]) -> list[Finding]:
    """Every finding for every run folder (source), each checked per task."""
    sources = list(dict.fromkeys(k[0] for k in groups))
    findings = []
    for source in sources:
        tasks = [t for t in ("sokoban", "points") if any(k[0] == source and k[1] == t for k in groups)]
        runs = {t: {k[2]: v for k, v in groups.items() if k[0] == source and k[1] == t} for t in tasks}
        cells = {t: {m: method_cells(v) for m, v in runs[t].items()} for t in tasks}
        for number, title in TITLES.items():
            check = _CELL_CHECKS.get(number)
            checks = [check(t, cells[t]) if check else _collapse(t, runs[t]) for t in tasks]
            findings.append(Finding(number, title, source, checks))
    return findings


def thresholds() -> dict[str, object]:
    """The constants above, for the report's legend."""
    return {
        name: value for name, value in globals().items() if name.isupper() and name.endswith(("MIN", "MAX", "GAIN"))
    }
