"""Split instances as stack-neutral items: a chat prompt, a JSON-able ground truth, a reference answer, a score.

Why one layer under every adapter: a reward in verl or TRL, a score in reasoning-gym and a scorer in inspect_ai
must each give an answer the score ``sftgen eval`` gives it. Each task says once what its ground truth holds and
which existing verifier scores it:

* Sokoban, single-turn: the start board's first move. The ground truth is the *checked* words (what the
  evaluation parser accepts; on fake splits they differ from the declared ones) and the solver's optimal first
  moves; the score is ``sftgen.train.rewards.sokoban_step_reward`` (1 for an optimal move, else 0). Whole
  episodes are played through the environment itself (``Instance.make_env``), see the inspect adapter.
* General Points: the card values under the *scored* face map; the score is ``verify`` (5 / -1 / -2 / -3).

Items of a named split with ``seed=None`` are the frozen split (index ``i`` is ``split.instance(i)``, any size,
a prefix of the study's). With a ``seed`` they are fresh puzzles of the same variant and difficulty, drawn from
the seed: more data of one kind, no longer the evaluation split (and not checked against training data).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from sftgen.envs import ANSWER_TAG
from sftgen.prompts import Chat, points_answer, sokoban_answer
from sftgen.seeding import derive_seed
from sftgen.splits import SPLITS, TASKS, Instance, Split, get_split
from sftgen.tasks.points import one_solution, parse_answer, verify
from sftgen.tasks.sokoban import DIFFICULTIES, optimal_first_actions
from sftgen.train.rewards import SOKOBAN_CORRECT, sokoban_step_reward
from sftgen.variants import POINTS_DIFFICULTIES, POINTS_VARIANTS, SOKOBAN_VARIANTS, ActionVocab

NAMESPACE = "sftgen-integrations-v1"
PREFIX = "sftgen_"


@dataclass(frozen=True)
class Score:
    """One answer's verdict: the study's reward, whether it counts as solved, and a short reason."""

    reward: float
    success: bool
    outcome: str


@dataclass(frozen=True)
class Item:
    """One instance ready for any stack: the chat prompt sftgen's evaluation sends and what scores the answer."""

    id: str
    split: str
    task: str
    index: int
    variant: str
    difficulty: str
    category: str
    prompt: Chat
    ground_truth: dict[str, Any]
    reference: str

    @property
    def question(self) -> str:
        """The prompt as one string, for stacks whose datasets hold text rather than chat messages."""
        return "\n\n".join(m["content"] for m in self.prompt)

    def info(self) -> dict[str, Any]:
        """Where the item comes from (JSON-able), for a stack's metadata column."""
        return {
            "id": self.id,
            "split": self.split,
            "task": self.task,
            "index": self.index,
            "variant": self.variant,
            "difficulty": self.difficulty,
            "category": self.category,
        }


@dataclass(frozen=True)
class TaskSpec:
    """What a task contributes to the adapters; everything else is shared."""

    variants: Mapping[str, object]
    difficulties: Mapping[str, object]
    ground_truth: Callable[[Instance], dict[str, Any]]
    reference: Callable[[dict[str, Any]], str]
    score: Callable[[str, dict[str, Any]], Score]
    as_response: Callable[[str], str]
    """A bare final answer (what reasoning-gym's ``extract_answer`` returns) written as a full response."""


def _sokoban_truth(instance: Instance) -> dict[str, Any]:
    board = instance.materialize().board  # type: ignore[union-attr]
    words = SOKOBAN_VARIANTS[instance.variant].checked.words
    return {"task": "sokoban", "words": list(words), "optimal_actions": sorted(optimal_first_actions(board))}


def _sokoban_reference(truth: dict[str, Any]) -> str:
    vocab = ActionVocab("checked", tuple(truth["words"]), explained=True)  # type: ignore[arg-type]
    return sokoban_answer(vocab.word_for(truth["optimal_actions"][0]))


def _sokoban_score(text: str, truth: dict[str, Any]) -> Score:
    reward = sokoban_step_reward(text, truth["words"], truth["optimal_actions"])
    success = reward == SOKOBAN_CORRECT
    return Score(reward, success, "optimal first move" if success else "not an optimal first move")


def _sokoban_response(answer: str) -> str:
    return answer if ANSWER_TAG.search(answer) else sokoban_answer(answer.strip())


def _points_truth(instance: Instance) -> dict[str, Any]:
    hand = instance.materialize()
    values = hand.values(POINTS_VARIANTS[instance.variant].scored)  # type: ignore[union-attr]
    return {"task": "points", "cards": hand.labels(), "card_values": list(values)}  # type: ignore[union-attr]


def _points_reference(truth: dict[str, Any]) -> str:
    formula = one_solution(truth["card_values"])
    if formula is None:
        raise ValueError(f"cards {truth['cards']} have no solution under values {truth['card_values']}")
    return points_answer(truth["cards"], truth["card_values"], formula)


