"""General Points as one :class:`~sftgen.tasks.protocol.Task`: an adapter over the study's modules, no new
behaviour.

Why an adapter first: the env, prompts, variants and row builders still live where callers import them, so
wrapping them gives the protocol byte-identical hands, prompts and rows today; docs/architecture-task-protocol.md
lists what moves in here next. The state is the dealt :class:`Hand` (``state_data``: its ranks); the variant
says which face-card values are declared and which are scored.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sftgen.prompts import TEMPLATES, Chat, PromptStyle, paraphrase_pool
from sftgen.tasks.protocol import (
    DifficultyInfo,
    FigureData,
    Outcome,
    RowRequest,
    SkillExample,
    SplitSpec,
    StateFilter,
    StateView,
    StudyReference,
    VariantInfo,
    VocabularySample,
    require_agent,
)
from sftgen.tasks.rows import RowSpec

from .cards import MAX_LARGE_RANK, MIN_RANK, FaceMap, Hand, card_label, generate_hand
from .data import points_reasoning, points_rl_rows, points_sft_rows, training_hands
from .env import PointsEnv
from .identity import points_key
from .prompts import SHORTCUT_MAP, agent_answer, answer_from_text, points_messages
from .skill import arithmetic_example
from .solver import one_solution
from .splits import SPLITS
from .study import STUDY
from .variants import POINTS_DIFFICULTIES, POINTS_VARIANTS, PointsDifficulty, PointsVariant
from .verifier import REWARDS, OutcomeKind, parse_answer, verify

TURN_OUTCOMES = tuple(kind.value for kind in OutcomeKind)
VOCABULARY = VocabularySample(
    instances=200, words=tuple(card_label(rank) for rank in range(MIN_RANK, MAX_LARGE_RANK + 1))
)
"""200 training hands of each CoT kind, and every card label as one token (``10``, ``14``..``19`` too, though the
tokenizer splits other numbers into digits)."""


def _variant_infos() -> dict[str, VariantInfo]:
    def info(v: PointsVariant) -> VariantInfo:
        kind = "base" if v.declared == v.scored == SHORTCUT_MAP else "values"
        return VariantInfo(v.name, kind, v.is_fake, f"declares {v.declared.name}, scores {v.scored.name}")

    return {n: info(v) for n, v in POINTS_VARIANTS.items()}


def _difficulty_infos() -> dict[str, DifficultyInfo]:
    def describe(d: Any) -> str:
        extra = ", one card 14..19" if d.large else ", at least one J/Q/K" if d.require_face else ""
        return f"{d.num_cards} cards{extra}"

    return {n: DifficultyInfo(n, 1, describe(d)) for n, d in POINTS_DIFFICULTIES.items()}


@dataclass(frozen=True)
class PointsTask:
    """Make 24 from the dealt cards in one answer, face cards counting as the variant declares."""

    name: str = "points"
    title: str = "General Points"
    actions: tuple[str, ...] = ()
    templates: tuple[str, ...] = TEMPLATES
    variants: Mapping[str, VariantInfo] = field(default_factory=_variant_infos)
    difficulties: Mapping[str, DifficultyInfo] = field(default_factory=_difficulty_infos)
    splits: Sequence[SplitSpec] = SPLITS
    turn_outcomes: tuple[str, ...] = TURN_OUTCOMES
    full_marks: float = REWARDS[OutcomeKind.CORRECT]
    rl_columns: tuple[str, ...] = ("card_values", "ranks", "face_map")
    study: StudyReference | None = STUDY

    def generate(self, rng: np.random.Generator, variant: str, difficulty: str) -> Hand:
        """A hand solvable under the variant's *scored* values."""
        d = POINTS_DIFFICULTIES[difficulty]
        scored = POINTS_VARIANTS[variant].scored
        return generate_hand(rng, num_cards=d.num_cards, scored_map=scored, require_face=d.require_face, large=d.large)

    def instance_key(self, state: Hand, variant: str) -> str:
        v = POINTS_VARIANTS[variant]
        return points_key(state, v.declared, v.scored)

    def state_data(self, state: Hand) -> dict[str, Any]:
        return {"ranks": list(state.ranks)}

    def state_from_data(self, payload: Mapping[str, Any]) -> Hand:
        return Hand(tuple(payload["ranks"]))

    def solve(self, state: Hand, variant: str) -> list[str] | None:
        formula = one_solution(list(state.values(POINTS_VARIANTS[variant].scored)))
        return None if formula is None else [formula]

    def parse_answer(self, text: str) -> str | None:
        return parse_answer(text) if isinstance(text, str) else None

    # never settled early: the formula is read after the *last* ``</think>``, so later text can move it
    answer_end = None

    def check_data(self, state: Hand, variant: str) -> dict[str, Any]:
        """The scored card values (what :meth:`verify` reads), the hand and the scored face map (what
        :meth:`check_env` deals): the columns RL rows carry, so a row is its own check data."""
        scored = POINTS_VARIANTS[variant].scored
        return {"card_values": list(state.values(scored)), **self.state_data(state), "face_map": scored.name}

    def verify(self, text: str, check: Mapping[str, Any]) -> Outcome:
        outcome = verify(text if isinstance(text, str) else "", list(check["card_values"]))
        return Outcome(
            outcome.kind.value,
            outcome.valid,
            outcome.success,
            outcome.reward,
            outcome.reason,
            outcome.formula,
            outcome.formula,
        )

    def messages(self, state: Hand, variant: str, style: PromptStyle) -> Chat:
        return points_messages(state, POINTS_VARIANTS[variant].declared, style)

    def reasoning(self, state: Hand, variant: str, template: str) -> str:
        """The trace a reader of the prompt would write: the declared values, and a solution under them."""
        declared = POINTS_VARIANTS[variant].declared
        numbers = list(state.values(declared))
        formula = one_solution(numbers)
        if formula is None:
            raise ValueError("no solution under the declared values: nothing to explain")
        return points_reasoning(state.labels(), declared, numbers, formula, template)

    def reference_answer(
        self, agent: str, state: Hand, variant: str, style: PromptStyle, rng: np.random.Generator
    ) -> str:
        """oracle: a solution under the declared values; shortcut: under J=Q=K=10 whatever the prompt says;
        random: the declared numbers in a random order with random operators."""
        require_agent(agent)
        face_map = SHORTCUT_MAP if agent == "shortcut" else POINTS_VARIANTS[variant].declared
        return agent_answer(agent, [card_label(r) for r in state.ranks], list(state.values(face_map)), rng)

    def make_env(self, variant: str, difficulty: str, style: PromptStyle) -> PointsEnv:
        return PointsEnv(POINTS_VARIANTS[variant], POINTS_DIFFICULTIES[difficulty], style)

    def check_env(self, check: Mapping[str, Any], style: PromptStyle, max_turns: int) -> PointsEnv:
        """One turn on the hand ``check["ranks"]``, declaring and scoring ``check["face_map"]`` (one answer, so
        ``max_turns`` changes nothing); the hand's values under that map must be ``check["card_values"]``."""
        hand, face_map = self.state_from_data(check), FaceMap.parse(check["face_map"])
        if list(hand.values(face_map)) != list(check["card_values"]):
            raise ValueError(f"cards {hand.labels()} under {face_map.name} are not the values {check['card_values']}")
        env = PointsEnv(PointsVariant("check", face_map, face_map), PointsDifficulty("check", len(hand.ranks)), style)
        env.reset(state=hand)
        return env

    def rows(
        self, request: RowRequest, exclude: Collection[str], states: StateFilter | None = None
    ) -> Iterator[dict[str, Any]]:
        """One row per training hand; a row is a start state, so ``states`` never drops one."""
        paraphrases = paraphrase_pool(self.name, held_out=False) if request.paraphrases else (0,)
        spec = RowSpec(request.diverse, request.cot, request.template, paraphrases, request.pool)
        hands = training_hands(request.n, request.seed, spec.diverse, exclude)
        build = points_rl_rows if request.kind == "rl" else points_sft_rows
        return build(hands, spec, request.seed)

    def play_text(self, state: Hand) -> str:
        return "cards: " + " ".join(state.labels())

    def play_response(self, typed: str) -> str:
        return f'"formula": "{typed.strip()}"'

    def view(self, variant: str) -> StateView:
        """The hand as cards; the line under it says what the prompt declares J, Q and K count as."""
        faces = POINTS_VARIANTS[variant].declared
        return StateView("tiles", note=f"declared: J = {faces.jack}, Q = {faces.queen}, K = {faces.king}")

    def view_state(self, state: Hand) -> str:
        return " ".join(state.labels())

    def figures(self, records: Sequence[Mapping[str, Any]]) -> list[FigureData]:
        """None: the study's float check is counted by the report from :attr:`study` (``study.py``)."""
        return []

    def skill(self, rng: np.random.Generator, composed: bool = False) -> SkillExample:
        """Making 24 from four numbers (the study's models know the game; a tiny base learns it): see skill.py."""
        return arithmetic_example(rng, composed)

    # prompts read as text, the tiny tokenizer, the study's data sizes ------------------------------------
    vocabulary: VocabularySample | None = VOCABULARY
    study_train_size: int | None = 10_000

    def answer_from_text(self, agent: str, prompt: str, rng: np.random.Generator) -> str | None:
        """A prompt that shows cards (a compact ``cards:`` line or the study's list), read with its declared values."""
        require_agent(agent)
        return answer_from_text(agent, prompt, rng)


TASK = PointsTask()
