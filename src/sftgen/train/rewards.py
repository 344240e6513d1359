"""GRPO rewards that are the evaluation verifiers (house rule 4), in TRL's reward-function signature.

Why here and not a regex of their own: a reward that disagrees with the metric trains the model toward a
different target than the one reported. The Sokoban reward parses the answer with ``sftgen.envs.parse_action``
(the evaluation parser) under the row's *declared* words; the Points reward is ``verify(...).reward``.

TRL calls each function as ``f(prompts=..., completions=..., completion_ids=..., **columns)`` where every
dataset column (``words``, ``optimal_actions``, ``card_values``, ...) arrives as a list, one item per
completion. Completions are strings or, for chat prompts, lists of messages.

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

from sftgen.envs import parse_action
from sftgen.tasks.points import verify
from sftgen.variants import ActionVocab

RewardFunc = Callable[..., list[float]]

SOKOBAN_CORRECT, SOKOBAN_WRONG = 1.0, 0.0
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


def sokoban_step_reward(text: str, words: Sequence[str], optimal_actions: Sequence[str]) -> float:
    """Study per-state reward: 1 when the first ``<answer>`` names an optimal action in the declared words."""
    vocab = ActionVocab("declared", tuple(words), explained=True)  # type: ignore[arg-type]
    parsed = parse_action(text, vocab)
    return SOKOBAN_CORRECT if parsed.action is not None and parsed.action in optimal_actions else SOKOBAN_WRONG


def sokoban_reward(
    prompts: list[Any],
    completions: list[Any],
    words: list[Sequence[str]],
    optimal_actions: list[Sequence[str]],
    **_columns: Any,
) -> list[float]:
    """TRL reward for ``sftgen generate rl --task sokoban`` rows (columns ``words``, ``optimal_actions``)."""
    return [
        sokoban_step_reward(completion_text(c), w, o)
        for c, w, o in zip(completions, words, optimal_actions, strict=True)
    ]


def points_reward(
    prompts: list[Any], completions: list[Any], card_values: list[Sequence[int]], **_columns: Any
) -> list[float]:
    """TRL reward for ``sftgen generate rl --task points`` rows: the verifier's 5 / -1 / -2 / -3."""
    return [verify(completion_text(c), v).reward for c, v in zip(completions, card_values, strict=True)]


TASK_REWARDS: dict[str, RewardFunc] = {"sokoban": sokoban_reward, "points": points_reward}
TASK_COLUMNS: dict[str, tuple[str, ...]] = {
    "sokoban": ("prompt", "words", "optimal_actions"),
    "points": ("prompt", "card_values"),
}


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
    if task not in TASK_REWARDS:
        raise ValueError(f"no reward for task {task!r}; known: {sorted(TASK_REWARDS)}")
    return [checked(TASK_REWARDS[task])]


def repeat_char_rate(texts: Sequence[str]) -> float:
    """Share of texts holding a run of ``REPEAT_RUN`` identical non-space characters (RL collapse alarm)."""
    if not texts:
        return 0.0
    return sum(1 for t in texts if _RUN.search(t)) / len(texts)
