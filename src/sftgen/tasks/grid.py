"""The four grid moves, shared by every grid task (Sokoban, keys) and the base curriculum's look-up drills.

Why a module of its own: a move set is not any one task's, and a task importing another task's internals would
couple them (keys once took these from ``tasks/sokoban/board.py``).
"""

from __future__ import annotations

ACTIONS: tuple[str, ...] = ("up", "down", "left", "right")
"""Canonical action ids, in the study's order (Up, Down, Left, Right)."""

DELTAS: dict[str, tuple[int, int]] = {"up": (-1, 0), "down": (1, 0), "left": (0, -1), "right": (0, 1)}
"""(row, column) change of each move."""
