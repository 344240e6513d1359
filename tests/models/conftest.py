"""Shared fixtures: a sample corpus in the real task formats, its tokenizer and a tiny model."""

from __future__ import annotations

import os

import pytest
import torch

# No network ever: set before any test module imports transformers / huggingface_hub.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
torch.set_num_threads(1)

SECTIONS = {
    "base": ("Up", "Down", "Left", "Right"),
    "cardinal": ("North", "South", "West", "East"),
    "emoji": ("⬆️", "⬇️", "⬅️", "➡️"),
    "numerical": ("1", "2", "3", "4"),
    "alphabetical": ("A", "B", "C", "D"),
    "random": ("*", "&", "1", "M"),
}
ACTION_WORDS = sorted({w for words in SECTIONS.values() for w in words})

SOKOBAN_TEMPLATE = """You are a Sokoban solver.

Sokoban Quick Guide
Goal: Push all boxes (X) onto targets (O).

Symbols:
# Wall | _ Floor | O Target | X Box | P You | √ = Box on Target | S = You on Target

Rules:
1. Push boxes (can't pull).
2. Avoid walls (#).

{section}

Rewards:
Move: -0.1
Box on target: +1.0
All boxes placed: +10.0


[Current Observation]:
{grid}
Decide the next action:
Always output: <answer> [your answer] </answer> with no extra text. Strictly follow this format."""

GRID_ROWS = ["######", "#__O_#", "#_X__#", "#_P#_#", "#__√S#", "######"]

GP_PROMPT = """\
[Task Description]
You are an expert 24 points card game player. You will receive a set of 4 cards.
Note that 'J', 'Q', and 'K' all count as '10', and each card must be used once.
Your goal is to output a formula that evaluates to 24 using numbers from the cards and operators such as \
'+', '-', '*', '/', '(', ')', and '='.

[Input]
Cards: ['4', '3', '2', 'K']

[Output]
{
  "cards": [x, y, z, w], where 'J', 'Q', and 'K' all count as '10',
  "number": [a, b, c, d], where a, b, c, and d are the numbers on the cards,
  "formula": 'an equation that equals 24',
}"""
GP_ANSWER = '{"cards": ["4", "3", "2", "K"], "number": [4, 3, 2, 10], "formula": "4*3+2+10"}'


def render_grid(rows: list[str]) -> str:
    """The study's rendering: every cell as space, symbol, space, tab; rows joined by newlines."""
    return "\n".join("".join(f" {cell} \t" for cell in row) for row in rows)


def section(variant: str) -> str:
    """ACTION_SECTION of a variant, as in spec section 1.3."""
    words = SECTIONS[variant]
    line = "Answers:\n" + " | ".join(f"<answer> {w} </answer>" for w in words)
    if variant in ("base", "cardinal", "emoji"):
        return line
    mapping = ", ".join(f"{w} is {d}" for w, d in zip(words, SECTIONS["base"], strict=True))
    return f"{line}\nwhere {mapping}."


def sokoban_prompt(variant: str) -> str:
    return SOKOBAN_TEMPLATE.format(section=section(variant), grid=render_grid(GRID_ROWS))


def sample_corpus() -> list[str]:
    texts = [sokoban_prompt(v) for v in SECTIONS]
    texts += [f"<answer> {w} </answer>" for w in ACTION_WORDS]
    texts += [GP_PROMPT, GP_ANSWER]
    return texts


@pytest.fixture(scope="session")
def corpus() -> list[str]:
    return sample_corpus()


@pytest.fixture(scope="session")
def tokenizer(corpus):
    from sftgen.models.tokenizer import build_tokenizer

    return build_tokenizer(corpus, extra_tokens=ACTION_WORDS)


@pytest.fixture(scope="session")
def peaky_model(tokenizer):
    """A tiny model with a large init: peaky logits, so float noise from padding cannot flip an argmax."""
    from sftgen.models.tiny import build_tiny_model

    return build_tiny_model("tiny", tokenizer, seed=0, initializer_range=0.2).eval()


@pytest.fixture(scope="session")
def chats() -> list[list[dict[str, str]]]:
    """Chats of very different lengths, so batches need real left padding."""
    return [
        [{"role": "user", "content": sokoban_prompt("base")}],
        [{"role": "user", "content": "Up"}],
        [{"role": "system", "content": "Answers:"}, {"role": "user", "content": GP_PROMPT}],
        [{"role": "user", "content": sokoban_prompt("emoji")}],
        [{"role": "user", "content": "Cards: ['4', '3', '2', 'K']"}],
    ]


@pytest.fixture(scope="session")
def action_words() -> list[str]:
    return list(ACTION_WORDS)


@pytest.fixture(scope="session")
def sokoban_prompts() -> dict[str, str]:
    return {v: sokoban_prompt(v) for v in SECTIONS}


@pytest.fixture(scope="session")
def gp_texts() -> tuple[str, str]:
    """(prompt, answer) of a General Points hand."""
    return GP_PROMPT, GP_ANSWER
