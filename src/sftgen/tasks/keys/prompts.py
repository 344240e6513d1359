"""Keys prompts in the two template families, the solver-written chain of thought, and reading a prompt back.

Both families state the rules in full, including the opening map key by key, so a rule variant is read from the
prompt and never from memory; the study family words it like the Sokoban study prompt, the compact family as
``name:items`` lines (one token per board cell), reusing the compact helpers of ``sftgen.prompts``. The reader
(board, keys in hand, declared words and rules) serves agents that get a prompt as text only (a served reference
model).
"""

from __future__ import annotations

import re
from functools import partial

import numpy as np

from sftgen.prompts import (
    Chat,
    PromptStyle,
    action_answer,
    action_section,
    compact_actions,
    compact_board,
    compact_field,
    compact_format,
    direction_name,
    read_compact_board,
    read_declared_words,
    read_study_grid,
)
from sftgen.tasks.grid import BASE, ActionVocab

from .solver import solve
from .world import ACTIONS, PALETTE, STANDARD, Cell, KeysState, Rules, door_symbol, key_symbol

ANSWER_FORMAT = {
    "answer": "<answer> [your answer] </answer>",
    "think": "<think> [Your thoughts] </think> <answer> [your answer] </answer>",
}


def _key(colour: str) -> str:
    return f"the {colour} key ({key_symbol(colour)})"


def _door(colour: str) -> str:
    return f"the {colour} door ({door_symbol(colour)})"


def opening_rule(rules: Rules, colours: tuple[str, ...]) -> str:
    """The opening rule in words, with the map spelled out key by key."""
    which = "its own colour" if rules.shift == 0 else "the next colour"
    pairs = ", ".join(f"{_key(k)} opens {_door(d)}" for k, d in rules.opens(colours).items())
    return f"A key opens the door of {which}: {pairs}."


def capacity_rule(rules: Rules) -> str:
    if not rules.capacity:
        return "You may carry any number of keys."
    count = "one key" if rules.capacity == 1 else f"{rules.capacity} keys"
    return f"You may carry {count} at a time: with full hands you cannot step onto a key."


def holding(state: KeysState) -> str:
    return ", ".join(_key(c) for c in state.held) or "nothing"


STUDY = """You are solving a key-and-door maze.

Goal: walk to the exit (E).

Symbols:
# Wall | _ Floor | P You | E Exit | r g b y Keys (red, green, blue, yellow) | R G B Y Doors

Rules:
1. Walk onto a key to pick it up.
2. Walk into a door while holding a key that opens it: the door opens and the key is used up.
3. {opening}
4. {capacity}
5. Walls (#) and closed doors block you.

{actions}

You are holding: {holding}.

[Current Observation]:
{grid}
Decide the next action:
Always output: {answer_format} with no extra text. Strictly follow this format."""


def messages(state: KeysState, words: ActionVocab, rules: Rules, style: PromptStyle) -> Chat:
    """The one-turn, stateless prompt for ``state`` declaring ``words`` and ``rules``."""
    if style.paraphrase != 0:
        raise ValueError("the keys task has one study wording (paraphrase 0)")
    if style.template == "compact":
        opens = [f"{key_symbol(k)}={door_symbol(d)}" for k, d in rules.opens(state.colours).items()]
        lines = [
            "keys",
            compact_actions(words.words),
            compact_field("opens", opens),
            compact_field("carry", [str(rules.capacity) if rules.capacity else "any"]),
            compact_field("hold", [key_symbol(c) for c in state.held]),
            *compact_board(state.to_rows()),
            compact_format(style.response_format),
        ]
        return [{"role": "user", "content": "\n".join(lines)}]
    text = STUDY.format(
        opening=opening_rule(rules, state.colours),
        capacity=capacity_rule(rules),
        actions=action_section(words),
        holding=holding(state),
        grid=state.to_text(),
        answer_format=ANSWER_FORMAT[style.response_format],
    )
    return [{"role": "user", "content": text}]


def _cell(cell: Cell) -> str:
    return f"({cell[0]},{cell[1]})"


def reasoning(state: KeysState, plan: tuple[str, ...], words: ActionVocab, rules: Rules, template: str) -> str:
    """Solver CoT: where things are, the rules in force, the optimal plan, why its first move, then the word.

    The "why" names the plan's next event (a key picked up, a door opened, the exit), so the trace explains the
    inventory plan rather than one step; the last sentence does the look-up in the declared words.
    """
    name = partial(direction_name, template=template)
    current, steps, event = state, len(plan), "reaches the exit"
    for i, action in enumerate(plan, start=1):
        move = current.step(action, rules)
        current = move.state
        if move.picked or move.opened:
            steps, event = i, move.event
            break
    keys = " ".join(f"{key_symbol(c)}{_cell(p)}" for p, c in state.keys) or "none"
    doors = " ".join(f"{door_symbol(c)}{_cell(p)}" for p, c in state.doors) or "none"
    opens = " ".join(f"{key_symbol(k)}>{door_symbol(d)}" for k, d in rules.opens(state.colours).items())
    first = plan[0]
    why = f"in {steps} moves it {event}" if steps > 1 else f"it {event}"
    return (
        f"I am at {_cell(state.player)}, holding {' '.join(map(key_symbol, state.held)) or 'nothing'}. "
        f"Keys: {keys}. Doors: {doors}. Exit: {_cell(state.exit)}. Keys open: {opens}. "
        f"Carry: {rules.capacity or 'any'}. Shortest plan ({len(plan)} moves): {' '.join(map(name, plan))}. "
        f"Next move: {name(first)}, because {why}. {name(first)} is written as {words.word_for(first)}."
    )


