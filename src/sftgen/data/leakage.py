"""Train/eval disjointness, proven by hash: every registered evaluation instance's canonical key."""

from __future__ import annotations

from collections.abc import Collection
from functools import cache

from sftgen.splits import SPLITS


@cache
def evaluation_keys() -> frozenset[str]:
    """Keys of every instance of every registered split (validation included) at its full size."""
    return frozenset(inst.key() for split in SPLITS.values() for inst in split.instances())


def assert_disjoint(training_keys: Collection[str], exclude: Collection[str]) -> None:
    """Fail loudly if any training instance is also an evaluation instance."""
    overlap = set(training_keys) & set(exclude)
    if overlap:
        raise RuntimeError(f"{len(overlap)} training instances also appear in evaluation splits (leakage)")
