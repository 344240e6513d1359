"""General Points training rows: one hand per row, a solver solution as the target.

Hands come from their own hashed seed stream; a hand whose puzzle (card multiset with the declared
and scored maps) is an evaluation instance is skipped. The four-card space is small (1,820
multisets), so training hands may repeat among themselves, as in the study; they never repeat a test.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from sftgen.prompts import PromptStyle, compact_field
from sftgen.seeding import derive_seed, rng_for
from sftgen.tasks.rows import RowSpec

from .cards import FaceMap, Hand, generate_hand
from .formula import Tree, parse_formula
from .identity import points_key
from .prompts import points_answer, points_messages
from .solver import one_solution
from .variants import sample_diverse_face_map

MAX_SKIPS = 1_000_000
TRAINING_MAP = FaceMap.uniform(10)


@dataclass(frozen=True)
class TrainingHand:
    index: int
    key: str
    hand: Hand
    face_map: FaceMap  # declared and scored: training variants are always honest


def training_hands(n: int, seed: int, diverse: bool, exclude: Collection[str]) -> Iterator[TrainingHand]:
    """``n`` hands (4 cards, ≥1 face card) solvable under their map, none an evaluation puzzle."""
    made = attempt = 0
    while made < n:
        if attempt - made > MAX_SKIPS:
            raise RuntimeError(f"could not find {n} training hands disjoint from evaluation")
        rng = np.random.default_rng(derive_seed("sftgen-train", "points", seed, attempt))
        attempt += 1
        face_map = sample_diverse_face_map(rng) if diverse else TRAINING_MAP
        hand = generate_hand(rng, 4, face_map, require_face=True)
        key = points_key(hand, face_map, face_map)
        if key in exclude:
            continue
        yield TrainingHand(made, key, hand, face_map)
        made += 1


def _show(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def _steps(tree: Tree, out: list[str]) -> Fraction:
    """Post-order evaluation, writing one ``a op b = c`` line per operation."""
    if tree[0] == "num":
        return Fraction(int(tree[1]))
    op, left, right = tree
    a, b = _steps(left, out), _steps(right, out)
    value = _apply(op, a, b)
    out.append(f"{_show(a)}{op}{_show(b)}={_show(value)}")
    return value


def _apply(op: str, a: Fraction, b: Fraction) -> Fraction:
    if op == "/":
        return a / b
    return {"+": a + b, "-": a - b, "*": a * b}[op]


def points_reasoning(
    labels: list[str], face_map: FaceMap, numbers: list[int], formula: str, template: str = "study"
) -> str:
    """Solver CoT: read the face-card values, map the cards to numbers, then each step that reaches 24.

    The compact template keeps the numbers and the steps (``numbers:5,10,5,8 plan:10+5=15;15*8=120;120/5=24``):
    the values line already sits in its prompt and the formula follows in the answer, so a CoT step costs less on
    a CPU (docs/results/2026-12-05-compact-cot.md). Its words are ones the tiny tokenizer has (``plan``, not
    ``steps``), so the shipped bases' tokenizer stays what it was."""
    steps: list[str] = []
    _steps(parse_formula(formula), steps)
    if template == "compact":
        return f"{compact_field('numbers', [str(n) for n in numbers])} {compact_field('plan', steps, ';')}"
    return (
        f"Here {face_map.message()}. Cards {' '.join(labels)} are the numbers {' '.join(map(str, numbers))}. "
        f"Steps: {'; '.join(steps)}. Formula: {formula}."
    )


def _answer_parts(item: TrainingHand) -> tuple[list[str], list[int], str]:
    labels = item.hand.labels()
    numbers = list(item.hand.values(item.face_map))
    formula = one_solution(numbers)
    if formula is None:  # generate_hand only emits solvable hands
        raise RuntimeError(f"hand {labels} has no solution under {item.face_map.name}")
    return labels, numbers, formula


def points_sft_rows(hands: Iterator[TrainingHand], spec: RowSpec, seed: int) -> Iterator[dict]:
    response_format = "think" if spec.cot else "answer"
    for item in hands:
        rng = rng_for("sftgen-train-row", "points", seed, item.index)
        paraphrase = spec.paraphrases[int(rng.integers(len(spec.paraphrases)))]
        labels, numbers, formula = _answer_parts(item)
        reasoning = points_reasoning(labels, item.face_map, numbers, formula, spec.template) if spec.cot else None
        yield {
            "prompt": points_messages(
                item.hand, item.face_map, PromptStyle(spec.template, paraphrase, response_format)
            ),
            "completion": [{"role": "assistant", "content": points_answer(labels, numbers, formula, reasoning)}],
            "task": "points",
            "instance_key": item.key,
            "hand_index": item.index,
            "face_map": item.face_map.name,
            "card_values": numbers,
        }


def points_rl_rows(hands: Iterator[TrainingHand], spec: RowSpec, seed: int) -> Iterator[dict]:
    """RL prompts with what the verifier needs (the scored card values) and the hand they were dealt from, so
    ``PointsTask.check_env`` can deal it again from the row."""
    for item in hands:
        style = PromptStyle(spec.template, 0, "think" if spec.cot else "answer")
        yield {
            "prompt": points_messages(item.hand, item.face_map, style),
            "task": "points",
            "instance_key": item.key,
            "hand_index": item.index,
            "face_map": item.face_map.name,
            "card_values": list(item.hand.values(item.face_map)),
            "ranks": list(item.hand.ranks),
        }
