"""Sokoban as one :class:`~sftgen.tasks.protocol.Task`: an adapter over the study's modules, no new behaviour.

Why an adapter first: the env, prompts, variants and row builders still live where callers import them, so
wrapping them gives the protocol byte-identical levels, prompts and rows today; docs/architecture-task-protocol.md
lists what moves in here next. The state is the :class:`Board` (``state_data``: its rows), never prompt text.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sftgen.prompts import TEMPLATES, Chat, PromptStyle, action_answer, paraphrase_pool
from sftgen.tasks.grid import BASE, ActionVocab, vocab_for
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
from sftgen.tasks.rows import RowSpec

from .board import ACTIONS, BOX, BOX_ON_TARGET, FLOOR, PLAYER, PLAYER_ON_TARGET, TARGET, WALL, Board
from .data import TrainingLevel, sokoban_reasoning, sokoban_rl_rows, sokoban_sft_rows
from .data import training_levels as _training_levels
from .env import MAX_TURNS, SokobanEnv, answer_end, parse_action
from .generator import DIFFICULTIES, Level, SokobanDifficulty, generate_level
from .identity import board_key
from .prompts import agent_answer, answer_from_text, sokoban_messages
from .solver import optimal_first_actions, solve
from .splits import SPLITS
from .study import STUDY
from .variants import SOKOBAN_VARIANTS, SokobanVariant

TRAINING_DIFFICULTY = "6x6-1"
CORRECT, WRONG = 1.0, 0.0
"""The study's per-state reward: 1 when the answer names an optimal move, else 0."""
VALID, UNKNOWN_WORD, NO_TAG = "valid", "unknown_word", "no_tag"
TURN_OUTCOMES = (VALID, UNKNOWN_WORD, NO_TAG)
VOCABULARY = VocabularySample(instances=40)
"""40 training levels of each CoT kind (a row per state of each level's solution) in the tiny tokenizer's corpus."""

LEGEND = {
    WALL: ("wall", ""),
    FLOOR: ("floor", ""),
    TARGET: ("target", "\u25ce"),
    BOX: ("box", "\u25a3"),
    PLAYER: ("player", "\u263a"),
    BOX_ON_TARGET: ("box-on-target", "\u2714"),
    PLAYER_ON_TARGET: ("player-on-target", "\u263a"),
}
"""How the report's viewer draws each board symbol: the cell's role and its glyph."""


def _kind(variant: SokobanVariant) -> str:
    """``empty`` is ``base``: it drops the action section but the answer words stay the training ones."""
    return "base" if variant.checked == BASE and variant.declared in (BASE, None) else "action_words"


def _describe(variant: SokobanVariant) -> str:
    declared = "no action words" if variant.declared is None else "/".join(variant.declared.words)
    return f"declares {declared}, checks {'/'.join(variant.checked.words)}"


def _variant_infos() -> dict[str, VariantInfo]:
    return {n: VariantInfo(n, _kind(v), v.is_fake, _describe(v)) for n, v in SOKOBAN_VARIANTS.items()}


def _difficulty_infos() -> dict[str, DifficultyInfo]:
    return {
        n: DifficultyInfo(n, MAX_TURNS, f"{d.height}x{d.width} room, {d.num_boxes} box(es)")
        for n, d in DIFFICULTIES.items()
    }


def _marked_levels(
    levels: Iterator[TrainingLevel], states: StateFilter, marked: set[tuple[int, int]]
) -> Iterator[TrainingLevel]:
    """Walk each level's solution once, marking the (level, state) pairs whose board is an evaluation start."""
    for item in levels:
        board = item.level.board
        for t, action in enumerate(item.level.solution):
            if t and board_key(board) in states.exclude:  # t = 0 is the start, already disjoint
                marked.add((item.index, t))
            board = board.step(action).board
        yield item


