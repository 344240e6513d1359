"""Sampled answers for agreement tests: the kinds of text a model writes, right and wrong, per item.

Shared by every adapter's agreement test so that each one is checked on the same mix, for every registered task:
the reference answer, each reference agent's answer (oracle, shortcut, random, written by the task from the
item's state), every checked word (tasks whose check data has words) or a shuffled / perturbed formula (check data
with card values), malformed text and no answer at all.
"""

from __future__ import annotations

import json
import random

import numpy as np

from sftgen.integrations.items import Item
from sftgen.prompts import PromptStyle
from sftgen.splits import SPLITS
from sftgen.tasks.protocol import AGENTS, get_task

GARBAGE = ("", "I think the answer is up.", "<answer></answer>", "<answer> Up")


def agreement_splits(task: str, total: int = 1000) -> list[tuple[str, int]]:
    """``total`` items of ``task`` spread evenly over its splits (within their frozen sizes), so that the
    instruction, fake and difficulty variants are all among them."""
    splits = [s for s in SPLITS.values() if s.task == task]
    per_split, plan, left = -(-total // len(splits)), [], total
    for split in splits:
        if left > 0:
            plan.append((split.name, min(split.size, per_split, left)))
            left -= plan[-1][1]
    return plan


def agent_answers(item: Item, rng: random.Random) -> list[str]:
    """What each reference agent writes for the item's start state."""
    task = get_task(item.task)
    state = task.state_from_data(item.state)
    draws = np.random.default_rng(rng.randrange(2**32))
    return [task.reference_answer(agent, state, item.variant, PromptStyle(), draws) for agent in AGENTS]


def formula_answers(item: Item, rng: random.Random) -> list[str]:
    """Near misses of the reference formula: shuffled numbers, one number off, '= 24', a division by zero."""
    values = list(item.ground_truth["card_values"])
    formula = json.loads(item.reference)["formula"]
    shuffled = values[:]
    rng.shuffle(shuffled)
    ops = "".join(rng.choice("+-*/") for _ in values[1:])
    guess = "".join(f"{v}{o}" for v, o in zip(shuffled, [*ops, ""], strict=True))
    return [
        json.dumps({"formula": guess}),
        json.dumps({"formula": formula.replace(str(values[0]), str(values[0] + 1), 1)}),
        f"<think>try</think> {{'formula': '{formula} = 24'}}",
        f"{formula}/0",
    ]


def sampled_answers(item: Item, rng: random.Random) -> list[str]:
    """A few full responses to ``item``, from full marks to garbage."""
    task = get_task(item.task)
    extra = [task.play_response(w) for w in item.ground_truth.get("words", [])]
    if "card_values" in item.ground_truth:
        extra += formula_answers(item, rng)
    return [item.reference, *agent_answers(item, rng), *extra, task.play_response("Up"), rng.choice(GARBAGE)]
