"""Sokoban's episode, Gymnasium-style: ``reset(seed | state)`` gives the prompt, ``step(text)`` the five-tuple.

The text is parsed under the *checked* vocabulary; unparseable text is an invalid turn, never an exception: the
board stays put and the turn is spent, as in the study. ``info["state"]`` is the board as data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sftgen.prompts import Chat, PromptStyle
from sftgen.tasks.grid import ActionVocab

from .board import Board
from .generator import Level, SokobanDifficulty, generate_level
from .prompts import sokoban_messages
from .variants import SokobanVariant

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


def _first_answer(head: str) -> tuple[int, int] | None:
    """Start and end of the first ``<answer>...</answer>``'s content in ``head``, or None."""
    start = head.find(OPEN_TAG)
    end = -1 if start == -1 else head.find(CLOSE_TAG, start + len(OPEN_TAG))
    return None if end == -1 else (start + len(OPEN_TAG), end)


def answer_end(text: str) -> int | None:
    """Where :func:`parse_action`'s reading of ``text`` is settled: just after the first complete
    ``<answer>...</answer>``, or at :data:`MAX_PARSE_CHARS` (nothing later is read); None before either."""
    span = _first_answer(text[:MAX_PARSE_CHARS])
    if span is not None:
        return span[1] + len(CLOSE_TAG)
    return MAX_PARSE_CHARS if len(text) >= MAX_PARSE_CHARS else None


def parse_action(text: str, vocab: ActionVocab) -> ParsedAction:
    """Study rule: the first ``<answer>...</answer>`` (across newlines), stripped, is one whole action.

    Two ``str.find`` calls over the first :data:`MAX_PARSE_CHARS` characters: linear time (a lazy regex was
    quadratic on text with many unclosed ``<answer>`` tags).
    """
    head = text[:MAX_PARSE_CHARS]
    span = _first_answer(head)
    if span is None:
        return ParsedAction(None, None, f"no <answer> tag in the first {MAX_PARSE_CHARS} characters")
    answer = head[span[0] : span[1]].strip()
    action = vocab.action_for(answer)
    if action is None:
        return ParsedAction(None, answer, f"{answer[:40]!r} is not one of {list(vocab.words)}")
    return ParsedAction(action, answer, "ok")


def level_for_seed(seed: int, difficulty: SokobanDifficulty) -> Level:
    """The level an instance seed stands for (instance seeds are already hashed)."""
    return generate_level(np.random.default_rng(seed), difficulty)


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
