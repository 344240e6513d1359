"""Reference agents that answer like a model would, so they plug in wherever a model does.

* ``oracle``: the solver, answering as the prompt *declares* (an upper bound on instruction following).
* ``shortcut``: the solver, answering in the training words and rules (Up/Down/Left/Right, J=Q=K=10): exactly the
  frozen-prompt behaviour, so it scores on fake splits and is invalid on honest variants.
* ``random``: a random declared word, or a random arrangement of the declared numbers.

Where the caller has the episode's state (the evaluation rollout does), :meth:`ReferenceAgent.answer_situations`
asks the task (``Task.reference_answer``) from the state. Where only text arrives (a served fake model),
:meth:`ReferenceAgent.answer` asks each registered task in turn to read the prompt back (``Task.answer_from_text``;
a task answers None for a prompt that is not its own), which also checks that every prompt carries what a model
needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from sftgen.prompts import PromptStyle
from sftgen.seeding import derive_seed
from sftgen.tasks.protocol import Task, TaskEnv, get_task, require_agent, task_names


@cache
def _tasks() -> tuple[Task[Any], ...]:
    """Every registered task in registry order, the order they are asked to read a prompt (looked up once: listing
    entry points takes a while, and a served agent reads one prompt per request)."""
    return tuple(get_task(name) for name in task_names())


@dataclass(frozen=True)
class Situation:
    """One prompt together with what produced it: the task, its variant, the current state and the style."""

    task: str
    variant: str
    state: Any
    style: PromptStyle
    prompt: str


class ReferenceAgent:
    """A backend (``generate(chats, sampling) -> texts``) that answers from the prompt by rule."""

    def __init__(self, kind: str, seed: int = 0) -> None:
        require_agent(kind)
        self.kind, self.seed = kind, seed
        self._asked: dict[str, int] = {}  # how often each prompt was answered: a stuck random walk moves on

    def generate(self, chats: Sequence[Sequence[dict[str, str]]], sampling: object = None) -> list[str]:
        return [self.answer(chat[-1]["content"]) for chat in chats]

    def _rng(self, prompt: str) -> np.random.Generator:
        """Seeded by (agent, seed, prompt, how often this prompt was asked): the same in both paths."""
        repeat = self._asked[prompt] = self._asked.get(prompt, 0) + 1
        return np.random.default_rng(derive_seed("agent", self.kind, self.seed, prompt, repeat))

    def answer_situations(self, situations: Sequence[Situation]) -> list[str]:
        """Answers read from each state by its task, never from the text (the rollout calls this when present)."""
        return [
            get_task(s.task).reference_answer(self.kind, s.state, s.variant, s.style, self._rng(s.prompt))
            for s in situations
        ]

    def answer(self, prompt: str) -> str:
        """The answer read back from the prompt text by the first registered task that reads it."""
        rng = self._rng(prompt)
        for task in _tasks():
            text = task.answer_from_text(self.kind, prompt, rng)
            if text is not None:
                return text
        raise ValueError(f"none of the tasks reads this prompt ({', '.join(t.name for t in _tasks())})")


def oracle_answer(env: TaskEnv[Any]) -> str:
    """What the oracle writes for the env's current prompt."""
    return ReferenceAgent("oracle").answer(env.observation()[-1]["content"])
