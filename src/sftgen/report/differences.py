"""Where sftgen differs from the study (docs/study.md), and by how much in this run where it can be measured.

Why measure: a reader comparing our numbers with the study's needs to know which differences move them.
Two can be counted from the episodes: validity with every episode counted versus the study's mean over
episodes with a valid turn (``validity_study``), and successes that the study's own answer check would have
rejected, for each task that has one (``Task.study.answer_check``: General Points' float ``eval``, for which
``8/(3-8/3)`` is 23.999...). Checkpoint choice is shown as the validation pick beside the study's test-set rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sftgen.eval.records import read_records
from sftgen.report.aggregate import Key, ordered_splits
from sftgen.report.runs import RunEntry, Source
from sftgen.report.study_numbers import task_study
from sftgen.tasks.protocol import StudyAnswerCheck, get_task

DIFFERENCES: tuple[tuple[str, str], ...] = (
    ("Exact arithmetic in General Points scoring",
     "Formulas are parsed and evaluated with fractions, never executed; the study's float `eval` rejects exact "
     "answers such as `8/(3-8/3)` (23.999…). Counted below for this run."),
    ("Every episode counted in validity",
     "Validity is the mean over all episodes, those with zero valid turns included; the study's code drops them. "
     "`validity_study` (the study's way) is shown beside ours below."),
    ("Disjoint training and evaluation instances",
     "Training levels and hands are checked by hash against every evaluation split; the study's 6x6/1-box training "
     "seeds overlap its evaluation seeds."),
    ("Checkpoint choice on a validation split",
     "The checkpoint is chosen on fresh validation seeds, not on the test splits; the study picks the epoch with the "
     "best mean non-fake test success. That rule's pick is shown beside ours, labelled as the study's rule."),
    ("No stray characters in evaluation prompts",
     "Prompts are rendered from templates as data, without the stray characters of the study's hand-built strings."),
    ("Chat templates applied by the tokenizer",
     "The prompt is a chat message wrapped by the model's own chat template; the study hard-codes Qwen markup and "
     "pre-fills `<think>`."),
    ("Order-independent seeds",
     "Every instance's seed is a hash of (registry version, split, index): a split resolves to the same instances "
     "whatever other splits are listed and on every machine."),
    ("Tiny models read a compact template",
     "Models trained from scratch here see a compact rendering (one token per board cell, the mapping written as "
     "`actions:up=1,down=2,…`; a Sokoban room drawn inside its wall, before the declared words); pretrained models "
     "see the study's text. The run header says which template each run used."),
    ("Partial fine-tuning where a recipe asks for it",
     "The study fine-tunes every weight, as every recipe here does unless its `train.freeze` lists parameters to keep "
     "(`tiny-frozen`: the tiny base's look-up layers); the run folder's `recipe.yaml` records it."),
    ("Answer matching",
     "Sokoban answers match case-insensitively and ignore the emoji variation selector (`⬆` = `⬆️`)."),
)  # fmt: skip


@dataclass(frozen=True)
class Rejections:
    """One split of one run: its successes, and how many of them (a few as examples) the study's check rejects."""

    run: str
    split: str
    successes: int
    rejected: int
    examples: tuple[str, ...]


@dataclass(frozen=True)
class RejectionSection:
    """One task's successes that the study's answer check would reject: the report's heading, summary, count
    column and rows (text only, so both pages render it without asking the task)."""

    heading: str
    summary: str
    column: str
    rows: list[Rejections]


def rejection_summary(rows: list[Rejections], check: StudyAnswerCheck) -> str:
    """One sentence: how many successes over all runs the study's check would reject."""
    wins, bad = sum(r.successes for r in rows), sum(r.rejected for r in rows)
    runs = len({r.run for r in rows})
    return f"{bad} of {wins} {check.answers} ({runs} runs, chosen checkpoints) would fail {check.check}" + (
        "; they are listed below." if bad else "."
    )


def split_rejections(entry: RunEntry, label: str, check: StudyAnswerCheck) -> list[Rejections]:
    """Per split of the chosen checkpoint: successes, and how many the study's check rejects (their last action)."""
    rows = []
    for split in ordered_splits(s for s in entry.metrics if s.startswith(f"{entry.task}/")):
        path = entry.episodes_file(split)
        if path is None:
            continue
        wins = [t.get("action") for r in read_records(path) if r.get("success") for t in r.get("turns", [])[-1:]]
        bad = [a for a in wins if isinstance(a, str) and check.rejects(a)]
        rows.append(Rejections(label, split, len(wins), len(bad), tuple(bad[:3])))
    return rows


def validity_rows(groups: dict[Key, list[RunEntry]]) -> list[dict[str, Any]]:
    """Splits where the study's validity differs from ours (episodes with no valid turn), per run group."""
    rows = []
    for (source, task, method), entries in groups.items():
        for split in ordered_splits(s for e in entries for s in e.metrics):
            ms = [e.metrics[split] for e in entries if split in e.metrics]
            zero = sum(int(m.get("zero_valid_episodes") or 0) for m in ms)
            ours = [m["validity"] for m in ms if isinstance(m.get("validity"), int | float)]
            theirs = [m["validity_study"] for m in ms if isinstance(m.get("validity_study"), int | float)]
            if zero == 0 or not ours:
                continue
            rows.append(
                {
                    "run": f"{task} · {method} · {source}",
                    "split": split,
                    "validity": sum(ours) / len(ours),
                    "validity_study": sum(theirs) / len(theirs) if theirs else None,
                    "zero_valid_episodes": zero,
                    "episodes": sum(int(m.get("n") or 0) for m in ms),
                }
            )
    return rows


def checkpoint_rows(sources: list[Source]) -> list[dict[str, Any]]:
    """Each run's chosen checkpoint beside the study's rule's pick."""
    return [
        {
            "source": s.label,
            "task": r.task,
            "method": r.method,
            "seed": r.seed,
            "chosen": r.chosen,
            "choice_rule": r.choice_rule,
            "study_rule_choice": r.study_rule_choice,
            "same": r.chosen == r.study_rule_choice if r.study_rule_choice else None,
            "wall_seconds": r.wall_seconds,
        }
        for s in sources
        for r in s.runs
    ]


def rejection_sections(groups: dict[Key, list[RunEntry]]) -> list[RejectionSection]:
    """For each task with a study answer check, in the order the runs list them: its rejections in every run."""
    rows: dict[str, list[Rejections]] = {}
    checks: dict[str, StudyAnswerCheck] = {}
    for (source, task, method), entries in groups.items():
        study = task_study(task)
        if study is None or study.answer_check is None:
            continue
        check = checks.setdefault(task, study.answer_check)
        found = rows.setdefault(task, [])
        for entry in entries:
            found += split_rejections(entry, f"{method} · {source} · seed {entry.seed}", check)
    return [
        RejectionSection(
            f"{get_task(task).title}: {check.heading}", rejection_summary(rows[task], check), check.column, rows[task]
        )
        for task, check in checks.items()
        if rows[task]
    ]
