"""Helpers for the core ("glue") tests: episode runners and small backends that plug in like a model.

Imported by the test modules as ``core_helpers`` (a unique name: ``conftest`` exists in other test folders)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sftgen.tasks.points.env import PointsEnv
from sftgen.tasks.sokoban.env import SokobanEnv

REPO = Path(__file__).resolve().parents[2]
# The checkout's virtual environment (scripts/setup.sh), else whatever runs the tests.
PYTHON = REPO / ".venv" / "bin" / "python"
PYTHON = PYTHON if PYTHON.exists() else Path(sys.executable)
SFTGEN = PYTHON.parent / "sftgen"


@dataclass(frozen=True)
class Episode:
    success: bool
    validity: float
    turns: int
    rewards: tuple[float, ...]


def run_episode(env: SokobanEnv | PointsEnv, backend) -> Episode:
    """Drive an already reset env with ``backend.generate`` until it terminates or truncates."""
    observation = env.observation()
    valid, rewards = [], []
    while True:
        (text,) = backend.generate([observation])
        observation, reward, terminated, truncated, info = env.step(text)
        valid.append(bool(info["valid"]))
        rewards.append(reward)
        if terminated or truncated:
            return Episode(bool(info["success"]), sum(valid) / len(valid), len(valid), tuple(rewards))


class GarbageBackend:
    """Writes text no checker can accept (plus a few near misses), cycling through a fixed list."""

    TEXTS = (
        "",
        "!!!!!!!!!!!!!!!!",
        "<answer>",
        "</answer><answer>",
        "<answer> Up Down </answer>",
        "<answer></answer>",
        "<ANSWER> up </ANSWER>",
        "Up",
        '{"formula": }',
        "<think> no idea </think>",
        "\x00\r\n\t",
        "<answer> Norte </answer>",
        '{"cards": [], "number": [], "formula": "24"}',
        "𝔘𝔭 " * 50,
    )

    def __init__(self) -> None:
        self.calls = 0

    def generate(self, chats: Sequence[Sequence[dict[str, str]]], sampling: object = None) -> list[str]:
        out = []
        for _ in chats:
            out.append(self.TEXTS[self.calls % len(self.TEXTS)])
            self.calls += 1
        return out
