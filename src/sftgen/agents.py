"""Reference agents that read the prompt text like a model would, so they plug in wherever a model does.

* ``oracle``: the solver, answering in the *declared* vocabulary (an upper bound on instruction following).
* ``shortcut``: the solver, always answering Up/Down/Left/Right and J=Q=K=10 — exactly the frozen-prompt
  behaviour, so it scores on fake splits and is invalid on honest variants.
* ``random``: a random declared word (Sokoban) or a random arrangement of the declared numbers (Points).

Where the caller has the episode's state (the evaluation rollout does), :meth:`ReferenceAgent.answer_situations`
asks the task (``Task.reference_answer``) from the state, for every registered task. Where only text arrives (a
served fake model), :meth:`ReferenceAgent.answer` parses the board, the declared words and the cards back out of
the rendered prompt (any study paraphrase or the compact template) for the two study tasks, which also checks that
every prompt carries what a model needs.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sftgen.envs import PointsEnv, SokobanEnv
from sftgen.prompts import PromptStyle, sokoban_answer
from sftgen.seeding import derive_seed
from sftgen.tasks.points import FaceMap
from sftgen.tasks.points.task import agent_answer as points_agent_answer
from sftgen.tasks.protocol import AGENTS, get_task
from sftgen.tasks.sokoban import ACTIONS, Board, solve
from sftgen.variants import BASE, ActionVocab

_STUDY_CELL = re.compile(r"^(?: \S+ \t)+$")
_COMPACT_ROW = re.compile(r"^[#_OXP√S](?: ?[#_OXP√S]){2,}$")  # compact rows, or `sftgen play`'s spaced ones
_ANSWER_WORDS = re.compile(r"<answer> (.+?) </answer>")
_COMPACT_ACTIONS = re.compile(r"^actions:(.*)$", re.MULTILINE)
_CARDS = re.compile(r"(\[(?:'[^']*'(?:, )?)+\])")
_UNIFORM = re.compile(r"'J', 'Q', and 'K' all count as '(\d+)'")
_MIXED = re.compile(r"'J' counts as '(\d+)', 'Q' counts as '(\d+)', and 'K' counts as '(\d+)'")
_COMPACT_VALUES = re.compile(r"values:J=(\d+),Q=(\d+),K=(\d+)")
_COMPACT_CARDS = re.compile(r"^cards:(.*)$", re.MULTILINE)
_RANKS = {"A": 1, "J": 11, "Q": 12, "K": 13}


def read_board(prompt: str) -> Board:
    """The board drawn in a Sokoban prompt (study or compact rendering)."""
    rows = [line.replace(" ", "").replace("\t", "") for line in prompt.split("\n") if _STUDY_CELL.match(line)]
    if not rows:
        rows = [line.replace(" ", "") for line in prompt.split("\n") if _COMPACT_ROW.match(line)]
    if not rows:
        raise ValueError("no board found in the prompt")
    return Board.from_rows(rows)


def read_declared_words(prompt: str) -> ActionVocab | None:
    """The four declared action words, or None when the prompt declares none (the Empty variant)."""
    compact = _COMPACT_ACTIONS.search(prompt)
    if compact:
        words = [pair.split("=", 1)[1] for pair in compact.group(1).split(",")]
    else:
        answers_line = next((ln for ln in prompt.split("\n") if ln.count("<answer> ") == 4 and " | " in ln), None)
        if answers_line is None:
            return None
        words = _ANSWER_WORDS.findall(answers_line)
    return ActionVocab("declared", tuple(words), explained=True)  # type: ignore[arg-type]


def read_hand(prompt: str) -> tuple[list[str], FaceMap]:
    """The card labels and the declared face-card values of a Points prompt."""
    compact_cards = _COMPACT_CARDS.search(prompt)
    if compact_cards:
        labels = compact_cards.group(1).split(",")
        values = _COMPACT_VALUES.search(prompt)
        if values is None:
            raise ValueError("no face-card values in the prompt")
        return labels, FaceMap(*(int(v) for v in values.groups()))
    cards = _CARDS.search(prompt)
    if cards is None:
        raise ValueError("no cards found in the prompt")
    labels = list(ast.literal_eval(cards.group(1)))
    uniform, mixed = _UNIFORM.search(prompt), _MIXED.search(prompt)
    if uniform:
        return labels, FaceMap.uniform(int(uniform.group(1)))
    if mixed:
        return labels, FaceMap(*(int(v) for v in mixed.groups()))
    raise ValueError("no face-card values in the prompt")


def _rank(label: str) -> int:
    return _RANKS.get(label, 0) or int(label)


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
        if kind not in AGENTS:
            raise ValueError(f"unknown agent {kind!r}; choose one of {AGENTS}")
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
        """The answer read back from the prompt text (the two study tasks only)."""
        rng = self._rng(prompt)
        if "sokoban" in prompt.lower():
            return self._sokoban(prompt, rng)
        return self._points(prompt, rng)

    def _sokoban(self, prompt: str, rng: np.random.Generator) -> str:
        declared = read_declared_words(prompt)
        vocab = BASE if self.kind == "shortcut" or declared is None else declared
        if self.kind == "random":
            return sokoban_answer(vocab.words[int(rng.integers(4))])
        plan = solve(read_board(prompt))
        return sokoban_answer(vocab.word_for(plan[0] if plan else ACTIONS[0]))

    def _points(self, prompt: str, rng: np.random.Generator) -> str:
        labels, declared = read_hand(prompt)
        face_map = FaceMap.uniform(10) if self.kind == "shortcut" else declared
        return points_agent_answer(self.kind, labels, [face_map.value(_rank(label)) for label in labels], rng)


def oracle_answer(env: SokobanEnv | PointsEnv) -> str:
    """What the oracle writes for the env's current prompt."""
    return ReferenceAgent("oracle").answer(env.observation()[-1]["content"])
