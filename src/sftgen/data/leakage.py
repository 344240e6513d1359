"""Train/eval disjointness, proven by hash: every registered evaluation instance's canonical key.

Levels are drawn disjoint from evaluation by their start (each task's ``rows``); :class:`EvaluationStates` also
drops rows whose *mid-episode* state is some evaluation split's start, since a model trained on that state has
seen the first move of that test puzzle (issue 20). Which states a row has is the task's business.
"""

from __future__ import annotations

from collections.abc import Collection
from functools import cache

from sftgen.splits import SPLITS
from sftgen.tasks.protocol import StateFilter

EvaluationStates = StateFilter
"""The filter a task's ``rows`` drops evaluation states with; it counts them in ``dropped``."""


@cache
def evaluation_keys() -> frozenset[str]:
    """Keys of every instance of every registered split (validation included) at its full size."""
    return frozenset(inst.key() for split in SPLITS.values() for inst in split.instances())


def assert_disjoint(training_keys: Collection[str], exclude: Collection[str]) -> None:
    """Fail loudly if any training instance is also an evaluation instance."""
    overlap = set(training_keys) & set(exclude)
    if overlap:
        raise RuntimeError(f"{len(overlap)} training instances also appear in evaluation splits (leakage)")
