"""The episode-level GRPO reward, for every task: did the episode that a rollout's first answer starts end solved?

The study rewards each state on its own (1 when the first answer is an optimal move). That teaches the next move;
the evaluation scores whole episodes. The episode reward credits a sampled first answer with the outcome of the
episode it starts: the row's task deals its state again from the row's columns (``Task.check_env``: the state and
the checked words or rules travel as data, the prompt text is never read), the answer is that env's first step,
then the *current* policy plays on greedily, one stateless turn per prompt as in evaluation, until the episode is
solved or ``turns`` turns (the first included) are spent. An invalid first answer scores 0 without playing on, so
a malformed answer never borrows credit from the continuation. A single-turn task's episode is its one answer, so
there the reward is 1 exactly when the verifier calls the answer a success (the step reward's 5/-1/-2/-3 become
1/0/0/0).

Where a row's check comes from (a :data:`CheckReader`): ``sftgen generate rl`` rows carry it as the task's
``rl_columns`` (:func:`rl_row_checks`); the TRL adapter's rows as JSON in ``ground_truth``
(``sftgen.integrations.trl``). The env declares exactly what it checks, so replaying is honest only for rows whose
prompt declared what the row checks: training rows always do; rows of a fake split do not (their first answer was
asked under other words or rules than the continuation would be) and the adapter refuses them.

Why a reward function and not TRL's multi-turn rollouts: TRL 1.16's multi-turn support (tools,
``environment_factory``) grows one chat with tool results, while the study's protocol restarts every turn
from a fresh prompt of the current state. Here the rollout TRL samples and trains on stays the first turn;
only its score comes from the episode (a Monte-Carlo return under the greedy continuation). The continuation
runs on the trainer's own model, in the training process, so it needs one process (no vLLM, no
``accelerate`` multi-process launch: each process would need the whole model).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from sftgen.models.hf_backend import HFBackend
from sftgen.models.sampling import Sampling
from sftgen.prompts import PromptStyle
from sftgen.tasks.protocol import Task, TaskEnv, get_task
from sftgen.train.rewards import completion_text

SOLVED, UNSOLVED = 1.0, 0.0
"""The reward of a rollout whose episode ends solved, and of any other."""
TASK_COLUMN = "task"
"""The column naming each row's task (every ``sftgen generate`` row has it; GRPO keeps only ``rl_columns``)."""

CheckReader = Callable[[int, Mapping[str, Sequence[Any]]], list[tuple[Task[Any], dict[str, Any]]]]
"""(number of rows, the dataset columns TRL passes) -> each row's task and check data."""


def rl_row_checks(task: str | None = None) -> CheckReader:
    """Checks of RL rows: each row's task is its ``task`` column, else ``task``; its check, that task's
    ``rl_columns`` (which hold the state)."""

    def read(n: int, columns: Mapping[str, Sequence[Any]]) -> list[tuple[Task[Any], dict[str, Any]]]:
        names = columns.get(TASK_COLUMN) or [task] * n
        if None in names:
            raise TypeError(f"the episode reward needs a {TASK_COLUMN!r} column or a task to read the rows as")
        checks: list[tuple[Task[Any], dict[str, Any]]] = []
        for i, name in enumerate(names):
            spec = get_task(name)
            missing = [c for c in spec.rl_columns if c not in columns]
            if missing:
                raise TypeError(f"{name} rows need the columns {list(spec.rl_columns)}, missing {missing}")
            checks.append((spec, {c: columns[c][i] for c in spec.rl_columns}))
        return checks

    return read


@dataclass
class Episode:
    """A task env stepped until it is solved or out of turns."""

    env: TaskEnv[Any]
    done: bool = False
    solved: bool = False

    def step(self, text: str) -> bool:
        """Play one turn; whether the answer was valid."""
        *_, terminated, truncated, info = self.env.step(text)
        self.solved = bool(info["success"])
        self.done = bool(terminated or truncated or self.solved)
        return bool(info["valid"])


class EpisodeReward:
    """TRL reward function (``prompts``, ``completions`` and the rows' columns) scoring whole episodes; call
    ``attach(trainer)`` once the trainer exists, so the continuation plays with the model being trained."""

    __name__ = "episode_reward"

    def __init__(
        self,
        style: PromptStyle,
        turns: int,
        max_new_tokens: int,
        batch_size: int = 64,
        read_checks: CheckReader | None = None,
    ) -> None:
        if turns < 1:
            raise ValueError(f"turns must be >= 1, got {turns}")
        self.style = style
        self.turns = turns
        self.sampling = Sampling(temperature=0.0, max_new_tokens=max_new_tokens, greedy=True)
        self.batch_size = batch_size
        self.read_checks = read_checks or rl_row_checks()
        self.trainer: Any = None

    def attach(self, trainer: Any) -> None:
        self.trainer = trainer

    def __call__(self, prompts: list[Any], completions: list[Any], **columns: Any) -> list[float]:
        if self.trainer is None:
            raise RuntimeError("EpisodeReward.attach(trainer) must be called before training")
        episodes = [self.episode(task, check) for task, check in self.read_checks(len(completions), columns)]
        if len(episodes) != len(completions):
            raise ValueError(f"{len(episodes)} rows for {len(completions)} completions")
        valid = [ep.step(completion_text(c)) for ep, c in zip(episodes, completions, strict=True)]
        self._play_on([ep for ep, ok in zip(episodes, valid, strict=True) if ok and not ep.done])
        return [SOLVED if ok and ep.solved else UNSOLVED for ep, ok in zip(episodes, valid, strict=True)]

    def episode(self, task: Task[Any], check: Mapping[str, Any]) -> Episode:
        """The row's episode, dealt from its check data alone."""
        return Episode(task.check_env(check, self.style, self.turns))

    def _play_on(self, live: list[Episode]) -> None:
        """Greedy turns of the current model until every episode is solved or out of turns; a prompt met again is
        answered from memory (greedy output is a function of the prompt), which also shares the work of rollouts
        whose first moves agree."""
        model = self.trainer.accelerator.unwrap_model(self.trainer.model)
        backend = HFBackend(model, self.trainer.processing_class, self.batch_size)
        answers: dict[str, str] = {}
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                while live:
                    chats = [ep.env.observation() for ep in live]  # one stateless prompt: its text names the state
                    new = {chat[-1]["content"]: chat for chat in chats if chat[-1]["content"] not in answers}
                    answers.update(zip(new, backend.generate(list(new.values()), self.sampling), strict=True))
                    for ep, chat in zip(live, chats, strict=True):
                        ep.step(answers[chat[-1]["content"]])
                    live = [ep for ep in live if not ep.done]
        finally:
            model.train(was_training)
