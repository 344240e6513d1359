"""What one SFT step of each method costs on the tiny model, side by side: the numbers a recipe's budget is sized by.

Run with ``sftgen bench method_steps [--quick] [--json FILE]``. Every side trains the shipped tiny base (copy head)
through sftgen's own SFT path, one process, one thread, batch 32 as the recipes do, on rows of one task and method
built from the same instances; steps are timed after a warm-up, and the sides run in turn, twice (the best round
is kept), so outside load hits all of them. The peer of each CoT side is answer-only on the same task: the ratio
is what a CoT step costs in answer-only steps. The CPU's fp32 matmul peak (one thread) is printed too, so runs on
different machines compare: the ratios travel, the seconds do not.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import torch

BATCH = 32
INSTANCES = {"sokoban": 60, "points": 400}
SIDES = (("answer-only", "compact"), ("cot", "compact"), ("cot", "study"))


def _seconds(base: Path, data: Path, steps: int) -> float:
    """Wall seconds of a whole SFT run of ``steps`` steps (load, tokenize, train)."""
    from sftgen.train.config import SFTRunConfig
    from sftgen.train.sft import train

    with tempfile.TemporaryDirectory() as out:
        config = SFTRunConfig(
            model=str(base),
            data=[str(data)],
            out=out,
            lr=2e-3,
            batch_size=BATCH,
            max_steps=steps,
            save_steps=10**6,
            logging_steps=10**6,
            progress=False,
            num_threads=1,
        )
        start = time.perf_counter()
        train(config)
        return time.perf_counter() - start


def run(quick: bool = False) -> list[dict]:
    """Seconds per step = (run of warmup + measure steps - run of warmup steps) / measure, per side."""
    from sftgen.base.shipped import shipped_dir
    from sftgen.bench import load_benchmark
    from sftgen.data.build import BuildConfig, build_dataset

    warmup, measure, rounds = (3, 10, 1) if quick else (5, 40, 2)
    base = shipped_dir("tiny-copy")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        peak = load_benchmark("train").matmul_peak_gflops(n=1024)  # the one peak measure, at this size
        per_step: dict[tuple[str, str, str], float] = {}
        with tempfile.TemporaryDirectory() as root:
            folders = {}
            for task, n in INSTANCES.items():
                for kind, template in SIDES:
                    folders[task, kind, template] = Path(root, task, kind, template)
                    build_dataset(
                        BuildConfig(kind, task, n, 0, template=template), folders[task, kind, template], progress=False
                    )
            for _ in range(rounds):
                for side, folder in folders.items():
                    cost = (_seconds(base, folder, warmup + measure) - _seconds(base, folder, warmup)) / measure
                    per_step[side] = min(per_step.get(side, float("inf")), cost)
    finally:
        torch.set_num_threads(threads)
    rows = []
    for task in INSTANCES:
        plain = per_step[task, "answer-only", "compact"]
        for kind, template in SIDES:
            seconds = per_step[task, kind, template]
            is_peer = kind == "answer-only"
            rows.append(
                {
                    "name": f"{task} {kind} ({template} template): SFT steps/s",
                    "ours_per_s": 1 / seconds,
                    "peer": None if is_peer else "answer-only, compact",
                    "peer_per_s": None if is_peer else 1 / plain,
                    "ratio": None if is_peer else seconds / plain,
                    "note": f"{seconds:.3f} s/step, batch {BATCH}; ratio = answer-only steps one step costs; "
                    f"fp32 matmul peak {peak:.0f} GFLOP/s (1 thread)",
                }
            )
    return rows
