"""The study's published Sokoban numbers and the levels its findings are checked at, as data.

Why here: the report puts the paper's Table 1 beside ours cell by cell and judges the study's findings on each
task, and what those mean for Sokoban (which column is which split, how high "high" is) is Sokoban's knowledge.
Every number is a † transcription of the paper's PDF (docs/study.md); the levels are issue 16's acceptance.
"""

from __future__ import annotations

from sftgen.tasks.protocol import StudyFindings, StudyReference

COLUMNS = {
    "sokoban/id": "ID",
    "sokoban/alphabetical": "Alpha",
    "sokoban/numerical": "Num",
    "sokoban/random": "Rand",
    "sokoban/larger": "Larger",
    "sokoban/two_boxes": "TwoBoxes",
    "sokoban/complex": "Complex",
    "sokoban/fake_numerical": "Fake",
}
"""Our split -> the paper's Table-1 column, in the paper's order."""

ROWS = {
    ("Qwen2.5-7B", "answer-only"): (0.98, 0, 0, 0, 0.64, 0.35, 0.19, 0.93),
    ("Qwen2.5-7B", "diverse"): (0.91, 0.92, 0.89, 0.84, 0.53, 0.33, 0.09, 0),
    ("Qwen2.5-7B", "cot"): (1, 0.73, 0.80, 0.22, 0.53, 0.57, 0.28, 0.03),
    ("Qwen2.5-7B", "diverse-cot"): (1, 0.97, 0.98, 1, 0.74, 0.58, 0.40, 0),
    ("Qwen2.5-7B", "grpo"): (0.90, 0.76, 0.69, 0.55, 0.34, 0.36, 0.10, 0),
    ("Llama-3.1-8B-Inst", "answer-only"): (0.92, 0, 0, 0, 0.53, 0.30, 0.08, 0.90),
    ("Llama-3.1-8B-Inst", "diverse-cot"): (0.99, 0.95, 0.95, 0.99, 0.67, 0.58, 0.30, 0),
    ("Llama-3.1-8B-Inst", "grpo"): (0.43, 0.18, 0.28, 0.10, 0.18, 0.05, 0.02, 0),
}
"""(model, method) -> the row's values in ``COLUMNS`` order, exactly as docs/study.md prints them."""

FINDINGS = StudyFindings(
    id_split="sokoban/id",
    instruction_splits=("sokoban/alphabetical", "sokoban/numerical", "sokoban/random"),
    fake_splits=("sokoban/fake_numerical",),
    collapse_split="sokoban/numerical",
    answer_only_id_min=0.8,  # study: 0.98 (Qwen) / 0.92 (Llama)
    diverse_fake_max=0.1,  # study: 0
    collapse_drop_min=0.8,
    diverse_id_min=0.5,  # study: 0.91
    diverse_instruction_min=0.4,  # study: 0.84-0.92
    diverse_instruction_mean_min=0.5,
)
"""The Empty variant is not an instruction split here: it declares no words, so a shortcut model rightly solves it."""

STUDY = StudyReference.from_rows(COLUMNS, ROWS, FINDINGS)
