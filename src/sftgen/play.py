"""Let a person play a task in the terminal, through the same env and parser a model uses."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from rich.console import Console

from sftgen.prompts import PromptStyle
from sftgen.seeding import derive_seed
from sftgen.tasks.protocol import SplitSpec, Task, get_task


def _id_split(task: Task) -> SplitSpec:
    """The task's in-distribution split: its variant and difficulty are what ``play`` starts from by default."""
    return next(s for s in task.splits if s.category == "id")


def play(
    task: str,
    variant: str | None = None,
    difficulty: str | None = None,
    seed: int = 0,
    console: Console | None = None,
    read: Callable[[str], str] = input,
) -> bool:
    """Run one episode with answers typed by a person; returns whether it was solved."""
    console = console or Console()
    spec = get_task(task)
    default = _id_split(spec)
    variant, difficulty = variant or default.variant, difficulty or default.difficulty
    if variant not in spec.variants:
        raise ValueError(f"unknown {task} variant {variant!r}; choose one of {', '.join(spec.variants)}")
    if difficulty not in spec.difficulties:
        raise ValueError(f"unknown {task} difficulty {difficulty!r}; choose one of {', '.join(spec.difficulties)}")
    rng = np.random.default_rng(derive_seed("play", task, seed))
    env = spec.make_env(variant, difficulty, PromptStyle())
    prompt = env.reset(state=spec.generate(rng, variant, difficulty))[-1]["content"]
    console.print(prompt, markup=False, highlight=False)
    multi_turn, max_turns = bool(spec.actions), spec.difficulties[difficulty].max_turns
    turn = 0
    while True:
        if multi_turn:
            if turn:  # keep the prompt (with the declared words) on screen for the first move
                console.clear()
            console.print(f"turn {turn}/{max_turns}\n{spec.play_text(env.state)}", markup=False, highlight=False)
        typed = read("your answer (q quits): ").strip()
        if typed.lower() in ("q", "quit"):
            return False
        _, reward, terminated, truncated, info = env.step(spec.play_response(typed))
        turn += 1
        console.print(f"valid={info['valid']} reward={reward:+.1f} ({info['reason']})", markup=False)
        if terminated or truncated:
            if multi_turn:
                console.print(spec.play_text(env.state), markup=False, highlight=False)
            console.print("[green]solved![/]" if info["success"] else "[red]not solved[/]")
            return bool(info["success"])
