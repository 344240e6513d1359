"""sftgen splits as TRL GRPO prompts, scored by the verifier in TRL's reward_funcs signature (TRL is a core
dependency; no extra).

``grpo_dataset("<task>/<split>,<task>/<split>", size=256)`` has the columns ``prompt`` (chat), ``ground_truth``
(JSON of the task's check data and ``task``, one column for every task, so one dataset can mix tasks), ``split``
and ``words`` (the checked action words where the task's check data has them, else empty). Rewards:

* :data:`verifier_reward`: each completion scored by its row's task verifier (``Task.verify`` through
  :func:`sftgen.integrations.items.score`, what ``sftgen train grpo`` rewards with), checked for length and type
  by ``sftgen.train.rewards.checked``. A multi-turn task's row is its start state's first move.
* :func:`episode_reward`: the whole-episode reward of ``sftgen.train.episode_reward.EpisodeReward`` for every
  task: each row's task deals the row's state again from ``ground_truth`` (``Task.check_env``; the prompt text
  is not read), the rollout is the first move and the trainer's own model plays on; 1 when the episode ends
  solved (a single-turn task's episode is its one answer). Call ``.attach(trainer)`` once the trainer exists. Rows
  of a fake split are refused: the continuation's prompts declare what is checked, so the episode would not be
  the one the fake prompt started.

Why not TRL's ``environment_factory`` for multi-turn tasks: it grows one chat with tool calls and tool results,
while the study restarts every turn from a fresh prompt of the current state; the episode reward keeps the
study's protocol (see ``sftgen.train.episode_reward``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sftgen.integrations.items import Item, make_items, score, task_and_check
from sftgen.prompts import PromptStyle
from sftgen.splits import SPLITS, resolve_splits
from sftgen.tasks.protocol import Task, get_task
from sftgen.train.rewards import RewardFunc, checked, completion_text


def grpo_row(item: Item) -> dict[str, Any]:
    """One item as a GRPO prompt row."""
    return {
        "prompt": item.prompt,
        "ground_truth": json.dumps(item.ground_truth, ensure_ascii=False),
        "split": item.split,
        "words": list(item.ground_truth.get("words", [])),
    }


def grpo_dataset(
    split_names: Sequence[str] | str,
    size: int | None = None,
    seed: int | None = None,
    template: str = "study",
    response_format: str = "answer",
) -> Any:
    """A ``datasets.Dataset`` of GRPO prompt rows from named splits/groups (each its first ``size`` items)."""
    from datasets import Dataset

    rows = [
        grpo_row(item)
        for split in resolve_splits(split_names, size)
        for item in make_items(split, None, seed, template, response_format)
    ]
    return Dataset.from_list(rows)


def _verifier_reward(
    prompts: list[Any], completions: list[Any], ground_truth: list[str], **_columns: Any
) -> list[float]:
    return [score(completion_text(c), json.loads(t)).reward for c, t in zip(completions, ground_truth, strict=True)]


verifier_reward: RewardFunc = checked(_verifier_reward, "sftgen_verifier")
"""TRL reward: the study's reward of each completion under its row's task verifier."""


def ground_truth_checks(n: int, columns: Mapping[str, Sequence[Any]]) -> list[tuple[Task[Any], dict[str, Any]]]:
    """Each :func:`grpo_dataset` row's task and check data, read from ``ground_truth``; a row of a fake split is an
    error (its prompt declared other words, rules or values than the ones checked, which the replay declares)."""
    if "ground_truth" not in columns:
        raise TypeError("the episode reward needs grpo_dataset's `ground_truth` column")
    for split in set(columns.get("split") or ()):
        spec = SPLITS.get(split)
        if spec is not None and get_task(spec.task).variants[spec.variant].fake:
            raise ValueError(
                f"{split} is a fake split (declared ≠ checked): its episodes cannot be replayed honestly, "
                "so the episode reward refuses it; score its first moves with verifier_reward"
            )
    return [task_and_check(json.loads(text)) for text in columns["ground_truth"]]


def episode_reward(
    template: str = "study", response_format: str = "answer", turns: int = 30, max_new_tokens: int = 64
) -> Any:
    """The whole-episode TRL reward for :func:`grpo_dataset` rows of any task (fake splits refused), ``turns``
    turns at most; ``.attach(trainer)`` before training."""
    from sftgen.train.episode_reward import EpisodeReward

    style = PromptStyle(template, 0, response_format)
    return EpisodeReward(style, turns, max_new_tokens, read_checks=ground_truth_checks)
