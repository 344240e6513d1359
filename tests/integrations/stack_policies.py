"""A stateless mix of answers for the OpenEnv, verifiers and lm-eval agreement tests.

Why stateless: each answer is a function of the prompt alone, so an episode played through another stack and the
same episode replayed straight through sftgen's environment get the same answers, in any order of play. The mix
holds sftgen's reference agents (oracle, shortcut, random) and adversarial text: an answer in the declared but
unchecked words, a formula divided by zero, a trailing '= 24', a second answer tag, malformed or empty text.
"""

from __future__ import annotations

import json
import random
from functools import cache

from sftgen.agents import ReferenceAgent
from sftgen.prompts import sokoban_answer

GARBAGE = ("", "I think the answer is up.", "<answer></answer>", "<answer> Up", "<answer>Up</answer><answer>Down")


def adversarial(prompt: str, rng: random.Random) -> str:
    """Text a verifier must not be fooled by, built from the oracle's own answer."""
    oracle = ReferenceAgent("oracle").answer(prompt)
    if "sokoban" in prompt.lower():
        return rng.choice([sokoban_answer("up"), oracle + sokoban_answer("Left"), f"<think>{oracle}</think>", *GARBAGE])
    try:
        formula = json.loads(oracle)["formula"]
    except (ValueError, KeyError, TypeError):
        return rng.choice(GARBAGE)
    return rng.choice([f"{{'formula': '{formula} = 24'}}", json.dumps({"formula": f"({formula})/0"}), *GARBAGE])


@cache
def mixed_answer(prompt: str) -> str:
    """One answer to ``prompt``: oracle 40 %, shortcut 20 %, random 20 %, adversarial 20 % (cached: it is pure)."""
    rng = random.Random(prompt)
    draw = rng.random()
    if draw < 0.8:
        kind = "oracle" if draw < 0.4 else "shortcut" if draw < 0.6 else "random"
        return ReferenceAgent(kind).answer(prompt)
    return adversarial(prompt, rng)
