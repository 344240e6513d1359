"""Sampled answers for agreement tests: the kinds of text a model writes, right and wrong, per item.

Shared by every adapter's agreement test so that each one is checked on the same mix: the reference answer,
every checked word (Sokoban) or a shuffled / perturbed formula (Points), malformed text and no answer at all.
"""

from __future__ import annotations

import json
import random

from sftgen.integrations.items import Item
from sftgen.prompts import sokoban_answer
from sftgen.splits import SPLITS, TASKS

NOT_YET_INTEGRATED = frozenset({"keys"})
"""Tasks the adapters do not serve yet: ``integrations/items.py`` keeps a table per task until it reads the task
protocol (its own issue). Any other new task still fails these tests until it is served or listed here."""
SERVED_TASKS = tuple(t for t in TASKS if t not in NOT_YET_INTEGRATED)
SERVED_SPLITS = {n: s for n, s in SPLITS.items() if s.task not in NOT_YET_INTEGRATED}


def sampled_answers(item: Item, rng: random.Random) -> list[str]:
    """A few full responses to ``item``, from full marks to garbage."""
    garbage = ["", "I think the answer is up.", "<answer></answer>", "<answer> Up"]
    if item.task == "sokoban":
        words = item.ground_truth["words"]
        return [item.reference, *(sokoban_answer(w) for w in words), sokoban_answer("Up"), rng.choice(garbage)]
    values = list(item.ground_truth["card_values"])
    formula = json.loads(item.reference)["formula"]
    shuffled = values[:]
    rng.shuffle(shuffled)
    ops = "".join(rng.choice("+-*/") for _ in values[1:])
    guess = "".join(f"{v}{o}" for v, o in zip(shuffled, [*ops, ""], strict=True))
    return [
        item.reference,
        json.dumps({"formula": guess}),
        json.dumps({"formula": formula.replace(str(values[0]), str(values[0] + 1), 1)}),
        f"<think>try</think> {{'formula': '{formula} = 24'}}",
        f"{formula}/0",
        rng.choice(garbage),
    ]
