"""Split instances as stack-neutral items: a chat prompt, a JSON-able ground truth, a reference answer, a score.

Why one layer under every adapter: a reward in verl or TRL, a score in reasoning-gym and a scorer in inspect_ai
must each give an answer the score ``sftgen eval`` gives it. Nothing here knows a task: every registered task
(:func:`sftgen.tasks.protocol.task_names`) is served through its :class:`~sftgen.tasks.protocol.Task` alone.

* The ground truth is the task's ``check_data(state, variant)`` plus ``task`` (its name): the *checked* side of
  the variant, so fake splits score what the study scores. ``score`` is ``Task.verify`` on it, an ``Outcome``.
* A single-turn item of a multi-turn task is the start state's first move (``verify`` scores one answer in one
  state: for Sokoban and keys, full marks for an optimal move in the checked words).
* Whole episodes are the task's own env (``Task.make_env`` through ``Instance.make_env``), capped at a turn
  budget (:func:`start_episode`).

Items of a named split with ``seed=None`` are the frozen split (index ``i`` is ``split.instance(i)``, any size,
a prefix of the study's). With a ``seed`` they are fresh puzzles of the same variant and difficulty, drawn from
the seed: more data of one kind, no longer the evaluation split (and not checked against training data).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from sftgen.prompts import Chat, PromptStyle
from sftgen.seeding import derive_seed
from sftgen.splits import SPLITS, TASKS, Instance, Split, get_split
from sftgen.tasks.protocol import Outcome, StepReturn, Task, TaskEnv, get_task

NAMESPACE = "sftgen-integrations-v1"
PREFIX = "sftgen_"
TASK_KEY = "task"
"""The ground truth's one key beside the task's check data: which task verifies it (a mixed dataset holds many)."""
DEFAULT_SPLIT = next(iter(SPLITS))
"""The split an adapter serves when none is named: the first registered task's first split."""
FULL_MARKS_AGENTS = ("oracle", "shortcut")
"""Who writes the reference answer: the oracle (declared words and rules, right on honest variants), else the
shortcut (training words and rules, right on fake ones); the first whose answer verifies is kept."""


@dataclass(frozen=True)
class Item:
    """One instance ready for any stack: the chat prompt sftgen's evaluation sends and what scores the answer."""

    id: str
    split: str
    task: str
    index: int
    variant: str
    difficulty: str
    category: str
    prompt: Chat
    ground_truth: dict[str, Any]
    reference: str
    state: dict[str, Any]
    """The start state as the task's ``state_data`` (for metadata and viewers; scoring reads ``ground_truth``)."""

    @property
    def question(self) -> str:
        """The prompt as one string, for stacks whose datasets hold text rather than chat messages."""
        return "\n\n".join(m["content"] for m in self.prompt)

    def info(self) -> dict[str, Any]:
        """Where the item comes from (JSON-able, one schema for every task), for a stack's metadata column."""
        return {
            "id": self.id,
            "split": self.split,
            "task": self.task,
            "index": self.index,
            "variant": self.variant,
            "difficulty": self.difficulty,
            "category": self.category,
        }


def stack_name(split: Split | str) -> str:
    """``<task>/<split>`` -> ``sftgen_<task>_<split>``: the name a split goes by in other stacks."""
    name = split.name if isinstance(split, Split) else split
    return PREFIX + name.replace("/", "_")


def task_split(task: str) -> Split:
    """The split ``sftgen_<task>`` stands for: the task's first in-distribution (``id``) split."""
    return next(s for s in SPLITS.values() if s.task == task and s.category == "id")


def split_for_stack_name(name: str) -> Split:
    """Inverse of :func:`stack_name` for the registered splits; ``sftgen_<task>`` is :func:`task_split`."""
    by_name = {stack_name(s): s for s in SPLITS.values()}
    by_name |= {f"{PREFIX}{t}": task_split(t) for t in TASKS}
    if name not in by_name:
        raise KeyError(f"unknown sftgen dataset {name!r}; known: {sorted(by_name)}")
    return by_name[name]


def resolve_split(name: str | Split, variant: str | None = None, difficulty: str | None = None) -> Split:
    """A named split, or the same split with another variant and/or difficulty of its task (a custom split)."""
    split = name if isinstance(name, Split) else get_split(name)
    if variant is None and difficulty is None:
        return split
    task = get_task(split.task)
    variant, difficulty = variant or split.variant, difficulty or split.difficulty
    if variant not in task.variants:
        raise ValueError(f"unknown {split.task} variant {variant!r}; known: {sorted(task.variants)}")
    if difficulty not in task.difficulties:
        raise ValueError(f"unknown {split.task} difficulty {difficulty!r}; known: {sorted(task.difficulties)}")
    custom = f"{split.task}/{variant}@{difficulty}"
    return replace(split, name=custom, variant=variant, difficulty=difficulty, category="custom", in_study=False)


