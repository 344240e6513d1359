"""One (task, method, seed) cell of a recipe: train, sweep every checkpoint, choose, evaluate the choice.

A job runs in its own process with one torch thread (measured faster than two on this CPU), so a
recipe runs one job per core. Every step skips work that is already on disk, which is how a killed
``sftgen reproduce`` resumes without redoing finished training or evaluation.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHOICE_RULE = "validation"


@dataclass(frozen=True)
class Job:
    task: str
    method: str
    seed: int
    sft: dict[str, Any]  # an SFTRunConfig as a dict
    train_dir: str
    eval_dir: str
    validation_split: str
    curve_splits: list[str]
    curve_n: int | None
    final_splits: list[str]
    final_n: int | None
    sampling: dict[str, Any]
    batch_size: int
    template: str
    response_format: str
    grpo: dict[str, Any] | None = None  # a GRPORunConfig as a dict; then ``sft`` is its CoT warm start
    launcher: str = ""  # e.g. "accelerate launch --config_file configs/accelerate/deepspeed_zero3.yaml"
    backend: str = "hf"  # hf or vllm, for evaluation

    @property
    def label(self) -> str:
        return f"{self.task}/{self.method}/seed{self.seed}"


def limit_threads() -> None:
    """One BLAS/torch thread per process: set before torch starts its pools."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    import torch

    torch.set_num_threads(1)


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def choose_checkpoints(curves: dict[str, Any], validation_split: str) -> tuple[str, str]:
    """(chosen by validation success, chosen by the study's rule: best mean non-fake test success).

    Ties go to the later checkpoint: with equal validation scores, more training is the natural pick.
    """
    from sftgen.eval.sweep import START

    points = [p for p in curves["points"] if p["checkpoint"] != START]  # only what training produced
    by_validation = max(points, key=lambda p: (p["splits"][validation_split]["success"], p["step"] or 0))

    def study_score(point: dict[str, Any]) -> float:
        tests = [m["success"] for name, m in point["splits"].items() if name != validation_split and "fake" not in name]
        return _mean(tests)

    by_study = max(points, key=lambda p: (study_score(p), p["step"] or 0))
    return by_validation["checkpoint"], by_study["checkpoint"]


def launch_training(launcher: str, config: Any, module: str) -> None:
    """Multi-GPU: the recipe's launcher (accelerate + DeepSpeed/FSDP) runs the same training entry point."""
    path = Path(config.out) / "launch.yaml"
    config.to_yaml(path)
    subprocess.run([*shlex.split(launcher), "-m", module, "--config", str(path)], check=True)


def run_job(job: Job, log_file: str | None = None) -> dict[str, Any]:
    """Train (unless done), sweep, choose on validation, evaluate the chosen checkpoint on every split.

    With ``log_file`` the job's own output (trainer logs, progress) goes there, not to the terminal
    that shows the recipe's overall progress.
    """
    if log_file is not None:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        with open(log_file, "a", encoding="utf-8") as handle, redirect_stdout(handle), redirect_stderr(handle):
            return run_job(job)
    limit_threads()
    from sftgen.eval.evaluate import evaluate
    from sftgen.eval.sweep import sweep
    from sftgen.models.sampling import Sampling
    from sftgen.models.tiny import TINY_PRESETS
    from sftgen.train import SFTRunConfig, train

    start = time.perf_counter()
    train_dir, eval_dir = Path(job.train_dir), Path(job.eval_dir)
    mark = start
    stage_seconds: dict[str, float] = {}

    def lap(stage: str) -> None:
        """Wall seconds since the previous stage ended (for the run's per-stage time table)."""
        nonlocal mark
        now = time.perf_counter()
        stage_seconds[stage] = round(now - mark, 1)
        mark = now

    if not (train_dir / "run.json").is_file():
        config = SFTRunConfig.from_dict(job.sft)
        config.validate()
        if not (Path(config.out) / "run.json").is_file():  # for GRPO: the warm start
            launch_training(job.launcher, config, "sftgen.train.sft_main") if job.launcher else train(config)
        if job.grpo is not None:
            from sftgen.train.grpo import train_grpo
            from sftgen.train.grpo_config import GRPORunConfig

            rl = GRPORunConfig.from_dict(job.grpo)
            rl.validate()
            launch_training(job.launcher, rl, "sftgen.train.grpo") if job.launcher else train_grpo(rl)
    lap("train")
    sampling = Sampling(**job.sampling)
    style = {"template": job.template, "response_format": job.response_format, "batch_size": job.batch_size}
    curve_splits = list(dict.fromkeys([job.validation_split, *job.curve_splits]))
    begin = job.sft["model"] if job.sft["model"] not in TINY_PRESETS else None  # a random init has no weights
    curves = sweep(train_dir, curve_splits, eval_dir, n=job.curve_n, sampling=sampling, start=begin, **style)
    lap("sweep")
    chosen, study_choice = choose_checkpoints(curves, job.validation_split)
    chosen_path = next(p["path"] for p in curves["points"] if p["checkpoint"] == chosen)
    final_splits = list(dict.fromkeys([*job.final_splits, *curve_splits]))
    model = f"vllm:{chosen_path}" if job.backend == "vllm" else chosen_path
    metrics = evaluate(model, final_splits, eval_dir / chosen, n=job.final_n, sampling=sampling, **style)
    lap("evaluate")
    return {
        "task": job.task,
        "method": job.method,
        "seed": job.seed,
        "train_dir": str(train_dir),
        "eval_dir": str(eval_dir),
        "chosen": chosen,
        "choice_rule": CHOICE_RULE,
        "study_rule_choice": study_choice,
        "metrics": metrics["splits"],
        "train_log": str(train_dir / "log.jsonl"),
        "wall_seconds": round(time.perf_counter() - start, 1),
        "stage_seconds": stage_seconds,
    }
