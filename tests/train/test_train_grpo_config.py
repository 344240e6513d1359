"""GRPORunConfig: study defaults, errors naming the field, the recipe, the CLI dry run, data checks."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from train_helpers import rows, write_rows

from sftgen.train.commands import train_group
from sftgen.train.config import SHARED_SETTINGS, SFTRunConfig
from sftgen.train.grpo_config import GRPORunConfig
from sftgen.train.typed import ConfigError

RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "grpo" / "qwen2.5-7b-sokoban.yaml"


def good(**changes) -> GRPORunConfig:
    base = GRPORunConfig(model="runs/sft/warm/final", data="d", out="o", max_steps=3)
    return dataclasses.replace(base, **changes)


def test_defaults_are_the_study_settings():
    config = good()
    config.validate()
    assert (config.lr, config.scheduler, config.num_generations, config.prompts_per_step) == (1e-6, "constant", 8, 256)
    assert (config.beta, config.epsilon, config.temperature, config.use_vllm) == (0.0, 0.2, 1.0, False)
    assert not config.gradient_checkpointing and config.bf16 is None
    assert config.grad_accum(1) == 256 * 8 // 8 and config.grad_accum(8) == 32


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"model": "tiny"}, "model"),
        ({"model": ""}, "model"),
        ({"data": ""}, "data"),
        ({"max_steps": None}, "max_steps"),
        ({"num_generations": 1}, "num_generations"),
        ({"prompts_per_step": 3, "num_generations": 3, "micro_batch_size": 2}, "micro_batch_size"),
        ({"epsilon": 0.0}, "epsilon"),
        ({"epsilon_high": 0.1}, "epsilon_high"),
        ({"beta": -1.0}, "beta"),
        ({"loss_type": "ppo"}, "loss_type"),
        ({"scale_rewards": "yes"}, "scale_rewards"),
        ({"temperature": 0.0}, "temperature"),
        ({"lr": 0.0}, "lr"),
        ({"template": "fancy"}, "template"),
        ({"vllm_mode": "remote"}, "vllm_mode"),
        ({"reward": "return"}, "reward"),
        ({"episode_turns": 0}, "episode_turns"),
    ],
)
def test_errors_name_the_field(changes, field):
    with pytest.raises(ConfigError) as err:
        good(**changes).validate()
    assert err.value.field == field


def test_shared_settings_are_declared_once_under_their_own_names():
    """SFT and GRPO each place ``shared(name)`` in their own order; a field must get its own name's setting."""
    for cls in (SFTRunConfig, GRPORunConfig):
        fields = {f.name: f for f in dataclasses.fields(cls)}
        for name, (default, metadata) in SHARED_SETTINGS.items():
            assert fields[name].default == default and dict(fields[name].metadata) == metadata, (cls.__name__, name)


def test_unknown_and_mistyped_keys():
    with pytest.raises(ConfigError, match="kl_coef: unknown key"):
        GRPORunConfig.from_dict({"kl_coef": 0.1})
    with pytest.raises(ConfigError, match="num_generations"):
        GRPORunConfig.from_dict({"num_generations": "eight"})
    assert GRPORunConfig.from_dict({"lr": "1e-6"}).lr == 1e-6  # PyYAML's string exponent


def test_recipe_has_the_study_settings():
    config = GRPORunConfig.from_yaml(RECIPE)
    assert (config.lr, config.num_generations, config.prompts_per_step, config.beta) == (1e-6, 8, 256, 0.0)
    assert (config.epsilon, config.temperature, config.scheduler) == (0.2, 1.0, "constant")
    assert config.bf16 and config.template == "study"
    assert GRPORunConfig.from_dict(yaml.safe_load(config.to_yaml())) == config


def test_cli_dry_run_and_bad_data(tmp_path):
    runner = CliRunner()
    args = ["grpo", "--data", "d", "--model", "m", "--out", "o", "--max-steps", "5", "--num-generations", "4"]
    result = runner.invoke(train_group, [*args, "--set", "beta=0.04", "--print-config"])
    assert result.exit_code == 0, result.output
    printed = yaml.safe_load(result.output)
    assert (printed["num_generations"], printed["beta"], printed["max_steps"]) == (4, 0.04, 5)
    result = runner.invoke(train_group, ["grpo", "--model", "m", "--out", "o", "--max-steps", "5", "--data", "d"])
    assert result.exit_code != 0 and "data" in result.output  # no such folder

    sft_data = write_rows(tmp_path / "sft", rows(1))  # answer-only rows are not RL prompts
    from sftgen.train.grpo import preflight

    with pytest.raises(ConfigError, match="GRPO needs `sftgen generate rl` prompts"):
        preflight(good(data=sft_data, model=str(tmp_path)))
    assert not (tmp_path / "o").exists()


def test_episode_reward_takes_any_task_but_needs_one_process_and_no_vllm(tmp_path, monkeypatch):
    from sftgen.data.build import write_dataset
    from sftgen.train.grpo import preflight

    sokoban = write_rows(tmp_path / "sokoban", rows(2, kind="rl"), kind="rl")
    points = tmp_path / "points"
    write_dataset(rows(2, kind="rl", task="points"), points, {"config": {"kind": "rl", "task": "points"}})
    # 2 prompts per step: the points data holds 2 hands, and fewer than one step's worth is refused (test below)
    episode = good(model=str(tmp_path), out=str(tmp_path / "o"), reward="episode", prompts_per_step=2)
    assert preflight(dataclasses.replace(episode, data=sokoban)).source.task == "sokoban"
    assert preflight(dataclasses.replace(episode, data=str(points))).source.task == "points"  # one-answer episodes
    with pytest.raises(ConfigError, match="use_vllm") as err:
        preflight(dataclasses.replace(episode, data=sokoban, use_vllm=True))
    assert err.value.field == "reward"
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(ConfigError, match="one process"):
        preflight(dataclasses.replace(episode, data=sokoban))
    assert not (tmp_path / "o").exists()


def test_fewer_prompts_than_one_step_takes_are_refused(tmp_path):
    """TRL's sampler drops an incomplete generation batch: with fewer prompts than `prompts_per_step` it trains
    0 steps and reports success, so preflight refuses it (a stand-in recipe run with 1 Points hand did that)."""
    from sftgen.train.grpo import preflight

    data = write_rows(tmp_path / "rl", rows(1, kind="rl")[:3], kind="rl")
    assert preflight(good(data=data, model=str(tmp_path), prompts_per_step=3, num_generations=2, micro_batch_size=2))
    with pytest.raises(ConfigError, match="holds 3") as err:
        preflight(good(data=data, model=str(tmp_path), prompts_per_step=4, num_generations=2, micro_batch_size=2))
    assert err.value.field == "prompts_per_step"
