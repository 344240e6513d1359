"""The study's published General Points numbers, the levels its findings are checked at, and its float check.

Why here: the report puts the paper's Table 1 beside ours cell by cell, judges the study's findings on each task
and counts the answers the study's own scoring would have rejected; what those mean for General Points is this
task's knowledge. Every number is a † transcription of the paper's PDF (docs/study.md); the levels are issue
16's acceptance. The study checks a formula with Python's ``eval(formula) == 24``, which rejects exact answers
such as ``8/(3-8/3)`` (23.999... in floats); this task scores with fractions.
"""

from __future__ import annotations

from sftgen.tasks.protocol import StudyAnswerCheck, StudyFindings, StudyReference

from .formula import FormulaError, evaluate, parse_formula
from .solver import TARGET

COLUMNS = {
    "points/id": "ID",
    "points/all_5": "All-5",
    "points/all_7": "All-7",
    "points/all_12": "All-12",
    "points/regular": "Regular",
    "points/large": "Large",
    "points/five": "Five",
    "points/fake": "Fake",
}
"""Our split -> the paper's Table-1 column, in the paper's order."""

ROWS = {
    ("Qwen2.5-7B", "answer-only"): (0.61, 0.23, 0.25, 0.07, 0.06, 0.02, 0.00, 0.01),
    ("Qwen2.5-7B", "diverse"): (0.78, 0.71, 0.70, 0.09, 0.07, 0.03, 0.01, 0),
    ("Qwen2.5-7B", "cot"): (0.95, 0.90, 0.90, 0.85, 0.86, 0.80, 0.26, 0),
    ("Qwen2.5-7B", "diverse-cot"): (0.96, 0.93, 0.93, 0.90, 0.89, 0.84, 0.29, 0),
    ("Qwen2.5-7B", "grpo"): (0.93, 0.80, 0.87, 0.82, 0.80, 0.69, 0.22, 0.05),
    ("Llama-3.1-8B-Inst", "answer-only"): (0.71, 0.00, 0.00, 0, 0, 0.02, 0.01, 0.68),
    ("Llama-3.1-8B-Inst", "diverse-cot"): (0.97, 0.93, 0.93, 0.90, 0.89, 0.82, 0.23, 0),
    ("Llama-3.1-8B-Inst", "grpo"): (0.92, 0.87, 0.83, 0.72, 0.76, 0.65, 0.37, 0),
}
"""(model, method) -> the row's values in ``COLUMNS`` order, exactly as docs/study.md prints them."""

FINDINGS = StudyFindings(
    id_split="points/id",
    instruction_splits=("points/all_5", "points/all_7"),
    fake_splits=("points/fake",),
    collapse_split="points/all_5",
    answer_only_id_min=0.5,  # study: 0.61 (Qwen) / 0.71 (Llama)
    diverse_fake_max=0.2,  # study: 0
    collapse_drop_min=0.2,
    diverse_instruction_gain=0.3,  # study: +0.45, +0.48
)


def float_rejected(formula: str | None, target: int = TARGET) -> bool:
    """True when an exactly correct formula fails the study's float check (``eval(formula) == 24``)."""
    if not formula:
        return False
    try:
        return evaluate(parse_formula(formula.replace(" ", "")), int) != target
    except FormulaError:
        return False


FLOAT_CHECK = StudyAnswerCheck(
    heading="exact successes the study's float check would reject",
    answers="exactly correct GP answers",
    check="the study's float check `eval(formula) == 24`",
    column="float-rejected",
    rejects=float_rejected,
)

STUDY = StudyReference.from_rows(COLUMNS, ROWS, FINDINGS, FLOAT_CHECK)