def _points_score(text: str, truth: dict[str, Any]) -> Score:
    outcome = verify(text, truth["card_values"])
    return Score(outcome.reward, outcome.success, outcome.kind.value)


def _points_response(answer: str) -> str:
    return answer if parse_answer(answer) is not None else json.dumps({"formula": answer})


TASK_SPECS: dict[str, TaskSpec] = {
    "sokoban": TaskSpec(
        SOKOBAN_VARIANTS, DIFFICULTIES, _sokoban_truth, _sokoban_reference, _sokoban_score, _sokoban_response
    ),
    "points": TaskSpec(
        POINTS_VARIANTS, POINTS_DIFFICULTIES, _points_truth, _points_reference, _points_score, _points_response
    ),
}


def supported_splits() -> list[Split]:
    """The named splits of every task that has a spec here (tests/integrations flags a task without one)."""
    return [s for s in SPLITS.values() if s.task in TASK_SPECS]


def supported_tasks() -> list[str]:
    """The tasks that have a spec here."""
    return [t for t in TASKS if t in TASK_SPECS]


def stack_name(split: Split | str) -> str:
    """``sokoban/numerical`` -> ``sftgen_sokoban_numerical``: the name a split goes by in other stacks."""
    name = split.name if isinstance(split, Split) else split
    return PREFIX + name.replace("/", "_")


def split_for_stack_name(name: str) -> Split:
    """Inverse of :func:`stack_name` for the registered splits; ``sftgen_points`` is the task's ``id`` split."""
    by_name = {stack_name(s): s for s in supported_splits()}
    by_name |= {f"{PREFIX}{t}": SPLITS[f"{t}/id"] for t in supported_tasks()}
    if name not in by_name:
        raise KeyError(f"unknown sftgen dataset {name!r}; known: {sorted(by_name)}")
    return by_name[name]


def resolve_split(name: str | Split, variant: str | None = None, difficulty: str | None = None) -> Split:
    """A named split, or the same split with another variant and/or difficulty (a custom split)."""
    split = name if isinstance(name, Split) else get_split(name)
    if split.task not in TASK_SPECS:
        raise ValueError(f"task {split.task!r} has no integration spec yet (sftgen.integrations.items.TASK_SPECS)")
    if variant is None and difficulty is None:
        return split
    spec = TASK_SPECS[split.task]
    variant, difficulty = variant or split.variant, difficulty or split.difficulty
    if variant not in spec.variants:
        raise ValueError(f"unknown {split.task} variant {variant!r}; known: {sorted(spec.variants)}")
    if difficulty not in spec.difficulties:
        raise ValueError(f"unknown {split.task} difficulty {difficulty!r}; known: {sorted(spec.difficulties)}")
    custom = f"{split.task}/{variant}@{difficulty}"
    return replace(split, name=custom, variant=variant, difficulty=difficulty, category="custom", in_study=False)


def instance_at(split: Split, index: int, seed: int | None = None) -> Instance:
    """The split's frozen instance ``index``, or (with ``seed``) a fresh one of the same kind."""
    frozen = split.instance(index)
    return frozen if seed is None else replace(frozen, seed=derive_seed(NAMESPACE, seed, split.name, index))


def make_item(
    split: Split,
    index: int,
    seed: int | None = None,
    template: str = "study",
    response_format: str = "answer",
) -> Item:
    """Item ``index`` of ``split`` with the prompt ``sftgen eval`` would send for it."""
    instance = instance_at(split, index, seed)
    spec = TASK_SPECS[split.task]
    truth = spec.ground_truth(instance)
    prompt = instance.make_env(template, response_format).observation()
    item_id = instance.id if seed is None else f"{instance.id}@seed{seed}"
    return Item(
        item_id,
        split.name,
        split.task,
        index,
        split.variant,
        split.difficulty,
        split.category,
        prompt,
        truth,
        spec.reference(truth),
    )


def make_items(
    split: Split | str,
    size: int | None = None,
    seed: int | None = None,
    template: str = "study",
    response_format: str = "answer",
) -> list[Item]:
    """The first ``size`` items (default: the split's own size)."""
    split = resolve_split(split)
    return [make_item(split, i, seed, template, response_format) for i in range(size or split.size)]


def score(text: str, ground_truth: Mapping[str, Any]) -> Score:
    """Score a full model response against an item's ground truth with the task's own verifier."""
    return TASK_SPECS[ground_truth["task"]].score(text, dict(ground_truth))


def score_final_answer(answer: str | None, ground_truth: Mapping[str, Any]) -> Score:
    """Score a bare final answer (a direction word, a formula) as if the model had answered in sftgen's format."""
    if answer is None:
        return score("", ground_truth)
    return score(TASK_SPECS[ground_truth["task"]].as_response(answer), ground_truth)
