"""SFTRunConfig: YAML round trip, typed overrides, errors that name the field, nothing written on a bad config."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from sftgen.train.config import LoraSettings, SFTRunConfig
from sftgen.train.typed import ConfigError

RECIPES = Path(__file__).resolve().parents[2] / "recipes" / "sft"


def good(**changes) -> SFTRunConfig:
    base = SFTRunConfig(model="tiny", data=["d"], out="runs/x", max_steps=10)
    return dataclasses.replace(base, **changes)


def test_yaml_round_trip(tmp_path):
    config = good(lr=3e-4, mix_weights=None, lora=LoraSettings(enabled=True, r=4, target_modules=["q_proj"]))
    path = tmp_path / "run.yaml"
    config.to_yaml(path)
    assert SFTRunConfig.from_yaml(path) == config
    assert SFTRunConfig.from_dict(yaml.safe_load(config.to_yaml())) == config


def test_yaml_reads_exponent_floats_and_nested_lora(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("model: tiny\ndata: [d]\nout: o\nlr: 1e-5\nepochs: 2\nlora:\n  enabled: true\n  r: 8\n")
    config = SFTRunConfig.from_yaml(path)
    assert config.lr == 1e-5 and isinstance(config.lr, float)  # PyYAML reads 1e-5 as a string
    assert config.lora == LoraSettings(enabled=True, r=8)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"model": "tiny", "learning_rate": 1e-3}, "learning_rate"),
        ({"model": "tiny", "lora": {"rank": 8}}, "lora.rank"),
        ({"lr": "fast"}, "lr"),
        ({"batch_size": 2.5}, "batch_size"),
        ({"batch_size": True}, "batch_size"),
        ({"data": "runs/data"}, "data"),
        ({"lora": {"enabled": "yes"}}, "lora.enabled"),
        ({"mix_weights": [1, "a"]}, "mix_weights[1]"),
    ],
)
def test_unknown_keys_and_wrong_types_name_the_field(data, field):
    with pytest.raises(ConfigError) as err:
        SFTRunConfig.from_dict(data)
    assert err.value.field == field
    assert field in str(err.value)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"lr": -1e-3}, "lr"),
        ({"lr": float("nan")}, "lr"),
        ({"scheduler": "exponential"}, "scheduler"),
        ({"epochs": 3.0}, "max_steps"),  # both set
        ({"max_steps": None}, "epochs"),  # neither set
        ({"max_steps": 0}, "max_steps"),
        ({"max_steps": None, "epochs": -1.0}, "epochs"),
        ({"warmup_ratio": 1.0}, "warmup_ratio"),
        ({"adam_beta2": 1.5}, "adam_beta2"),
        ({"batch_size": 0}, "batch_size"),
        ({"report_to": "mlflow"}, "report_to"),
        ({"resume": "maybe"}, "resume"),
        ({"template": "fancy"}, "template"),
        ({"mix_weights": [1.0, 2.0]}, "mix_weights"),
        ({"model": ""}, "model"),
        ({"data": []}, "data"),
        ({"save_steps": 0}, "save_steps"),
        ({"model_dtype": "int8"}, "model_dtype"),
        ({"dataset_num_proc": 0}, "dataset_num_proc"),
        ({"attention_dropout": 1.0}, "attention_dropout"),
        ({"attention_dropout": -0.1}, "attention_dropout"),
        ({"neftune_noise_alpha": 0.0}, "neftune_noise_alpha"),
        ({"neftune_noise_alpha": float("inf")}, "neftune_noise_alpha"),
        ({"lora": LoraSettings(r=0)}, "lora.r"),
        ({"lora": LoraSettings(dropout=1.0)}, "lora.dropout"),
    ],
)
def test_bad_values_name_the_field(changes, field):
    with pytest.raises(ConfigError) as err:
        good(**changes).validate()
    assert err.value.field == field


def test_overrides_are_type_checked():
    config = good().with_overrides(["lr=1e-4", "lora.r=8", "lora.target_modules=[q_proj, v_proj]"])
    assert (config.lr, config.lora.r, config.lora.target_modules) == (1e-4, 8, ["q_proj", "v_proj"])
    assert good().with_overrides({"batch_size": 4}).batch_size == 4
    with pytest.raises(ConfigError) as err:
        good().with_overrides(["lora.r=eight"])
    assert err.value.field == "lora.r"
    with pytest.raises(ConfigError) as err:
        good().with_overrides(["no_such=1"])
    assert err.value.field == "no_such"


def test_every_field_has_help():
    for cls in (SFTRunConfig, LoraSettings):
        for f in dataclasses.fields(cls):
            assert f.metadata.get("help"), f"{cls.__name__}.{f.name} has no help"


def test_recipes_load_and_validate():
    for name in ("tiny-sokoban-answer-only.yaml", "qwen2.5-7b-sokoban-answer-only.yaml"):
        config = SFTRunConfig.from_yaml(RECIPES / name)
        assert config.scheduler == "cosine" and (config.adam_beta1, config.adam_beta2) == (0.9, 0.95)
    study = SFTRunConfig.from_yaml(RECIPES / "qwen2.5-7b-sokoban-answer-only.yaml")
    assert (study.lr, study.weight_decay, study.warmup_ratio, study.grad_clip) == (1e-5, 0.01, 0.1, 1.0)
    assert (study.epochs, study.bf16, study.lora.enabled) == (5, True, False)
    assert study.batch_size * study.grad_accum * 8 == 128  # global batch on 8 GPUs


def test_validation_happens_before_any_work(tmp_path):
    from sftgen.train.sft import train

    out = tmp_path / "run"
    with pytest.raises(ConfigError) as err:
        train(good(out=str(out), lr=-1.0))
    assert err.value.field == "lr"
    with pytest.raises(ConfigError) as err:
        train(good(out=str(out), data=[str(tmp_path / "missing")]))
    assert err.value.field == "data"
    with pytest.raises(ConfigError) as err:
        train(good(out=str(out), data=[str(tmp_path / "missing")], model="no-such-model"))
    assert err.value.field == "data"  # data is checked first, the model next
    assert not out.exists()


def test_cli_print_config_and_errors(tmp_path, small_data):
    from sftgen.cli import main

    runner = CliRunner()
    out = tmp_path / "run"
    args = ["train", "sft", "--data", small_data, "--model", "tiny", "--out", str(out), "--max-steps", "3"]
    result = runner.invoke(main, [*args, "--lr", "1e-3", "--set", "lora.r=4", "--lora", "--print-config"])
    assert result.exit_code == 0, result.output
    printed = SFTRunConfig.from_dict(yaml.safe_load(result.output))
    assert (printed.max_steps, printed.lr, printed.lora.enabled, printed.lora.r) == (3, 1e-3, True, 4)
    result = runner.invoke(main, [*args, "--set", "lr_rate=1"])
    assert result.exit_code != 0 and "lr_rate" in result.output
    result = runner.invoke(main, [*args, "--set", "scheduler=exp"])
    assert result.exit_code != 0 and "scheduler" in result.output
    assert not out.exists()


def test_cli_max_steps_replaces_recipe_epochs(tmp_path):
    from sftgen.train.commands import build_config

    config = build_config(RECIPES / "tiny-sokoban-answer-only.yaml", {"max_steps": 7}, ())
    assert (config.max_steps, config.epochs) == (7, None)
    with pytest.raises(ConfigError) as err:  # --set is literal: the recipe's epochs stays, so both are set
        build_config(RECIPES / "tiny-sokoban-answer-only.yaml", {}, ("max_steps=7",))
    assert err.value.field == "max_steps"


def test_tokenizing_processes_reach_trl(tmp_path):
    """A GPU run on 400k rows otherwise waits minutes for one process to tokenize them (benchmarks/gpu_scale.sh)."""
    from sftgen.train.sft import sft_args

    assert sft_args(good(out=str(tmp_path)), bf16=False, use_cuda=False).dataset_num_proc is None
    assert sft_args(good(out=str(tmp_path), dataset_num_proc=3), bf16=False, use_cuda=False).dataset_num_proc == 3


def test_neftune_reaches_trl(tmp_path):
    """Off unless asked; then transformers' Trainer hooks the input embeddings with that alpha."""
    from sftgen.train.sft import sft_args

    assert sft_args(good(out=str(tmp_path)), bf16=False, use_cuda=False).neftune_noise_alpha is None
    args = sft_args(good(out=str(tmp_path), neftune_noise_alpha=5.0), bf16=False, use_cuda=False)
    assert args.neftune_noise_alpha == 5.0
