"""Named, frozen evaluation splits and the groups that bundle them.

The grid below is the single source: each row (task, name, variant, difficulty, category, size)
expands into a registered split. An instance's seed is a hash of (registry version, split name,
index), so a split resolves to the same instances on every machine, whatever other splits are
listed with it, and a smaller ``size`` is always a prefix of the study-sized split.

Clean splits (issue 20): an instance whose puzzle is already in its split, or (validation splits) in any
test split of its task, is redrawn from ``(registry version, name, index, "redraw", k)``; instances that needed
no redraw keep their seed. Puzzles are compared by :meth:`Instance.key` (a Sokoban start board; a General Points
card multiset under its declared and scored face values). :data:`WITH_REPLACEMENT` lists the splits that keep
repeats on purpose, and :func:`split_report` counts them.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

from sftgen.envs import PointsEnv, SokobanEnv, hand_for_seed, level_for_seed
from sftgen.prompts import PromptStyle, paraphrase_pool
from sftgen.seeding import content_hash, derive_seed
from sftgen.tasks.points import FaceMap, Hand
from sftgen.tasks.sokoban import Board, Level
from sftgen.variants import POINTS_DIFFICULTIES, POINTS_VARIANTS, SOKOBAN_VARIANTS, sokoban_difficulty

REGISTRY_VERSION = "sftgen-splits-v1"
TASKS = ("sokoban", "points")
CATEGORIES = ("id", "instruction", "difficulty", "fake", "paraphrase", "validation")
STUDY_SIZES = {"sokoban": 100, "points": 500}
QUICK_SIZES = {"sokoban": 20, "points": 50}
# The four-card, J=Q=K=10 space is small (~800 solvable multisets with a face card) and every
# evaluation puzzle is withheld from training, so the extra all_10 splits stay small.
SIZE_OVERRIDES = {"points/paraphrase": 200, "points/validation": 100}
# points/id and points/paraphrase draw from the four-card J=Q=K=10 space (~670 solvable puzzles with a face
# card), which validation and the answer-only training pool share: 500 + 200 distinct puzzles there would
# leave validation and training almost nothing, so these two keep the study's sampling with replacement.
WITH_REPLACEMENT = frozenset({"points/id", "points/paraphrase"})
MAX_REDRAWS = 1000


@dataclass(frozen=True)
class Split:
    """A named evaluation set: task, variant, difficulty, category, size and seed namespace."""

    name: str
    task: str
    variant: str
    difficulty: str
    category: str
    size: int
    in_study: bool = True

    @property
    def short_name(self) -> str:
        return self.name.split("/", 1)[1]

    def with_size(self, size: int) -> Split:
        if size < 1:
            raise ValueError(f"split size must be ≥ 1, got {size}")
        return replace(self, size=size)

    def instances(self) -> list[Instance]:
        return [self.instance(i) for i in range(self.size)]

    def instance(self, index: int) -> Instance:
        if index < 0:
            raise IndexError(f"instance index must be >= 0, got {index}")
        held_out = paraphrase_pool(self.task, held_out=True)
        paraphrase = 0
        if self.category == "paraphrase":
            paraphrase = held_out[derive_seed(REGISTRY_VERSION, self.name, index, "paraphrase") % len(held_out)]
        # counts beyond the size grow by doubling: each count is one cached draw of the whole prefix, so walking
        # indexes past the size one by one must not redraw it each time (quadratic)
        count = max(self.size, 1)
        while count < index + 1:
            count *= 2
        seed = _split_seeds(self, count)[index]
        return Instance(self.name, index, seed, self.task, self.variant, self.difficulty, paraphrase)


@dataclass(frozen=True)
class Instance:
    """One evaluation episode's address; ``materialize`` turns it into a level or a hand."""

    split: str
    index: int
    seed: int
    task: str
    variant: str
    difficulty: str
    paraphrase: int

    @property
    def id(self) -> str:
        return f"{self.split}#{self.index}"

    def materialize(self) -> Level | Hand:
        return _materialize(self.task, self.seed, self.variant, self.difficulty)

    def key(self) -> str:
        """Canonical identity of the puzzle itself (used to prove train/eval disjointness)."""
        return _puzzle_key(self.task, self.seed, self.variant, self.difficulty)

    def make_env(self, template: str = "study", response_format: str = "answer") -> SokobanEnv | PointsEnv:
        """An env set to this instance's variant, difficulty and paraphrase, already reset."""
        style = PromptStyle(template, self.paraphrase if template == "study" else 0, response_format)
        payload = self.materialize()
        if self.task == "sokoban":
            env = SokobanEnv(SOKOBAN_VARIANTS[self.variant], sokoban_difficulty(self.difficulty), style)
            env.reset(level=payload)  # type: ignore[arg-type]
            return env
        points_env = PointsEnv(POINTS_VARIANTS[self.variant], POINTS_DIFFICULTIES[self.difficulty], style)
        points_env.reset(hand=payload)  # type: ignore[arg-type]
        return points_env


