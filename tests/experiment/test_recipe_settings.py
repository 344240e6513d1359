"""Recipe settings that shape every run alike: the diverse pool (with its base) and per-task training budgets."""

from __future__ import annotations

import pytest

from sftgen.experiment.recipe import load_recipe
from sftgen.train.typed import ConfigError


def test_task_budgets_sit_between_the_recipe_and_the_method_settings() -> None:
    recipe = load_recipe(
        "smoke",
        {
            "tasks": [{"task": "sokoban", "n": 6, "train": {"max_steps": 12}}, {"task": "points", "n": 40}],
            "method_train": [{"method": "diverse", "train": {"lr": 5.0e-4}}],
        },
    )
    sokoban = recipe.sft_config("answer-only", 0, "DATA", "OUT", task="sokoban")
    points = recipe.sft_config("answer-only", 0, "DATA", "OUT", task="points")
    diverse = recipe.sft_config("diverse", 0, "DATA", "OUT", task="sokoban")
    assert (sokoban.max_steps, points.max_steps, diverse.max_steps) == (12, 8, 12)
    assert (sokoban.lr, diverse.lr) == (2.0e-3, 5.0e-4)


def test_a_bad_task_budget_names_its_field() -> None:
    with pytest.raises(ConfigError, match="max_steps"):
        load_recipe("smoke", {"tasks": [{"task": "sokoban", "n": 6, "train": {"max_steps": -1}}]})


def test_the_diverse_pool_is_checked_and_the_base_must_draw_from_it() -> None:
    with pytest.raises(ConfigError, match="diverse_pool"):
        load_recipe("smoke", {"diverse_pool": "emoji"})
    with pytest.raises(ConfigError, match=r"base\.pool"):
        load_recipe("smoke", {"diverse_pool": "codes"})
    recipe = load_recipe("smoke", {"diverse_pool": "codes", "base": {"preset": "tiny", "pool": "codes"}})
    assert recipe.base is not None and recipe.base.pool == "codes"
