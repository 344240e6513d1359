"""General Points' variants: the face-card values a prompt *declares* versus the values answers are *scored*
with, and the hand shapes (difficulties).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .cards import FaceMap


@dataclass(frozen=True)
class PointsVariant:
    """A face-card variant: the prompt declares ``declared``; answers are scored with ``scored``."""

    name: str
    declared: FaceMap
    scored: FaceMap

    @property
    def is_fake(self) -> bool:
        return self.declared != self.scored


def _points(name: str, declared: str, scored: str | None = None) -> PointsVariant:
    return PointsVariant(name, FaceMap.parse(declared), FaceMap.parse(scored or declared))


POINTS_VARIANTS: dict[str, PointsVariant] = {
    v.name: v
    for v in (
        _points("all_10", "all_10"),
        _points("all_5", "all_5"),
        _points("all_7", "all_7"),
        _points("all_12", "all_12"),
        _points("regular", "11-12-13"),
        _points("fake", "11-12-13", "all_10"),
        _points("fake_all_5", "all_5", "all_10"),
    )
}
# Face-card maps the diverse sampler must never produce whole: the held-out instruction variants.
HELD_OUT_FACE_MAPS = frozenset(v.declared for v in POINTS_VARIANTS.values() if v.name != "all_10")


@dataclass(frozen=True)
class PointsDifficulty:
    """Hand shape: number of cards, whether one card is forced into 14..19 or to be J/Q/K (docs/study.md)."""

    name: str
    num_cards: int
    large: bool = False
    require_face: bool = True


POINTS_DIFFICULTIES: dict[str, PointsDifficulty] = {
    d.name: d
    for d in (
        PointsDifficulty("four", 4),
        PointsDifficulty("five", 5, require_face=False),
        PointsDifficulty("six", 6, require_face=False),
        PointsDifficulty("large", 4, large=True, require_face=False),
    )
}


def sample_diverse_face_map(rng: np.random.Generator) -> FaceMap:
    """A random J/Q/K map with values in 1..10 that is never a held-out evaluation map."""
    while True:
        jack, queen, king = (int(v) for v in rng.integers(1, 11, size=3))
        face_map = FaceMap(jack, queen, king)
        if face_map not in HELD_OUT_FACE_MAPS:
            return face_map
