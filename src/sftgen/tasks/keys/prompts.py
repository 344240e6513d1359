"""Keys prompts in the two template families, and the solver-written chain of thought.

Both families state the rules in full, including the opening map key by key, so a rule variant is read from the
prompt and never from memory; the study family words it like the Sokoban study prompt, the compact family as
``name:items`` lines (one token per board cell), reusing the compact helpers of ``sftgen.prompts``.
"""

from __future__ import annotations

from functools import partial

from sftgen.prompts import (
    Chat,
    PromptStyle,
    action_section,
    compact_actions,
    compact_board,
    compact_field,
    compact_format,
    direction_name,
)
from sftgen.tasks.grid import ActionVocab

from .world import Cell, KeysState, Rules, door_symbol, key_symbol

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
