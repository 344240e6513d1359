"""`accelerate launch --num_processes 2` on CPU (torch.distributed over gloo, DDP) runs the same SFT as one process.

What must match (issue 19): the same number of optimizer steps over the same global batch (2 processes x 2 rows = one
process x 4 rows), the loss curve within a tolerance, and one record: log.jsonl, run.json, checkpoint and final model
written once, by rank 0. `--multi_gpu` is accelerate's torchrun launcher; without CUDA each process joins over gloo.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

STEPS = 4
COMMON = [
    "--model",
    "tiny",
    "--max-steps",
    str(STEPS),
    "--save-steps",
    str(STEPS),
    "--lr",
    "1e-3",
    "--seed",
    "0",
    "--set",
    "logging_steps=1",
    "--set",
    "progress=false",
    "--set",
    "warmup_ratio=0.25",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(cmd: list[str], tmp_path: Path) -> None:
    env = {
        **os.environ,
        "CUDA_VISIBLE_DEVICES": "",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "ACCELERATE_CONFIG_DIR": str(tmp_path / "accelerate"),
        "OMP_NUM_THREADS": "1",
    }
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def losses(run_dir: Path) -> list[dict]:
    return [r for r in map(json.loads, (run_dir / "log.jsonl").read_text().splitlines()) if "loss" in r]


def generate_data(tmp_path: Path) -> Path:
    """Answer-only compact Sokoban rows from 4 levels, through the CLI."""
    data = tmp_path / "data"
    run(
        [
            sys.executable,
            "-m",
            "sftgen.cli",
            "generate",
            "answer-only",
            "--task",
            "sokoban",
            "--n",
            "4",
            "--template",
            "compact",
            "--out",
            str(data),
        ],
        tmp_path,
    )
    return data


def launch_two_processes(data: Path, out: Path, tmp_path: Path, *extra: str) -> None:
    """The SFT run of COMMON under `accelerate launch --multi_gpu --num_processes 2`, 2 rows per process."""
    run(
        [
            sys.executable,
            "-m",
            "accelerate.commands.launch",
            "--multi_gpu",
            "--num_processes",
            "2",
            "--num_machines",
            "1",
            "--mixed_precision",
            "no",
            "--dynamo_backend",
            "no",
            "--main_process_port",
            str(free_port()),
            "-m",
            "sftgen.train.sft_main",
            "--data",
            str(data),
            "--out",
            str(out),
            "--batch-size",
            "2",
            *COMMON,
            *extra,
        ],
        tmp_path,
    )


def test_two_process_ddp_sft_matches_one_process(tmp_path):
    data = generate_data(tmp_path)
    single, ddp = tmp_path / "single", tmp_path / "ddp"
    run(
        [
            sys.executable,
            "-m",
            "sftgen.cli",
            "train",
            "sft",
            "--data",
            str(data),
            "--out",
            str(single),
            "--batch-size",
            "4",
            *COMMON,
        ],
        tmp_path,
    )
    launch_two_processes(data, ddp, tmp_path)

    one, two = json.loads((single / "run.json").read_text()), json.loads((ddp / "run.json").read_text())
    assert (one["world_size"], two["world_size"]) == (1, 2)
    assert one["steps"] == two["steps"] == STEPS
    a, b = losses(single), losses(ddp)
    assert [r["step"] for r in a] == [r["step"] for r in b] == list(range(1, STEPS + 1))  # logged once, by rank 0
    assert [r["epoch"] for r in a] == [r["epoch"] for r in b]  # the same rows per optimizer step
    assert b[0]["loss"] == pytest.approx(a[0]["loss"], rel=1e-4)  # the same first global batch
    assert [r["loss"] for r in b] == pytest.approx([r["loss"] for r in a], rel=0.01)
    assert sorted(p.name for p in ddp.glob("checkpoint-*")) == [f"checkpoint-{STEPS}"]
    state = json.loads((ddp / f"checkpoint-{STEPS}" / "trainer_state.json").read_text())
    assert state["global_step"] == STEPS
    assert (ddp / "final" / "model.safetensors").is_file() and not list(ddp.glob("*.tmp"))


def test_two_process_run_stopped_after_a_checkpoint_resumes_the_step_count(tmp_path):
    """A run stopped at step 1 (with its checkpoint, as after a kill once a checkpoint is written) continues from
    there under 2 processes: steps 2..4 follow, the step count ends at 4, each step logged once."""
    data = generate_data(tmp_path)
    out = tmp_path / "ddp"
    # every loss is below 1000: the run stops (and checkpoints) at step 1
    launch_two_processes(data, out, tmp_path, "--set", "stop_at_loss=1000")
    assert json.loads((out / "run.json").read_text())["steps"] == 1
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-1"]
    launch_two_processes(data, out, tmp_path)
    record = json.loads((out / "run.json").read_text())
    assert record["steps"] == STEPS and record["world_size"] == 2
    assert [r["step"] for r in losses(out)] == list(range(1, STEPS + 1))
    state = json.loads((out / f"checkpoint-{STEPS}" / "trainer_state.json").read_text())
    assert state["global_step"] == STEPS
