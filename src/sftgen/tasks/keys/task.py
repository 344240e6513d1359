"""The keys task as one :class:`~sftgen.tasks.protocol.Task` object: the only thing sftgen needs to import."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sftgen.prompts import TEMPLATES, Chat, PromptStyle, action_answer
from sftgen.tasks.grid import vocab_for
from sftgen.tasks.protocol import (
    DifficultyInfo,
    FigureData,
    Outcome,
    RowRequest,
    SplitSpec,
    StateFilter,
    StateView,
    StudyReference,
    VariantInfo,
    VocabularySample,
    require_agent,
)

from . import checking, data, prompts
from .env import TURN_OUTCOMES, KeysEnv
from .generator import DIFFICULTIES, KeysDifficulty, generate_level
from .solver import solve
from .splits import SPLITS
from .variants import VARIANTS, KeysVariant
from .world import ACTIONS, KeysState, Rules

PLAN_BUCKET = 5
"""Optimal plan lengths are grouped in buckets this wide in the report figure."""


def _variant_infos() -> dict[str, VariantInfo]:
    return {n: VariantInfo(n, v.kind, v.fake, v.description) for n, v in VARIANTS.items()}


def _difficulty_infos() -> dict[str, DifficultyInfo]:
    return {
        n: DifficultyInfo(n, d.max_steps, f"{d.height}x{d.width} grid, {d.pairs} key/door pairs")
        for n, d in DIFFICULTIES.items()
    }


@dataclass(frozen=True)
class KeysTask:
    """Key-and-door grid world: pick up keys, open doors of the colour the rules say, reach the exit."""

    name: str = "keys"
    title: str = "Keys"
    actions: tuple[str, ...] = ACTIONS
    templates: tuple[str, ...] = TEMPLATES
    variants: Mapping[str, VariantInfo] = field(default_factory=_variant_infos)
    difficulties: Mapping[str, DifficultyInfo] = field(default_factory=_difficulty_infos)
    splits: Sequence[SplitSpec] = SPLITS
    turn_outcomes: tuple[str, ...] = TURN_OUTCOMES
    full_marks: float = checking.STEP_REWARD[checking.OPTIMAL]
    rl_columns: tuple[str, ...] = ("state", "words", "rules")
    study: StudyReference | None = None
    """None: the study has no numbers or findings for keys."""

    def generate(self, rng: np.random.Generator, variant: str, difficulty: str) -> KeysState:
        return generate_level(rng, DIFFICULTIES[difficulty], VARIANTS[variant].checked_rules).state

    def instance_key(self, state: KeysState, variant: str) -> str:
        return data.instance_key(state, VARIANTS[variant].checked_rules)

    def state_data(self, state: KeysState) -> dict[str, Any]:
        return state.as_data()

    def state_from_data(self, payload: Mapping[str, Any]) -> KeysState:
        return KeysState.from_data(dict(payload))

    def solve(self, state: KeysState, variant: str) -> list[str] | None:
        return solve(state, VARIANTS[variant].checked_rules)

    def parse_answer(self, text: str) -> str | None:
        return checking.parse_answer(text)

    # never settled early: a text over ``MAX_TEXT_CHARS`` scores as no answer, so later text can change it
    answer_end = None

    def check_data(self, state: KeysState, variant: str) -> dict[str, Any]:
        v = VARIANTS[variant]
        return checking.check_data(state, v.checked_words, v.checked_rules)

    def verify(self, text: str, check: Mapping[str, Any]) -> Outcome:
        return checking.verify(text, check)

    def messages(self, state: KeysState, variant: str, style: PromptStyle) -> Chat:
        v = VARIANTS[variant]
        return prompts.messages(state, v.declared_words, v.declared_rules, style)

    def reasoning(self, state: KeysState, variant: str, template: str) -> str:
        """The trace a reader of the prompt would write: the plan under the *declared* words and rules."""
        v = VARIANTS[variant]
        plan = solve(state, v.declared_rules)
        if not plan:
            raise ValueError("no plan under the declared rules: nothing to explain")
        return prompts.reasoning(state, tuple(plan), v.declared_words, v.declared_rules, template)

    def reference_answer(
        self, agent: str, state: KeysState, variant: str, style: PromptStyle, rng: np.random.Generator
    ) -> str:
        """oracle: the declared words and rules; shortcut: the training ones (scores on fakes); random: a word."""
        require_agent(agent)
        v: KeysVariant = VARIANTS[variant]
        return prompts.agent_answer(agent, state, v.declared_words, v.declared_rules, rng)

    def make_env(self, variant: str, difficulty: str, style: PromptStyle) -> KeysEnv:
        return KeysEnv(VARIANTS[variant], DIFFICULTIES[difficulty], style)

    def check_env(self, check: Mapping[str, Any], style: PromptStyle, max_turns: int) -> KeysEnv:
        """On ``check["state"]``, declaring and checking ``check["words"]`` and ``check["rules"]``."""
        state, words, rules = self.state_from_data(check["state"]), vocab_for(check["words"]), Rules(**check["rules"])
        variant = KeysVariant("check", words, words, rules, rules, "the check data's words and rules")
        difficulty = KeysDifficulty("check", state.height, state.width, len(state.colours), max_turns)
        env = KeysEnv(variant, difficulty, style)
        env.reset(state=state)
        return env

    def rows(
        self, request: RowRequest, exclude: Collection[str], states: StateFilter | None = None
    ) -> Iterator[dict[str, Any]]:
        """Levels are disjoint from ``exclude``; a row whose mid-path state is itself an evaluation level is
        dropped and counted in ``states``."""
        states = states if states is not None else StateFilter(exclude)
        for row in data.rows(request, exclude):
            state, rules = KeysState.from_data(row["state"]), Rules(**row["rules"])
            if row["state_index"] and data.instance_key(state, rules) in states.exclude:
                states.dropped += 1
                continue
            yield row

    def play_text(self, state: KeysState) -> str:
        board = "\n".join(" ".join(row) for row in state.to_rows())
        return f"{board}\nholding: {prompts.holding(state)}"

    def play_response(self, typed: str) -> str:
        return action_answer(typed.strip())

    def view(self, variant: str) -> StateView:
        """The grid and the keys in hand, as text (what ``sftgen play`` shows)."""
        return StateView("text")

    def view_state(self, state: KeysState) -> str:
        return self.play_text(state)

    def figures(self, records: Sequence[Mapping[str, Any]]) -> list[FigureData]:
        """Success by optimal plan length, one series per split: where the plans get too long to follow."""
        splits = {s.name: s for s in self.splits}
        tally: dict[str, dict[int, list[bool]]] = defaultdict(lambda: defaultdict(list))
        for record in records:
            spec = splits.get(record["split"])
            if spec is None:
                continue
            plan = self.solve(self.state_from_data(record["state"]), spec.variant)
            if plan:
                tally[spec.name][(len(plan) - 1) // PLAN_BUCKET].append(bool(record["success"]))
        if not tally:
            return []
        buckets = range(max(b for by in tally.values() for b in by) + 1)
        labels = tuple(f"{b * PLAN_BUCKET + 1}-{(b + 1) * PLAN_BUCKET}" for b in buckets)
        series = {
            name: tuple(sum(by[b]) / len(by[b]) if by.get(b) else math.nan for b in buckets)
            for name, by in sorted(tally.items())
        }
        caption = "Success rate by the optimal plan's length (moves), per keys split"
        return [FigureData("keys-plan-length", caption, "optimal plan length", "success", labels, series)]

    def skill(self, rng: np.random.Generator, composed: bool = False) -> None:
        """None: the base curriculum's grid navigation is the skill keys presumes."""
        return None

    # prompts read as text, the tiny tokenizer, the study's data sizes ------------------------------------
    vocabulary: VocabularySample | None = None
    """None: keys joined after the tiny bases shipped, and adding its words would renumber their tokenizer."""
    study_train_size: int | None = None

    def answer_from_text(self, agent: str, prompt: str, rng: np.random.Generator) -> str | None:
        """A prompt that opens with the study wording's first line or the compact ``keys`` line, read back with its
        declared words and rules."""
        require_agent(agent)
        return prompts.answer_from_text(agent, prompt, rng)


TASK = KeysTask()
