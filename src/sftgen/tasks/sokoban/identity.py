"""What makes two Sokoban puzzles the same one: the content hash train/evaluation disjointness compares."""

from __future__ import annotations

from sftgen.seeding import content_hash

from .board import Board
from .generator import Level


def board_key(board: Board) -> str:
    """The key a level starting on ``board`` would have (also compares mid-episode states with evaluation)."""
    return content_hash("sokoban\n" + board.key())


def sokoban_key(level: Level) -> str:
    """A Sokoban puzzle is its start board."""
    return board_key(level.board)
