"""Keys training rows: one (state prompt, optimal next move) pair per state of each optimal trajectory.

Training levels come from their own hashed seed stream under the base variant, and a level whose puzzle is an
evaluation instance is skipped, so train and test never share one. Every row carries the state, the words and the
rules as columns: the RL reward is :func:`~sftgen.tasks.keys.checking.verify` on the row itself.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from sftgen.prompts import PromptStyle, action_answer
from sftgen.seeding import content_hash, derive_seed, rng_for
from sftgen.tasks.grid import BASE
from sftgen.tasks.protocol import RowRequest
from sftgen.variants import sample_diverse_vocab

from .checking import check_data
from .generator import DIFFICULTIES, KeysDifficulty, Level, generate_level
from .prompts import messages, reasoning
from .solver import optimal_first_actions
from .world import ACTIONS, STANDARD, KeysState, Rules

TRAINING_DIFFICULTY = "7x7-2"
MAX_SKIPS = 100_000


def instance_key(state: KeysState, rules: Rules) -> str:
    """A keys puzzle is its board and colour cycle under the checked rules."""
    return content_hash(f"keys\n{state.key()}\n{rules.shift},{rules.capacity}")


@dataclass(frozen=True)
class TrainingLevel:
    index: int
    key: str
    level: Level


def training_levels(n: int, seed: int, difficulty: KeysDifficulty, exclude: Collection[str]) -> Iterator[TrainingLevel]:
    """``n`` distinct levels from the training seed stream (standard rules), none of them in ``exclude``."""
    seen: set[str] = set()
    attempt = 0
    while len(seen) < n:
        if attempt - len(seen) > MAX_SKIPS:
            raise RuntimeError(f"could not find {n} training levels disjoint from evaluation after {attempt} draws")
        rng = np.random.default_rng(derive_seed("sftgen-train", "keys", seed, attempt))
        level = generate_level(rng, difficulty, STANDARD)
        attempt += 1
        key = instance_key(level.state, STANDARD)
        if key in exclude or key in seen:
            continue
        seen.add(key)
        yield TrainingLevel(len(seen) - 1, key, level)


def trajectory_states(levels: Iterator[TrainingLevel]) -> Iterator[tuple[TrainingLevel, int, KeysState]]:
    """Every state along each level's optimal plan, with its index (the plan from there is the suffix)."""
    for item in levels:
        state = item.level.state
        for t, action in enumerate(item.level.solution):
            yield item, t, state
            state = state.step(action, STANDARD).state


def rows(request: RowRequest, exclude: Collection[str]) -> Iterator[dict[str, Any]]:
    """SFT rows (answer-only, diverse, CoT, diverse+CoT) or RL rows, per :class:`RowRequest`."""
    rl = request.kind == "rl"
    style = PromptStyle(request.template, 0, "think" if request.cot else "answer")
    levels = training_levels(request.n, request.seed, DIFFICULTIES[TRAINING_DIFFICULTY], exclude)
    for item, t, state in trajectory_states(levels):
        rng = rng_for("sftgen-train-row", "keys-rl" if rl else "keys", request.seed, item.index, t)
        words = sample_diverse_vocab(rng, request.pool) if request.diverse else BASE
        row: dict[str, Any] = {
            "prompt": messages(state, words, STANDARD, style),
            "task": "keys",
            "instance_key": item.key,
            "level_index": item.index,
            "state_index": t,
            **check_data(state, words, STANDARD),
        }
        if rl:
            best = optimal_first_actions(state, STANDARD)
            row["optimal_actions"] = [a for a in ACTIONS if a in best]
        else:
            plan = item.level.solution[t:]
            trace = reasoning(state, plan, words, STANDARD, request.template) if request.cot else None
            row["action"] = plan[0]
            row["completion"] = [{"role": "assistant", "content": action_answer(words.word_for(plan[0]), trace)}]
        yield row
