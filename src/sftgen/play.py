"""Let a person play a task in the terminal, through the same env and parser a model uses."""

from __future__ import annotations

from rich.console import Console

from sftgen.envs import PointsEnv, SokobanEnv
from sftgen.prompts import PromptStyle, sokoban_answer
from sftgen.seeding import derive_seed
from sftgen.variants import POINTS_DIFFICULTIES, POINTS_VARIANTS, SOKOBAN_VARIANTS, sokoban_difficulty


def _board_text(env: SokobanEnv) -> str:
    assert env.board is not None
    return "\n".join(" ".join(row) for row in env.board.to_rows())


def play(
    task: str,
    variant: str | None = None,
    difficulty: str | None = None,
    seed: int = 0,
    console: Console | None = None,
    read=input,
) -> bool:
    """Run one episode with answers typed by a person; returns whether it was solved."""
    console = console or Console()
    seed = derive_seed("play", task, seed)
    if task == "sokoban":
        env: SokobanEnv | PointsEnv = SokobanEnv(
            SOKOBAN_VARIANTS[variant or "base"], sokoban_difficulty(difficulty or "6x6-1"), PromptStyle()
        )
    else:
        env = PointsEnv(POINTS_VARIANTS[variant or "all_10"], POINTS_DIFFICULTIES[difficulty or "four"])
    prompt = env.reset(seed=seed)[-1]["content"]
    console.print(prompt, markup=False, highlight=False)
    while True:
        if isinstance(env, SokobanEnv):
            if env.turn:  # keep the prompt (with the declared words) on screen for the first move
                console.clear()
            console.print(f"turn {env.turn}/{env.max_turns}\n{_board_text(env)}", markup=False, highlight=False)
            words = ", ".join(env.variant.declared.words) if env.variant.declared else "Up, Down, Left, Right"
            typed = read(f"action ({words}; q quits): ").strip()
            text = sokoban_answer(typed)
        else:
            typed = read("formula (q quits): ").strip()
            text = f'"formula": "{typed}"'
        if typed.lower() in ("q", "quit"):
            return False
        _, reward, terminated, truncated, info = env.step(text)
        console.print(f"valid={info['valid']} reward={reward:+.1f} ({info['reason']})", markup=False)
        if terminated or truncated:
            if isinstance(env, SokobanEnv):
                console.print(_board_text(env), markup=False, highlight=False)
            console.print("[green]solved![/]" if info["success"] else "[red]not solved[/]")
            return bool(info["success"])
