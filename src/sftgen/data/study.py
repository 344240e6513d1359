"""The study's training sets for both tasks, every kind, with the study's sizes (docs/study.md)."""

from __future__ import annotations

from pathlib import Path

from sftgen.data.build import KINDS, BuildConfig, build_dataset

STUDY_SIZES = {"sokoban": 1000, "points": 10_000}


def build_study_datasets(
    out: str | Path, seed: int = 0, overwrite: bool = False, sizes: dict[str, int] | None = None
) -> dict[str, dict]:
    """Build ``out/{task}/{kind}`` for every task and kind; returns the manifests by ``task/kind``."""
    sizes = sizes or STUDY_SIZES
    manifests = {}
    for task, n in sizes.items():
        for kind in KINDS:
            manifests[f"{task}/{kind}"] = build_dataset(
                BuildConfig(kind, task, n, seed), Path(out) / task / kind, overwrite=overwrite
            )
    return manifests
