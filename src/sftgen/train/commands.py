"""``sftgen train ...`` commands: parse options into an ``SFTRunConfig`` / ``GRPORunConfig`` and call
``sftgen.train.sft.train`` / ``sftgen.train.grpo.train_grpo``.

Kept out of ``sftgen/cli.py`` so the training commands live next to the code they call; ``cli.py`` only adds
the group. Importing this module does not import torch: the trainer is imported when a run starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from sftgen.train.config import REPORTERS, SFTRunConfig
from sftgen.train.grpo_config import GRPORunConfig
from sftgen.train.typed import ConfigError, load_yaml_mapping, merge_override, parse_override


def build_config(
    config_path: Path | None, options: dict[str, Any], overrides: tuple[str, ...], cls: type = SFTRunConfig
) -> Any:
    """YAML (optional) <- named options <- ``--set`` overrides, type-checked into ``cls`` and validated."""
    data = load_yaml_mapping(config_path) if config_path is not None else {}
    if cls is SFTRunConfig:
        if options.get("max_steps") is not None and options.get("epochs") is None:
            data["epochs"] = None  # --max-steps replaces the recipe's epochs (set both only on purpose)
        if options.get("epochs") is not None and options.get("max_steps") is None:
            data["max_steps"] = None
    for key, value in options.items():
        if value is not None:
            merge_override(data, key.split("."), value)
    for text in overrides:
        merge_override(data, *parse_override(text))
    config = cls.from_dict(data)
    config.validate()
    return config


def main_process() -> bool:
    """Rank 0 of a launch (or no launch): the one process that reports what a run produced, once."""
    import os

    return int(os.environ.get("RANK", "0")) == 0


@click.group("train")
def train_group() -> None:
    """Train models (SFT and GRPO with TRL, full or LoRA; multi-GPU through `accelerate launch`)."""


@train_group.command("sft")
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="YAML recipe (see recipes/sft/).")
@click.option("--data", multiple=True, help="Dataset folder from `sftgen generate` (repeat to mix several).")
@click.option("--model", default=None, help="tiny / small (from scratch), a folder, smollm2-135m or org/name.")
@click.option("--out", default=None, help="Run folder (checkpoints, final/, run.json).")
@click.option("--max-steps", type=int, default=None, help="Optimizer steps (replaces the recipe's epochs).")
@click.option("--epochs", type=float, default=None, help="Passes over the data (replaces the recipe's max_steps).")
@click.option("--lr", type=float, default=None, help="Peak learning rate.")
@click.option("--batch-size", type=int, default=None, help="Rows per device per micro-batch.")
@click.option("--grad-accum", type=int, default=None, help="Micro-batches per optimizer step.")
@click.option("--seed", type=int, default=None)
@click.option("--save-steps", type=int, default=None, help="Checkpoint every N steps (default: once per epoch).")
@click.option("--lora", is_flag=True, default=None, help="Train LoRA adapters instead of all weights.")
@click.option("--report-to", type=click.Choice(REPORTERS), default=None)
@click.option(
    "--resume/--no-resume",
    default=None,
    help="Require resuming from the newest checkpoint / refuse a folder with checkpoints "
    "(default: resume when a checkpoint exists).",
)
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Any setting, e.g. --set lora.r=8.")
@click.option("--print-config", is_flag=True, help="Print the resolved config as YAML and exit (a dry run).")
def sft_command(
    config_path: Path | None,
    data: tuple[str, ...],
    model: str | None,
    out: str | None,
    max_steps: int | None,
    epochs: float | None,
    lr: float | None,
    batch_size: int | None,
    grad_accum: int | None,
    seed: int | None,
    save_steps: int | None,
    lora: bool | None,
    report_to: str | None,
    resume: bool | None,
    overrides: tuple[str, ...],
    print_config: bool,
) -> None:
    """Supervised fine-tuning on prompt/completion data (loss on the completion and its end of turn only).

    \b
    sftgen train sft --config recipes/sft/tiny-sokoban-answer-only.yaml
    sftgen train sft --data runs/data/sok --model tiny --out runs/sft/tiny --max-steps 2000 --lr 1e-3
    accelerate launch --config_file configs/accelerate/deepspeed_zero3.yaml \\
        -m sftgen.train.sft_main --config recipes/sft/qwen2.5-7b-sokoban-answer-only.yaml
    """
    options: dict[str, Any] = {
        "data": list(data) or None,
        "model": model,
        "out": out,
        "max_steps": max_steps,
        "epochs": epochs,
        "lr": lr,
        "batch_size": batch_size,
        "grad_accum": grad_accum,
        "seed": seed,
        "save_steps": save_steps,
        "lora.enabled": lora,
        "report_to": report_to,
        "resume": None if resume is None else ("always" if resume else "never"),
    }
    try:
        config = build_config(config_path, options, overrides)
        if print_config:
            click.echo(config.to_yaml(), nl=False)
            return
        from sftgen.train.sft import train

        result = train(config)
    except ConfigError as err:
        raise click.ClickException(f"config error: {err}") from err
    if not main_process():
        return
    loss = "n/a" if result.final_loss is None else f"{result.final_loss:.4g}"
    click.echo(
        f"trained {result.global_step} steps in {result.wall_seconds:.1f} s, final loss {loss}"
        + (f" (resumed from {result.resumed_from})" if result.resumed_from else "")
    )
    click.echo(f"model: {result.final_dir}   record: {result.run_dir / 'run.json'}")


@train_group.command("grpo")
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="YAML recipe (see recipes/grpo/).")
@click.option("--data", default=None, help="RL prompt folder from `sftgen generate rl`.")
@click.option("--model", default=None, help="Warm-start model folder (e.g. RUN/final of a short CoT SFT).")
@click.option("--out", default=None, help="Run folder (checkpoints, final/, run.json, log.jsonl).")
@click.option("--max-steps", type=int, default=None, help="Optimizer steps.")
@click.option("--lr", type=float, default=None, help="Learning rate (study: 1e-6).")
@click.option("--num-generations", type=int, default=None, help="Rollouts per prompt (study: 8).")
@click.option("--prompts-per-step", type=int, default=None, help="Prompts per optimizer step (study: 256).")
@click.option("--micro-batch-size", type=int, default=None, help="Completions per GPU per forward/backward.")
@click.option("--max-completion-length", type=int, default=None, help="Longest rollout in tokens.")
@click.option("--seed", type=int, default=None)
@click.option("--save-steps", type=int, default=None, help="Checkpoint every N steps.")
@click.option("--vllm/--no-vllm", "use_vllm", default=None, help="Generate rollouts with vLLM (GPU only).")
@click.option("--lora", is_flag=True, default=None, help="Train LoRA adapters instead of all weights.")
@click.option("--report-to", type=click.Choice(REPORTERS), default=None)
@click.option("--resume/--no-resume", default=None, help="Require / refuse resuming (default: resume if possible).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Any setting, e.g. --set beta=0.01.")
@click.option("--print-config", is_flag=True, help="Print the resolved config as YAML and exit (a dry run).")
def grpo_command(
    config_path: Path | None,
    overrides: tuple[str, ...],
    print_config: bool,
    lora: bool | None,
    resume: bool | None,
    **named: Any,
) -> None:
    """GRPO on RL prompts, rewards from the task's verifier (Sokoban: optimal action; Points: 5/-1/-2/-3).

    \b
    sftgen train grpo --config recipes/grpo/qwen2.5-7b-sokoban.yaml
    sftgen train grpo --data runs/data/sok-rl --model runs/sft/warm/final --out runs/grpo/tiny --max-steps 50
    accelerate launch --config_file configs/accelerate/deepspeed_zero3.yaml \\
        -m sftgen.train.grpo --config recipes/grpo/qwen2.5-7b-sokoban.yaml
    """
    options: dict[str, Any] = {
        **named,
        "lora.enabled": lora,
        "resume": None if resume is None else ("always" if resume else "never"),
    }
    try:
        config = build_config(config_path, options, overrides, cls=GRPORunConfig)
        if print_config:
            click.echo(config.to_yaml(), nl=False)
            return
        from sftgen.train.grpo import train_grpo

        result = train_grpo(config)
    except ConfigError as err:
        raise click.ClickException(f"config error: {err}") from err
    if not main_process():
        return
    reward = result.record.get("final_reward")
    click.echo(
        f"trained {result.global_step} GRPO steps in {result.wall_seconds:.1f} s, last logged reward "
        + ("n/a" if reward is None else f"{reward:.4g}")
        + (f" (resumed from {result.resumed_from})" if result.resumed_from else "")
    )
    click.echo(f"model: {result.final_dir}   record: {result.run_dir / 'run.json'}")
