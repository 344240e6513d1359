"""``sftgen train ...`` commands: parse options into an ``SFTRunConfig`` / ``GRPORunConfig`` and call
``sftgen.train.sft.train`` / ``sftgen.train.grpo.train_grpo``.

The named options are derived from the config dataclasses (the fields whose metadata declares an ``option``,
with their type and help), so a setting is declared once; every other setting is reachable with ``--set``.
Kept out of ``sftgen/cli.py`` so the training commands live next to the code they call; ``cli.py`` only adds
the group. Importing this module does not import torch: the trainer is imported when a run starts.
"""

from __future__ import annotations

import dataclasses
import importlib
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, Union

import click

from sftgen.train.config import SFTRunConfig
from sftgen.train.grpo_config import GRPORunConfig
from sftgen.train.typed import ConfigError, load_yaml_mapping, merge_override, option_fields, parse_override

F = TypeVar("F", bound=Callable[..., Any])


def build_config(
    config_path: Path | None, options: dict[str, Any], overrides: tuple[str, ...], cls: type = SFTRunConfig
) -> Any:
    """YAML (optional) <- named options <- ``--set`` overrides, type-checked into ``cls`` and validated.

    An option whose field ``replaces`` another (SFT: ``--max-steps`` and ``--epochs``) clears the recipe's value
    of that other setting unless it is given too (set both only on purpose)."""
    data = load_yaml_mapping(config_path) if config_path is not None else {}
    for key, f, _ in option_fields(cls):
        replaced = f.metadata.get("replaces")
        if replaced and options.get(key) is not None and options.get(replaced) is None:
            data[replaced] = None
    for key, value in options.items():
        if value is not None:
            merge_override(data, key.split("."), value)
    for text in overrides:
        merge_override(data, *parse_override(text))
    config = cls.from_dict(data)
    config.validate()
    return config


def _param(key: str) -> str:
    """The Python name click passes an option's value under (``lora.enabled`` -> ``lora__enabled``)."""
    return key.replace(".", "__")


def _scalar(hint: Any) -> Any:
    """``X`` for ``X | None``; the hint itself otherwise."""
    if typing.get_origin(hint) in (Union, types.UnionType):
        (inner,) = [a for a in typing.get_args(hint) if a is not type(None)]
        return inner
    return hint


def _option(key: str, f: dataclasses.Field[Any], hint: Any) -> Callable[[F], F]:
    """The click option of one config field: its name (``--max-steps``, or the field's own spelling such as
    ``--vllm/--no-vllm``), type, choices and help. Every option defaults to None: not given = the recipe's value."""
    spelling, meta = f.metadata["option"], f.metadata
    name = spelling if isinstance(spelling, str) else "--" + key.rsplit(".", 1)[-1].replace("_", "-")
    hint = _scalar(hint)
    help_text = meta["help"]
    if "replaces" in meta:
        help_text += f"; given alone, it clears the recipe's {meta['replaces']}"
    kwargs: dict[str, Any] = {"default": None}
    if "flag_values" in meta:  # an on/off option standing for two values of a str setting
        on, off = (part.strip() for part in name.split("/"))
        help_text += f" ({on}: {meta['flag_values'][0]}, {off}: {meta['flag_values'][1]})"
    if "flag_values" in meta or hint is bool:
        kwargs["is_flag"] = True
    elif typing.get_origin(hint) is list:
        kwargs.update(multiple=True, type=typing.get_args(hint)[0])
        help_text += " (repeat the option for several)"
    else:
        kwargs["type"] = click.Choice(meta["choices"]) if "choices" in meta else hint
    return click.option(name, _param(key), help=help_text[:1].upper() + help_text[1:] + ".", **kwargs)


def _values(cls: type, named: dict[str, Any]) -> dict[str, Any]:
    """The parsed options keyed by dotted field name, None where not given."""
    values: dict[str, Any] = {}
    for key, f, _ in option_fields(cls):
        value = named[_param(key)]
        if isinstance(value, tuple):  # a repeatable option
            value = list(value) or None
        if "flag_values" in f.metadata and value is not None:
            value = f.metadata["flag_values"][0 if value else 1]
        values[key] = value
    return values


