"""A synthetic pre-training curriculum for tiny base models — none of it Sokoban or General Points.

A pretrained model can already read "where 1 is Up"; a from-scratch one cannot, so the study's
question (does SFT *erode* instruction following?) has nothing to erode. This curriculum teaches
the ability itself, in the compact template's own layout (``actions:up=w1,...``):

* ``lookup``: a query against a declared direction→word map, answered with the declared word;
* ``lookup-far``: the same with a grid between the map and the query, as a task's board sits between its declared
  map and its answer (not in the default mix: 1,500 such steps left the tiny base's far look-up at 0.58 and
  its plain look-up at 0.91, and no SFT gain was seen; docs/results/);
* ``navigate``: reach a goal on a box-free grid, answering the first optimal move in the declared words;
* ``values``: read declared J/Q/K values and report them, or the sum of a few cards;
* ``copy``: copy random tokens, so every token of the vocabulary is seen as input and as output;
* ``skills``: the general skills tasks presume a pretrained model has (``Task.skill``; General Points: making 24
  from four numbers), drawn from the tasks named in ``skill_tasks``;
* ``compose``: the same skills with inputs that must first be worked out (``Task.skill(rng, composed=True)``;
  General Points: a number written as a sum), so the skill is applied to what the answer has just read.

Declared maps never equal an evaluation vocabulary in order (Base, Cardinal, Emoji, Numerical,
Alphabetical, Random), so the base model has not seen any held-out mapping before evaluation.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence

import numpy as np

from sftgen.prompts import compact_actions, compact_board, compact_field, compact_format, compact_values
from sftgen.seeding import rng_for
from sftgen.tasks.grid import ACTIONS
from sftgen.tasks.protocol import get_task
from sftgen.variants import BASE, HELD_OUT_VOCABS, normalize_word

KINDS = ("lookup", "lookup-far", "navigate", "values", "copy", "skills", "compose")
DELTAS = {"up": (-1, 0), "down": (1, 0), "left": (0, -1), "right": (0, 1)}
_EVAL_MAPS = {tuple(normalize_word(w) for w in v.words) for v in (BASE, *HELD_OUT_VOCABS)}


def _declared_words(rng: np.random.Generator, words: Sequence[str]) -> tuple[str, ...]:
    """Four distinct words whose order is never an evaluation mapping (``words`` may repeat to weight them)."""
    while True:
        picks = tuple(words[int(i)] for i in rng.choice(len(words), size=4, replace=False))
        normalized = tuple(normalize_word(w) for w in picks)
        if len(set(normalized)) == 4 and normalized not in _EVAL_MAPS:
            return picks


def lookup_prompt(words: Sequence[str], asked: Sequence[str], between: Sequence[str] = ()) -> str:
    """The look-up question, shared with the zero-shot probes so both read the same layout; ``between``: lines
    (a board) set between the declared map and the query."""
    lines = ["lookup", compact_actions(words), *between, compact_field("query", asked), compact_format("answer")]
    return "\n".join(lines)


def _answers(items: Sequence[str]) -> str:
    return " ".join(f"<answer> {item} </answer>" for item in items)


def lookup_example(
    rng: np.random.Generator, words: Sequence[str], queries: int = 1, far: bool = False
) -> tuple[str, str]:
    """``queries`` questions about one declared map: several per row train the look-up densely; ``far`` sets a
    grid between the map and the questions."""
    declared = _declared_words(rng, words)
    between = compact_board(filler_grid(rng)) if far else []
    asked = [ACTIONS[int(i)] for i in rng.integers(0, 4, size=queries)]
    return lookup_prompt(declared, asked, between), _answers([declared[ACTIONS.index(a)] for a in asked])


def filler_grid(rng: np.random.Generator) -> list[list[str]]:
    """A walled grid of 4-9 rows and columns with a player and a goal: board-shaped text, no question attached."""
    grid, start, goal = _walled_grid(rng, 4, 10)
    grid[start[0]][start[1]], grid[goal[0]][goal[1]] = "P", "O"
    return grid


def _walled_grid(
    rng: np.random.Generator, low: int, high: int
) -> tuple[list[list[str]], tuple[int, int], tuple[int, int]]:
    """(grid with outer and a few inner walls, start, goal): sides drawn from ``low..high-1``."""
    height, width = (int(v) for v in rng.integers(low, high, size=2))
    grid = [["#" if r in (0, height - 1) or c in (0, width - 1) else "_" for c in range(width)] for r in range(height)]
    interior = [(r, c) for r in range(1, height - 1) for c in range(1, width - 1)]
    order = rng.permutation(len(interior))
    start, goal = interior[int(order[0])], interior[int(order[1])]
    for i in order[2 : 2 + int(rng.integers(0, len(interior) // 3 + 1))]:
        grid[interior[int(i)][0]][interior[int(i)][1]] = "#"
    return grid, start, goal


def first_moves(grid: list[list[str]], start: tuple[int, int], goal: tuple[int, int]) -> list[str]:
    """Every first move on some shortest path from start to goal (BFS distances from the goal)."""
    dist = {goal: 0}
    queue = deque([goal])
    while queue:
        r, c = queue.popleft()
        for dr, dc in DELTAS.values():
            nxt = (r + dr, c + dc)
            if grid[nxt[0]][nxt[1]] != "#" and nxt not in dist:
                dist[nxt] = dist[(r, c)] + 1
                queue.append(nxt)
    if start not in dist:
        return []
    return [a for a, (dr, dc) in DELTAS.items() if dist.get((start[0] + dr, start[1] + dc), -1) == dist[start] - 1]


def navigate_case(rng: np.random.Generator, declared: Sequence[str]) -> tuple[str, list[str]] | None:
    """A box-free grid with a player and a goal, and every optimal first move; None when the draw has no path."""
    grid, start, goal = _walled_grid(rng, 5, 9)
    moves = first_moves(grid, start, goal)
    if not moves:
        return None
    grid[start[0]][start[1]], grid[goal[0]][goal[1]] = "P", "O"
    return "\n".join(["navigate", compact_actions(declared), *compact_board(grid), compact_format("answer")]), moves


def navigate_example(rng: np.random.Generator, words: Sequence[str]) -> tuple[str, str] | None:
    """A navigation question answered with the declared word of its first optimal move (None: redraw)."""
    declared = _declared_words(rng, words)
    case = navigate_case(rng, declared)
    if case is None:
        return None
    prompt, moves = case
    return prompt, _answers([declared[ACTIONS.index(moves[0])]])


def values_example(rng: np.random.Generator) -> tuple[str, str]:
    values = [int(v) for v in rng.integers(1, 14, size=3)]
    line = compact_values(*values)
    cards = [str(rng.choice(["J", "Q", "K", "A", *map(str, range(2, 11))])) for _ in range(int(rng.integers(1, 5)))]
    number = {"A": 1, "J": values[0], "Q": values[1], "K": values[2]}
    numbers = [number.get(card) or int(card) for card in cards]
    if rng.random() < 0.5:
        prompt = "\n".join(["values", line, compact_field("cards", cards), compact_format("answer")])
        return prompt, _answers([str(n) for n in numbers])
    prompt = "\n".join(["sum", line, compact_field("cards", cards), compact_format("answer")])
    return prompt, _answers([str(sum(numbers))])


def copy_example(rng: np.random.Generator, tokens: Sequence[str]) -> tuple[str, str]:
    picked = [tokens[int(i)] for i in rng.integers(0, len(tokens), size=int(rng.integers(2, 9)))]
    prompt = "\n".join(["copy", compact_field("tokens", picked), compact_format("answer")])
    return prompt, f"<answer> {' '.join(picked)} </answer>"


def curriculum_rows(
    n: int,
    seed: int,
    words: Sequence[str],
    tokens: Sequence[str],
    mix: dict[str, float] | None = None,
    lookup_queries: int = 1,
    skill_tasks: Sequence[str] = (),
) -> Iterator[dict]:
    """``n`` prompt/completion rows; ``words`` feed the declared maps, ``tokens`` the copy task, ``skill_tasks``
    the ``skills`` rows (one task drawn per row).

    ``lookup_queries`` > 1 asks that many questions per look-up row: denser supervision of the same
    circuit, which forms far sooner than with one query per sequence (docs/tiny-scale-notes.md).
    """
    mix = mix or {"lookup": 0.4, "navigate": 0.35, "values": 0.1, "copy": 0.15}
    unknown = set(mix) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown curriculum kinds {sorted(unknown)}; choose from {KINDS}")
    if {"skills", "compose"} & set(mix) and not skill_tasks:
        raise ValueError("the skills and compose kinds need skill_tasks: the tasks whose Task.skill rows to draw")
    skill_sources = [get_task(name) for name in skill_tasks]
    kinds, weights = list(mix), np.array(list(mix.values()), dtype=float)
    made = attempt = 0
    while made < n:
        rng = rng_for("sftgen-base", seed, attempt)
        attempt += 1
        kind = kinds[int(rng.choice(len(kinds), p=weights / weights.sum()))]
        if kind in ("lookup", "lookup-far"):
            example = lookup_example(rng, words, lookup_queries, far=kind == "lookup-far")
        elif kind == "navigate":
            example = navigate_example(rng, words)
        elif kind == "values":
            example = values_example(rng)
        elif kind in ("skills", "compose"):
            skill = skill_sources[int(rng.integers(len(skill_sources)))].skill(rng, composed=kind == "compose")
            example = None if skill is None else (skill.prompt, skill.completion)
        else:
            example = copy_example(rng, tokens)
        if example is None:
            continue
        prompt, completion = example
        yield {
            "prompt": [{"role": "user", "content": prompt}],
            "completion": [{"role": "assistant", "content": completion}],
            "kind": kind,
        }
        made += 1
