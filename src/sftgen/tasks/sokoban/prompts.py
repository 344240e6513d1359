"""Sokoban prompts in the two template families, and reading a prompt back (the board and the declared words).

The reader serves agents that get a prompt as text only (a served reference model): it reads every study
paraphrase, the compact template and ``sftgen play``'s spaced rows, which also checks that every prompt carries what
a model needs.
"""

from __future__ import annotations

import re

import numpy as np

from sftgen.prompts import (
    STUDY_STYLE,
    Chat,
    PromptStyle,
    action_answer,
    action_section,
    compact_actions,
    compact_board,
    compact_format,
    fill_template,
    read_compact_board,
    read_declared_words,
    read_study_grid,
    task_templates,
    user_chat,
)
from sftgen.tasks.grid import BASE, ActionVocab

from .board import ACTIONS, Board
from .solver import solve


def inside_the_wall(rows: list[str]) -> list[str]:
    """A room's rows without its outer wall ring, which the compact template leaves out: every generated room is
    walled all round (``rooms.py``), so the ring tells a model nothing, yet it is 22 of a 6x6 prompt's 78 tokens
    (docs/results/2026-12-05-compact-board.md)."""
    walled = len(rows) >= 3 and len(rows[0]) >= 3
    if not walled or set(rows[0] + rows[-1] + "".join(row[0] + row[-1] for row in rows)) != {"#"}:
        raise ValueError("the compact template draws a room inside its outer wall, and this board has no such wall")
    return [row[1:-1] for row in rows[1:-1]]


def with_the_wall(rows: list[str]) -> list[str]:
    """The outer wall ring put back around rows :func:`inside_the_wall` took it from (at least one row)."""
    width = len(rows[0]) + 2
    return ["#" * width, *(f"#{row}#" for row in rows), "#" * width]


def _compact_sokoban(board: Board, declared: ActionVocab | None, response_format: str) -> str:
    """The room inside its wall, then the declared words. Why the board first: a causal model's board positions
    then cannot see the declaration, so a policy learned under one fixed declaration is computed the same way
    under another (the fake split measures exactly that), and the declared words sit next to the answer that
    copies one (docs/results/2026-12-05-compact-board.md)."""
    lines = ["sokoban", *compact_board(inside_the_wall(board.to_rows()))]
    if declared is not None:
        lines.append(compact_actions(declared.words))
    lines.append(compact_format(response_format))
    return "\n".join(lines)


def sokoban_messages(board: Board, declared: ActionVocab | None, style: PromptStyle = STUDY_STYLE) -> Chat:
    """The one-turn, stateless prompt for the current board."""
    if style.template == "compact":
        return user_chat(_compact_sokoban(board, declared, style.response_format))
    data = task_templates("sokoban")
    template = data["paraphrases"][style.paraphrase]
    section = action_section(declared)
    if not section:  # no section at all: drop its paragraph, not just the placeholder
        template = template.replace("{action_section}\n\n", "")
    values = {
        "action_section": section,
        "grid": board.to_text(),
        "answer_format": data["answer_format"][style.response_format],
    }
    return user_chat(fill_template(template, values))


# --- reading a prompt back ---------------------------------------------------------------------------

_SPACED_ROW = re.compile(r"^[#_OXP√S](?: ?[#_OXP√S]){2,}$")  # `sftgen play`'s rows (walled, spaced or not)


def read_board(prompt: str) -> Board:
    """The board drawn in a Sokoban prompt (study rendering, the compact one inside its wall, or rows as shown by
    ``sftgen play``)."""
    rows = read_study_grid(prompt)
    if not rows:
        inside = read_compact_board(prompt)
        rows = with_the_wall(inside) if inside else []
    if not rows:
        rows = [line.replace(" ", "") for line in prompt.split("\n") if _SPACED_ROW.match(line)]
    if not rows:
        raise ValueError("no board found in the prompt")
    return Board.from_rows(rows)


def agent_answer(agent: str, board: Board | None, declared: ActionVocab | None, rng: np.random.Generator) -> str:
    """A reference agent's answer: the oracle answers in the declared words (the base ones when none are declared),
    the shortcut always in the base words, random with a random one of them (it never looks at ``board``)."""
    vocab = BASE if agent == "shortcut" or declared is None else declared
    if agent == "random":
        return action_answer(vocab.words[int(rng.integers(4))])
    if board is None:
        raise ValueError(f"the {agent} agent needs the board")
    plan = solve(board)
    return action_answer(vocab.word_for(plan[0] if plan else ACTIONS[0]))


def answer_from_text(agent: str, prompt: str, rng: np.random.Generator) -> str | None:
    """:func:`agent_answer` for a prompt read as text (None: not a Sokoban prompt, and ``rng`` is left untouched)."""
    if "sokoban" not in prompt.lower():
        return None
    board = None if agent == "random" else read_board(prompt)
    return agent_answer(agent, board, read_declared_words(prompt), rng)
