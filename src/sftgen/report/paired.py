"""Paired comparisons of two methods on the same episodes: exact McNemar test and paired bootstrap interval.

Why paired: a split's instances are fixed by the registry (a hash of split name and index), so two models
evaluated on a split play the same episodes; comparing them episode by episode (matched on ``instance_id``)
removes the luck of which episodes were drawn. The exact McNemar test is a two-sided binomial test on the
discordant pairs, valid at any n (no discordant pair: p = 1). The interval is a percentile bootstrap over
episode pairs, seeded from the comparison's name, so the same episodes always give the same interval.

Seeds: seed k of one method is paired with seed k of the other (each side's seeds sorted, then zipped). The
test pools the pairs of every seed pair, the bootstrap resamples episodes within each seed pair, and the
difference is the mean of the seed pairs' differences, with their spread shown beside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from sftgen.eval.metrics import BOOTSTRAP_SAMPLES
from sftgen.eval.records import read_records
from sftgen.report.runs import RunEntry
from sftgen.report.study_numbers import study_value
from sftgen.seeding import derive_seed

ALPHA = 0.01  # a comparison is significant below this McNemar p
STUDY_EFFECT_MIN = 0.3  # a comparison decides a finding only where the study's own difference is at least this


def mcnemar_exact(first_only: int, second_only: int) -> float:
    """Two-sided exact McNemar p: P(a split of the discordant pairs at least this uneven | each side p = 1/2)."""
    n = first_only + second_only
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(first_only, second_only) + 1))
    return min(1.0, float(Fraction(2 * tail, 2**n)))


def paired_bootstrap(
    strata: list[tuple[np.ndarray, np.ndarray]], seed_key: str, samples: int = BOOTSTRAP_SAMPLES
) -> tuple[float, float]:
    """95% percentile interval of the mean over strata of (first rate − second rate), pairs resampled per stratum."""
    rng = np.random.default_rng(derive_seed("sftgen.report.paired", seed_key))
    totals = np.zeros(samples)
    for first, second in strata:
        diff = first.astype(np.float64) - second.astype(np.float64)
        totals += diff[rng.integers(0, diff.size, size=(samples, diff.size))].mean(axis=1)
    lo, hi = np.quantile(totals / len(strata), [0.025, 0.975])
    return (float(lo), float(hi))


def paired_successes(first: RunEntry, second: RunEntry, split: str) -> tuple[np.ndarray, np.ndarray] | None:
    """Per-episode success of both runs on the episodes both played (by instance id, in index order)."""
    files = first.episodes_file(split), second.episodes_file(split)
    if files[0] is None or files[1] is None:
        return None
    a, b = ({r["instance_id"]: r for r in read_records(f)} for f in files)
    shared = sorted(set(a) & set(b), key=lambda i: (a[i].get("index", 0), i))
    if not shared:
        return None
    return (
        np.array([bool(a[i]["success"]) for i in shared]),
        np.array([bool(b[i]["success"]) for i in shared]),
    )


def _study_mean(splits: tuple[str, ...], method: str) -> float | None:
    values = [study_value(s, method) for s in splits]
    return None if any(v is None for v in values) else math.fsum(v for v in values if v is not None) / len(values)


@dataclass(frozen=True)
class Comparison:
    """``first`` vs ``second`` on the same episodes of ``splits`` (pooled when several)."""

    task: str
    splits: tuple[str, ...]
    first: str
    second: str
    n: int  # episode pairs over every seed pair
    first_rate: float
    second_rate: float
    difference: float  # mean over seed pairs of (first − second)
    interval: tuple[float, float]
    seed_differences: tuple[float, ...]
    first_only: int  # discordant: first succeeded, second failed
    second_only: int
    p: float
    study_first: float | None
    study_second: float | None

    @property
    def where(self) -> str:
        names = [s.split("/", 1)[-1] for s in self.splits]
        return names[0] if len(names) == 1 else f"{len(names)} splits pooled ({', '.join(names)})"

    @property
    def study_difference(self) -> float | None:
        if self.study_first is None or self.study_second is None:
            return None
        return self.study_first - self.study_second

    @property
    def decisive(self) -> bool:
        """True when the study shows an effect here (|study difference| ≥ STUDY_EFFECT_MIN) for us to match."""
        study = self.study_difference
        return study is not None and abs(study) >= STUDY_EFFECT_MIN

    def agrees(self, expected: int) -> bool:
        """Direction ``expected`` (+1: first higher, −1: first lower) and p < ALPHA."""
        return self.difference * expected > 0 and self.p < ALPHA

    def spread(self) -> float | None:
        """Half the range of the seed pairs' differences (None with one seed pair)."""
        d = self.seed_differences
        return (max(d) - min(d)) / 2 if len(d) > 1 else None

    def text(self) -> str:
        """``numerical: diverse 0.52 vs answer-only 0.00, Δ +0.52 [+0.42, +0.62], McNemar p 2e-16 (52/0 of 100)``."""
        spread = self.spread()
        seeds = f" ±{spread:.2f} over {len(self.seed_differences)} seeds" if spread is not None else ""
        study = ""
        if self.study_first is not None and self.study_second is not None:
            study = f"; study {self.study_first:.2f} vs {self.study_second:.2f} ({self.study_difference:+.2f})"
        return (
            f"{self.where}: {self.first} {self.first_rate:.2f} vs {self.second} {self.second_rate:.2f}, "
            f"Δ {self.difference:+.2f}{seeds} [{self.interval[0]:+.2f}, {self.interval[1]:+.2f}], "
            f"McNemar p {fmt_p(self.p)} ({self.first_only}/{self.second_only} discordant of {self.n}){study}"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "splits": list(self.splits),
            "first": self.first,
            "second": self.second,
            "n": self.n,
            "first_rate": self.first_rate,
            "second_rate": self.second_rate,
            "difference": self.difference,
            "interval": list(self.interval),
            "seed_differences": list(self.seed_differences),
            "discordant": [self.first_only, self.second_only],
            "p": self.p,
            "study_first": self.study_first,
            "study_second": self.study_second,
            "study_difference": self.study_difference,
            "decisive": self.decisive,
        }


