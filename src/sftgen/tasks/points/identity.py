"""What makes two General Points puzzles the same one: the content hash train/evaluation disjointness compares."""

from __future__ import annotations

from sftgen.seeding import content_hash

from .cards import FaceMap, Hand


def points_key(hand: Hand, declared: FaceMap, scored: FaceMap) -> str:
    """A Points puzzle is its card multiset (order aside) under its declared and scored values."""
    return content_hash(f"points\n{','.join(sorted(hand.labels()))}\n{declared.name}|{scored.name}")
