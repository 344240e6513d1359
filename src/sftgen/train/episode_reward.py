"""Sokoban's episode-level GRPO reward: did the episode that a rollout's first move starts end solved?

The study rewards each state on its own (1 when the first answer is an optimal move). That teaches the
next move; the evaluation scores whole episodes. The episode reward credits a sampled first move with the
outcome of the episode it starts: the move is applied to the row's board, then the *current* policy plays
on greedily, one stateless turn per prompt as in evaluation, until the board is solved or ``turns`` turns
(the first included) are spent. An invalid first answer scores 0 without playing on, so a malformed answer
never borrows credit from the continuation.

Why a reward function and not TRL's multi-turn rollouts: TRL 1.16's multi-turn support (tools,
``environment_factory``) grows one chat with tool results, while the study's protocol restarts every turn
from a fresh prompt of the current board. Here the rollout TRL samples and trains on stays the first turn;
only its score comes from the episode (a Monte-Carlo return under the greedy continuation). The continuation
runs on the trainer's own model, in the training process, so it needs one process (no vLLM, no
``accelerate`` multi-process launch: each process would need the whole model).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from sftgen.agents import read_board, read_declared_words
from sftgen.envs import SokobanEnv
from sftgen.models.hf_backend import HFBackend
from sftgen.models.sampling import Sampling
from sftgen.prompts import PromptStyle
from sftgen.tasks.sokoban import Board, Level, SokobanDifficulty
from sftgen.train.rewards import completion_text
from sftgen.variants import SokobanVariant

EPISODE_TASK = "sokoban"
"""The one task whose RL rows this reward can replay (it rebuilds the board from the prompt)."""
SOLVED, UNSOLVED = 1.0, 0.0
"""The reward of a rollout whose episode ends solved, and of any other."""


def prompt_text(prompt: Any) -> str:
    """The user text of a row's prompt (a chat or a plain string)."""
    if isinstance(prompt, str):
        return prompt
    return next(m["content"] for m in reversed(prompt) if m.get("role") == "user")


def state_env(prompt: str, words: Sequence[str], style: PromptStyle, turns: int) -> SokobanEnv:
    """An environment standing on the board drawn in ``prompt``, answering in ``words``, ``turns`` turns long."""
    board: Board = read_board(prompt)
    declared = read_declared_words(prompt)
    if declared is None or tuple(declared.words) != tuple(words):
        raise ValueError(f"the prompt does not declare the row's words {list(words)}")
    difficulty = SokobanDifficulty("rl-state", board.height, board.width, len(board.boxes))
    env = SokobanEnv(SokobanVariant("declared", declared, declared), difficulty, style, max_turns=turns)
    env.reset(level=Level(board, ()))
    return env


class EpisodeReward:
    """TRL reward function (``prompts``, ``completions``, ``words`` column) scoring whole episodes; call
    ``attach(trainer)`` once the trainer exists, so the continuation plays with the model being trained."""

    __name__ = "sokoban_episode_reward"

    def __init__(self, style: PromptStyle, turns: int, max_new_tokens: int, batch_size: int = 64) -> None:
        if turns < 1:
            raise ValueError(f"turns must be >= 1, got {turns}")
        self.style = style
        self.turns = turns
        self.sampling = Sampling(temperature=0.0, max_new_tokens=max_new_tokens, greedy=True)
        self.batch_size = batch_size
        self.trainer: Any = None

    def attach(self, trainer: Any) -> None:
        self.trainer = trainer

    def __call__(
        self, prompts: list[Any], completions: list[Any], words: list[Sequence[str]], **_columns: Any
    ) -> list[float]:
        if self.trainer is None:
            raise RuntimeError("EpisodeReward.attach(trainer) must be called before training")
        envs = [state_env(prompt_text(p), w, self.style, self.turns) for p, w in zip(prompts, words, strict=True)]
        first_valid = [bool(env.step(completion_text(c))[4]["valid"]) for env, c in zip(envs, completions, strict=True)]
        self._play_on([env for env, ok in zip(envs, first_valid, strict=True) if ok and not _over(env)])
        return [SOLVED if ok and _solved(env) else UNSOLVED for env, ok in zip(envs, first_valid, strict=True)]

    def _play_on(self, live: list[SokobanEnv]) -> None:
        """Greedy turns of the current model until every episode is solved or out of turns; a board met again
        is answered from memory (greedy output is a function of the prompt), which also shares the work of
        rollouts whose first moves agree."""
        model = self.trainer.accelerator.unwrap_model(self.trainer.model)
        backend = HFBackend(model, self.trainer.processing_class, self.batch_size)
        answers: dict[str, str] = {}
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                while live:
                    chats = [env.observation() for env in live]
                    new = {chat[-1]["content"]: chat for chat in chats if chat[-1]["content"] not in answers}
                    answers.update(zip(new, backend.generate(list(new.values()), self.sampling), strict=True))
                    for env, chat in zip(live, chats, strict=True):
                        env.step(answers[chat[-1]["content"]])
                    live = [env for env in live if not _over(env)]
        finally:
            model.train(was_training)


def _solved(env: SokobanEnv) -> bool:
    return env.board is not None and env.board.is_solved()


def _over(env: SokobanEnv) -> bool:
    return _solved(env) or env.turn >= env.max_turns
