"""``expand``: identity-initialised blocks change nothing the model computes at step 0, train when the old
layers are frozen, save as an ordinary checkpoint with more layers, and resume; bad settings name their field."""

from __future__ import annotations

import pytest
import torch

from sftgen.train.config import SFTRunConfig
from sftgen.train.modeling import expand_blocks
from sftgen.train.sft import train
from sftgen.train.typed import ConfigError


@pytest.fixture()
def base_dir(tmp_path, tiny_tokenizer):
    """A 'pretrained' tiny model on disk, as a base model would be."""
    from sftgen.models.tiny import build_tiny_model

    folder = tmp_path / "base"
    build_tiny_model("tiny", tiny_tokenizer, seed=3).save_pretrained(str(folder))
    tiny_tokenizer.save_pretrained(str(folder))
    return folder


def test_new_blocks_start_as_the_identity_and_the_cache_still_works(base_dir, tmp_path):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(base_dir))
    depth = model.config.num_hidden_layers
    ids = torch.randint(0, model.config.vocab_size, (2, 24), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        before = model(ids).logits
    greedy_before = model.generate(ids[:1], max_new_tokens=8, do_sample=False)

    expand_blocks(model, after=1, blocks=3)
    assert model.config.num_hidden_layers == len(model.model.layers) == depth + 3
    assert [layer.self_attn.layer_idx for layer in model.model.layers] == list(range(depth + 3))
    for block in model.model.layers[2:5]:
        assert not block.self_attn.o_proj.weight.any() and not block.mlp.down_proj.weight.any()
        assert block.self_attn.q_proj.weight.equal(model.model.layers[1].self_attn.q_proj.weight)
    with torch.no_grad():
        assert torch.equal(model(ids).logits, before)
    assert torch.equal(model.generate(ids[:1], max_new_tokens=8, do_sample=False), greedy_before)

    model.save_pretrained(str(tmp_path / "expanded"))
    again = AutoModelForCausalLM.from_pretrained(str(tmp_path / "expanded"))
    with torch.no_grad():
        assert again.config.num_hidden_layers == depth + 3 and torch.equal(again(ids).logits, before)


def test_per_layer_attention_kinds_are_expanded_too():
    from transformers import Qwen2Config, Qwen2ForCausalLM

    config = Qwen2Config(
        vocab_size=64,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=3,
        num_attention_heads=2,
        num_key_value_heads=2,
        use_sliding_window=True,
        sliding_window=8,
        max_window_layers=1,
    )
    model = Qwen2ForCausalLM(config).eval()
    kinds = list(model.config.layer_types)
    ids = torch.randint(0, 64, (1, 16), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        before = model(ids).logits
    expand_blocks(model, after=1, blocks=2)
    assert model.config.layer_types == [kinds[0], kinds[1], kinds[1], kinds[1], kinds[2]]
    with torch.no_grad():
        assert torch.allclose(model(ids).logits, before)


def test_only_the_new_blocks_train_when_the_old_ones_are_frozen_and_the_run_resumes(base_dir, small_data, tmp_path):
    from transformers import AutoModelForCausalLM

    original = dict(AutoModelForCausalLM.from_pretrained(str(base_dir)).named_parameters())
    depth = sum(1 for name in original if name.endswith("self_attn.q_proj.weight"))
    old_layers = "|".join(str(i) for i in (0, *range(3, depth + 2)))  # after=0, blocks=2: new ones are 1 and 2
    settings = {
        "model": str(base_dir),
        "data": [small_data],
        "out": str(tmp_path / "run"),
        "lr": 1e-2,
        "batch_size": 4,
        "max_steps": 2,
        "save_steps": 2,
        "progress": False,
        "expand": {"blocks": 2, "after": 0},
        "freeze": ["embed_tokens", "lm_head", r"model\.norm", rf"layers\.({old_layers})\."],
    }
    first = train(SFTRunConfig.from_dict(settings))
    resumed = train(SFTRunConfig.from_dict({**settings, "max_steps": 4}))
    assert first.global_step == 2 and resumed.global_step == 4 and resumed.resumed_from.endswith("checkpoint-2")

    trained_model = AutoModelForCausalLM.from_pretrained(str(resumed.final_dir))
    assert trained_model.config.num_hidden_layers == depth + 2
    trained = dict(trained_model.named_parameters())

    def old_name(name: str) -> str:  # where an expanded model's parameter came from
        parts = name.split(".")
        if len(parts) > 2 and parts[1] == "layers" and int(parts[2]) > 2:
            parts[2] = str(int(parts[2]) - 2)
        return ".".join(parts)

    new = {name for name in trained if name.startswith(("model.layers.1.", "model.layers.2."))}
    for name, value in trained.items():
        if name not in new:
            assert torch.equal(value, original[old_name(name)]), name
    source = {name: "model.layers.0." + name.split(".", 3)[3] for name in new}  # both copies of layer 0
    assert all(not torch.equal(trained[name], original[source[name]]) for name in new)


def test_expansion_settings_are_checked(tiny_tokenizer):
    from sftgen.models.tiny import build_tiny_model

    plain = {"model": "tiny", "data": ["d"], "out": "o", "max_steps": 1}
    for expand, field in (({"blocks": -1}, "expand.blocks"), ({"blocks": 1, "after": -2}, "expand.after")):
        with pytest.raises(ConfigError) as err:
            SFTRunConfig.from_dict({**plain, "expand": expand}).validate()
        assert err.value.field == field
    with pytest.raises(ConfigError) as err:
        SFTRunConfig.from_dict({**plain, "expand": {"blocks": 1}, "lora": {"enabled": True}}).validate()
    assert err.value.field == "expand.blocks" and "lora" in str(err.value)
    model = build_tiny_model("tiny", tiny_tokenizer, seed=0)
    with pytest.raises(ConfigError) as err:
        expand_blocks(model, after=model.config.num_hidden_layers, blocks=1)
    assert err.value.field == "expand.after"
    with pytest.raises(ConfigError) as err:  # under a distributed launch TRL gets the name and loads it sharded
        expand_blocks("org/model", after=0, blocks=1)
    assert err.value.field == "expand.blocks" and "one process" in str(err.value)
    assert expand_blocks("org/model", after=0, blocks=0) == "org/model"
