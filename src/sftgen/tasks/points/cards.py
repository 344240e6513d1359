"""Cards, face-card value maps, hands and the seeded hand generator.

A hand stores *ranks* (1..13, or 14..19 for the large-card split), never values: the same hand is shown to the
model under one face-card map (the declared one) and may be scored under another (the checked one), which is
exactly how fake splits are built. :class:`FaceMap` turns ranks into values and writes the prompt's sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from sftgen.tasks.points.solver import TARGET, is_solvable

FACE_RANKS = (11, 12, 13)
MIN_RANK, MAX_RANK, MAX_LARGE_RANK = 1, 13, 19
_LABELS = {1: "A", 11: "J", 12: "Q", 13: "K"}
_MAX_DRAWS = 100_000
"""Redraw limit: solvable hands are common for every supported setting, so hitting it means a bad request."""


def card_label(rank: int) -> str:
    """How a card is shown: 1 -> 'A', 11..13 -> 'J', 'Q', 'K', other ranks (2..10, 14..19) as numbers."""
    rank = int(rank)
    if not MIN_RANK <= rank <= MAX_LARGE_RANK:
        raise ValueError(f"card rank must be in {MIN_RANK}..{MAX_LARGE_RANK}, got {rank}")
    return _LABELS.get(rank, str(rank))


@dataclass(frozen=True)
class FaceMap:
    """The values of J, Q and K; declared in the prompt and (possibly another one) used for scoring."""

    jack: int
    queen: int
    king: int

    def __post_init__(self) -> None:
        """Face values must be positive integers: the prompt writes them as card numbers."""
        for name in ("jack", "queen", "king"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise ValueError(f"face value {name}={value!r} must be a positive integer")
            object.__setattr__(self, name, int(value))

    @classmethod
    def uniform(cls, n: int) -> FaceMap:
        """J = Q = K = n (the study's ``all_N`` maps; training uses 10)."""
        return cls(n, n, n)

    @classmethod
    def parse(cls, name: str) -> FaceMap:
        """Inverse of :attr:`name`: ``all_5`` or ``11-12-13``."""
        text = name.strip()
        if m := re.fullmatch(r"all_(\d+)", text):
            return cls.uniform(int(m.group(1)))
        if m := re.fullmatch(r"(\d+)-(\d+)-(\d+)", text):
            return cls(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        raise ValueError(f"face map name must look like 'all_10' or '11-12-13', got {name!r}")

    @property
    def is_uniform(self) -> bool:
        """True when J, Q and K share one value (changes the prompt's wording)."""
        return self.jack == self.queen == self.king

    @property
    def name(self) -> str:
        """Stable identifier used in split names and manifests."""
        if self.is_uniform:
            return f"all_{self.jack}"
        return f"{self.jack}-{self.queen}-{self.king}"

    def value(self, rank: int) -> int:
        """The number a card counts as under this map."""
        rank = int(rank)
        if rank == 11:
            return self.jack
        if rank == 12:
            return self.queen
        if rank == 13:
            return self.king
        return rank

    def message(self) -> str:
        """The prompt's ``face_card_msg`` (docs/study.md, General Points), exactly as the study words it."""
        if self.is_uniform:
            return f"'J', 'Q', and 'K' all count as '{self.jack}'"
        return f"'J' counts as '{self.jack}', 'Q' counts as '{self.queen}', and 'K' counts as '{self.king}'"


STUDY_MAP = FaceMap.uniform(10)
"""The training (and ID) map: J = Q = K = 10."""


@dataclass(frozen=True)
class Hand:
    """Dealt cards as ranks, in dealt order (the order is shown to the model, so it is part of identity)."""

    ranks: tuple[int, ...]

    def __post_init__(self) -> None:
        """Normalise numpy ints and reject ranks no card can have."""
        ranks = tuple(int(r) for r in self.ranks)
        for r in ranks:
            card_label(r)
        if not ranks:
            raise ValueError("a hand needs at least one card")
        object.__setattr__(self, "ranks", ranks)

    def labels(self) -> list[str]:
        """Card faces as shown in the prompt, e.g. ``['A', '7', 'Q', '3']``."""
        return [card_label(r) for r in self.ranks]

    def values(self, face_map: FaceMap = STUDY_MAP) -> tuple[int, ...]:
        """The numbers the cards count as under ``face_map``."""
        return tuple(face_map.value(r) for r in self.ranks)

    def key(self) -> str:
        """Canonical identity for hashing and leakage checks, e.g. ``"A,7,Q,3"``."""
        return ",".join(self.labels())

    @property
    def num_cards(self) -> int:
        """Number of cards in the hand."""
        return len(self.ranks)

    @property
    def has_face(self) -> bool:
        """Whether at least one J, Q or K was dealt."""
        return any(r in FACE_RANKS for r in self.ranks)

    @property
    def has_large(self) -> bool:
        """Whether a large card (14..19) was dealt."""
        return any(r > MAX_RANK for r in self.ranks)


def _draw(rng: np.random.Generator, num_cards: int, large: bool) -> list[int]:
    """One candidate deal: uniform 1..13 cards, one of them replaced by a 14..19 card when ``large``."""
    ranks = [int(r) for r in rng.integers(MIN_RANK, MAX_RANK + 1, size=num_cards)]
    if large:
        slot = int(rng.integers(num_cards))
        ranks[slot] = int(rng.integers(MAX_RANK + 1, MAX_LARGE_RANK + 1))
    return ranks


def generate_hand(
    rng: np.random.Generator,
    num_cards: int = 4,
    scored_map: FaceMap = STUDY_MAP,
    require_face: bool = True,
    large: bool = False,
    target: int = TARGET,
) -> Hand:
    """Deal until the hand is solvable under the *scored* values (and has a face card when required).

    Every card is uniform over 1..13; ``require_face`` rejects deals without J/Q/K (so the kept cards stay
    uniform given that constraint); ``large`` puts exactly one 14..19 card in a random slot. Both flags are
    honoured independently. Only ``rng`` is consumed, so the result is a pure function of its state.
    """
    if num_cards < 1:
        raise ValueError(f"num_cards must be positive, got {num_cards}")
    for _ in range(_MAX_DRAWS):
        ranks = _draw(rng, num_cards, large)
        if require_face and not any(r in FACE_RANKS for r in ranks):
            continue
        hand = Hand(tuple(ranks))
        if is_solvable(hand.values(scored_map), target):
            return hand
    raise RuntimeError(
        f"no solvable hand in {_MAX_DRAWS} deals (num_cards={num_cards}, map={scored_map.name}, target={target})"
    )