def agent_answer(
    agent: str, state: KeysState | None, words: ActionVocab, rules: Rules, rng: np.random.Generator
) -> str:
    """A reference agent's answer: the oracle plans under the declared ``rules`` and answers in the declared
    ``words``, the shortcut under the training ones (so it scores on fakes), random says a random declared word (it
    never looks at ``state``)."""
    if agent == "random":
        return action_answer(words.words[int(rng.integers(4))])
    if state is None:
        raise ValueError(f"the {agent} agent needs the state")
    words, rules = (words, rules) if agent == "oracle" else (BASE, STANDARD)
    plan = solve(state, rules)
    return action_answer(words.word_for(plan[0] if plan else ACTIONS[0]))


# --- reading a prompt back ---------------------------------------------------------------------------

_COLOUR_OF = {key_symbol(c): c for c in PALETTE}
_STUDY_OPENS = re.compile(r"the (\w+) key \(\w\) opens the (\w+) door \(\w\)")
_STUDY_CARRY = re.compile(r"You may carry (any number of keys|one key|(\d+) keys)")
_STUDY_HOLDING = re.compile(r"^You are holding: (.*)\.$", re.MULTILINE)
_HELD_KEY = re.compile(r"the (\w+) key")
_COMPACT_FIELD = "^{}:(.*)$"


def _colour(symbol: str) -> str:
    """The colour of a key or door symbol (``r`` or ``R``: red); a ValueError for anything else."""
    if symbol.lower() not in _COLOUR_OF:
        raise ValueError(f"{symbol!r} is not a key or door in the prompt")
    return _COLOUR_OF[symbol.lower()]


def _field(prompt: str, name: str) -> str | None:
    match = re.search(_COMPACT_FIELD.format(name), prompt, re.MULTILINE)
    return None if match is None else match.group(1)


def _is_keys_prompt(prompt: str) -> bool:
    return prompt.startswith(STUDY.split("\n", 1)[0]) or prompt.split("\n", 1)[0] == "keys"


def read_rules(prompt: str) -> tuple[Rules, tuple[str, ...]]:
    """The declared rules and the level's colours (the keys of the opening map, in cycle order)."""
    compact = _field(prompt, "opens")
    if compact is not None:
        pairs = [pair.partition("=") for pair in compact.split(",")]
        opens = {_colour(key): _colour(door) for key, _, door in pairs}
        carry = _field(prompt, "carry")
        capacity = 0 if carry in (None, "any") else int(carry)
    else:
        opens = dict(_STUDY_OPENS.findall(prompt))
        carry_match = _STUDY_CARRY.search(prompt)
        if carry_match is None:
            raise ValueError("no carrying rule in the prompt")
        carry, count = carry_match.groups()
        capacity = 0 if carry.startswith("any") else 1 if carry == "one key" else int(count)
    colours = tuple(opens)
    shift = next((s for s in range(len(colours)) if Rules(s).opens(colours) == opens), None)
    if not colours or shift is None:
        raise ValueError("no opening map of the level's colours in the prompt")
    return Rules(shift, capacity), colours


def read_state(prompt: str, colours: tuple[str, ...]) -> KeysState:
    """The state drawn in a keys prompt: the board and the keys in hand."""
    rows = read_study_grid(prompt) or read_compact_board(prompt)
    if not rows:
        raise ValueError("no board found in the prompt")
    compact = _field(prompt, "hold")
    if compact is not None:
        held = tuple(_colour(key) for key in compact.split(",") if key)
    else:
        holding = _STUDY_HOLDING.search(prompt)
        held = tuple(_HELD_KEY.findall(holding.group(1))) if holding else ()
    return KeysState.from_rows(rows, colours, held)


def answer_from_text(agent: str, prompt: str, rng: np.random.Generator) -> str | None:
    """:func:`agent_answer` for a prompt read as text (None: not a keys prompt, and ``rng`` is left untouched)."""
    if not _is_keys_prompt(prompt):
        return None
    words = read_declared_words(prompt) or BASE
    rules, colours = read_rules(prompt)
    state = None if agent == "random" else read_state(prompt, colours)
    return agent_answer(agent, state, words, rules, rng)