def config_options(cls: type, recipes: str, example: str) -> Callable[[F], F]:
    """``--config``, one option per config field that declares one, ``--set`` and ``--print-config``."""
    options = [
        click.option("--config", "config_path", type=click.Path(path_type=Path), help=f"YAML recipe (see {recipes})."),
        *(_option(key, f, hint) for key, f, hint in option_fields(cls)),
        click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help=f"Any setting, e.g. {example}."),
        click.option("--print-config", is_flag=True, help="Print the resolved config as YAML and exit (a dry run)."),
    ]

    def decorate(command: F) -> F:
        for option in reversed(options):  # click lists options in the order their decorators are written
            command = option(command)
        return command

    return decorate


def run_command(
    cls: type, train: str, config_path: Path | None, overrides: tuple[str, ...], print_config: bool, named: dict
) -> Any:
    """Build and validate the config, then print it (``--print-config``: returns None) or train it with
    ``train`` (``module:function``, imported only now) and return its result; config errors are one line."""
    try:
        config = build_config(config_path, _values(cls, named), overrides, cls=cls)
        if print_config:
            click.echo(config.to_yaml(), nl=False)
            return None
        module, function = train.split(":")
        return getattr(importlib.import_module(module), function)(config)
    except ConfigError as err:
        raise click.ClickException(f"config error: {err}") from err


def report(result: Any, summary: str) -> None:
    """What a finished run produced, said once: by rank 0 of a launch (or the only process)."""
    import os

    if int(os.environ.get("RANK", "0")) != 0:
        return
    resumed = f" (resumed from {result.resumed_from})" if result.resumed_from else ""
    click.echo(f"trained {result.global_step} {summary}{resumed}")
    click.echo(f"model: {result.final_dir}   record: {result.run_dir / 'run.json'}")


@click.group("train")
def train_group() -> None:
    """Train models (SFT and GRPO with TRL, full or LoRA; multi-GPU through `accelerate launch`)."""


@train_group.command("sft")
@config_options(SFTRunConfig, "recipes/sft/", "--set lora.r=8")
def sft_command(config_path: Path | None, overrides: tuple[str, ...], print_config: bool, **named: Any) -> None:
    """Supervised fine-tuning on prompt/completion data (loss on the completion and its end of turn only).

    \b
    sftgen train sft --config recipes/sft/tiny-sokoban-answer-only.yaml
    sftgen train sft --data runs/data/sok --model tiny --out runs/sft/tiny --max-steps 2000 --lr 1e-3
    accelerate launch --config_file configs/accelerate/deepspeed_zero3.yaml \\
        -m sftgen.train.sft_main --config recipes/sft/qwen2.5-7b-sokoban-answer-only.yaml
    """
    result = run_command(SFTRunConfig, "sftgen.train.sft:train", config_path, overrides, print_config, named)
    if result is not None:
        loss = "n/a" if result.final_loss is None else f"{result.final_loss:.4g}"
        report(result, f"steps in {result.wall_seconds:.1f} s, final loss {loss}")


@train_group.command("grpo")
@config_options(GRPORunConfig, "recipes/grpo/", "--set beta=0.01")
def grpo_command(config_path: Path | None, overrides: tuple[str, ...], print_config: bool, **named: Any) -> None:
    """GRPO on RL prompts, rewards from the task's verifier (Sokoban: optimal action; Points: 5/-1/-2/-3).

    \b
    sftgen train grpo --config recipes/grpo/qwen2.5-7b-sokoban.yaml
    sftgen train grpo --data runs/data/sok-rl --model runs/sft/warm/final --out runs/grpo/tiny --max-steps 50
    accelerate launch --config_file configs/accelerate/deepspeed_zero3.yaml \\
        -m sftgen.train.grpo --config recipes/grpo/qwen2.5-7b-sokoban.yaml
    """
    result = run_command(GRPORunConfig, "sftgen.train.grpo:train_grpo", config_path, overrides, print_config, named)
    if result is not None:
        reward = result.record.get("final_reward")
        shown = "n/a" if reward is None else f"{reward:.4g}"
        report(result, f"GRPO steps in {result.wall_seconds:.1f} s, last logged reward {shown}")
