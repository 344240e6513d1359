"""Gymnasium-style text environments: one episode each, text in, chat prompt out.

``reset(seed)`` returns the observation (the stateless prompt for the current state, as chat
messages); ``step(text)`` parses the model's text under the *checked* vocabulary, applies it and
returns ``(observation, reward, terminated, truncated, info)``. Unparseable text is an invalid turn,
never an exception: the board stays put and the turn is spent, as in the study.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sftgen.prompts import Chat, PromptStyle, points_messages, sokoban_messages
from sftgen.tasks.points import Hand, Outcome, generate_hand, verify
from sftgen.tasks.sokoban import Board, Level, SokobanDifficulty, generate_level
from sftgen.variants import ActionVocab, PointsDifficulty, PointsVariant, SokobanVariant

ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)  # for short trusted text; see parse_action
OPEN_TAG, CLOSE_TAG = "<answer>", "</answer>"
MAX_PARSE_CHARS = 65_536
"""Only this prefix of a model's text is read: a 256-token answer is ~1k characters, and the bound keeps one
step's cost fixed whatever a model (or a client) sends."""
MAX_TURNS = 30


@dataclass(frozen=True)
class ParsedAction:
    """What a model's text means under a vocabulary: an action, or why it is invalid."""

    action: str | None
    answer: str | None
    reason: str

    @property
    def valid(self) -> bool:
        return self.action is not None


def parse_action(text: str, vocab: ActionVocab) -> ParsedAction:
    """Study rule: the first ``<answer>...</answer>`` (across newlines), stripped, is one whole action.

    Two ``str.find`` calls over the first :data:`MAX_PARSE_CHARS` characters: linear time (a lazy regex was
    quadratic on text with many unclosed ``<answer>`` tags).
    """
    head = text[:MAX_PARSE_CHARS]
    start = head.find(OPEN_TAG)
    end = -1 if start == -1 else head.find(CLOSE_TAG, start + len(OPEN_TAG))
    if end == -1:
        return ParsedAction(None, None, f"no <answer> tag in the first {MAX_PARSE_CHARS} characters")
    answer = head[start + len(OPEN_TAG) : end].strip()
    action = vocab.action_for(answer)
    if action is None:
        return ParsedAction(None, answer, f"{answer[:40]!r} is not one of {list(vocab.words)}")
    return ParsedAction(action, answer, "ok")


def level_for_seed(seed: int, difficulty: SokobanDifficulty) -> Level:
    """The level an instance seed stands for (instance seeds are already hashed)."""
    return generate_level(np.random.default_rng(seed), difficulty)


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
class SokobanEnv:
    """A closed-loop Sokoban episode: one action per turn, up to ``max_turns`` turns."""

    variant: SokobanVariant
    difficulty: SokobanDifficulty
    style: PromptStyle = field(default_factory=PromptStyle)
    max_turns: int = MAX_TURNS
    board: Board | None = None
    level: Level | None = None
    turn: int = 0

    def reset(self, seed: int | None = None, *, level: Level | None = None, state: Board | None = None) -> Chat:
        """Start an episode on ``level`` or board ``state`` (the protocol's form), or on ``seed``'s level."""
        if state is not None:
            self.level, self.board, self.turn = None, state, 0
            return self.observation()
        if level is None:
            if seed is None:
                raise ValueError("reset needs a seed or a level")
            level = level_for_seed(seed, self.difficulty)
        self.level, self.board, self.turn = level, level.board, 0
        return self.observation()

    @property
    def state(self) -> Board | None:
        """The current board (the protocol's ``TaskEnv.state``)."""
        return self.board

    def observation(self) -> Chat:
        if self.board is None:
            raise RuntimeError("call reset() before using the environment")
        return sokoban_messages(self.board, self.variant.declared, self.style)

    def step(self, text: str) -> tuple[Chat, float, bool, bool, dict[str, Any]]:
        if self.board is None:
            raise RuntimeError("call reset() before step()")
        if self.turn >= self.max_turns or self.board.is_solved():
            raise RuntimeError("episode is over; call reset()")
        self.turn += 1
        parsed = parse_action(text, self.variant.checked)
        reward, moved = 0.0, False
        if parsed.action is not None:
            result = self.board.step(parsed.action)
            self.board, reward, moved = result.board, result.reward, result.moved
        success = self.board.is_solved()
        truncated = not success and self.turn >= self.max_turns
        info = {
            "valid": parsed.valid,
            "action": parsed.action,
            "answer": parsed.answer,
            "reason": parsed.reason,
            "outcome": "valid" if parsed.valid else "no_tag" if parsed.answer is None else "unknown_word",
            "moved": moved,
            "success": success,
            "turn": self.turn,
            "state": {"board": self.board.to_rows()},
        }
        return self.observation(), reward, success, truncated, info


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
