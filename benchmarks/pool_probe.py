"""Probe: does a tiny base whose declared words are spelled from shared pieces keep reading under SFT?

One prepared run for a lent GPU (or, with ``--dry``, a minute on the CPU). It trains tiny bases whose declared
maps draw from the ``codes`` and ``codes3`` pools and, as the control, from the study's ``words`` pool, fine-tunes
them side by side with answer-only and diverse data on Sokoban and
General Points at the ``quick`` recipe's budgets (and one longer diverse run), and evaluates every checkpoint on
the instruction-variant and fake splits (greedy, fp32, closed loop, 50 episodes). Every job is its own process
with one CPU thread. ``OUT/probe.json`` is rewritten after every finished job, and each codes base comes back as
``OUT/base-NAME.tar.gz`` as soon as it exists, so a run cut short still reports what it finished.

    python benchmarks/pool_probe.py --out probe-out --work /tmp/probe-work   # on a CUDA machine
    python benchmarks/pool_probe.py --out /tmp/probe --dry                   # tiny sizes, on the CPU
"""

from __future__ import annotations

import argparse
import json
import tarfile
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

SOKOBAN_SPLITS = ["sokoban/id", "sokoban/numerical", "sokoban/alphabetical", "sokoban/random", "sokoban/fake_numerical"]
POINTS_SPLITS = ["points/id", "points/all_5", "points/all_7", "points/fake"]


@dataclass(frozen=True)
class Job:
    base: str  # the base's diverse pool: words (the study's kind, the control), codes or codes3
    task: str
    kind: str
    lr: float
    steps: int


BASES = ("words", "codes", "codes3")


def plan(dry: bool) -> dict[str, list[Job]]:
    """The fine-tuning runs, by the base (= diverse pool) they start from and read data of."""
    short, long, gp = (8, 12, 6) if dry else (1500, 3000, 1000)
    jobs: dict[str, list[Job]] = {
        "words": [Job("words", "sokoban", "answer-only", 1e-3, short), Job("words", "sokoban", "diverse", 1e-3, short)]
    }
    for base in ("codes", "codes3"):
        jobs[base] = [
            Job(base, "sokoban", "answer-only", 1e-3, short),
            Job(base, "sokoban", "diverse", 1e-3, short),
            Job(base, "sokoban", "diverse", 1e-3, long),
            Job(base, "points", "answer-only", 1e-3, gp),
            Job(base, "points", "diverse", 1e-3, gp),
        ]
    return jobs


def _threads() -> None:
    from sftgen.experiment.jobs import limit_threads

    limit_threads()


def base_config(pool: str, dry: bool) -> Any:
    from sftgen.base.pretrain import BaseConfig

    # a code is copied over 1-3 tokens and its look-up forms later than a one-token word's: on the CPU a codes3
    # look-up stage was at loss 0.45 (probe 0.32) after the default cap of 96k rows, so the cap is doubled here;
    # the stage still ends at the stop loss
    tiny = {"lookup_rows": 256, "rows": 256, "skill_rows": 64, "compose_rows": 64, "lookup_stop_loss": 0.0}
    sizes = tiny if dry else {"lookup_rows": 192_000}
    return BaseConfig(pool=pool, **sizes)


def build_base(out: str, pool: str, dry: bool) -> dict:
    _threads()
    from sftgen.base.pretrain import pretrain_base, probe_base
    from sftgen.eval.evaluate import evaluate
    from sftgen.models.sampling import Sampling

    root = Path(out) / "bases-work" / pool
    start = time.perf_counter()
    final = pretrain_base(base_config(pool, dry), out=root, progress=False)
    seconds = time.perf_counter() - start
    zero_shot = evaluate(
        str(final),
        SOKOBAN_SPLITS + POINTS_SPLITS,
        root / "eval",
        n=3 if dry else 50,
        sampling=Sampling(greedy=True, max_new_tokens=64),
        batch_size=64,
        dtype="float32",
    )
    splits = {s: {"success": m["success"], "validity": m["validity"]} for s, m in zero_shot["splits"].items()}
    return {"dir": str(final), "seconds": round(seconds, 1), "probe": probe_base(final), "zero_shot": splits}


def build_data(out: str, task: str, kind: str, pool: str, dry: bool) -> str:
    _threads()
    from sftgen.data.build import BuildConfig, build_dataset

    n = (3 if task == "sokoban" else 20) if dry else (20_000 if task == "sokoban" else 4_000)
    folder = Path(out) / "data" / f"{task}-{kind}-{pool}"
    build_dataset(BuildConfig(kind, task, n, 0, "compact", pool=pool), folder, overwrite=True, progress=False)
    return str(folder)


