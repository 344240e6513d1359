"""The skill General Points presumes: making 24 from four numbers, which the study's pretrained models know.

Why the base learns it: at tiny scale every General Points answer that fails, fails on the formula, not on the
reading (the ``number`` field holds the declared values; docs/results/). A model trained from scratch has to
memorize one formula per multiset of card values, which plain SFT does not finish in the quick budget, so the
base model is taught the arithmetic beforehand, as a pretrained model would bring it. The rows never show cards,
face values or the task's prompt: four numbers in, the study's ``number``/``formula`` JSON fields out, so what
carries over into the task is the arithmetic, and reading the declared values is still left to SFT.
"""

from __future__ import annotations

import json

import numpy as np

from sftgen.prompts import compact_field, compact_format
from sftgen.tasks.protocol import SkillExample

from .solver import TARGET, one_solution
from .verifier import verify

SKILL_VALUES = range(1, 11)
"""Card values the training maps can give (1-10); 11-13 only appear in the held-out and fake splits."""


def arithmetic_example(rng: np.random.Generator, composed: bool = False) -> SkillExample:
    """Four numbers with a solution, in random order, and the solver's formula for them.

    ``composed`` writes each number ≥ 2, with probability 1/2, as a sum of two smaller ones (``3+5`` for 8), so the
    formula has to use the ``number`` list the answer has just worked out, not the prompt's text: the composition
    the task asks for, where the numbers are first read from declared card values
    (docs/results/2026-12-05-gp-compose.md).
    """
    while True:
        values = [int(v) for v in rng.choice(SKILL_VALUES, size=4)]
        formula = one_solution(values)
        if formula is not None:
            break
    written = [_as_sum(rng, v) if composed else str(v) for v in values]
    prompt = "\n".join(["arithmetic", compact_field("numbers", written), f"target:{TARGET}", compact_format("answer")])
    completion = json.dumps({"number": values, "formula": formula})

    def correct(text: str) -> bool:
        return verify(text, values).success

    return SkillExample(prompt, completion, correct)


def _as_sum(rng: np.random.Generator, value: int) -> str:
    """``value`` as ``a+b`` (both ≥ 1) half of the time when it can be, else as itself."""
    if value < 2 or rng.random() >= 0.5:
        return str(value)
    first = int(rng.integers(1, value))
    return f"{first}+{value - first}"
