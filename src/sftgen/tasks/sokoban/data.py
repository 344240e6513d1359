"""Sokoban training rows: one (state prompt, optimal next action) pair per state of each optimal trajectory.

Training levels are drawn from their own hashed seed stream and any level whose start board is an
evaluation instance is skipped, so train and test never share a level (the study's did).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from functools import partial

import numpy as np

from sftgen.prompts import PromptStyle, action_answer, compact_field, direction_name
from sftgen.seeding import derive_seed, rng_for
from sftgen.tasks.grid import BASE, ActionVocab
from sftgen.tasks.rows import RowSpec
from sftgen.variants import sample_diverse_vocab

from .board import ACTIONS, Board
from .generator import Level, SokobanDifficulty, generate_level
from .identity import sokoban_key
from .prompts import sokoban_messages
from .solver import optimal_first_actions

MAX_SKIPS = 100_000


@dataclass(frozen=True)
class TrainingLevel:
    index: int
    key: str
    level: Level


def training_levels(
    n: int, seed: int, difficulty: SokobanDifficulty, exclude: Collection[str]
) -> Iterator[TrainingLevel]:
    """``n`` distinct levels from the training seed stream, none of them in ``exclude``."""
    seen: set[str] = set()
    attempt = 0
    while len(seen) < n:
        if attempt - len(seen) > MAX_SKIPS:
            raise RuntimeError(f"could not find {n} training levels disjoint from evaluation after {attempt} draws")
        level = generate_level(np.random.default_rng(derive_seed("sftgen-train", "sokoban", seed, attempt)), difficulty)
        attempt += 1
        key = sokoban_key(level)
        if key in exclude or key in seen:
            continue
        seen.add(key)
        yield TrainingLevel(len(seen) - 1, key, level)


def _cell(pos: tuple[int, int]) -> str:
    return f"({pos[0]},{pos[1]})"


def _cells(positions: Collection[tuple[int, int]]) -> str:
    return " ".join(_cell(p) for p in sorted(positions))


def sokoban_reasoning(board: Board, plan: tuple[str, ...], vocab: ActionVocab | None, template: str = "study") -> str:
    """Solver CoT: positions, the optimal plan in direction names, why the first move, then its word.

    The plan is written with the direction names the prompt's mapping line uses (``where 1 is Up``,
    ``actions:up=1``), and the last sentence does the look-up explicitly, so the same scaffold works on
    larger boards and new words. The compact template writes the scaffold's two load-bearing parts only (the plan
    and the look-up, ``plan:down,left,down`` then ``down=fox``): a third of the tokens, so a CoT step costs far less
    on a CPU (docs/results/2026-12-05-compact-cot.md).
    """
    first = plan[0]
    name = partial(direction_name, template=template)
    word = (vocab or BASE).word_for(first)
    if template == "compact":
        return f"{compact_field('plan', [name(a) for a in plan])} {name(first)}={word}"
    result = board.step(first)
    if result.pushed:
        moved_box = next(iter(board.boxes - result.board.boxes))
        new_box = next(iter(result.board.boxes - board.boxes))
        why = f"it pushes the box at {_cell(moved_box)} to {_cell(new_box)}"
        if new_box in board.targets:
            why += ", onto a target"
    else:
        why = f"it walks to {_cell(result.board.player)} to get behind a box"
    return (
        f"I am at {_cell(board.player)}. Boxes: {_cells(board.boxes)}. Targets: {_cells(board.targets)}. "
        f"Shortest plan ({len(plan)} moves): {' '.join(map(name, plan))}. "
        f"Next move: {name(first)}, because {why}. {name(first)} is written as {word}."
    )


def trajectory_states(levels: Iterator[TrainingLevel]) -> Iterator[tuple[TrainingLevel, int, Board, str]]:
    """Every state along each level's optimal solution, with the optimal action taken there."""
    for item in levels:
        board = item.level.board
        for t, action in enumerate(item.level.solution):
            yield item, t, board, action
            board = board.step(action).board


def sokoban_sft_rows(levels: Iterator[TrainingLevel], spec: RowSpec, seed: int) -> Iterator[dict]:
    """Prompt/completion rows (TRL's conversational format) with metadata for audits."""
    response_format = "think" if spec.cot else "answer"
    for item, t, board, action in trajectory_states(levels):
        rng = rng_for("sftgen-train-row", "sokoban", seed, item.index, t)
        vocab = sample_diverse_vocab(rng, spec.pool) if spec.diverse else BASE
        paraphrase = spec.paraphrases[int(rng.integers(len(spec.paraphrases)))]
        style = PromptStyle(spec.template, paraphrase, response_format)
        reasoning = sokoban_reasoning(board, item.level.solution[t:], vocab, spec.template) if spec.cot else None
        yield {
            "prompt": sokoban_messages(board, vocab, style),
            "completion": [{"role": "assistant", "content": action_answer(vocab.word_for(action), reasoning)}],
            "task": "sokoban",
            "instance_key": item.key,
            "level_index": item.index,
            "state_index": t,
            "action": action,
            "words": list(vocab.words),
        }


def sokoban_rl_rows(levels: Iterator[TrainingLevel], spec: RowSpec, seed: int) -> Iterator[dict]:
    """Per-state RL prompts with what the verifier needs: the board and every optimal first action."""
    for item, t, board, _action in trajectory_states(levels):
        rng = rng_for("sftgen-train-row", "sokoban-rl", seed, item.index, t)
        vocab = sample_diverse_vocab(rng, spec.pool) if spec.diverse else BASE
        style = PromptStyle(spec.template, 0, "think" if spec.cot else "answer")
        optimal = optimal_first_actions(board)
        yield {
            "prompt": sokoban_messages(board, vocab, style),
            "task": "sokoban",
            "instance_key": item.key,
            "level_index": item.index,
            "state_index": t,
            "board": board.to_rows(),
            "words": list(vocab.words),
            "optimal_actions": [a for a in ACTIONS if a in optimal],
        }