def instance_at(split: Split, index: int, seed: int | None = None) -> Instance:
    """The split's frozen instance ``index``, or (with ``seed``) a fresh one of the same kind."""
    frozen = split.instance(index)
    return frozen if seed is None else replace(frozen, seed=derive_seed(NAMESPACE, seed, split.name, index))


def _item_id(instance: Instance, seed: int | None) -> str:
    """The instance's id, marked with the seed when it is a fresh puzzle rather than the frozen one."""
    return instance.id if seed is None else f"{instance.id}@seed{seed}"


def _full_marks_answer(task: Task[Any], state: Any, variant: str, style: PromptStyle, check: Mapping[str, Any]) -> str:
    rng = np.random.default_rng(0)  # neither agent draws from it; reference_answer asks for one
    for agent in FULL_MARKS_AGENTS:
        answer = task.reference_answer(agent, state, variant, style, rng)
        if task.verify(answer, check).success:
            return answer
    raise ValueError(f"no reference agent of task {task.name!r} solves this {variant!r} state: {check}")


def make_item(
    split: Split,
    index: int,
    seed: int | None = None,
    template: str = "study",
    response_format: str = "answer",
) -> Item:
    """Item ``index`` of ``split`` with the prompt ``sftgen eval`` would send for it."""
    instance = instance_at(split, index, seed)
    task = get_task(split.task)
    state = instance.state()
    check = task.check_data(state, split.variant)
    if TASK_KEY in check:
        raise ValueError(f"task {task.name!r}: check data may not use the key {TASK_KEY!r}")
    style = instance.style(template, response_format)
    return Item(
        id=_item_id(instance, seed),
        split=split.name,
        task=split.task,
        index=index,
        variant=split.variant,
        difficulty=split.difficulty,
        category=split.category,
        prompt=instance.make_env(template, response_format).observation(),
        ground_truth={TASK_KEY: split.task, **check},
        reference=_full_marks_answer(task, state, split.variant, style, check),
        state=task.state_data(state),
    )


def make_items(
    split: Split | str,
    size: int | None = None,
    seed: int | None = None,
    template: str = "study",
    response_format: str = "answer",
) -> list[Item]:
    """The first ``size`` items (default: the split's own size)."""
    split = resolve_split(split)
    return [make_item(split, i, seed, template, response_format) for i in range(size or split.size)]


def task_and_check(ground_truth: Mapping[str, Any]) -> tuple[Task[Any], dict[str, Any]]:
    """The task that verifies an item's ground truth, and the check data it verifies against."""
    check = dict(ground_truth)
    return get_task(check.pop(TASK_KEY)), check


def score(text: str, ground_truth: Mapping[str, Any]) -> Outcome:
    """Score a full model response against an item's ground truth with the task's own verifier."""
    task, check = task_and_check(ground_truth)
    return task.verify(text, check)


def score_final_answer(answer: str | None, ground_truth: Mapping[str, Any]) -> Outcome:
    """Score a bare final answer (a move word, a formula) as if the model had answered in sftgen's format: text
    the task cannot read an answer from is written as the response a person's typed answer stands for."""
    task, check = task_and_check(ground_truth)
    if answer is None:
        return task.verify("", check)
    return task.verify(answer if task.parse_answer(answer) is not None else task.play_response(answer), check)


def turn_budget(split: Split) -> int:
    """The turns an episode of ``split`` gets in sftgen (its difficulty's; 1 for a single-turn task)."""
    return get_task(split.task).difficulties[split.difficulty].max_turns


@dataclass
class Episode:
    """A task's env, reset on an instance, that ends after ``max_turns`` turns at the latest.

    Why a cap here and not on the env: the ``TaskEnv`` protocol has no turn budget to set, and a stack asks for a
    shorter episode than the task's own (a cheaper rollout); the env's own truncation still applies.
    """

    id: str
    """The item id of the instance played (as :attr:`Item.id`)."""
    env: TaskEnv[Any]
    max_turns: int
    turn: int = 0

    def observation(self) -> Chat:
        return self.env.observation()

    def step(self, text: str) -> StepReturn:
        """The env's step; ``truncated`` also once the cap is reached unsolved."""
        observation, reward, terminated, truncated, info = self.env.step(text)
        self.turn += 1
        return observation, reward, terminated, truncated or (not terminated and self.turn >= self.max_turns), info


def start_episode(
    split: Split,
    index: int,
    seed: int | None = None,
    template: str = "study",
    response_format: str = "answer",
    max_turns: int | None = None,
) -> Episode:
    """The episode of item ``index`` (as :func:`instance_at` picks it), at most ``max_turns`` turns long (default
    and ceiling: the task's own :func:`turn_budget`)."""
    if max_turns is not None and max_turns < 1:
        raise ValueError(f"max_turns must be >= 1, got {max_turns}")
    budget = turn_budget(split)
    instance = instance_at(split, index, seed)
    env = instance.make_env(template, response_format)
    return Episode(_item_id(instance, seed), env, budget if max_turns is None else min(max_turns, budget))
