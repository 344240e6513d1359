"""What every task's prompts share: the style, chat messages, templates as data and the compact helpers.

Templates are data (``resources/templates.yaml``, one entry per task that has study paraphrases); paraphrase 0 is
the study's text verbatim. Messages are plain ``[{"role": "user", "content": ...}]`` lists so that any tokenizer's
chat template wraps them: no hard-coded chat markup, unlike the study's code. Each task writes its own prompts
from these pieces (``tasks/<task>/prompts.py``).

Two template families exist: ``study`` (the study's wording and its paraphrases, the default for
real models) and ``compact`` (one token per board cell and the declared mapping written
direction-first, ``up=w1``, so a from-scratch model reads it as "copy the token after up").
Both use the same response formats, so one parser scores every model.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

from sftgen.tasks.grid import ACTIONS, ActionVocab

TEMPLATES = ("study", "compact")
RESPONSE_FORMATS = ("answer", "think")
Chat = list[dict[str, str]]


@cache
def _template_data() -> dict:
    text = resources.files("sftgen.resources").joinpath("templates.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def task_templates(task: str) -> dict:
    """The study-family templates of ``task`` (its paraphrases and format lines) from ``templates.yaml``."""
    return _template_data()[task]


def paraphrase_count(task: str) -> int:
    return len(task_templates(task)["paraphrases"])


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


STUDY_STYLE = PromptStyle()
"""The default style: the study's template and wording, answer-only."""


def fill_template(template: str, values: dict[str, str]) -> str:
    """Replace ``{name}`` placeholders literally; other braces (JSON in the GP template) stay text."""
    for key, value in values.items():
        template = template.replace("{" + key + "}", value)
    return template


def user_chat(content: str) -> Chat:
    """A one-message chat: every task's prompt is one user turn."""
    return [{"role": "user", "content": content}]


# --- grid tasks' action words ------------------------------------------------------------------------


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


def compact_values(jack: int, queen: int, king: int) -> str:
    """``values:J=11,Q=12,K=13``: declared face-card values (General Points and the base curriculum's drill)."""
    return compact_field("values", [f"J={jack}", f"Q={queen}", f"K={king}"])


def compact_board(rows: Sequence[Sequence[str]]) -> list[str]:
    """One line per board row, one character (one token) per cell."""
    return ["board:", *("".join(row) for row in rows)]


def compact_format(response_format: str) -> str:
    return compact_field("format", ["think", "answer"] if response_format == "think" else ["answer"])


def action_answer(word: str, reasoning: str | None = None) -> str:
    """Target text of a grid task: ``<answer> Up </answer>``, preceded by a think block for CoT targets."""
    answer = f"<answer> {word} </answer>"
    return answer if reasoning is None else f"<think> {reasoning} </think> {answer}"


# --- reading a prompt back (the text-reading reference agents) -------------------------------------------

_ANSWER_WORDS = re.compile(r"<answer> (.+?) </answer>")
_COMPACT_ACTIONS = re.compile(r"^actions:(.*)$", re.MULTILINE)
_STUDY_CELL = re.compile(r"^(?: \S+ \t)+$")


def read_study_grid(prompt: str) -> list[str]:
    """A grid task's board in the study rendering (each cell `` X \\t``, a row per line) read back as one character
    per cell; empty when the prompt draws none."""
    return [line.replace(" ", "").replace("\t", "") for line in prompt.split("\n") if _STUDY_CELL.match(line)]


def read_compact_board(prompt: str) -> list[str]:
    """The rows :func:`compact_board` writes, read back (the lines after ``board:`` up to the next field)."""
    lines = prompt.split("\n")
    if "board:" not in lines:
        return []
    rows = lines[lines.index("board:") + 1 :]
    return rows[: next((i for i, row in enumerate(rows) if ":" in row), len(rows))]


def read_declared_words(prompt: str) -> ActionVocab | None:
    """The four action words a prompt declares (:func:`action_section` or :func:`compact_actions`, read back), or
    None when it declares none (Sokoban's Empty variant): what a text-reading agent answers in."""
    compact = _COMPACT_ACTIONS.search(prompt)
    if compact:
        words = [pair.split("=", 1)[1] for pair in compact.group(1).split(",")]
    else:
        answers_line = next((ln for ln in prompt.split("\n") if ln.count("<answer> ") == 4 and " | " in ln), None)
        if answers_line is None:
            return None
        words = _ANSWER_WORDS.findall(answers_line)
    return ActionVocab("declared", tuple(words), explained=True)  # type: ignore[arg-type]
