"""The study's published success rates (docs/study.md), as data, addressed by our split and method names.

Why as data: the report puts the study's numbers beside ours cell by cell, so each published column is
mapped once, here, to the split that measures the same thing (``Num`` -> ``sokoban/numerical``). Every
number carries the spec's † mark: it comes from a transcription of the paper's PDF and should be checked
against the paper when possible. The Qwen2.5-7B rows are the comparison baseline; Llama rows are kept for
reference.
"""

from __future__ import annotations

DAGGER = "†"
STUDY_MODEL = "Qwen2.5-7B"
STUDY_MODELS = ("Qwen2.5-7B", "Llama-3.1-8B-Inst")
STUDY_SOURCE = "Debunk the Myth of SFT Generalization (arXiv 2510.00237), Table 1 †"

# Our method names, in the order the report lists them; the study's row label for each (None: no row).
METHODS: tuple[str, ...] = ("answer-only", "diverse", "cot", "diverse-cot", "grpo", "proximity-kl", "proximity-l2")
STUDY_METHOD_LABELS: dict[str, str] = {
    "answer-only": "Answer-only",
    "diverse": "Diverse",
    "cot": "CoT",
    "diverse-cot": "Diverse+CoT",
    "grpo": "GRPO (warm)",
}

# The study's column label for each of our splits (the paper's Table 1 columns).
STUDY_COLUMNS: dict[str, str] = {
    "sokoban/id": "ID",
    "sokoban/alphabetical": "Alpha",
    "sokoban/numerical": "Num",
    "sokoban/random": "Rand",
    "sokoban/larger": "Larger",
    "sokoban/two_boxes": "TwoBoxes",
    "sokoban/complex": "Complex",
    "sokoban/fake_numerical": "Fake",
    "points/id": "ID",
    "points/all_5": "All-5",
    "points/all_7": "All-7",
    "points/all_12": "All-12",
    "points/regular": "Regular",
    "points/large": "Large",
    "points/five": "Five",
    "points/fake": "Fake",
}

_ORDER: dict[str, tuple[str, ...]] = {
    "sokoban": (
        "sokoban/id", "sokoban/alphabetical", "sokoban/numerical", "sokoban/random",
        "sokoban/larger", "sokoban/two_boxes", "sokoban/complex", "sokoban/fake_numerical",
    ),
    "points": (
        "points/id", "points/all_5", "points/all_7", "points/all_12",
        "points/regular", "points/large", "points/five", "points/fake",
    ),
}  # fmt: skip

# (model, task, method) -> the row's values in _ORDER[task] order, exactly as docs/study.md prints them.
_ROWS: dict[tuple[str, str, str], tuple[float, ...]] = {
    ("Qwen2.5-7B", "sokoban", "answer-only"): (0.98, 0, 0, 0, 0.64, 0.35, 0.19, 0.93),
    ("Qwen2.5-7B", "sokoban", "diverse"): (0.91, 0.92, 0.89, 0.84, 0.53, 0.33, 0.09, 0),
    ("Qwen2.5-7B", "sokoban", "cot"): (1, 0.73, 0.80, 0.22, 0.53, 0.57, 0.28, 0.03),
    ("Qwen2.5-7B", "sokoban", "diverse-cot"): (1, 0.97, 0.98, 1, 0.74, 0.58, 0.40, 0),
    ("Qwen2.5-7B", "sokoban", "grpo"): (0.90, 0.76, 0.69, 0.55, 0.34, 0.36, 0.10, 0),
    ("Llama-3.1-8B-Inst", "sokoban", "answer-only"): (0.92, 0, 0, 0, 0.53, 0.30, 0.08, 0.90),
    ("Llama-3.1-8B-Inst", "sokoban", "diverse-cot"): (0.99, 0.95, 0.95, 0.99, 0.67, 0.58, 0.30, 0),
    ("Llama-3.1-8B-Inst", "sokoban", "grpo"): (0.43, 0.18, 0.28, 0.10, 0.18, 0.05, 0.02, 0),
    ("Qwen2.5-7B", "points", "answer-only"): (0.61, 0.23, 0.25, 0.07, 0.06, 0.02, 0.00, 0.01),
    ("Qwen2.5-7B", "points", "diverse"): (0.78, 0.71, 0.70, 0.09, 0.07, 0.03, 0.01, 0),
    ("Qwen2.5-7B", "points", "cot"): (0.95, 0.90, 0.90, 0.85, 0.86, 0.80, 0.26, 0),
    ("Qwen2.5-7B", "points", "diverse-cot"): (0.96, 0.93, 0.93, 0.90, 0.89, 0.84, 0.29, 0),
    ("Qwen2.5-7B", "points", "grpo"): (0.93, 0.80, 0.87, 0.82, 0.80, 0.69, 0.22, 0.05),
    ("Llama-3.1-8B-Inst", "points", "answer-only"): (0.71, 0.00, 0.00, 0, 0, 0.02, 0.01, 0.68),
    ("Llama-3.1-8B-Inst", "points", "diverse-cot"): (0.97, 0.93, 0.93, 0.90, 0.89, 0.82, 0.23, 0),
    ("Llama-3.1-8B-Inst", "points", "grpo"): (0.92, 0.87, 0.83, 0.72, 0.76, 0.65, 0.37, 0),
}

STUDY_RESULTS: dict[str, dict[str, dict[str, dict[str, float]]]] = {}
"""model -> task -> method -> split -> success rate (all †)."""
for (_model, _task, _method), _values in _ROWS.items():
    if len(_values) != len(_ORDER[_task]):
        raise ValueError(f"study row {_model}/{_task}/{_method} has {len(_values)} values, not {len(_ORDER[_task])}")
    _row = dict(zip(_ORDER[_task], (float(v) for v in _values), strict=True))
    STUDY_RESULTS.setdefault(_model, {}).setdefault(_task, {})[_method] = _row


def study_value(split: str, method: str, model: str = STUDY_MODEL) -> float | None:
    """The study's published success for ``method`` on ``split`` (None where the paper has no number)."""
    task = split.split("/", 1)[0]
    return STUDY_RESULTS.get(model, {}).get(task, {}).get(method, {}).get(split)


def study_column(split: str) -> str | None:
    """The paper's column label for a split (``sokoban/numerical`` -> ``Num``), None if not in Table 1."""
    return STUDY_COLUMNS.get(split)


def study_splits(task: str) -> tuple[str, ...]:
    """Our splits that have a column in the paper's table for ``task``, in the paper's order."""
    return _ORDER.get(task, ())


def method_order(methods: set[str] | list[str]) -> list[str]:
    """Known methods in the study's order, then any others alphabetically."""
    known = [m for m in METHODS if m in methods]
    return known + sorted(set(methods) - set(METHODS))