@lru_cache(maxsize=65536)
def _materialize(task: str, seed: int, variant: str, difficulty: str) -> Level | Hand:
    if task == "sokoban":
        return level_for_seed(seed, sokoban_difficulty(difficulty))
    return hand_for_seed(seed, POINTS_DIFFICULTIES[difficulty], POINTS_VARIANTS[variant])


def _puzzle_key(task: str, seed: int, variant: str, difficulty: str) -> str:
    payload = _materialize(task, seed, variant, difficulty)
    if task == "sokoban":
        return sokoban_key(payload)  # type: ignore[arg-type]
    declared, scored = POINTS_VARIANTS[variant].declared, POINTS_VARIANTS[variant].scored
    return points_key(payload, declared, scored)  # type: ignore[arg-type]


def _avoided_splits(split: Split) -> list[str]:
    """Splits whose puzzles ``split`` must not contain: every test split of its task, for a validation split."""
    if split.category != "validation":
        return []
    return [n for n, s in SPLITS.items() if s.task == split.task and s.category != "validation"]


@lru_cache(maxsize=256)
def _split_seeds(split: Split, count: int) -> tuple[int, ...]:
    """Seeds of the first ``count`` instances of ``split`` (sequential, so every count is a prefix); a split built
    outside the registry (an integration's variant/difficulty override) is drawn the same way by its name."""
    name = split.name
    avoid = frozenset().union(*(split_keys(n) for n in _avoided_splits(split)))
    taken: set[str] = set()
    seeds = []
    for index in range(count):
        for attempt in range(MAX_REDRAWS):
            parts = (index,) if attempt == 0 else (index, "redraw", attempt)
            seed = derive_seed(REGISTRY_VERSION, name, *parts)
            key = _puzzle_key(split.task, seed, split.variant, split.difficulty)
            if key not in avoid and (key not in taken or name in WITH_REPLACEMENT):
                break
        else:  # the space is exhausted: a repeat is allowed (split_report counts it), a leak is not
            if key in avoid:
                raise RuntimeError(f"{name}#{index}: no puzzle outside the test splits in {MAX_REDRAWS} draws")
        taken.add(key)
        seeds.append(seed)
    return tuple(seeds)


def split_keys(name: str) -> frozenset[str]:
    """Puzzle keys of every instance of registered split ``name`` at its full size."""
    split = SPLITS[name]
    return frozenset(
        _puzzle_key(split.task, s, split.variant, split.difficulty) for s in _split_seeds(split, split.size)
    )


def split_report() -> dict[str, dict[str, int]]:
    """Per split: instances, distinct puzzles and repeats (non-zero only where the space is too small or the
    split is in :data:`WITH_REPLACEMENT`)."""
    report = {}
    for name, split in SPLITS.items():
        distinct = len(split_keys(name))
        report[name] = {"instances": split.size, "distinct": distinct, "repeats": split.size - distinct}
    return report


def sokoban_key(level: Level) -> str:
    """A Sokoban puzzle is its start board."""
    return board_key(level.board)


def board_key(board: Board) -> str:
    """The key a level starting on ``board`` would have (compares mid-episode states with evaluation puzzles)."""
    return content_hash("sokoban\n" + board.key())


def points_key(hand: Hand, declared: FaceMap, scored: FaceMap) -> str:
    """A Points puzzle is its card multiset (order aside) under its declared and scored values."""
    return content_hash(f"points\n{','.join(sorted(hand.labels()))}\n{declared.name}|{scored.name}")