@dataclass(frozen=True)
class SokobanTask:
    """Push every box onto a target; one move per turn, the study's 30-turn budget."""

    name: str = "sokoban"
    title: str = "Sokoban"
    actions: tuple[str, ...] = ACTIONS
    templates: tuple[str, ...] = TEMPLATES
    variants: Mapping[str, VariantInfo] = field(default_factory=_variant_infos)
    difficulties: Mapping[str, DifficultyInfo] = field(default_factory=_difficulty_infos)
    splits: Sequence[SplitSpec] = SPLITS
    turn_outcomes: tuple[str, ...] = TURN_OUTCOMES
    full_marks: float = CORRECT
    rl_columns: tuple[str, ...] = ("board", "words", "optimal_actions")
    study: StudyReference | None = STUDY

    def level(self, rng: np.random.Generator, difficulty: str) -> Level:
        """The start board with the generator's optimal solution (what ``splits.Instance.materialize`` returns)."""
        return generate_level(rng, DIFFICULTIES[difficulty])

    def generate(self, rng: np.random.Generator, variant: str, difficulty: str) -> Board:
        return self.level(rng, difficulty).board

    def instance_key(self, state: Board, variant: str) -> str:
        return board_key(state)

    def state_data(self, state: Board) -> dict[str, Any]:
        return {"board": state.to_rows()}

    def state_from_data(self, payload: Mapping[str, Any]) -> Board:
        return Board.from_rows(list(payload["board"]))

    def solve(self, state: Board, variant: str) -> tuple[str, ...] | None:
        """Action words never change the moves, so the plan is the same under every variant."""
        return solve(state)

    def parse_answer(self, text: str) -> str | None:
        return parse_action(text, BASE).answer if isinstance(text, str) else None

    def answer_end(self, text: str) -> int | None:
        return answer_end(text) if isinstance(text, str) else None

    def check_data(self, state: Board, variant: str) -> dict[str, Any]:
        return {"board": state.to_rows(), "words": list(SOKOBAN_VARIANTS[variant].checked.words)}

    def verify(self, text: str, check: Mapping[str, Any]) -> Outcome:
        """The study's per-state score; ``check`` may be an RL row (its ``optimal_actions`` spare the solve)."""
        words = ActionVocab("checked", tuple(check["words"]), explained=True)  # type: ignore[arg-type]
        parsed = parse_action(text if isinstance(text, str) else "", words)
        if parsed.answer is None:
            return Outcome(NO_TAG, False, False, WRONG, parsed.reason)
        if parsed.action is None:
            return Outcome(UNKNOWN_WORD, False, False, WRONG, parsed.reason, parsed.answer)
        if "optimal_actions" in check:
            best = frozenset(check["optimal_actions"])
        else:
            best = frozenset(optimal_first_actions(self.state_from_data(check)))
        success = parsed.action in best
        reason = f"{parsed.action} {'starts' if success else 'does not start'} an optimal plan"
        return Outcome(VALID, True, success, CORRECT if success else WRONG, reason, parsed.answer, parsed.action)

    def messages(self, state: Board, variant: str, style: PromptStyle) -> Chat:
        return sokoban_messages(state, SOKOBAN_VARIANTS[variant].declared, style)

    def reasoning(self, state: Board, variant: str, template: str) -> str:
        plan = solve(state)
        if not plan:
            raise ValueError("the board has no solution: nothing to explain")
        return sokoban_reasoning(state, tuple(plan), SOKOBAN_VARIANTS[variant].declared, template)

    def reference_answer(
        self, agent: str, state: Board, variant: str, style: PromptStyle, rng: np.random.Generator
    ) -> str:
        """oracle: the declared words (base words when none are declared); shortcut: always the base words;
        random: a random one of them."""
        require_agent(agent)
        return agent_answer(agent, state, SOKOBAN_VARIANTS[variant].declared, rng)

    def make_env(self, variant: str, difficulty: str, style: PromptStyle) -> SokobanEnv:
        return SokobanEnv(SOKOBAN_VARIANTS[variant], DIFFICULTIES[difficulty], style)

    def check_env(self, check: Mapping[str, Any], style: PromptStyle, max_turns: int) -> SokobanEnv:
        """On ``check["board"]``, declaring and checking ``check["words"]``."""
        board = self.state_from_data(check)
        words = vocab_for(check["words"])
        difficulty = SokobanDifficulty("check", board.height, board.width, len(board.boxes))
        env = SokobanEnv(SokobanVariant("check", words, words), difficulty, style, max_turns=max_turns)
        env.reset(state=board)
        return env

    def rows(
        self, request: RowRequest, exclude: Collection[str], states: StateFilter | None = None
    ) -> Iterator[dict[str, Any]]:
        """One row per state of each optimal trajectory on training levels; rows whose board is an evaluation
        start are dropped and counted in ``states``."""
        states = StateFilter(exclude) if states is None else states
        paraphrases = paraphrase_pool(self.name, held_out=False) if request.paraphrases else (0,)
        spec = RowSpec(request.diverse, request.cot, request.template, paraphrases, request.pool)
        marked: set[tuple[int, int]] = set()
        levels = _training_levels(request.n, request.seed, DIFFICULTIES[TRAINING_DIFFICULTY], exclude)
        build = sokoban_rl_rows if request.kind == "rl" else sokoban_sft_rows
        for row in build(_marked_levels(levels, states, marked), spec, request.seed):
            if (row["level_index"], row["state_index"]) in marked:
                states.dropped += 1
                continue
            yield row

    def play_text(self, state: Board) -> str:
        return "\n".join(" ".join(row) for row in state.to_rows())

    def play_response(self, typed: str) -> str:
        return action_answer(typed.strip())

    def view(self, variant: str) -> StateView:
        """The board as cells; the line above it says which action words the prompt declares."""
        declared = SOKOBAN_VARIANTS[variant].declared
        words = (
            "none in the prompt"
            if declared is None
            else ", ".join(f"{a.capitalize()} = {w}" for a, w in zip(ACTIONS, declared.words, strict=True))
        )
        return StateView("grid", declared=f"declared actions: {words}", legend=LEGEND)

    def view_state(self, state: Board) -> str:
        return "\n".join(state.to_rows())

    def figures(self, records: Sequence[Mapping[str, Any]]) -> list[FigureData]:
        """None yet: the report's tables already cover what the study plots for Sokoban."""
        return []

    def skill(self, rng: np.random.Generator, composed: bool = False) -> None:
        """None: the base curriculum's grid navigation is the skill Sokoban presumes."""
        return None

    # prompts read as text, the tiny tokenizer, the study's data sizes ------------------------------------
    vocabulary: VocabularySample | None = VOCABULARY
    study_train_size: int | None = 1000

    def answer_from_text(self, agent: str, prompt: str, rng: np.random.Generator) -> str | None:
        """A prompt that names Sokoban (every template does), its board and declared words read back."""
        require_agent(agent)
        return answer_from_text(agent, prompt, rng)


TASK = SokobanTask()
