"""The keys episode, Gymnasium-style: ``reset(seed)`` gives the prompt, ``step(text)`` the five-tuple.

Unparseable text is an invalid turn, never an exception: the state stays and the turn is spent, as in the study.
The state after each step travels in ``info["state"]`` as data, so nothing downstream parses the prompt back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sftgen.prompts import Chat, PromptStyle

from .checking import NO_ANSWER, UNKNOWN_WORD, read_action
from .generator import KeysDifficulty, generate_level
from .prompts import messages
from .variants import KeysVariant
from .world import KeysState

STEP_PENALTY = -0.1
DOOR_REWARD = 1.0
EXIT_REWARD = 10.0
TURN_OUTCOMES = ("valid", UNKNOWN_WORD, NO_ANSWER)
"""What ``info["outcome"]`` can be after a turn (the verifier's optimal/suboptimal split is per state, not per turn)."""


def state_for_seed(seed: int, variant: KeysVariant, difficulty: KeysDifficulty) -> KeysState:
    """The level an (already hashed) instance seed stands for; solvable under the *checked* rules."""
    return generate_level(np.random.default_rng(seed), difficulty, variant.checked_rules).state


@dataclass
class KeysEnv:
    """A closed-loop keys episode: one move per turn, up to ``max_turns`` turns."""

    variant: KeysVariant
    difficulty: KeysDifficulty
    style: PromptStyle = field(default_factory=PromptStyle)
    max_turns: int | None = None
    state: KeysState | None = None
    turn: int = 0

    def __post_init__(self) -> None:
        if self.max_turns is None:
            self.max_turns = self.difficulty.max_steps

    def reset(self, seed: int | None = None, *, state: KeysState | None = None) -> Chat:
        """Start an episode on ``state``, or on the level generated from ``seed``."""
        if state is None:
            if seed is None:
                raise ValueError("reset needs a seed or a state")
            state = state_for_seed(seed, self.variant, self.difficulty)
        self.state, self.turn = state, 0
        return self.observation()

    def observation(self) -> Chat:
        if self.state is None:
            raise RuntimeError("call reset() before using the environment")
        return messages(self.state, self.variant.declared_words, self.variant.declared_rules, self.style)

    def step(self, text: str) -> tuple[Chat, float, bool, bool, dict[str, Any]]:
        if self.state is None:
            raise RuntimeError("call reset() before step()")
        assert self.max_turns is not None
        if self.turn >= self.max_turns or self.state.is_solved():
            raise RuntimeError("episode is over; call reset()")
        self.turn += 1
        answer, action = read_action(text, self.variant.checked_words)
        reward, moved, event = 0.0, False, "no move"
        if action is not None:
            move = self.state.step(action, self.variant.checked_rules)
            self.state, moved, event = move.state, move.moved, move.event
            reward = STEP_PENALTY + (DOOR_REWARD if move.opened else 0.0)
        success = self.state.is_solved()
        reward = round(reward + (EXIT_REWARD if success else 0.0), 10)
        outcome = "valid" if action is not None else NO_ANSWER if answer is None else UNKNOWN_WORD
        info = {
            "valid": action is not None,
            "action": action,
            "answer": answer,
            "outcome": outcome,
            "reason": event if action is not None else outcome,
            "moved": moved,
            "success": success,
            "turn": self.turn,
            "state": self.state.as_data(),
        }
        truncated = not success and self.turn >= self.max_turns
        return self.observation(), reward, success, truncated, info