def run_job(out: str, job: Job, base_dir: str, data: str, dry: bool, deadline: float) -> dict:
    """Fine-tune, then evaluate every checkpoint (newest first, so the end of the run is measured in time)."""
    _threads()
    from sftgen.eval.evaluate import evaluate
    from sftgen.models.sampling import Sampling
    from sftgen.train import SFTRunConfig, train

    name = f"{job.base}-{job.task}-{job.kind}-lr{job.lr:g}-{job.steps}"
    run_dir = Path(out) / "runs" / name
    start = time.perf_counter()
    train(
        SFTRunConfig(
            model=base_dir,
            data=[data],
            out=str(run_dir),
            template="compact",
            lr=job.lr,
            scheduler="cosine",
            warmup_ratio=0.02,
            batch_size=32,
            max_steps=job.steps,
            save_steps=max(1, job.steps // 4),
            logging_steps=50,
            bf16=False,
            progress=False,
        )
    )
    trained = time.perf_counter() - start
    splits = SOKOBAN_SPLITS if job.task == "sokoban" else POINTS_SPLITS
    curve = {}
    for checkpoint in sorted(run_dir.glob("checkpoint-*"), key=lambda p: -int(p.name.split("-")[1])):
        if time.time() > deadline:
            break
        metrics = evaluate(
            str(checkpoint),
            splits,
            run_dir / "eval" / checkpoint.name,
            n=3 if dry else 50,
            sampling=Sampling(greedy=True, max_new_tokens=64),
            batch_size=64,
            dtype="float32",
        )
        curve[checkpoint.name] = {
            s: {"success": m["success"], "validity": m["validity"]} for s, m in metrics["splits"].items()
        }
    return {"job": asdict(job), "name": name, "train_seconds": round(trained, 1), "curve": curve}


def _save(out: Path, report: dict) -> None:
    (out / "probe.json").write_text(json.dumps(report, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="probe.json and the bases' tarballs")
    parser.add_argument("--work", type=Path, default=None, help="data, bases and runs (default: OUT/work)")
    parser.add_argument("--dry", action="store_true")
    parser.add_argument("--seconds", type=float, default=480, help="no checkpoint evaluation starts after this")
    args = parser.parse_args()
    work = args.work or args.out / "work"
    out, dry = str(work), args.dry
    args.out.mkdir(parents=True, exist_ok=True)
    start, deadline = time.perf_counter(), time.time() + args.seconds
    jobs = plan(dry)
    report: dict[str, Any] = {"bases": {}, "jobs": []}

    def stamp(text: str) -> None:
        print(f"[{time.perf_counter() - start:5.0f} s] {text}", flush=True)

    data_keys = sorted({(j.task, j.kind, j.base) for js in jobs.values() for j in js})
    with ProcessPoolExecutor(max_workers=20, mp_context=get_context("spawn")) as pool:
        bases = {name: pool.submit(build_base, out, name, dry) for name in BASES}
        data = {key: pool.submit(build_data, out, *key, dry) for key in data_keys}
        data_dirs = {key: future.result() for key, future in data.items()}
        stamp("data built")
        running: dict[Future, str] = {future: name for name, future in bases.items()}
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                name = running.pop(future)
                if name in bases:  # a base finished: its fine-tuning runs start
                    report["bases"][name] = future.result()
                    stamp(f"base {name}: {json.dumps(report['bases'][name])}")
                    if name != "words":  # the bases a recipe could ship come back as soon as they exist
                        with tarfile.open(args.out / f"base-{name}.tar.gz", "w:gz") as tar:
                            tar.add(report["bases"][name]["dir"], arcname=name)
                    for job in jobs[name]:
                        key = (job.task, job.kind, name)
                        args_ = (out, job, report["bases"][name]["dir"], data_dirs[key], dry, deadline)
                        running[pool.submit(run_job, *args_)] = f"job {job}"
                else:
                    try:
                        report["jobs"].append(future.result())
                    except Exception as err:  # one failed job must not hide the others' numbers
                        report["jobs"].append({"name": name, "error": f"{type(err).__name__}: {err}"})
                    stamp(json.dumps(report["jobs"][-1]))
                report["seconds"] = round(time.perf_counter() - start, 1)
                _save(args.out, report)
    for row in report["jobs"]:
        for checkpoint, splits in row.get("curve", {}).items():
            cells = "  ".join(f"{s.split('/')[1]} {m['success']:.2f}/{m['validity']:.2f}" for s, m in splits.items())
            print(f"{row['name']:42s} {checkpoint:16s} {cells}")


if __name__ == "__main__":
    main()
