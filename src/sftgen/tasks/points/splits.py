"""General Points' named evaluation splits, as data (``sftgen.splits`` expands every task's into instances).

The rows and sizes are the study's grid as it stood in ``sftgen/splits.py``; seeds hash (namespace, split
name, index), so moving the rows here resolves every split to the same hands.
"""

from __future__ import annotations

from sftgen.tasks.protocol import SplitSpec

SIZE = 500
QUICK_SIZE = 50
# The four-card, J=Q=K=10 space is small (~800 solvable multisets with a face card) and every evaluation puzzle is
# withheld from training, so the extra all_10 splits stay small.
SIZE_OVERRIDES = {"paraphrase": 200, "validation": 100}
# id and paraphrase draw from the four-card J=Q=K=10 space (~670 solvable puzzles with a face card), which
# validation and the answer-only training pool share: 500 + 200 distinct puzzles there would leave validation and
# training almost nothing, so these two keep the study's sampling with replacement.
WITH_REPLACEMENT = frozenset({"id", "paraphrase"})

# short name, variant, difficulty, category, in the study's protocol
_GRID = (
    ("id", "all_10", "four", "id", True),
    ("all_5", "all_5", "four", "instruction", True),
    ("all_7", "all_7", "four", "instruction", True),
    ("all_12", "all_12", "four", "difficulty", True),
    ("regular", "regular", "four", "difficulty", True),
    ("large", "all_10", "large", "difficulty", True),
    ("five", "all_10", "five", "difficulty", True),
    ("six", "all_10", "six", "difficulty", False),
    ("fake", "fake", "four", "fake", True),
    ("fake_all_5", "fake_all_5", "four", "fake", True),
    ("paraphrase", "all_10", "four", "paraphrase", False),
    ("validation", "all_10", "four", "validation", False),
)

SPLITS: tuple[SplitSpec, ...] = tuple(
    SplitSpec(
        f"points/{name}",
        variant,
        difficulty,
        category,
        SIZE_OVERRIDES.get(name, SIZE),
        in_study,
        QUICK_SIZE,
        name in WITH_REPLACEMENT,
    )
    for name, variant, difficulty, category, in_study in _GRID
)
