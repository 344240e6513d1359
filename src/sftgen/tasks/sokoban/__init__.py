"""Sokoban task: immutable boards, a move-optimal solver and a fast seeded level generator.

The task owns state, rules, rendering, solving and generation only; prompts, variants and models live
elsewhere.
"""

from .board import ACTIONS, Board, StepResult
from .generator import DIFFICULTIES, Level, SokobanDifficulty, generate_level
from .solver import dead_squares, optimal_first_actions, solve

__all__ = [
    "ACTIONS",
    "DIFFICULTIES",
    "Board",
    "Level",
    "SokobanDifficulty",
    "StepResult",
    "dead_squares",
    "generate_level",
    "optimal_first_actions",
    "solve",
]
