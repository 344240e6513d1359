"""Sokoban's named evaluation splits, as data (``sftgen.splits`` expands every task's into instances).

The rows and sizes are the study's grid as it stood in ``sftgen/splits.py``; seeds hash (namespace, split
name, index), so moving the rows here resolves every split to the same levels.
"""

from __future__ import annotations

from sftgen.tasks.protocol import SplitSpec

SIZE = 100
QUICK_SIZE = 20
ID = "6x6-1"

# short name, variant, difficulty, category, in the study's protocol
_GRID = (
    ("id", "base", ID, "id", True),
    ("cardinal", "cardinal", ID, "instruction", True),
    ("emoji", "emoji", ID, "instruction", True),
    ("empty", "empty", ID, "instruction", True),
    ("numerical", "numerical", ID, "instruction", True),
    ("alphabetical", "alphabetical", ID, "instruction", True),
    ("random", "random", ID, "instruction", True),
    ("fake_numerical", "fake_numerical", ID, "fake", True),
    ("fake_cardinal", "fake_cardinal", ID, "fake", True),
    ("fake_emoji", "fake_emoji", ID, "fake", True),
    ("larger", "base", "10x10-1", "difficulty", True),
    ("two_boxes", "base", "6x6-2", "difficulty", True),
    ("complex", "base", "10x10-2", "difficulty", True),
    ("paraphrase", "base", ID, "paraphrase", False),
    ("validation", "base", ID, "validation", False),
)

SPLITS: tuple[SplitSpec, ...] = tuple(
    SplitSpec(f"sokoban/{name}", variant, difficulty, category, SIZE, in_study, QUICK_SIZE)
    for name, variant, difficulty, category, in_study in _GRID
)
