"""The keys task's named evaluation splits, as data.

``sftgen/splits.py`` expands them with every registered task's; an instance's seed hashes (namespace, split name,
index), and ``keys/validation`` is redrawn where it would repeat a test split's level.
"""

from __future__ import annotations

from sftgen.tasks.protocol import SplitSpec

SIZE = 100
ID = "7x7-2"

# short name, variant, difficulty, category
_GRID = (
    ("id", "base", ID, "id"),
    ("numerical", "numerical", ID, "instruction"),
    ("alphabetical", "alphabetical", ID, "instruction"),
    ("random", "random", ID, "instruction"),
    ("next_colour", "next_colour", ID, "instruction"),
    ("one_key", "one_key", ID, "instruction"),
    ("fake_numerical", "fake_numerical", ID, "fake"),
    ("fake_next_colour", "fake_next_colour", ID, "fake"),
    ("larger", "base", "9x9-3", "difficulty"),
    ("validation", "base", ID, "validation"),
)

SPLITS: tuple[SplitSpec, ...] = tuple(
    SplitSpec(f"keys/{name}", variant, difficulty, category, SIZE) for name, variant, difficulty, category in _GRID
)
