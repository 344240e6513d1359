"""General Points' episode: one answer, scored by the exact verifier; ``info["state"]`` is the hand as data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sftgen.prompts import Chat, PromptStyle

from .cards import Hand, generate_hand
from .prompts import points_messages
from .variants import PointsDifficulty, PointsVariant
from .verifier import Outcome, verify


def hand_for_seed(seed: int, difficulty: PointsDifficulty, variant: PointsVariant) -> Hand:
    """The hand an instance seed stands for; solvable under the *scored* face values."""
    return generate_hand(
        np.random.default_rng(seed),
        num_cards=difficulty.num_cards,
        scored_map=variant.scored,
        require_face=difficulty.require_face,
        large=difficulty.large,
    )


@dataclass
class PointsEnv:
    """A single-turn General Points episode scored by the exact verifier."""

    variant: PointsVariant
    difficulty: PointsDifficulty
    style: PromptStyle = field(default_factory=PromptStyle)
    hand: Hand | None = None
    done: bool = False
    outcome: Outcome | None = None

    def reset(self, seed: int | None = None, *, hand: Hand | None = None, state: Hand | None = None) -> Chat:
        hand = hand if hand is not None else state
        if hand is None:
            if seed is None:
                raise ValueError("reset needs a seed or a hand")
            hand = hand_for_seed(seed, self.difficulty, self.variant)
        self.hand, self.done, self.outcome = hand, False, None
        return self.observation()

    def observation(self) -> Chat:
        if self.hand is None:
            raise RuntimeError("call reset() before using the environment")
        return points_messages(self.hand, self.variant.declared, self.style)

    @property
    def state(self) -> Hand | None:
        """The dealt hand (the protocol's ``TaskEnv.state``; a Points episode never changes it)."""
        return self.hand

    def step(self, text: str) -> tuple[Chat, float, bool, bool, dict[str, Any]]:
        if self.hand is None or self.done:
            raise RuntimeError("call reset() before step()")
        outcome = verify(text, self.hand.values(self.variant.scored))
        self.done, self.outcome = True, outcome
        info = {
            "valid": outcome.valid,
            "action": outcome.formula,
            "answer": outcome.formula,
            "reason": f"{outcome.kind.value}: {outcome.reason}",
            "outcome": outcome.kind.value,
            "success": outcome.success,
            "turn": 1,
            "state": {"ranks": list(self.hand.ranks)},
        }
        return self.observation(), outcome.reward, True, False, info
