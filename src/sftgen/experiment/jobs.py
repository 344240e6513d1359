"""One (task, method, seed) cell of a recipe: train, sweep every checkpoint, choose, evaluate the choice.

A job runs in its own process with one torch thread (measured faster than two on this CPU), so a
recipe runs one job per core. Every step skips work that is already on disk, which is how a killed
``sftgen reproduce`` resumes without redoing finished training or evaluation.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import shlex
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
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
    backend: str = "hf"  # hf, vllm or openai (served by ``server``), for the chosen checkpoint's evaluation
    server: str = ""  # openai: the command serving {model} on {port}, e.g. "vllm serve {model} --port {port}"
    server_timeout: float = 900.0

    @property
    def label(self) -> str:
        return f"{self.task}/{self.method}/seed{self.seed}"


def _chars(value: Any) -> int:
    """Length of a prompt or completion: plain text, or a chat's message contents."""
    if isinstance(value, str):
        return len(value)
    return sum(len(str(m.get("content", ""))) for m in value) if isinstance(value, list) else 0


def _mean_row_chars(folder: str, sample: int) -> float:
    """Mean prompt + completion characters over the first ``sample`` rows of a dataset folder's data.jsonl."""
    with open(Path(folder) / "data.jsonl", encoding="utf-8") as lines:
        rows = [json.loads(line[:1_000_000]) for line in itertools.islice(lines, sample)]
    return _mean([float(_chars(row.get("prompt")) + _chars(row.get("completion"))) for row in rows])


def training_work(job: Job, sample: int = 256) -> float:
    """Characters the job's SFT reads (rows seen x mean row length), a proxy for its wall time. A GRPO job,
    whose cost this cannot see, counts as the largest (``inf``)."""
    from sftgen.train.data import mixed_counts, read_source

    if job.grpo is not None:
        return math.inf
    sft = job.sft
    mean_chars = _mean([_mean_row_chars(folder, sample) for folder in sft["data"]])
    if sft.get("max_steps"):
        return sft["max_steps"] * sft["batch_size"] * sft.get("grad_accum", 1) * mean_chars
    epoch = sum(mixed_counts([read_source(folder) for folder in sft["data"]], sft.get("mix_weights")))
    return epoch * sft["epochs"] * mean_chars


def longest_first(jobs: list[Job]) -> list[Job]:
    """Jobs ordered by :func:`training_work`, largest first: with two workers the last job to start is then a short
    one, so the cores finish together (longest-processing-time scheduling)."""
    return sorted(jobs, key=training_work, reverse=True)


def exit_with_parent(parent: int, every: float = 1.0) -> None:
    """A pool worker's initializer: end the worker once the process that started it is gone.

    Why: a ``reproduce`` stopped by SIGTERM (a scheduler, ``kill``) leaves its spawned workers training on the cores
    the next run needs, for up to an hour. What a job finished is on disk, and ``--resume`` continues from it.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every)
        os._exit(1)

    threading.Thread(target=watch, name="sftgen-exit-with-parent", daemon=True).start()


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
    from sftgen.eval.sweep import CURVE_POINTS, START

    points = [p for p in curves[CURVE_POINTS] if p["checkpoint"] != START]  # only what training produced
    by_validation = max(points, key=lambda p: (p["splits"][validation_split]["success"], p["step"] or 0))

    def study_score(point: dict[str, Any]) -> float:
        tests = [m["success"] for name, m in point["splits"].items() if name != validation_split and "fake" not in name]
        return _mean(tests)

    by_study = max(points, key=lambda p: (study_score(p), p["step"] or 0))
    return by_validation["checkpoint"], by_study["checkpoint"]


def launcher_command(launcher: str) -> list[str]:
    """The launcher's words, its program found beside this Python when it is not on PATH: sftgen run from a
    virtual environment that was never activated (``.venv/bin/sftgen reproduce``) has ``accelerate`` in
    ``.venv/bin`` but not on PATH, and the launch would fail with "No such file or directory"."""
    import shutil
    import sys

    words = shlex.split(launcher)
    if words and shutil.which(words[0]) is None:
        sibling = Path(sys.executable).parent / words[0]
        if sibling.is_file():
            words[0] = str(sibling)
    return words


def launch_training(launcher: str, config: Any, module: str) -> None:
    """Multi-GPU: the recipe's launcher (accelerate + DeepSpeed/FSDP) runs the same training entry point."""
    path = Path(config.out) / "launch.yaml"
    config.to_yaml(path)
    # into the job's log (run_job redirects sys.stdout/stderr to it), as an unlaunched run's output goes
    subprocess.run(
        [*launcher_command(launcher), "-m", module, "--config", str(path)],
        check=True,
        stdout=_file_or_none("stdout"),
        stderr=_file_or_none("stderr"),
    )


