"""sftgen splits as TRL GRPO prompts, scored by the verifier in TRL's reward_funcs signature (TRL is a core
dependency; no extra).

``grpo_dataset("<task>/<split>,<task>/<split>", size=256)`` has the columns ``prompt`` (chat), ``ground_truth``
(JSON, one column for every task, so one dataset can mix tasks), ``split`` and ``words`` (the checked action
words where the task's check data has them, else empty; the episode reward reads them). Rewards:

* :data:`verifier_reward`: each completion scored by its row's task verifier (``Task.verify`` through
  :func:`sftgen.integrations.items.score`, what ``sftgen train grpo`` rewards with), checked for length and type
  by ``sftgen.train.rewards.checked``. A multi-turn task's row is its start state's first move.
* :func:`episode_reward`: the whole-episode reward of ``sftgen.train.episode_reward.EpisodeReward``, which plays
  each rollout's first move on with the trainer's own model; call ``.attach(trainer)`` once the trainer exists.
  It serves only the task named by ``episode_reward.EPISODE_TASK`` (Sokoban: it rebuilds the board from the
  prompt) and needs prompts that declare the row's words, so it fits honest variants, not fake or empty ones.

Why not TRL's ``environment_factory`` for multi-turn tasks: it grows one chat with tool calls and tool results,
while the study restarts every turn from a fresh prompt of the current state; the episode reward keeps the
study's protocol (see ``sftgen.train.episode_reward``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sftgen.integrations.items import Item, make_items, score
from sftgen.prompts import PromptStyle
from sftgen.splits import resolve_splits
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


def episode_reward(
    template: str = "study", response_format: str = "answer", turns: int = 30, max_new_tokens: int = 64
) -> Any:
    """The whole-episode TRL reward for :func:`grpo_dataset` rows of ``EPISODE_TASK``; ``.attach(trainer)``
    before training."""
    from sftgen.train.episode_reward import EpisodeReward

    return EpisodeReward(PromptStyle(template, 0, response_format), turns, max_new_tokens)
