"""Train/eval disjointness, proven by hash: every registered evaluation instance's canonical key.

Levels and hands are drawn disjoint from evaluation by their start (``training_levels``, ``training_hands``);
:class:`EvaluationStates` also drops Sokoban rows whose *mid-episode* state is some evaluation split's start
board, since a model trained on that state has seen the first move of that test puzzle (issue 20).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from functools import cache

from sftgen.data.sokoban import TrainingLevel
from sftgen.splits import SPLITS, board_key


@cache
def evaluation_keys() -> frozenset[str]:
    """Keys of every instance of every registered split (validation included) at its full size."""
    return frozenset(inst.key() for split in SPLITS.values() for inst in split.instances())


def assert_disjoint(training_keys: Collection[str], exclude: Collection[str]) -> None:
    """Fail loudly if any training instance is also an evaluation instance."""
    overlap = set(training_keys) & set(exclude)
    if overlap:
        raise RuntimeError(f"{len(overlap)} training instances also appear in evaluation splits (leakage)")


class EvaluationStates:
    """Filters Sokoban training rows whose state is an evaluation start board, and counts what it dropped.

    ``levels`` wraps the level stream (it walks each solution once, marking the states to drop) and ``rows``
    the row stream built from it; rows keep their ``(level_index, state_index)``, so the rest are unchanged.
    """

    def __init__(self, exclude: Collection[str]) -> None:
        self.exclude = exclude
        self.dropped = 0
        self._marked: set[tuple[int, int]] = set()

    def levels(self, levels: Iterable[TrainingLevel]) -> Iterator[TrainingLevel]:
        for item in levels:
            board = item.level.board
            for t, action in enumerate(item.level.solution):
                if t and board_key(board) in self.exclude:  # t = 0 is the start, already disjoint
                    self._marked.add((item.index, t))
                board = board.step(action).board
            yield item

    def rows(self, rows: Iterable[dict]) -> Iterator[dict]:
        for row in rows:
            if (row["level_index"], row["state_index"]) in self._marked:
                self.dropped += 1
                continue
            yield row