def _file_or_none(name: str) -> Any:
    """``sys.stdout``/``sys.stderr`` when it is a real file a child process can write to, else None (inherit)."""
    import io
    import sys

    stream = getattr(sys, name)
    try:
        stream.fileno()
    except (AttributeError, OSError, io.UnsupportedOperation):
        return None
    stream.flush()
    return stream


def _free_port() -> int:
    import socket

    with socket.socket() as handle:
        handle.bind(("127.0.0.1", 0))
        return handle.getsockname()[1]


@contextmanager
def served(command: str, model: str, timeout: float) -> Iterator[str]:
    """Run ``command`` (``{model}``, ``{port}`` filled in) until its OpenAI API answers ``/v1/models``; yield its
    URL; stop it (SIGTERM to its process group, then SIGKILL). Why here: a recipe's evaluation through vLLM's
    server (or ``sftgen serve`` standing in for it) must start and stop with the job, and a server that dies
    while loading must fail the job with its exit code, not hang it."""
    import signal
    import urllib.request

    port = _free_port()
    process = subprocess.Popen(shlex.split(command.format(model=model, port=port)), start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the evaluation server exited with code {process.returncode}: {command}")
            try:
                with urllib.request.urlopen(f"{url}/v1/models", timeout=5) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"the evaluation server did not answer within {timeout:.0f} s: {command}")
            time.sleep(0.5)
        yield url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def servable(checkpoint: Path, merged: Path) -> Path:
    """A folder an inference server can load as a model: ``checkpoint`` itself, or, for a LoRA checkpoint (adapter
    weights only: vLLM serves those only beside their base, with --enable-lora), the base with the adapter merged,
    written once to ``merged``."""
    from sftgen.models.loading import is_adapter_dir, load_model

    if not is_adapter_dir(checkpoint):
        return checkpoint
    if not (merged / "config.json").is_file():
        model, tokenizer = load_model(str(checkpoint), device="cpu")
        model.save_pretrained(str(merged))
        tokenizer.save_pretrained(str(merged))
    return merged


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
    from sftgen.eval.sweep import CURVE_POINTS, sweep
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
    chosen_path = next(p["path"] for p in curves[CURVE_POINTS] if p["checkpoint"] == chosen)
    final_splits = list(dict.fromkeys([*job.final_splits, *curve_splits]))
    if job.backend == "openai":
        from sftgen.eval.backend import open_backend

        model_dir = servable(Path(chosen_path), eval_dir / f"{chosen}-merged")
        with served(job.server, str(model_dir), job.server_timeout) as url:
            # the served checkpoint is still named by its folder, so the sweep's episodes of it are kept
            engine = open_backend(url, batch_size=job.batch_size, seed=sampling.seed)
            try:
                metrics = evaluate(
                    chosen_path,
                    final_splits,
                    eval_dir / chosen,
                    n=job.final_n,
                    sampling=sampling,
                    backend=engine,
                    **style,
                )
            finally:
                close = getattr(engine, "close", None)
                if callable(close):
                    close()
    else:
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
