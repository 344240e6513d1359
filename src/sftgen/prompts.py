"""Turn (state, declared variant, style) into chat messages, and solver answers into targets.

Templates are data (``resources/templates.yaml``); paraphrase 0 is the study's text verbatim. Messages
are plain ``[{"role": "user", "content": ...}]`` lists so that any tokenizer's chat template wraps
them: no hard-coded chat markup, unlike the study's code.

Two template families exist: ``study`` (the study's wording and its paraphrases, the default for
real models) and ``compact`` (one token per board cell and the declared mapping written
direction-first, ``up=w1``, so a from-scratch model reads it as "copy the token after up").
Both use the same response formats, so one parser scores every model.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

from sftgen.tasks.grid import ACTIONS, ActionVocab
from sftgen.tasks.points import FaceMap, Hand
from sftgen.tasks.sokoban import Board

TEMPLATES = ("study", "compact")
RESPONSE_FORMATS = ("answer", "think")
Chat = list[dict[str, str]]


@cache
def _template_data() -> dict:
    text = resources.files("sftgen.resources").joinpath("templates.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def paraphrase_count(task: str) -> int:
    return len(_template_data()[task]["paraphrases"])


def paraphrase_pool(task: str, held_out: bool) -> tuple[int, ...]:
    """Paraphrase indices for training (0 = study text first) or for the held-out evaluation pool."""
    cut = _template_data()["held_out_from"]
    indices = range(paraphrase_count(task))
    return tuple(i for i in indices if (i >= cut) == held_out)


@dataclass(frozen=True)
class PromptStyle:
    """How a prompt is written: template family, paraphrase index and response format."""

    template: str = "study"
    paraphrase: int = 0
    response_format: str = "answer"

    def __post_init__(self) -> None:
        if self.template not in TEMPLATES:
            raise ValueError(f"template must be one of {TEMPLATES}, got {self.template!r}")
        if self.response_format not in RESPONSE_FORMATS:
            raise ValueError(f"response_format must be one of {RESPONSE_FORMATS}, got {self.response_format!r}")
        if self.paraphrase < 0 or (self.template == "compact" and self.paraphrase != 0):
            raise ValueError(f"paraphrase {self.paraphrase} does not exist for template {self.template!r}")


def _fill(template: str, values: dict[str, str]) -> str:
    """Replace ``{name}`` placeholders literally; other braces (JSON in the GP template) stay text."""
    for key, value in values.items():
        template = template.replace("{" + key + "}", value)
    return template


def _user(content: str) -> Chat:
    return [{"role": "user", "content": content}]


# --- Sokoban -----------------------------------------------------------------------------------------


def action_section(declared: ActionVocab | None) -> str:
    """The study's ``Answers:`` block for any grid task's four action words; the empty variant has none at all."""
    if declared is None:
        return ""
    lines = ["Answers:", " | ".join(f"<answer> {w} </answer>" for w in declared.words)]
    if declared.explained:
        pairs = ", ".join(f"{w} is {direction_name(a, 'study')}" for w, a in zip(declared.words, ACTIONS, strict=True))
        lines.append(f"where {pairs}.")
    return "\n".join(lines)


# The compact family spends no token on spaces a tiny model does not need (the tokenizer keeps every
# whitespace run as a token): board cells are adjacent, fields end with ":" and items are split by ",".
# That halves a 6x6 prompt (~130 -> ~70 tokens), and training cost is linear in tokens.


def compact_field(name: str, items: Sequence[str], sep: str = ",") -> str:
    """``name:item1,item2``: one compact prompt line."""
    return f"{name}:" + sep.join(items)


def direction_name(action: str, template: str) -> str:
    """A direction as the prompt's own mapping line writes it (compact ``up=``, the study's ``is Up``), so a CoT's
    "up is written as w1" names the very token the look-up copies after."""
    return action if template == "compact" else action.capitalize()


def compact_actions(words: Sequence[str]) -> str:
    """``actions:up=w1,down=w2,left=w3,right=w4``: the direction first, so the look-up copies the next token."""
    pairs = zip(ACTIONS, words, strict=True)
    return compact_field("actions", [f"{direction_name(a, 'compact')}={w}" for a, w in pairs])


def compact_board(rows: Sequence[Sequence[str]]) -> list[str]:
    """One line per board row, one character (one token) per cell."""
    return ["board:", *("".join(row) for row in rows)]


def compact_format(response_format: str) -> str:
    return compact_field("format", ["think", "answer"] if response_format == "think" else ["answer"])


def _compact_sokoban(board: Board, declared: ActionVocab | None, response_format: str) -> str:
    lines = ["sokoban"]
    if declared is not None:
        lines.append(compact_actions(declared.words))
    lines.extend(compact_board(board.to_rows()))
    lines.append(compact_format(response_format))
    return "\n".join(lines)


def sokoban_messages(board: Board, declared: ActionVocab | None, style: PromptStyle = PromptStyle()) -> Chat:
    """The one-turn, stateless prompt for the current board."""
    if style.template == "compact":
        return _user(_compact_sokoban(board, declared, style.response_format))
    data = _template_data()["sokoban"]
    template = data["paraphrases"][style.paraphrase]
    section = action_section(declared)
    if not section:  # no section at all: drop its paragraph, not just the placeholder
        template = template.replace("{action_section}\n\n", "")
    values = {
        "action_section": section,
        "grid": board.to_text(),
        "answer_format": data["answer_format"][style.response_format],
    }
    return _user(_fill(template, values))


def action_answer(word: str, reasoning: str | None = None) -> str:
    """Target text of a grid task: ``<answer> Up </answer>``, preceded by a think block for CoT targets."""
    answer = f"<answer> {word} </answer>"
    return answer if reasoning is None else f"<think> {reasoning} </think> {answer}"


# The names the study's Sokoban code used; older callers import them.
sokoban_action_section = action_section
sokoban_answer = action_answer


# --- General Points ----------------------------------------------------------------------------------

_SLOT_LETTERS = "xyzwvu"
_NUMBER_LETTERS = "abcdef"


def compact_values(jack: int, queen: int, king: int) -> str:
    return compact_field("values", [f"J={jack}", f"Q={queen}", f"K={king}"])


def _compact_points(hand: Hand, declared: FaceMap, response_format: str) -> str:
    return "\n".join(
        [
            "24 game",
            compact_values(declared.jack, declared.queen, declared.king),
            compact_field("cards", hand.labels()),
            compact_format(response_format),
        ]
    )


def points_messages(hand: Hand, declared: FaceMap, style: PromptStyle = PromptStyle()) -> Chat:
    """The single-turn prompt for a hand, declaring the face-card values of ``declared``."""
    if style.template == "compact":
        return _user(_compact_points(hand, declared, style.response_format))
    data = _template_data()["points"]
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
    text = _fill(data["paraphrases"][style.paraphrase], values)
    format_line = data["format_line"][style.response_format]
    return _user(f"{text}\n{format_line}" if format_line else text)


def points_answer(labels: Sequence[str], numbers: Sequence[int], formula: str, reasoning: str | None = None) -> str:
    """Target text in the study's JSON answer format, preceded by a think block for CoT targets."""
    answer = json.dumps({"cards": list(labels), "number": list(numbers), "formula": formula}, ensure_ascii=False)
    return answer if reasoning is None else f"<think> {reasoning} </think> {answer}"
