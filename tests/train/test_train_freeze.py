"""``freeze``: matching parameters keep their starting values through training, the rest train; bad patterns
are config errors that name the entry."""

from __future__ import annotations

import re

import pytest
import torch

from sftgen.train.config import SFTRunConfig
from sftgen.train.modeling import freeze_parameters
from sftgen.train.sft import train
from sftgen.train.typed import ConfigError

FROZEN = ["embed_tokens", "lm_head", r"layers\.1\."]


def test_frozen_parameters_keep_their_values_and_the_rest_train(tmp_path, small_data, tiny_tokenizer):
    from transformers import AutoModelForCausalLM

    from sftgen.models.tiny import build_tiny_model

    config = SFTRunConfig(
        model="tiny",
        data=[small_data],
        out=str(tmp_path / "run"),
        lr=1e-2,
        batch_size=4,
        max_steps=3,
        save_steps=3,
        progress=False,
        freeze=FROZEN,
    )
    result = train(config)
    initial = dict(build_tiny_model("tiny", tiny_tokenizer, seed=0).named_parameters())  # the run's seed
    trained = dict(AutoModelForCausalLM.from_pretrained(str(result.final_dir)).named_parameters())
    moved = {name for name, p in trained.items() if not torch.equal(p, initial[name])}
    frozen = {name for name in trained if any(re.search(f, name) for f in FROZEN)}
    assert frozen and not frozen & moved
    assert moved and moved == set(trained) - frozen
    assert result.record["model"]["trainable_parameters"] == sum(trained[n].numel() for n in set(trained) - frozen)


def test_a_pattern_that_matches_nothing_names_its_entry(tiny_tokenizer):
    from sftgen.models.tiny import build_tiny_model

    model = build_tiny_model("tiny", tiny_tokenizer, seed=0)
    with pytest.raises(ConfigError) as err:
        freeze_parameters(model, ["lm_head", "transformer\\.h\\."])
    assert err.value.field == "freeze[1]" and "matches no parameter" in str(err.value)


@pytest.mark.parametrize(("patterns", "field"), [(["("], "freeze[0]"), (["lm_head", ""], "freeze[1]")])
def test_bad_patterns_fail_validation(patterns, field):
    config = SFTRunConfig(model="tiny", data=["d"], out="o", max_steps=1, freeze=patterns)
    with pytest.raises(ConfigError) as err:
        config.validate()
    assert err.value.field == field
