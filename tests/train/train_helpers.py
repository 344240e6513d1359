"""Helpers for the training tests: small Sokoban datasets written in ``sftgen generate``'s layout."""

from __future__ import annotations

from pathlib import Path


def rows(n: int, template: str = "compact", kind: str = "answer-only", task: str = "sokoban") -> list[dict]:
    """Training rows straight from the generator (no evaluation-key scan: fast, for plumbing tests)."""
    from sftgen.data.build import BuildConfig, iter_rows

    return list(iter_rows(BuildConfig(kind, task, n, template=template), frozenset()))


def write_rows(folder: Path, items: list[dict], kind: str = "answer-only", template: str = "compact") -> str:
    """A dataset folder (``dataset/`` + ``manifest.json``) holding ``items``."""
    from sftgen.data.build import write_dataset

    write_dataset(items, folder, {"config": {"kind": kind, "task": "sokoban", "template": template}})
    return str(folder)
