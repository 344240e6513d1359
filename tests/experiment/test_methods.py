"""Every training method runs through `sftgen reproduce`: proximity-controlled SFT and GRPO with its warm start."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from sftgen.experiment import runner
from sftgen.experiment.recipe import load_recipe

RECIPE = {
    "name": "methods",
    "model": "tiny",
    "template": "compact",
    "tasks": [{"task": "sokoban", "n": 4}],
    "methods": ["proximity-kl", "proximity-l2", "grpo"],
    "train": {"lr": 2.0e-3, "batch_size": 8, "max_steps": 4, "save_steps": 2, "warmup_ratio": 0.0, "progress": False},
    "grpo": {
        "num_generations": 4,
        "prompts_per_step": 2,
        "micro_batch_size": 8,
        "max_steps": 2,
        "save_steps": 1,
        "max_completion_length": 16,
        "lr": 1.0e-4,
        "progress": False,
    },
    "grpo_warm_steps": 3,
    "eval": {"splits": ["sokoban/id", "sokoban/numerical"], "n": 2, "curve_n": 2, "greedy": True, "max_new_tokens": 32},
}


@pytest.mark.slow
def test_proximity_and_grpo_methods_run_end_to_end(tmp_path: Path) -> None:
    path = tmp_path / "methods.yaml"
    path.write_text(yaml.safe_dump(RECIPE))
    results = runner.reproduce(load_recipe(str(path)), tmp_path / "run", report=False, log=lambda _: None)
    runs = {r["method"]: r for r in results["runs"]}
    assert set(runs) == {"proximity-kl", "proximity-l2", "grpo"}
    for method in ("proximity-kl", "proximity-l2"):
        log = Path(runs[method]["train_log"]).read_text(encoding="utf-8")
        assert f"proximity/{method.removeprefix('proximity-')}" in log
    grpo_dir = Path(runs["grpo"]["train_dir"])
    warm = json.loads((grpo_dir.with_name("seed0-warm") / "run.json").read_text(encoding="utf-8"))
    assert warm["steps"] == 3
    info = json.loads((grpo_dir / "final" / "sftgen_model.json").read_text(encoding="utf-8"))
    assert info["response_format"] == "think"
    assert any("reward" in json.loads(line) for line in (grpo_dir / "log.jsonl").read_text().splitlines())
    assert runs["grpo"]["metrics"]["sokoban/id"]["n"] == 2


def test_method_settings_are_checked_before_work(tmp_path: Path) -> None:
    from sftgen.train.typed import ConfigError

    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({**RECIPE, "grpo": {"num_generations": 0}}))
    with pytest.raises(ConfigError, match=r"grpo\.num_generations"):
        load_recipe(str(path))
    path.write_text(yaml.safe_dump({**RECIPE, "proximity_alpha": 0}))
    with pytest.raises(ConfigError, match="proximity_alpha"):
        load_recipe(str(path))
    path.write_text(yaml.safe_dump({**RECIPE, "base_replay": 0.2}))
    with pytest.raises(ConfigError, match=r"base_replay.*needs a base"):
        load_recipe(str(path))
    path.write_text(yaml.safe_dump({**RECIPE, "base": {"preset": "tiny"}, "base_replay": 1.0}))
    with pytest.raises(ConfigError, match="base_replay"):
        load_recipe(str(path))
    path.write_text(yaml.safe_dump({**RECIPE, "base": {"preset": "tiny-copy"}}))  # the report would say "tiny"
    with pytest.raises(ConfigError, match=r"base\.preset: must equal model \('tiny'\)"):
        load_recipe(str(path))


def test_base_replay_mixes_the_same_share_into_every_method(tmp_path: Path) -> None:
    path = tmp_path / "replay.yaml"
    path.write_text(yaml.safe_dump({**RECIPE, "base": {"preset": "tiny"}, "base_replay": 0.25}))
    recipe = load_recipe(str(path))
    for method in recipe.methods:
        config = recipe.sft_config(method, 0, "DATA", "OUT", model="BASE", replay="REPLAY")
        assert config.data == ["DATA", "REPLAY"] and config.mix_weights == [0.75, 0.25]
    path.write_text(yaml.safe_dump({**RECIPE, "base": {"preset": "tiny"}}))  # base_replay defaults to 0
    assert load_recipe(str(path)).sft_config("diverse", 0, "DATA", "OUT", replay="REPLAY").data == ["DATA"]


def test_every_shipped_recipe_loads_and_validates():
    from sftgen.experiment.recipe import recipes_dir

    shipped = sorted(recipes_dir().glob("*.yaml"))
    assert len(shipped) >= 6
    for path in shipped:
        recipe = load_recipe(str(path))
        assert recipe.name == path.stem, f"{path.name} calls itself {recipe.name!r}"
