"""`accelerate launch --num_processes 2` on CPU runs the same SFT and GRPO as one process: DDP (torch.distributed
over gloo) and DeepSpeed ZeRO-2 / ZeRO-3 (DeepSpeed's CPU accelerator, gloo).

What must match (issue 19): the same number of optimizer steps over the same global batch (2 processes x 2 rows = one
process x 4 rows), the loss curve within a tolerance, and one record: log.jsonl, run.json, checkpoint and final model
written once, by rank 0; a run killed after a checkpoint resumes its step count under 2 processes; `sftgen reproduce`
(evaluation, report) is never itself run once per rank. `--multi_gpu` is accelerate's torchrun launcher; without CUDA
each process joins over gloo. DeepSpeed runs use the shipped `configs/accelerate/deepspeed_zero3.yaml` (`--zero_stage
2` for ZeRO-2) with 2 processes and no bf16. FSDP cannot run here: accelerate 1.16 turns an FSDP launch without a GPU
into DDP, and sftgen stops such a run instead of letting it pass for sharded (`check_engine`; docs/scale.md).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "configs" / "accelerate"
# The shipped FSDP config on 2 CPU processes (FSDP cannot sync module states from a CPU rank: torch raises).
FSDP_CPU = [
    *["--config_file", str(CONFIGS / "fsdp.yaml"), "--num_processes", "2", "--mixed_precision", "no"],
    *["--fsdp_sync_module_states", "false", "--fsdp_cpu_ram_efficient_loading", "false"],
]
# The shipped ZeRO-3 config on 2 CPU processes, and the same at stage 2 (no parameter partitioning to set up).
ZERO3 = ["--config_file", str(CONFIGS / "deepspeed_zero3.yaml"), "--num_processes", "2", "--mixed_precision", "no"]
ZERO2 = [*ZERO3, "--zero_stage", "2", "--zero3_init_flag", "false"]
DDP = ["--multi_gpu", "--num_processes", "2", "--num_machines", "1", "--mixed_precision", "no"]
DDP += ["--dynamo_backend", "no"]

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


def environment(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "CUDA_VISIBLE_DEVICES": "",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "ACCELERATE_CONFIG_DIR": str(tmp_path / "accelerate"),
        "OMP_NUM_THREADS": "1",
    }


def run(cmd: list[str], tmp_path: Path, ok: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, env=environment(tmp_path), capture_output=True, text=True, timeout=600, cwd=tmp_path)
    if ok:
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


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


def launch(engine: list[str], module: str, *args: str) -> list[str]:
    """`accelerate launch ENGINE -m MODULE ARGS` on a free port."""
    port = ["--main_process_port", str(free_port())]
    return [sys.executable, "-m", "accelerate.commands.launch", *engine, *port, "-m", module, *args]


def sft_args(data: Path, out: Path, *extra: str) -> list[str]:
    """The SFT run of COMMON, 2 rows per process."""
    return ["--data", str(data), "--out", str(out), "--batch-size", "2", *COMMON, *extra]


def launch_two_processes(data: Path, out: Path, tmp_path: Path, *extra: str, engine: list[str] = DDP) -> None:
    """The SFT run of COMMON under `accelerate launch` with 2 processes (DDP unless ``engine`` says otherwise)."""
    run(launch(engine, "sftgen.train.sft_main", *sft_args(data, out, *extra)), tmp_path)


def single_process_sft(data: Path, out: Path, tmp_path: Path) -> None:
    """The SFT run of COMMON in one process over 4 rows: the global batch of 2 processes x 2 rows."""
    cli = [sys.executable, "-m", "sftgen.cli", "train", "sft", "--data", str(data), "--out", str(out)]
    run([*cli, "--batch-size", "4", *COMMON], tmp_path)


def assert_same_sft(single: Path, multi: Path, engine: str) -> None:
    """Same steps over the same rows, the same losses and final weights (rank 0's, gathered), one record and one
    checkpoint by rank 0. Equal, not close: the ranks' gradients are averaged into exactly the step one process
    takes (a run whose ranks skipped that all-reduce logged losses within 1% and saved rank 0's own weights)."""
    from safetensors.torch import load_file

    one, two = json.loads((single / "run.json").read_text()), json.loads((multi / "run.json").read_text())
    assert (one["world_size"], two["world_size"]) == (1, 2)
    assert (one["distributed"], two["distributed"]) == ("NO", engine)
    assert one["steps"] == two["steps"] == STEPS
    a, b = losses(single), losses(multi)
    assert [r["step"] for r in a] == [r["step"] for r in b] == list(range(1, STEPS + 1))  # logged once, by rank 0
    assert [r["epoch"] for r in a] == [r["epoch"] for r in b]  # the same rows per optimizer step
    assert [r["loss"] for r in b] == pytest.approx([r["loss"] for r in a], rel=1e-4)
    assert sorted(p.name for p in multi.glob("checkpoint-*")) == [f"checkpoint-{STEPS}"]
    state = json.loads((multi / f"checkpoint-{STEPS}" / "trainer_state.json").read_text())
    assert state["global_step"] == STEPS
    assert not list(multi.glob("*.tmp"))
    reference, weights = (load_file(run / "final" / "model.safetensors") for run in (single, multi))
    assert weights.keys() == reference.keys()
    for key, value in reference.items():
        assert weights[key].shape == value.shape, key  # gathered, not a rank's partition
        torch.testing.assert_close(weights[key], value, rtol=1e-4, atol=1e-5, msg=key)


def test_two_process_ddp_sft_matches_one_process(tmp_path):
    data = generate_data(tmp_path)
    single_process_sft(data, tmp_path / "single", tmp_path)
    launch_two_processes(data, tmp_path / "ddp", tmp_path)
    assert_same_sft(tmp_path / "single", tmp_path / "ddp", "MULTI_CPU")


def test_two_process_deepspeed_zero2_and_zero3_sft_match_one_process(tmp_path):
    """ZeRO-2 (optimizer state and gradients partitioned) and ZeRO-3 (parameters too) over 2 CPU ranks: the same
    steps, losses and final weights (gathered by rank 0) as one process."""
    data = generate_data(tmp_path)
    single_process_sft(data, tmp_path / "single", tmp_path)
    for name, engine in (("zero2", ZERO2), ("zero3", ZERO3)):
        launch_two_processes(data, tmp_path / name, tmp_path, engine=engine)
        assert_same_sft(tmp_path / "single", tmp_path / name, "DEEPSPEED")


def test_fsdp_launch_on_cpu_stops_before_training(tmp_path):
    """accelerate 1.16 sets up an FSDP launch without a GPU as plain DDP; the run must say so and write nothing,
    not train unsharded while its config claims FSDP."""
    data = generate_data(tmp_path)
    result = run(launch(FSDP_CPU, "sftgen.train.sft_main", *sft_args(data, tmp_path / "fsdp")), tmp_path, ok=False)
    assert result.returncode != 0
    assert "asked for FSDP but accelerate set up MULTI_CPU" in result.stdout + result.stderr
    assert not (tmp_path / "fsdp" / "run.json").exists() and not list((tmp_path / "fsdp").glob("checkpoint-*"))


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


def test_two_process_zero3_run_killed_after_a_checkpoint_resumes_the_step_count(tmp_path):
    """SIGKILL of the whole launch (launcher and both ranks) once a checkpoint is complete, then the same command
    again: the ZeRO-3 run restarts from that checkpoint (DeepSpeed's partitioned model and optimizer states, one
    file per rank), its step count continues to the end, and every step is logged once."""
    from sftgen.train.callbacks import last_checkpoint

    data = generate_data(tmp_path)
    out, steps = tmp_path / "zero3", 30
    args = sft_args(data, out, "--max-steps", str(steps), "--save-steps", "3")
    cmd = launch(ZERO3, "sftgen.train.sft_main", *args)
    process = subprocess.Popen(
        cmd,
        env=environment(tmp_path),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 900  # a loaded 2-core machine can take minutes to start 2 DeepSpeed ranks
    try:
        while last_checkpoint(out) is None and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        exited = process.poll()  # None: still running, as it should be when killed
        with contextlib.suppress(ProcessLookupError):  # the whole group had already exited
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
    killed_at = last_checkpoint(out)
    assert killed_at is not None, f"no checkpoint before the kill (the launch had exited with {exited})"
    assert not (out / "run.json").exists(), "the run ended before it could be killed"
    step = int(killed_at.name.split("-")[1])
    assert step < steps

    run(cmd, tmp_path)
    record = json.loads((out / "run.json").read_text())
    assert record["resumed_from"] is not None and int(Path(record["resumed_from"]).name.split("-")[1]) >= step
    assert (record["steps"], record["world_size"], record["distributed"]) == (steps, 2, "DEEPSPEED")
    assert [r["step"] for r in losses(out)] == list(range(1, steps + 1))
    state = json.loads((out / f"checkpoint-{steps}" / "trainer_state.json").read_text())
    assert state["global_step"] == steps


GRPO_STEPS = 3


def grpo_args(rl: Path, warm: Path, out: Path) -> list[str]:
    """3 GRPO steps of 4 prompts x 4 rollouts = 16 completions per step (micro-batch 4 per process)."""
    sizes = ["--num-generations", "4", "--prompts-per-step", "4", "--micro-batch-size", "4"]
    return [
        *["--data", str(rl), "--model", str(warm), "--out", str(out), "--max-steps", str(GRPO_STEPS)],
        *["--save-steps", str(GRPO_STEPS), "--lr", "1e-4", "--seed", "0", "--max-completion-length", "16", *sizes],
        *["--set", "logging_steps=1", "--set", "progress=false"],
    ]


@pytest.fixture(scope="module")
def warm_start(tmp_path_factory) -> tuple[Path, Path, Path]:
    """(SFT data, RL prompts, a model folder): 60 answer-only SFT steps of the tiny model, one process."""
    tmp_path = tmp_path_factory.mktemp("warm")
    data = generate_data(tmp_path)
    rl = tmp_path / "rl"
    generate = [sys.executable, "-m", "sftgen.cli", "generate", "rl", "--task", "sokoban", "--n", "4"]
    run([*generate, "--template", "compact", "--out", str(rl)], tmp_path)
    warm = tmp_path / "warm"
    cli = [sys.executable, "-m", "sftgen.cli", "train", "sft", "--data", str(data), "--out", str(warm)]
    cli += ["--model", "tiny", "--max-steps", "60", "--save-steps", "1000", "--batch-size", "8", "--lr", "2e-3"]
    run([*cli, "--set", "warmup_ratio=0", "--set", "progress=false"], tmp_path)
    return data, rl, warm / "final"


def test_zero3_lora_run_merges_its_adapter_into_final(tmp_path, warm_start):
    """LoRA from a model folder under ZeRO-3: the partitioned model cannot be merged in place, so rank 0 merges the
    gathered adapter into the base read from disk. `final` must be that merged model (a plain folder vLLM can
    serve): each trained projection equal to base + alpha/r * B @ A of the saved adapter, everything else the
    base's, with the adapter kept beside it."""
    from safetensors.torch import load_file

    data, _, model = warm_start
    out = tmp_path / "zero3"
    run(
        launch(ZERO3, "sftgen.train.sft_main", *sft_args(data, out, "--lora", "--lr", "1e-2", "--model", str(model))),
        tmp_path,
    )

    info = json.loads((out / "final" / "sftgen_model.json").read_text())
    assert (
        info["lora"]
        and info["lora_merged"]
        and json.loads((out / "run.json").read_text())["distributed"] == "DEEPSPEED"
    )
    base, merged = load_file(model / "model.safetensors"), load_file(out / "final" / "model.safetensors")
    adapter = load_file(out / "adapter" / "adapter_model.safetensors")
    settings = json.loads((out / "adapter" / "adapter_config.json").read_text())
    scale = settings["lora_alpha"] / settings["r"]
    assert merged.keys() == base.keys()
    trained = set()
    for name in adapter:
        if ".lora_A." in name:
            key = name.split("base_model.model.", 1)[1].replace(".lora_A.weight", ".weight")
            down, up = adapter[name], adapter[name.replace(".lora_A.", ".lora_B.")]
            assert up.abs().max() > 0, name  # trained: B starts at zero
            torch.testing.assert_close(merged[key], base[key] + scale * up @ down, rtol=1e-4, atol=1e-6, msg=key)
            trained.add(key)
    assert trained and all(torch.equal(merged[key], base[key]) for key in base.keys() - trained)


def test_two_process_grpo_ddp_and_zero3_match_one_process_steps(tmp_path, warm_start):
    """GRPO from a tiny warm start: one process, 2 DDP and 2 ZeRO-3 processes.

    Rollouts are sampled, and each rank draws its own, so one process and two do not see the same completions:
    against one process the comparison is what is deterministic (the optimizer steps, the prompts per step as the
    epoch, the tokens of the global batch, dominated by the 16 prompt copies). DDP and ZeRO-3 over 2 processes draw
    the same rollouts from the same seeds (ZeRO-3 gathers the partitioned weights for generation), so there the
    whole curve (loss, reward, grad norm) must agree.
    """
    _, rl, model = warm_start
    runs = {name: tmp_path / name for name in ("single", "ddp", "zero3")}
    run([sys.executable, "-m", "sftgen.cli", "train", "grpo", *grpo_args(rl, model, runs["single"])], tmp_path)
    run(launch(DDP, "sftgen.train.grpo", *grpo_args(rl, model, runs["ddp"])), tmp_path)
    run(launch(ZERO3, "sftgen.train.grpo", *grpo_args(rl, model, runs["zero3"])), tmp_path)

    records = {name: json.loads((folder / "run.json").read_text()) for name, folder in runs.items()}
    assert [(r["world_size"], r["distributed"], r["steps"]) for r in records.values()] == [
        (1, "NO", GRPO_STEPS),
        (2, "MULTI_CPU", GRPO_STEPS),
        (2, "DEEPSPEED", GRPO_STEPS),
    ]
    logs = {name: losses(folder) for name, folder in runs.items()}
    for name, log in logs.items():
        assert [r["step"] for r in log] == list(range(1, GRPO_STEPS + 1)), name  # logged once, by rank 0
        assert [r["epoch"] for r in log] == [r["epoch"] for r in logs["single"]], name  # 4 prompts per step
        tokens = [r["num_tokens"] for r in log]
        assert tokens == pytest.approx([r["num_tokens"] for r in logs["single"]], rel=0.05), name
        assert sorted(p.name for p in runs[name].glob("checkpoint-*")) == [f"checkpoint-{GRPO_STEPS}"], name
        assert (runs[name] / "final" / "model.safetensors").is_file(), name
    for key in ("loss", "reward", "grad_norm", "num_tokens"):
        assert [r[key] for r in logs["zero3"]] == pytest.approx([r[key] for r in logs["ddp"]], rel=1e-3, abs=1e-6), key


def test_reproduce_refuses_to_run_once_per_rank(tmp_path):
    """`sftgen reproduce` drives evaluation and the report itself and launches only training on several processes
    (the recipe's `launcher:`); started under `accelerate launch` it would evaluate and report once per rank into
    the same folder, so it stops at once, on every rank, saying how to launch instead."""
    result = run(
        launch(DDP, "sftgen.cli", "reproduce", "--recipe", "smoke", "--out", str(tmp_path / "run")), tmp_path, ok=False
    )
    assert result.returncode != 0
    assert "launcher:" in result.stdout + result.stderr
    assert not (tmp_path / "run").exists()
