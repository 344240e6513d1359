"""The shared item layer: every task has a spec, references score full marks, seeds and overrides behave."""

from __future__ import annotations

import pytest
from integration_helpers import SERVED_SPLITS, SERVED_TASKS

from sftgen.integrations.items import TASK_SPECS, make_items, resolve_split, score, supported_splits


def test_every_task_has_an_integration_spec() -> None:
    """A new task is reachable from the adapters only once items.TASK_SPECS knows it (or the task protocol)."""
    assert set(TASK_SPECS) == set(SERVED_TASKS)
    assert len(supported_splits()) == len(SERVED_SPLITS)


@pytest.mark.parametrize("split", sorted(SERVED_SPLITS))
def test_reference_answers_score_full_marks(split: str) -> None:
    for item in make_items(split, 3):
        assert score(item.reference, item.ground_truth).success


def test_custom_splits_are_checked() -> None:
    assert resolve_split("sokoban/id", difficulty="10x10-2").name == "sokoban/base@10x10-2"
    with pytest.raises(ValueError, match="unknown sokoban difficulty"):
        resolve_split("sokoban/id", difficulty="99x99")
