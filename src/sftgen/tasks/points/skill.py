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


def arithmetic_example(rng: np.random.Generator) -> SkillExample:
    """Four numbers with a solution, in random order, and the solver's formula for them."""
    while True:
        values = [int(v) for v in rng.choice(SKILL_VALUES, size=4)]
        formula = one_solution(values)
        if formula is not None:
            break
    prompt = "\n".join(
        ["arithmetic", compact_field("numbers", [str(v) for v in values]), f"target:{TARGET}", compact_format("answer")]
    )
    completion = json.dumps({"number": values, "formula": formula})

    def correct(text: str) -> bool:
        return verify(text, values).success

    return SkillExample(prompt, completion, correct)
