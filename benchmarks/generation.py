"""Task generation speed: ours (with optimal solutions) next to gym-sokoban and reasoning-gym, one run.

Run with ``sftgen bench generation [--json FILE]``. Peers come from the ``bench`` extra.
"""

from __future__ import annotations

import importlib.util
import itertools
import time
from pathlib import Path

import numpy as np

from sftgen.bench import rate
from sftgen.tasks.points import FaceMap, generate_hand, is_solvable
from sftgen.tasks.points.solver import clear_caches
from sftgen.tasks.sokoban import DIFFICULTIES, generate_level


def _load_gym_sokoban_generate_room():
    """gym-sokoban's room generator, loaded from its file: its package __init__ needs pkg_resources and gym."""
    spec = importlib.util.find_spec("gym_sokoban")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(spec.submodule_search_locations[0]) / "envs" / "room_utils.py"
    module_spec = importlib.util.spec_from_file_location("gym_sokoban_room_utils", path)
    if module_spec is None or module_spec.loader is None:
        return None
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module.generate_room


def _gym_sokoban_rate(dim: int, boxes: int, count: int) -> float | None:
    """gym-sokoban's ``generate_room`` (no solution returned); its own retries count in its time."""
    try:
        generate_room = _load_gym_sokoban_generate_room()
    except Exception:
        return None
    if generate_room is None:
        return None
    np.random.seed(0)
    made = 0
    start = time.perf_counter()
    while made < count:
        try:
            generate_room(dim=(dim, dim), num_steps=int(1.7 * (dim + dim)), num_boxes=boxes, second_player=False)
            made += 1
        except (RuntimeError, ValueError, IndexError):
            continue
    return count / (time.perf_counter() - start)


def _puzzle24_rate(count: int) -> float | None:
    try:
        import reasoning_gym
    except Exception:
        return None
    start = time.perf_counter()
    dataset = reasoning_gym.create_dataset("puzzle24", size=count, seed=1)
    for _ in dataset:
        pass
    return count / (time.perf_counter() - start)


def _row(name: str, ours: float, peer: str | None, peer_rate: float | None, note: str = "") -> dict:
    ratio = ours / peer_rate if peer_rate else None
    return {
        "name": name,
        "ours_per_s": ours,
        "peer": peer if peer_rate else None,
        "peer_per_s": peer_rate,
        "ratio": ratio,
        "note": note,
    }


def run(quick: bool = False) -> list[dict]:
    scale = 0.2 if quick else 1.0
    rows = []
    for key, dim, boxes, count in (("6x6-1", 6, 1, 400), ("10x10-2", 10, 2, 40)):
        n = max(4, int(count * scale))
        rng = np.random.default_rng(0)
        ours = rate(lambda d=DIFFICULTIES[key], r=rng, k=n: [generate_level(r, d) for _ in range(k)], n)
        peer_n = max(4, n // 4)
        rows.append(
            _row(
                f"sokoban {key} levels/s (with optimal solution)",
                ours,
                "gym-sokoban generate_room",
                _gym_sokoban_rate(dim, boxes, peer_n),
                "peer returns no solution",
            )
        )
    multisets = list(itertools.combinations_with_replacement(range(1, 14), 4))
    clear_caches()
    start = time.perf_counter()
    solvable = sum(is_solvable(m) for m in multisets)
    seconds = time.perf_counter() - start
    rows.append(
        _row(
            "points: solve all 1,820 four-card multisets (multisets/s)",
            len(multisets) / seconds,
            None,
            None,
            f"{seconds:.3f} s total, {solvable} solvable (cold cache)",
        )
    )
    n = max(50, int(2000 * scale))
    clear_caches()  # the hands row must not profit from the row above
    rng = np.random.default_rng(0)
    ours = rate(lambda: [generate_hand(rng, 4, FaceMap.uniform(10)) for _ in range(n)], n)
    rows.append(
        _row(
            "points hands/s (4 cards, ≥1 face, solvable)",
            ours,
            "reasoning-gym puzzle24",
            _puzzle24_rate(max(20, n // 10)),
        )
    )
    return rows