def fmt_p(p: float) -> str:
    """``1``, ``0.038``, ``2.4e-05``: three significant figures, scientific below 0.001."""
    if p >= 0.999995:
        return "1"
    return f"{p:.2g}" if p < 1e-3 else f"{p:.3f}".rstrip("0")


def compare(first: list[RunEntry], second: list[RunEntry], splits: tuple[str, ...]) -> Comparison | None:
    """The paired comparison of two methods' seeds on ``splits`` (None when no seed pair has both episodes)."""
    strata = []
    for a, b in zip(sorted(first, key=lambda e: e.seed), sorted(second, key=lambda e: e.seed), strict=False):
        pairs = [p for s in splits if (p := paired_successes(a, b, s)) is not None]
        if len(pairs) == len(splits):
            strata.append((np.concatenate([p[0] for p in pairs]), np.concatenate([p[1] for p in pairs])))
    if not strata:
        return None
    a_all = np.concatenate([s[0] for s in strata])
    b_all = np.concatenate([s[1] for s in strata])
    seed_diffs = tuple(float(s[0].mean() - s[1].mean()) for s in strata)
    first_only, second_only = int(np.sum(a_all & ~b_all)), int(np.sum(~a_all & b_all))
    task, method_a, method_b = first[0].task, first[0].method, second[0].method
    return Comparison(
        task=task,
        splits=splits,
        first=method_a,
        second=method_b,
        n=int(a_all.size),
        first_rate=float(a_all.mean()),
        second_rate=float(b_all.mean()),
        difference=math.fsum(seed_diffs) / len(seed_diffs),
        interval=paired_bootstrap(strata, f"{first[0].source}|{method_a}|{method_b}|{','.join(splits)}"),
        seed_differences=seed_diffs,
        first_only=first_only,
        second_only=second_only,
        p=mcnemar_exact(first_only, second_only),
        study_first=_study_mean(splits, method_a),
        study_second=_study_mean(splits, method_b),
    )
