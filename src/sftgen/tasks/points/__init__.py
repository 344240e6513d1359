"""General Points (make 24 from cards): hands, an exact solver and the one safe verifier.

``cards`` deals hands as ranks and maps them to values through a :class:`FaceMap` (declared vs scored maps
make the instruction and fake variants); ``solver`` decides, finds and enumerates solutions with exact
rationals; ``verifier`` turns any response text into an :class:`Outcome` without ever executing it.
"""

from sftgen.tasks.points.cards import STUDY_MAP, FaceMap, Hand, card_label, generate_hand
from sftgen.tasks.points.solver import TARGET, is_solvable, one_solution, solve
from sftgen.tasks.points.verifier import REWARDS, Outcome, OutcomeKind, parse_answer, verify

__all__ = [
    "REWARDS",
    "STUDY_MAP",
    "TARGET",
    "FaceMap",
    "Hand",
    "Outcome",
    "OutcomeKind",
    "card_label",
    "generate_hand",
    "is_solvable",
    "one_solution",
    "parse_answer",
    "solve",
    "verify",
]
