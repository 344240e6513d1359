"""GRPO rewards that are the evaluation verifiers (house rule 4), in TRL's reward-function signature.

Why here and not a regex of their own: a reward that disagrees with the metric trains the model toward a
different target than the one reported. Every task's reward is its own verifier, ``Task.verify(text, row).reward``
on the RL row's columns (``Task.rl_columns``): the row is its own check data.

TRL calls each function as ``f(prompts=..., completions=..., completion_ids=..., **columns)`` where every
dataset column arrives as a list, one item per completion. Completions are strings or, for chat prompts, lists of
messages.

``checked(func)`` wraps a reward so that a wrong length, a non-list or a non-number is an error naming the
function (TRL issue 6533: a wrong count was once silently broadcast; TRL 1.16 checks the length, not the type).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Sequence
from numbers import Real
from typing import Any

from sftgen.tasks.protocol import get_task, task_names

RewardFunc = Callable[..., list[float]]

REPEAT_RUN = 8
"""A completion with a run of this many identical non-space characters counts as degenerate ("!!!!!!!!")."""
_RUN = re.compile(r"(\S)\1{" + str(REPEAT_RUN - 1) + ",}")


class RewardError(ValueError):
    """A reward function broke the contract: one finite float per completion."""


def completion_text(completion: Any) -> str:
    """The text a model produced: a plain string, or the contents of a list of chat messages joined."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        completion = [completion]
    parts: list[str] = []
    for message in completion or []:
        content = message.get("content", "") if isinstance(message, dict) else message
        if isinstance(content, list):  # content blocks: [{"type": "text", "text": ...}]
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        parts.append(content if isinstance(content, str) else "")
    return "\n".join(parts)


@functools.cache
def verifier_reward(task: str) -> RewardFunc:
    """TRL reward for ``sftgen generate rl --task TASK`` rows: the task's verifier reward on each row's columns.

    Named ``<task>_reward`` (TRL logs ``rewards/<name>/mean``); one function object per task, so the checked
    wrapper's ``__wrapped__`` is always this one."""
    spec = get_task(task)

    def reward(prompts: list[Any], completions: list[Any], **columns: Any) -> list[float]:
        present = [c for c in spec.rl_columns if c in columns]  # verify may need fewer (check_env reads the rest)
        rows = [{c: columns[c][i] for c in present} for i in range(len(completions))]
        try:
            return [spec.verify(completion_text(c), row).reward for c, row in zip(completions, rows, strict=True)]
        except KeyError as err:
            missing = [c for c in spec.rl_columns if c not in columns]
            if not missing:  # not a column the rows lack: the verifier's own error
                raise
            needs = f"{task}_reward needs the RL row columns {list(spec.rl_columns)}, missing {missing}"
            raise TypeError(needs) from err

    reward.__name__ = reward.__qualname__ = f"{task}_reward"
    return reward


def reward_columns(task: str) -> tuple[str, ...]:
    """The dataset columns a GRPO run on ``task`` keeps: the prompt and what the verifier reads."""
    return ("prompt", *get_task(task).rl_columns)


def check_rewards(name: str, rewards: Any, expected: int) -> list[float]:
    """``rewards`` as a list of floats, or ``RewardError`` naming the function and what is wrong."""
    if not isinstance(rewards, (list, tuple)):
        raise RewardError(f"reward function {name!r} returned {type(rewards).__name__}, expected a list of floats")
    if len(rewards) != expected:
        raise RewardError(
            f"reward function {name!r} returned {len(rewards)} rewards for {expected} completions "
            "(one per completion is required)"
        )
    out: list[float] = []
    for i, value in enumerate(rewards):
        if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(float(value)):
            raise RewardError(f"reward function {name!r} returned {value!r} at index {i}, expected a finite float")
        out.append(float(value))
    return out


def checked(func: RewardFunc, name: str | None = None) -> RewardFunc:
    """``func`` with its output checked by ``check_rewards``; keeps the name TRL logs rewards under."""
    label = name or getattr(func, "__name__", type(func).__name__)

    @functools.wraps(func)
    def wrapper(prompts: list[Any], completions: list[Any], **columns: Any) -> list[float]:
        return check_rewards(label, func(prompts=prompts, completions=completions, **columns), len(completions))

    wrapper.__name__ = label
    return wrapper


def task_rewards(task: str) -> list[RewardFunc]:
    """The checked verifier reward(s) for a task's RL rows."""
    if task not in task_names():
        raise ValueError(f"no reward for task {task!r}; known: {sorted(task_names())}")
    return [checked(verifier_reward(task))]


def __getattr__(name: str) -> RewardFunc:
    """``<task>_reward`` for any registered task (``sokoban_reward``, ``points_reward``, ...), made on first use."""
    task = name.removesuffix("_reward")
    if name.endswith("_reward") and task in task_names():
        return verifier_reward(task)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def repeat_char_rate(texts: Sequence[str]) -> float:
    """Share of texts holding a run of ``REPEAT_RUN`` identical non-space characters (RL collapse alarm)."""
    if not texts:
        return 0.0
    return sum(1 for t in texts if _RUN.search(t)) / len(texts)
