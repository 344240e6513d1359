"""How the study tasks' row builders write rows: shared by Sokoban's and General Points' ``data`` modules.

Why not :class:`~sftgen.tasks.protocol.RowRequest`: the builders need the paraphrase indices themselves (drawn from
the task's templates), which a request only switches on; each task's ``rows`` turns its request into this.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RowSpec:
    """How to write rows: diverse words or the base vocabulary, CoT or answer-only, prompt style."""

    diverse: bool
    cot: bool
    template: str = "study"
    paraphrases: tuple[int, ...] = (0,)
    pool: str = "words"  # the diverse pool: words (the study's kind) or codes
