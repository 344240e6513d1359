"""sftgen's tasks and splits as reasoning-gym datasets (extra ``reasoning-gym``).

Importing this module registers, for every registered sftgen task, ``sftgen_<task>`` (the task's ``id`` split)
and ``sftgen_<task>_<split>`` for each of its named splits, so ``reasoning_gym.create_dataset(
"sftgen_sokoban_numerical", size=1000, seed=None)`` gives the frozen split's first 1,000 instances and ``seed=7``
gives fresh puzzles of the same kind. ``variant=`` and ``difficulty=`` give any other combination
(``create_dataset("sftgen_points", variant="all_5", difficulty="five")``).

Why not reasoning-gym's own ``puzzle24``/``sokoban``: its puzzle24 scorer credits answers our verifier rejects
(see docs/integrations.md), and sftgen's value is the instruction and fake variants, which it has no notion of.
``score_answer`` gets the bare final answer reasoning-gym extracts from ``<answer>`` tags; it is scored as if the
model had answered in sftgen's format, 1.0 for a solved item (a multi-turn task's optimal first move), else 0.0.
"""

from __future__ import annotations

from dataclasses import dataclass, field, make_dataclass
from typing import Any

from reasoning_gym.dataset import ProceduralDataset
from reasoning_gym.factory import DATASETS, register_dataset

from sftgen.integrations.items import (
    DEFAULT_SPLIT,
    PREFIX,
    make_item,
    resolve_split,
    score_final_answer,
    split_for_stack_name,
    stack_name,
)
from sftgen.prompts import PromptStyle
from sftgen.splits import SPLITS, TASKS


@dataclass
class SftgenConfig:
    """reasoning-gym configuration of one sftgen dataset; each registered name sets its own defaults of ``split``
    and ``dataset_name`` (entries name their dataset, so that reasoning-gym's composite datasets score them)."""

    split: str = DEFAULT_SPLIT
    dataset_name: str = stack_name(DEFAULT_SPLIT)
    variant: str | None = None
    difficulty: str | None = None
    template: str = "study"
    response_format: str = "answer"
    seed: int | None = None
    size: int = 500

    def validate(self) -> None:
        assert self.size > 0, "size must be positive"
        resolve_split(self.split, self.variant, self.difficulty)
        PromptStyle(self.template, 0, self.response_format)


class SftgenDataset(ProceduralDataset):
    """Items of one sftgen split; ``entry["metadata"]["ground_truth"]`` is what ``score_answer`` checks."""

    def __init__(self, config: SftgenConfig) -> None:
        # The frozen split is addressed by index alone: keep seed None rather than let the base class draw one.
        super().__init__(config=config, seed=config.seed, size=config.size)
        self.seed = config.seed
        self.split = resolve_split(config.split, config.variant, config.difficulty)

    def __getitem__(self, idx: int) -> dict[str, Any]:
        if not 0 <= idx < self.size:
            raise IndexError(f"index {idx} out of range for size {self.size}")
        item = make_item(self.split, idx, self.seed, self.config.template, self.config.response_format)
        return {
            "question": item.question,
            "answer": item.reference,
            "metadata": {
                **item.info(),
                "source_dataset": self.config.dataset_name,
                "source_index": idx,
                "ground_truth": item.ground_truth,
                "state": item.state,
                "difficulty": {"variant": item.variant, "difficulty": item.difficulty},
            },
        }

    def score_answer(self, answer: str | None, entry: dict[str, Any]) -> float:
        return 1.0 if score_final_answer(answer, entry["metadata"]["ground_truth"]).success else 0.0


def registered_names() -> list[str]:
    """Every dataset name this module registers."""
    return [f"{PREFIX}{task}" for task in TASKS] + [stack_name(split) for split in SPLITS]


def register_all() -> None:
    """Register every sftgen task and split with reasoning-gym (names already registered are left alone)."""
    for name in registered_names():
        if name in DATASETS:
            continue
        split = split_for_stack_name(name).name
        config = make_dataclass(
            f"SftgenConfig_{name}",
            [("split", str, field(default=split)), ("dataset_name", str, field(default=name))],
            bases=(SftgenConfig,),
        )
        register_dataset(name, SftgenDataset, config)


register_all()
