"""Wall time per stage of a ``reproduce`` run: printed as a table at the end, written to ``RUN/timings.json``.

Why per stage: a run has a time budget (``quick`` ≤ 15 minutes), and a user who waits must see where the
minutes went — base model, data, each job's training, checkpoint sweep and final evaluation, the report.
Jobs run in parallel, so the stages add up to more than the wall time; the table says so and gives both.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sftgen.io import atomic_write_json

TIMINGS_FILE = "timings.json"
# A job's stages as ``run_job`` reports them in ``stage_seconds``, with the name the table shows.
JOB_STAGES = (("train", "train"), ("sweep", "checkpoint sweep"), ("evaluate", "final evaluation"))


@dataclass
class StageTimes:
    """Stages in the order they finished, each with its wall seconds, and the run's wall clock."""

    stages: list[tuple[str, float]] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the block as one stage (recorded even when it raises, so a failed stage shows its cost)."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - start)

    def add(self, name: str, seconds: float) -> None:
        self.stages.append((name, round(seconds, 1)))

    def add_job(self, result: dict[str, Any]) -> None:
        """A finished job's stages (measured in its own process), labelled by task/method/seed."""
        label = f"{result['task']}/{result['method']}/seed{result['seed']}"
        for key, title in JOB_STAGES:
            seconds = (result.get("stage_seconds") or {}).get(key)
            if isinstance(seconds, int | float):
                self.add(f"{title} {label}", seconds)

    def wall_seconds(self) -> float:
        return round(time.perf_counter() - self.started, 1)

    def to_json(self) -> dict[str, Any]:
        return {
            "wall_seconds": self.wall_seconds(),
            "stages": [{"stage": name, "seconds": seconds} for name, seconds in self.stages],
        }

    def write(self, out: Path) -> None:
        atomic_write_json(Path(out) / TIMINGS_FILE, self.to_json())

    def table(self) -> str:
        """The plain-text table ``reproduce`` prints at the end."""
        wall = "wall clock (jobs run in parallel)"
        width = max(len(name) for name in ["stage", wall, *(name for name, _ in self.stages)])
        lines = [f"{'stage':<{width}}  {'wall s':>8}", f"{'-' * width}  {'-' * 8}"]
        lines += [f"{name:<{width}}  {seconds:>8.1f}" for name, seconds in self.stages]
        total = sum(seconds for _, seconds in self.stages)
        lines += [
            f"{'-' * width}  {'-' * 8}",
            f"{'sum of stages':<{width}}  {total:>8.1f}",
            f"{wall:<{width}}  {self.wall_seconds():>8.1f}",
        ]
        return "\n".join(lines)
