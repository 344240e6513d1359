"""GRPO end to end on the tiny model: a short SFT warm start, a few GRPO steps scored by the Sokoban verifier,
weights that really change, the SFT run-folder layout with reward statistics, and resume."""

from __future__ import annotations

import json
import time

import pytest
import torch
from safetensors.torch import load_file

from sftgen.data.build import BuildConfig, iter_rows, write_dataset
from sftgen.train.callbacks import read_model_info
from sftgen.train.config import SFTRunConfig
from sftgen.train.grpo import train_grpo
from sftgen.train.grpo_config import GRPORunConfig
from sftgen.train.sft import train

pytestmark = pytest.mark.slow


def write(config: BuildConfig, folder) -> str:
    """Rows straight from the generator (no evaluation-key scan: plumbing only)."""
    items = list(iter_rows(config, frozenset()))
    write_dataset(items, folder, {"config": {"kind": config.kind, "task": config.task, "template": config.template}})
    return str(folder)


@pytest.fixture(scope="module")
def warm(tmp_path_factory):
    """(warm-start model folder, RL prompt folder): a short answer-only SFT of the tiny model."""
    root = tmp_path_factory.mktemp("warm")
    sft_data = write(BuildConfig(kind="answer-only", task="sokoban", n=4, template="compact"), root / "sft")
    rl_data = write(BuildConfig(kind="rl", task="sokoban", n=4, template="compact"), root / "rl")
    result = train(
        SFTRunConfig(
            model="tiny",
            data=[sft_data],
            out=str(root / "warm"),
            lr=2e-3,
            warmup_ratio=0.0,
            batch_size=8,
            max_steps=60,  # the answer format, not the policy: rollouts still disagree, so advantages are non-zero
            save_steps=1000,
            progress=False,
        )
    )
    return result.final_dir, rl_data


def short_run(warm, out, **settings) -> GRPORunConfig:
    """A few GRPO steps from the warm start: 4 rollouts per prompt, short completions."""
    warm_dir, rl_data = warm
    common = dict(lr=1e-4, num_generations=4, micro_batch_size=8, max_completion_length=16, progress=False)
    return GRPORunConfig(model=str(warm_dir), data=rl_data, out=str(out), **{**common, **settings})


def logged_steps(run) -> list[dict]:
    """The log lines that carry a reward (one per logged optimizer step)."""
    lines = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    return [line for line in lines if "reward" in line]


def test_grpo_changes_the_warm_start_and_writes_the_run_folder(tmp_path, warm):
    warm_dir = warm[0]
    config = short_run(
        warm,
        tmp_path / "grpo",
        weight_decay=0.0,  # so any change in the weights comes from the policy gradient
        prompts_per_step=4,  # 16 rollouts per step = 2 accumulated micro-batches
        max_steps=3,
        save_steps=2,
    )
    start = time.perf_counter()
    result = train_grpo(config)
    seconds = time.perf_counter() - start
    print(f"GRPO: {result.global_step} steps in {seconds:.1f} s ({result.record['seconds_per_step']} s/step)")

    run = tmp_path / "grpo"
    assert result.global_step == 3
    assert {p.name for p in run.iterdir()} >= {"config.yaml", "checkpoint-2", "checkpoint-3", "final", "log.jsonl"}
    for folder in (run / "checkpoint-2", run / "final"):
        info = read_model_info(folder)
        assert (info["template"], info["method"], info["base_model"]) == ("compact", "grpo", str(warm_dir))
        assert info["warm_start"]["base_model"] == "tiny"

    steps = logged_steps(run)
    assert [s["step"] for s in steps] == [1, 2, 3]
    for s in steps:
        assert {"loss", "reward", "reward_std", "completions/mean_length", "completions/repeat_char_rate"} <= set(s)
        assert 0.0 <= s["reward"] <= 1.0 and 0.0 <= s["completions/repeat_char_rate"] <= 1.0
        assert s["rewards/sokoban_reward/mean"] == s["reward"]
    assert any(s["reward_std"] > 0 and s["grad_norm"] > 0 for s in steps)

    before = load_file(str(warm_dir / "model.safetensors"))
    after = load_file(str(result.final_dir / "model.safetensors"))
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert len(changed) > len(before) // 2, f"only {changed} changed"

    record = json.loads((run / "run.json").read_text())
    assert record["method"] == "grpo" and record["steps"] == 3 and record["data"][0]["kind"] == "rl"

    resumed = train_grpo(GRPORunConfig(**{**config.to_dict(), "lora": config.lora, "max_steps": 4}))
    assert resumed.resumed_from == str(run / "checkpoint-3") and resumed.global_step == 4


def test_grpo_with_the_episode_reward(tmp_path, warm):
    config = short_run(warm, tmp_path / "grpo", prompts_per_step=2, max_steps=2, reward="episode", episode_turns=6)
    result = train_grpo(config)
    steps = logged_steps(tmp_path / "grpo")
    assert [s["step"] for s in steps] == [1, 2]
    for s in steps:
        assert 0.0 <= s["rewards/episode_reward/mean"] == s["reward"] <= 1.0
    assert result.record["config"]["reward"] == "episode" and result.global_step == 2
