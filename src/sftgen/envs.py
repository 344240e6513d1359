"""Gymnasium-style text environments: one episode each, text in, chat prompt out.

``reset(seed)`` returns the observation (the stateless prompt for the current state, as chat
messages); ``step(text)`` parses the model's text under the *checked* vocabulary, applies it and
returns ``(observation, reward, terminated, truncated, info)``. Unparseable text is an invalid turn,
never an exception: the board stays put and the turn is spent, as in the study.
"""

from __future__ import annotations

# The study tasks' envs now live in their tasks (``tasks/sokoban/env.py``, ``tasks/points/env.py``; new code gets
# an env from ``get_task(name).make_env``). These names stay importable here for older callers.
from sftgen.tasks.points.env import PointsEnv, hand_for_seed
from sftgen.tasks.sokoban.env import (
    ANSWER_TAG,
    CLOSE_TAG,
    MAX_PARSE_CHARS,
    MAX_TURNS,
    OPEN_TAG,
    ParsedAction,
    SokobanEnv,
    level_for_seed,
    parse_action,
)

__all__ = [
    "ANSWER_TAG",
    "CLOSE_TAG",
    "MAX_PARSE_CHARS",
    "MAX_TURNS",
    "OPEN_TAG",
    "ParsedAction",
    "PointsEnv",
    "SokobanEnv",
    "hand_for_seed",
    "level_for_seed",
    "parse_action",
]
