"""Named, frozen evaluation splits and the groups that bundle them.

Each registered task lists its splits as data (``Task.splits``, see :mod:`sftgen.tasks.protocol`); this module
expands every task's into :data:`SPLITS`, in registry order, and bundles them into :data:`GROUPS`. Nothing here
knows a task: states, keys and envs come from ``get_task(split.task)``. An instance's seed is a hash of (registry
version, split name, index), so a split resolves to the same instances on every machine, whatever other splits are
listed with it, and a smaller ``size`` is always a prefix of the study-sized split.

Clean splits (issue 20): an instance whose puzzle is already in its split, or (validation splits) in any
test split of its task, is redrawn from ``(registry version, name, index, "redraw", k)``; instances that needed
no redraw keep their seed. Puzzles are compared by :meth:`Instance.key` (the task's ``instance_key``).
:data:`WITH_REPLACEMENT` lists the splits that keep repeats on purpose, and :func:`split_report` counts them.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

import numpy as np

from sftgen.prompts import PromptStyle, paraphrase_pool
from sftgen.seeding import derive_seed
from sftgen.tasks.protocol import SPLIT_NAMESPACE, TaskEnv, get_task, task_names

REGISTRY_VERSION = SPLIT_NAMESPACE
TASKS = task_names()
CATEGORIES = ("id", "instruction", "difficulty", "fake", "paraphrase", "validation")
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
        paraphrase = 0
        if self.category == "paraphrase":
            held_out = paraphrase_pool(self.task, held_out=True)
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
    """One evaluation episode's address; ``state`` turns it into the task's start state."""

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

    def state(self) -> Any:
        """The start state (what the task's ``generate`` draws from this instance's seed)."""
        return _state(self.task, self.seed, self.variant, self.difficulty)

    def state_data(self) -> dict[str, Any]:
        """The start state as data, as env infos and records carry it."""
        return get_task(self.task).state_data(self.state())

    def materialize(self) -> Any:
        """What callers written before the task protocol expect: the task's ``level`` (start state plus its
        solution) where it has one, else the state. New code calls :meth:`state`."""
        task = get_task(self.task)
        level = getattr(task, "level", None)
        return level(np.random.default_rng(self.seed), self.difficulty) if level else self.state()

    def key(self) -> str:
        """Canonical identity of the puzzle itself (used to prove train/eval disjointness)."""
        return _puzzle_key(self.task, self.seed, self.variant, self.difficulty)

    def style(self, template: str = "study", response_format: str = "answer") -> PromptStyle:
        """How this instance is written in ``template`` (its paraphrase exists only in the study family)."""
        return PromptStyle(template, self.paraphrase if template == "study" else 0, response_format)

    def make_env(self, template: str = "study", response_format: str = "answer") -> TaskEnv[Any]:
        """An env set to this instance's variant, difficulty and paraphrase, already reset."""
        env = get_task(self.task).make_env(self.variant, self.difficulty, self.style(template, response_format))
        env.reset(state=self.state())
        return env


@lru_cache(maxsize=65536)
def _state(task: str, seed: int, variant: str, difficulty: str) -> Any:
    return get_task(task).generate(np.random.default_rng(seed), variant, difficulty)


def _puzzle_key(task: str, seed: int, variant: str, difficulty: str) -> str:
    return get_task(task).instance_key(_state(task, seed, variant, difficulty), variant)


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


WITH_REPLACEMENT = frozenset(s.name for t in TASKS for s in get_task(t).splits if s.with_replacement)
"""Splits that keep repeated puzzles on purpose (their task says its space is too small)."""

SPLITS: dict[str, Split] = {
    spec.name: Split(spec.name, t, spec.variant, spec.difficulty, spec.category, spec.size, spec.in_study)
    for t in TASKS
    for spec in get_task(t).splits
}
QUICK_SIZES: dict[str, int] = {
    spec.name: spec.quick_size for t in TASKS for spec in get_task(t).splits if spec.quick_size is not None
}
"""Per split, its size in the ``quick`` group (a split not listed keeps its full size)."""


def _group(names: Iterable[str], sizes: dict[str, int] | None = None) -> tuple[Split, ...]:
    splits = [SPLITS[n] for n in names]
    return tuple(s.with_size(sizes.get(s.name, s.size)) if sizes else s for s in splits)


_STUDY = [n for n, s in SPLITS.items() if s.in_study]
_EVAL = [n for n, s in SPLITS.items() if s.category != "validation"]
GROUPS: dict[str, tuple[Split, ...]] = {
    "study": _group(_STUDY),
    "all": _group(_EVAL),
    "quick": _group(_STUDY, QUICK_SIZES),
    "validation": _group(n for n in SPLITS if n.endswith("/validation")),
    "paraphrase": _group(n for n in SPLITS if n.endswith("/paraphrase")),
}
for _task in TASKS:  # one group per task, named after it
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
