"""General Points prompts in the two template families, the study's JSON answer, and reading a prompt back.

The reader (the cards and the declared face-card values) serves agents that get a prompt as text only (a served
reference model); it reads every study paraphrase and the compact template.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Sequence

import numpy as np

from sftgen.prompts import (
    STUDY_STYLE,
    Chat,
    PromptStyle,
    compact_field,
    compact_format,
    compact_values,
    fill_template,
    task_templates,
    user_chat,
)

from .cards import FaceMap, Hand
from .solver import one_solution

_SLOT_LETTERS = "xyzwvu"
_NUMBER_LETTERS = "abcdef"
SHORTCUT_MAP = FaceMap.uniform(10)
"""The training face-card values a prompt-blind model keeps using."""


def _compact_points(hand: Hand, declared: FaceMap, response_format: str) -> str:
    return "\n".join(
        [
            "24 game",
            compact_values(declared.jack, declared.queen, declared.king),
            compact_field("cards", hand.labels()),
            compact_format(response_format),
        ]
    )


def points_messages(hand: Hand, declared: FaceMap, style: PromptStyle = STUDY_STYLE) -> Chat:
    """The single-turn prompt for a hand, declaring the face-card values of ``declared``."""
    if style.template == "compact":
        return user_chat(_compact_points(hand, declared, style.response_format))
    data = task_templates("points")
    n = len(hand.ranks)
    if n > len(_SLOT_LETTERS):
        raise ValueError(f"the study template supports at most {len(_SLOT_LETTERS)} cards, got {n}")
    numbers = list(_NUMBER_LETTERS[:n])
    values = {
        "num_cards": str(n),
        "face_card_msg": declared.message(),
        "cards": repr(hand.labels()),
        "card_slots": ", ".join(_SLOT_LETTERS[:n]),
        "number_slots": ", ".join(numbers),
        "number_names": ", ".join(numbers[:-1]) + ", and " + numbers[-1],
    }
    text = fill_template(data["paraphrases"][style.paraphrase], values)
    format_line = data["format_line"][style.response_format]
    return user_chat(f"{text}\n{format_line}" if format_line else text)


def points_answer(labels: Sequence[str], numbers: Sequence[int], formula: str, reasoning: str | None = None) -> str:
    """Target text in the study's JSON answer format, preceded by a think block for CoT targets."""
    answer = json.dumps({"cards": list(labels), "number": list(numbers), "formula": formula}, ensure_ascii=False)
    return answer if reasoning is None else f"<think> {reasoning} </think> {answer}"


def agent_answer(agent: str, labels: Sequence[str], numbers: Sequence[int], rng: np.random.Generator) -> str:
    """A reference agent's answer for cards read as ``numbers``: the solver's formula, or random operators in a
    random order (``agent == "random"``); the same from the state and from the prompt text."""
    if agent == "random":
        order = rng.permutation(len(numbers))
        ops = rng.choice(list("+-*/"), size=len(numbers) - 1)
        formula = str(numbers[order[0]]) + "".join(f"{o}{numbers[i]}" for o, i in zip(ops, order[1:], strict=True))
    else:
        formula = one_solution(numbers) or "+".join(map(str, numbers))
    return points_answer(labels, numbers, formula)


# --- reading a prompt back ---------------------------------------------------------------------------

_CARDS = re.compile(r"(\[(?:'[^']*'(?:, )?)+\])")
_UNIFORM = re.compile(r"'J', 'Q', and 'K' all count as '(\d+)'")
_MIXED = re.compile(r"'J' counts as '(\d+)', 'Q' counts as '(\d+)', and 'K' counts as '(\d+)'")
_COMPACT_VALUES = re.compile(r"values:J=(\d+),Q=(\d+),K=(\d+)")
_COMPACT_CARDS = re.compile(r"^cards:(.*)$", re.MULTILINE)
_RANKS = {"A": 1, "J": 11, "Q": 12, "K": 13}


def read_hand(prompt: str) -> tuple[list[str], FaceMap]:
    """The card labels and the declared face-card values of a Points prompt."""
    compact_cards = _COMPACT_CARDS.search(prompt)
    if compact_cards:
        labels = compact_cards.group(1).split(",")
        values = _COMPACT_VALUES.search(prompt)
        if values is None:
            raise ValueError("no face-card values in the prompt")
        return labels, FaceMap(*(int(v) for v in values.groups()))
    cards = _CARDS.search(prompt)
    if cards is None:
        raise ValueError("no cards found in the prompt")
    labels = list(ast.literal_eval(cards.group(1)))
    uniform, mixed = _UNIFORM.search(prompt), _MIXED.search(prompt)
    if uniform:
        return labels, FaceMap.uniform(int(uniform.group(1)))
    if mixed:
        return labels, FaceMap(*(int(v) for v in mixed.groups()))
    raise ValueError("no face-card values in the prompt")


def _rank(label: str) -> int:
    return _RANKS.get(label, 0) or int(label)


def answer_from_text(agent: str, prompt: str, rng: np.random.Generator) -> str | None:
    """:func:`agent_answer` for a prompt read as text (None: it shows no cards, and ``rng`` is left untouched); the
    shortcut reads J=Q=K=10 whatever the prompt declares."""
    if not (_COMPACT_CARDS.search(prompt) or _CARDS.search(prompt)):
        return None
    labels, declared = read_hand(prompt)
    face_map = SHORTCUT_MAP if agent == "shortcut" else declared
    return agent_answer(agent, labels, [face_map.value(_rank(label)) for label in labels], rng)
