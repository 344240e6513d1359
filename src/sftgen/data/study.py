"""The study's training sets for its tasks, every kind, with the study's sizes (docs/study.md)."""

from __future__ import annotations

from pathlib import Path

from sftgen.data.build import KINDS, BuildConfig, build_dataset
from sftgen.tasks.protocol import get_task, task_names


def study_sizes() -> dict[str, int]:
    """Instances per training set of each task the study trains on (``Task.study_train_size``), in registry order."""
    sizes = {name: get_task(name).study_train_size for name in task_names()}
    return {name: n for name, n in sizes.items() if n is not None}


def build_study_datasets(
    out: str | Path, seed: int = 0, overwrite: bool = False, sizes: dict[str, int] | None = None
) -> dict[str, dict]:
    """Build ``out/{task}/{kind}`` for every task and kind; returns the manifests by ``task/kind``."""
    sizes = sizes or study_sizes()
    manifests = {}
    for task, n in sizes.items():
        for kind in KINDS:
            manifests[f"{task}/{kind}"] = build_dataset(
                BuildConfig(kind, task, n, seed), Path(out) / task / kind, overwrite=overwrite
            )
    return manifests
