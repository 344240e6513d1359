"""Metrics per split, computed only from episode records, with confidence intervals and collapse signals.

Why from records only: the numbers in ``metrics.json`` can always be recomputed from ``episodes/*.jsonl``,
so a table can never disagree with the episodes it claims to summarise. Validity is the mean over *all*
episodes, including those with no valid turn (the study's code drops those; ``validity_study`` shows its
number for comparison). Outcome classes are counted per turn so parse failures are never conflated with
wrong answers, and response length plus a repeated-character rate expose RL collapse ("!!!!").
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from rich.table import Table

from sftgen.io import atomic_write_json, atomic_write_text
from sftgen.seeding import derive_seed
from sftgen.splits import SPLITS
from sftgen.tasks.protocol import get_task, task_names


def outcome_classes(task: str | None) -> tuple[str, ...]:
    """The turn outcome classes of ``task`` (none for a task no longer registered)."""
    return get_task(task).turn_outcomes if task in task_names() else ()


Z95 = 1.959963984540054
BOOTSTRAP_SAMPLES = 2000
REPEAT_SHARE = 0.5
REPEAT_MIN_CHARS = 8
_REPEATED_UNIT = re.compile(r"(.{1,8}?)\1{3,}", re.DOTALL)
VALIDITY_NOTE = "validity = mean over all episodes, those with zero valid turns included (the study drops them)"


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval: sane at 0 and 1 and for small n, unlike the normal approximation."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def bootstrap_interval(values: Iterable[float], seed_key: str, samples: int = BOOTSTRAP_SAMPLES) -> tuple[float, float]:
    """Percentile bootstrap 95% CI of a mean, with a seed fixed by ``seed_key`` (same data, same interval)."""
    data = np.asarray(list(values), dtype=np.float64)
    if data.size == 0:
        return (0.0, 1.0)
    rng = np.random.default_rng(derive_seed("sftgen.eval.bootstrap", seed_key))
    means = data[rng.integers(0, data.size, size=(samples, data.size))].mean(axis=1)
    lo, hi = np.quantile(means, [0.025, 0.975])
    return (float(lo), float(hi))


def is_repetitive(text: str, share: float = REPEAT_SHARE, min_chars: int = REPEAT_MIN_CHARS) -> bool:
    """True when a response is dominated by repetition: one character, one whitespace-separated token, or a
    short unit (<= 8 characters) repeated back to back ("!!!!", "Up Up Up Up", "<answer<answer<answer")
    makes up at least ``share`` of it."""
    chars = [c for c in text if not c.isspace()]
    if len(chars) < min_chars:
        return False
    if Counter(chars).most_common(1)[0][1] / len(chars) >= share:
        return True
    tokens = text.split()
    if len(tokens) >= 4 and Counter(tokens).most_common(1)[0][1] / len(tokens) >= share:
        return True
    looped = sum(m.end() - m.start() for m in _REPEATED_UNIT.finditer(text))
    return looped / len(text) >= share


def _mean(values: list[float]) -> float | None:
    return math.fsum(values) / len(values) if values else None


def split_metrics(name: str, records: list[dict[str, Any]], requested: int | None = None) -> dict[str, Any]:
    """All numbers of one split from its episode records (in any order: they are sorted by index first)."""
    records = sorted(records, key=lambda r: r["index"])
    spec = SPLITS.get(name)
    task = spec.task if spec else (records[0]["task"] if records else None)
    n = len(records)
    successes = sum(bool(r["success"]) for r in records)
    validity = [float(r["validity"]) for r in records]
    turns = [t for r in records for t in r["turns"]]
    outcomes = Counter({k: 0 for k in outcome_classes(task)})
    outcomes.update(t["outcome"] for t in turns)
    finishes = [t["finish_reason"] for t in turns if "finish_reason" in t]
    nonzero = [v for v in validity if v > 0]
    return {
        "task": task,
        "category": spec.category if spec else None,
        "variant": spec.variant if spec else None,
        "difficulty": spec.difficulty if spec else None,
        "n": n,
        "requested": requested if requested is not None else n,
        "complete": requested is None or n == requested,
        "success": successes / n if n else None,
        "success_ci": list(wilson_interval(successes, n)),
        "validity": _mean(validity),
        "validity_ci": list(bootstrap_interval(validity, name)),
        "validity_study": _mean(nonzero),
        "zero_valid_episodes": n - len(nonzero),
        "mean_turns": _mean([float(r["n_turns"]) for r in records]),
        "mean_return": _mean([float(r["return"]) for r in records]),
        "outcomes": dict(outcomes),
        "outcome_unit": "turn",
        "responses": len(turns),
        "mean_response_chars": _mean([float(t["response_chars"]) for t in turns]),
        "repeated_rate": _mean([float(is_repetitive(t["response"])) for t in turns]),
        "length_cut_rate": _mean([float(f == "length") for f in finishes]),
    }


def compute_metrics(
    records: Mapping[str, list[dict[str, Any]]],
    config: dict[str, Any],
    requested: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """``{"splits": {name: {...}}, "config": {...}}`` for the splits in ``records`` (in that order)."""
    requested = requested or {}
    splits = {name: split_metrics(name, recs, requested.get(name)) for name, recs in records.items()}
    return {"splits": splits, "config": {**config, "validity_note": VALIDITY_NOTE}}


def _fmt(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _ci(value: float | None, ci: list[float]) -> str:
    return f"{_fmt(value)} [{_fmt(ci[0])}, {_fmt(ci[1])}]" if value is not None else "–"


def csv_text(metrics: dict[str, Any]) -> str:
    """One row per split; outcome classes as ``outcome_<class>`` columns (the union over tasks)."""
    classes = [c for task in task_names() for c in outcome_classes(task)]
    columns = [
        "split", "task", "category", "n", "success", "success_lo", "success_hi", "validity", "validity_lo",
        "validity_hi", "validity_study", "zero_valid_episodes", "mean_turns", "mean_return", "mean_response_chars",
        "repeated_rate", "length_cut_rate", *(f"outcome_{c}" for c in dict.fromkeys(classes)),
    ]  # fmt: skip
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for name, m in metrics["splits"].items():
        row = {k: m.get(k) for k in columns if k in m}
        row.update(split=name, success_lo=m["success_ci"][0], success_hi=m["success_ci"][1])
        row.update(validity_lo=m["validity_ci"][0], validity_hi=m["validity_ci"][1])
        row.update({f"outcome_{c}": v for c, v in m["outcomes"].items() if f"outcome_{c}" in columns})
        writer.writerow(row)
    return buffer.getvalue()


def markdown_text(metrics: dict[str, Any]) -> str:
    """A Markdown table of every split, with the run's settings underneath."""
    lines = [
        "| split | n | success [95% CI] | validity [95% CI] | turns | outcomes (per turn) | chars | repeated |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, m in metrics["splits"].items():
        outcomes = ", ".join(f"{k} {v}" for k, v in m["outcomes"].items() if v)
        lines.append(
            f"| {name} | {m['n']} | {_ci(m['success'], m['success_ci'])} | {_ci(m['validity'], m['validity_ci'])} "
            f"| {_fmt(m['mean_turns'], 1)} | {outcomes} | {_fmt(m['mean_response_chars'], 0)} "
            f"| {_fmt(m['repeated_rate'], 2)} |"
        )
    config = metrics.get("config", {})
    lines += ["", f"_{VALIDITY_NOTE}._", ""]
    lines += [f"- {key}: `{value}`" for key, value in sorted(config.items()) if key != "validity_note"]
    return "\n".join(lines) + "\n"


def write_metrics(out: Path, metrics: dict[str, Any]) -> None:
    """``metrics.json``, ``metrics.csv`` and ``metrics.md``, each written atomically (json last)."""
    out = Path(out)
    atomic_write_text(out / "metrics.csv", csv_text(metrics))
    atomic_write_text(out / "metrics.md", markdown_text(metrics))
    atomic_write_json(out / "metrics.json", metrics)


def summary_table(metrics: dict[str, Any], title: str = "sftgen eval") -> Table:
    """A rich table of the headline numbers for the terminal (two decimals; files keep full precision)."""
    table = Table(title=title)
    for column in ("split", "n", "success", "95% CI", "validity", "turns", "top outcome", "rep."):
        left = column in ("split", "top outcome")
        width = len(column) if left else max(len(column), 4)
        table.add_column(
            column, justify="left" if left else "right", no_wrap=column == "split", overflow="fold", min_width=width
        )
    for name, m in metrics["splits"].items():
        top = max(m["outcomes"].items(), key=lambda kv: kv[1], default=("–", 0))
        share = top[1] / m["responses"] if m["responses"] else 0.0
        lo, hi = m["success_ci"]
        table.add_row(
            name,
            str(m["n"]),
            _fmt(m["success"], 2),
            f"{lo:.2f}–{hi:.2f}",
            _fmt(m["validity"], 2),
            _fmt(m["mean_turns"], 1),
            f"{top[0]} {share:.0%}",
            _fmt(m["repeated_rate"], 2),
        )
    return table
