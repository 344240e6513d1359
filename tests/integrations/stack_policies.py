"""A stateless mix of answers for the OpenEnv, verifiers, inspect and lm-eval agreement tests, for every task.

Why stateless: each answer is a function of the prompt alone, so an episode played through another stack and the
same episode replayed straight through sftgen's environment get the same answers, in any order of play. The
answer is written by the task from the state behind the prompt (``Task.reference_answer``), never read back from
the text, so every registered task is served: a prompt must first be made known, with its state, by
:func:`know_items` (single-turn items) or :func:`play_locally` (sftgen's own environments, the reference of the
multi-turn tests, which makes every prompt of their episodes known). A prompt an adapter sends that sftgen never
made is a ``KeyError``: the adapter did not send sftgen's prompt.

The mix, drawn per episode (a prompt met in several episodes keeps the first one's draw): sftgen's reference
agents (oracle 40 %, shortcut 20 %, random 20 %) and adversarial text 20 % (an answer in the declared but
unchecked words, a formula divided by zero, a trailing '= 24', a second answer tag, malformed or empty text).
Whole episodes follow one agent, so oracle episodes end solved on honest splits and shortcut ones on fakes.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from sftgen.integrations.items import Item
from sftgen.prompts import PromptStyle
from sftgen.seeding import derive_seed
from sftgen.splits import get_split
from sftgen.tasks.protocol import get_task

GARBAGE = ("", "I think the answer is up.", "<answer></answer>", "<answer> Up", "<answer>Up</answer><answer>Down")
ADVERSARIAL = "adversarial"


@dataclass(frozen=True)
class Situation:
    """What a prompt was made from, and which kind of answer it gets."""

    task: str
    variant: str
    state: Any
    kind: str


KNOWN: dict[str, Situation] = {}
"""Every prompt sftgen made in this test session, with its situation."""


def draw_kind(prompt: str) -> str:
    draw = random.Random(prompt).random()
    return "oracle" if draw < 0.4 else "shortcut" if draw < 0.6 else "random" if draw < 0.8 else ADVERSARIAL


def know(prompt: str, task: str, variant: str, state: Any, kind: str) -> None:
    KNOWN.setdefault(prompt, Situation(task, variant, state, kind))


def know_items(items: Iterable[Item]) -> None:
    """Make each item's prompt known (single-turn tests, where a stack sends only these)."""
    for item in items:
        prompt = item.prompt[-1]["content"]
        know(prompt, item.task, item.variant, get_task(item.task).state_from_data(item.state), draw_kind(prompt))


def adversarial(oracle: str, play_response: Any, rng: random.Random) -> str:
    """Text a verifier must not be fooled by, built from the oracle's own answer."""
    options = [play_response("up"), oracle + play_response("Left"), f"<think>{oracle}</think>", *GARBAGE]
    try:
        formula = json.loads(oracle)["formula"]
    except (ValueError, KeyError, TypeError):
        return rng.choice(options)
    return rng.choice([f"{{'formula': '{formula} = 24'}}", json.dumps({"formula": f"({formula})/0"}), *options])


@cache
def mixed_answer(prompt: str) -> str:
    """The answer to a known ``prompt`` (cached: it is pure)."""
    situation = KNOWN[prompt]
    task = get_task(situation.task)
    rng = np.random.default_rng(derive_seed("stack-policy", prompt))
    if situation.kind != ADVERSARIAL:
        return task.reference_answer(situation.kind, situation.state, situation.variant, PromptStyle(), rng)
    oracle = task.reference_answer("oracle", situation.state, situation.variant, PromptStyle(), rng)
    return adversarial(oracle, task.play_response, random.Random(prompt))


def play_locally(split_name: str, n: int, max_turns: int) -> dict[str, tuple[bool, float, int, list[float]]]:
    """Each episode with ``mixed_answer`` straight through sftgen's environment, at most ``max_turns`` turns:
    (success, total, turns, rewards). Makes every prompt of these episodes known."""
    results = {}
    split = get_split(split_name)
    for instance in (split.instance(i) for i in range(n)):  # one cached draw of seeds, as the adapters draw them
        env = instance.make_env()
        kind = draw_kind(env.observation()[-1]["content"])
        observation, done, rewards = env.observation(), False, []
        while not done:
            prompt = observation[-1]["content"]
            know(prompt, split.task, split.variant, env.state, kind)
            observation, reward, terminated, truncated, info = env.step(mixed_answer(prompt))
            rewards.append(reward)
            done = terminated or truncated or len(rewards) >= max_turns
        results[instance.id] = (info["success"], sum(rewards), len(rewards), rewards)
    return results
