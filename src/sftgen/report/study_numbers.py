"""The study's published success rates (docs/study.md), addressed by our split and method names.

Why through the tasks: the report puts the study's numbers beside ours cell by cell, and which paper column a
split stands for (``Num`` is Sokoban's numerical split) is each task's own data (``Task.study``, a
:class:`~sftgen.tasks.protocol.StudyReference`); this module only asks for it. Every number carries the report's
† mark: it comes from a transcription of the paper's PDF and should be checked against the paper when possible.
The Qwen2.5-7B rows are the comparison baseline; Llama rows are kept for reference.
"""

from __future__ import annotations

from sftgen.tasks.protocol import StudyReference, TaskNotFound, get_task

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


def task_study(task: str) -> StudyReference | None:
    """What the study published on ``task`` (None for a task it has no numbers for, or one not registered)."""
    try:
        return get_task(task).study  # cached: asked for every table cell
    except TaskNotFound:
        return None


def _study_of(split: str) -> StudyReference | None:
    return task_study(split.split("/", 1)[0])


def study_value(split: str, method: str, model: str = STUDY_MODEL) -> float | None:
    """The study's published success for ``method`` on ``split`` (None where the paper has no number)."""
    study = _study_of(split)
    return None if study is None else study.value(split, method, model)


def study_column(split: str) -> str | None:
    """The paper's column label for a split (Sokoban's numerical split -> ``Num``), None if not in Table 1."""
    study = _study_of(split)
    return None if study is None else study.columns.get(split)


def study_splits(task: str) -> tuple[str, ...]:
    """Our splits that have a column in the paper's table for ``task``, in the paper's order."""
    study = task_study(task)
    return () if study is None else tuple(study.columns)


def method_order(methods: set[str] | list[str]) -> list[str]:
    """Known methods in the study's order, then any others alphabetically."""
    known = [m for m in METHODS if m in methods]
    return known + sorted(set(methods) - set(METHODS))