# task, short name, variant, difficulty, category, in the study's protocol
_GRID: tuple[tuple[str, str, str, str, str, bool], ...] = (
    ("sokoban", "id", "base", "6x6-1", "id", True),
    ("sokoban", "cardinal", "cardinal", "6x6-1", "instruction", True),
    ("sokoban", "emoji", "emoji", "6x6-1", "instruction", True),
    ("sokoban", "empty", "empty", "6x6-1", "instruction", True),
    ("sokoban", "numerical", "numerical", "6x6-1", "instruction", True),
    ("sokoban", "alphabetical", "alphabetical", "6x6-1", "instruction", True),
    ("sokoban", "random", "random", "6x6-1", "instruction", True),
    ("sokoban", "fake_numerical", "fake_numerical", "6x6-1", "fake", True),
    ("sokoban", "fake_cardinal", "fake_cardinal", "6x6-1", "fake", True),
    ("sokoban", "fake_emoji", "fake_emoji", "6x6-1", "fake", True),
    ("sokoban", "larger", "base", "10x10-1", "difficulty", True),
    ("sokoban", "two_boxes", "base", "6x6-2", "difficulty", True),
    ("sokoban", "complex", "base", "10x10-2", "difficulty", True),
    ("sokoban", "paraphrase", "base", "6x6-1", "paraphrase", False),
    ("sokoban", "validation", "base", "6x6-1", "validation", False),
    ("points", "id", "all_10", "four", "id", True),
    ("points", "all_5", "all_5", "four", "instruction", True),
    ("points", "all_7", "all_7", "four", "instruction", True),
    ("points", "all_12", "all_12", "four", "difficulty", True),
    ("points", "regular", "regular", "four", "difficulty", True),
    ("points", "large", "all_10", "large", "difficulty", True),
    ("points", "five", "all_10", "five", "difficulty", True),
    ("points", "six", "all_10", "six", "difficulty", False),
    ("points", "fake", "fake", "four", "fake", True),
    ("points", "fake_all_5", "fake_all_5", "four", "fake", True),
    ("points", "paraphrase", "all_10", "four", "paraphrase", False),
    ("points", "validation", "all_10", "four", "validation", False),
)

SPLITS: dict[str, Split] = {
    f"{task}/{name}": Split(
        f"{task}/{name}",
        task,
        variant,
        difficulty,
        category,
        SIZE_OVERRIDES.get(f"{task}/{name}", STUDY_SIZES[task]),
        in_study,
    )
    for task, name, variant, difficulty, category, in_study in _GRID
}


def _group(names: Iterable[str], sizes: dict[str, int] | None = None) -> tuple[Split, ...]:
    splits = [SPLITS[n] for n in names]
    return tuple(s.with_size(sizes[s.task]) if sizes else s for s in splits)


_STUDY = [n for n, s in SPLITS.items() if s.in_study]
_EVAL = [n for n, s in SPLITS.items() if s.category != "validation"]
GROUPS: dict[str, tuple[Split, ...]] = {
    "study": _group(_STUDY),
    "all": _group(_EVAL),
    "quick": _group(_STUDY, QUICK_SIZES),
    "validation": _group(n for n in SPLITS if n.endswith("/validation")),
    "paraphrase": _group(n for n in SPLITS if n.endswith("/paraphrase")),
}
for _task in TASKS:
    GROUPS[_task] = _group(n for n in _EVAL if n.startswith(_task + "/"))


def _unknown(name: str, candidates: Iterable[str]) -> KeyError:
    """An error naming ``name``, the closest valid names and where to see them all."""
    close = difflib.get_close_matches(name, list(candidates), n=5, cutoff=0.4)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    return KeyError(f"unknown split {name!r}.{hint} Run `sftgen splits` to list them all.")


def get_split(name: str) -> Split:
    """A split by name; an unknown name is an error that lists the closest split names (never a group)."""
    try:
        return SPLITS[name]
    except KeyError:
        raise _unknown(name, SPLITS) from None


def resolve_splits(names: Sequence[str] | str, size: int | None = None) -> list[Split]:
    """Group names and split names (comma-separated or a list) to splits, in order, without repeats."""
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    resolved: dict[str, Split] = {}
    for name in names:
        if name not in GROUPS and name not in SPLITS:
            raise _unknown(name, [*SPLITS, *GROUPS])
        for split in GROUPS[name] if name in GROUPS else (SPLITS[name],):
            resolved.setdefault(split.name, split)
    splits = list(resolved.values())
    return [s.with_size(size) for s in splits] if size else splits
