"""Where sftgen differs from the study (docs/study.md), and by how much in this run where it can be measured.

Why measure: a reader comparing our numbers with the study's needs to know which differences move them.
Two can be counted from the episodes: validity with every episode counted versus the study's mean over
episodes with a valid turn (``validity_study``), and GP successes that the study's float ``eval`` check
would have rejected (``8/(3-8/3)`` is 23.999... in floats). Checkpoint choice is shown as the validation
pick beside the study's test-set rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sftgen.eval.records import read_records
from sftgen.report.aggregate import Key, ordered_splits
from sftgen.report.runs import RunEntry, Source
from sftgen.tasks.points.formula import FormulaError, Tree, parse_formula

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
     "`actions:up=1,down=2,…`); pretrained models see the study's text. The run header says which template each "
     "run used."),
    ("Partial fine-tuning where a recipe asks for it",
     "The study fine-tunes every weight, as every recipe here does unless its `train.freeze` lists parameters to keep "
     "(`tiny-frozen`: the tiny base's look-up layers); the run folder's `recipe.yaml` records it."),
    ("Answer matching",
     "Sokoban answers match case-insensitively and ignore the emoji variation selector (`⬆` = `⬆️`)."),
)  # fmt: skip


def study_float_value(tree: Tree) -> int | float:
    """The value Python's ``eval`` would give the formula (ints stay exact, ``/`` is float division)."""
    if tree[0] == "num":
        return int(tree[1])
    op, left, right = tree
    a, b = study_float_value(left), study_float_value(right)
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    return a / b


def float_rejected(formula: str | None, target: int = 24) -> bool:
    """True when an exactly correct formula fails the study's float check (``eval(formula) == 24``)."""
    if not formula:
        return False
    try:
        return study_float_value(parse_formula(formula.replace(" ", ""))) != target
    except (FormulaError, ZeroDivisionError):
        return False


@dataclass(frozen=True)
class FloatRejections:
    run: str
    split: str
    successes: int
    rejected: int
    examples: tuple[str, ...]


def float_summary(rows: list[FloatRejections]) -> str:
    """One sentence: how many GP successes over all runs the study's float check would reject."""
    wins, bad = sum(r.successes for r in rows), sum(r.rejected for r in rows)
    runs = len({r.run for r in rows})
    return (
        f"{bad} of {wins} exactly correct GP answers ({runs} runs, chosen checkpoints) would fail the study's float "
        "check `eval(formula) == 24`" + ("; they are listed below." if bad else ".")
    )


def float_rejections(entry: RunEntry, label: str) -> list[FloatRejections]:
    """Per GP split of the chosen checkpoint: successes, and how many the study's float check rejects."""
    rows = []
    for split in ordered_splits(s for s in entry.metrics if s.startswith("points/")):
        path = entry.episodes_file(split)
        if path is None:
            continue
        wins = [t.get("action") for r in read_records(path) if r.get("success") for t in r.get("turns", [])[-1:]]
        bad = [f for f in wins if isinstance(f, str) and float_rejected(f)]
        rows.append(FloatRejections(label, split, len(wins), len(bad), tuple(bad[:3])))
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


def all_float_rejections(groups: dict[Key, list[RunEntry]]) -> list[FloatRejections]:
    """Float-check rejections for every GP run (all seeds)."""
    rows = []
    for (source, task, method), entries in groups.items():
        if task != "points":
            continue
        for entry in entries:
            rows += float_rejections(entry, f"{method} · {source} · seed {entry.seed}")
    return rows
