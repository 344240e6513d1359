"""A stateless mix of answers for the OpenEnv, verifiers and lm-eval agreement tests.

Why stateless: each answer is a function of the prompt alone, so an episode played through another stack and the
same episode replayed straight through sftgen's environment get the same answers, in any order of play. The mix
holds sftgen's reference agents (oracle, shortcut, random) and adversarial text: an answer in the declared but
unchecked words, a formula divided by zero, a trailing '= 24', a second answer tag, malformed or empty text.
``play_locally`` replays the same answers straight through sftgen's environments, the reference of the
multi-turn agreement tests.
"""

from __future__ import annotations

import json
import random
from functools import cache

from sftgen.agents import ReferenceAgent
from sftgen.envs import SokobanEnv
from sftgen.prompts import sokoban_answer
from sftgen.splits import get_split

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


def play_locally(split_name: str, n: int, max_turns: int) -> dict[str, tuple[bool, float, int, list[float]]]:
    """Each episode with ``mixed_answer`` straight through sftgen's environment: (success, total, turns, rewards)."""
    results = {}
    split = get_split(split_name)
    for instance in (split.instance(i) for i in range(n)):  # one cached draw of seeds, as the adapters draw them
        env = instance.make_env()
        if isinstance(env, SokobanEnv):
            env.max_turns = max_turns
        observation, done, rewards = env.observation(), False, []
        while not done:
            observation, reward, terminated, truncated, info = env.step(mixed_answer(observation[-1]["content"]))
            rewards.append(reward)
            done = terminated or truncated
        results[instance.id] = (info["success"], sum(rewards), len(rewards), rewards)
    return results
