"""Tiny from-scratch Llamas: sizes, untied embeddings, deterministic init, a forward pass."""

from __future__ import annotations

import pytest
import torch
from transformers import LlamaForCausalLM

from sftgen.models.tiny import TINY_PRESETS, build_tiny_model, count_parameters


def expected_parameters(preset: str, vocab: int) -> int:
    """Llama with SwiGLU, RMSNorm, no biases and untied embeddings."""
    p = TINY_PRESETS[preset]
    h, i, layers = p["hidden_size"], p["intermediate_size"], p["num_hidden_layers"]
    per_layer = 4 * h * h + 3 * h * i + 2 * h
    return layers * per_layer + h + 2 * vocab * h


@pytest.mark.parametrize(("preset", "low", "high"), [("tiny", 0.9e6, 1.5e6), ("small", 5e6, 20e6)])
def test_parameter_counts(tokenizer, preset, low, high):
    model = build_tiny_model(preset, tokenizer, seed=0)
    n = count_parameters(model)
    assert n == expected_parameters(preset, len(tokenizer))
    assert low < n < high
    assert isinstance(model, LlamaForCausalLM)


def test_config_untied_rope_and_token_ids(tokenizer):
    model = build_tiny_model("tiny", tokenizer, seed=0)
    cfg = model.config
    assert cfg.tie_word_embeddings is False
    assert model.lm_head.weight.data_ptr() != model.model.embed_tokens.weight.data_ptr()
    assert cfg.max_position_embeddings >= 2048
    assert cfg.vocab_size == len(tokenizer)
    assert (cfg.pad_token_id, cfg.bos_token_id, cfg.eos_token_id) == (
        tokenizer.pad_token_id,
        tokenizer.bos_token_id,
        tokenizer.eos_token_id,
    )
    assert model.generation_config.eos_token_id == tokenizer.eos_token_id


def test_same_seed_same_weights_and_global_rng_untouched(tokenizer):
    torch.manual_seed(123)
    expected_draw = torch.rand(3)
    torch.manual_seed(123)
    a = build_tiny_model("tiny", tokenizer, seed=7)
    assert torch.equal(torch.rand(3), expected_draw)  # building did not consume the global stream
    b = build_tiny_model("tiny", tokenizer, seed=7)
    c = build_tiny_model("tiny", tokenizer, seed=8)
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters(), strict=True))
    assert not torch.equal(a.lm_head.weight, c.lm_head.weight)


def test_forward_pass_and_loss(tokenizer, sokoban_prompts):
    model = build_tiny_model("tiny", tokenizer, seed=0)
    ids = torch.tensor([tokenizer.encode(sokoban_prompts["base"], add_special_tokens=False)])
    out = model(input_ids=ids, labels=ids)
    assert out.logits.shape == (1, ids.shape[1], len(tokenizer))
    chance = torch.log(torch.tensor(float(len(tokenizer)))).item()
    assert torch.isfinite(out.loss) and abs(out.loss.item() - chance) < 1.0


def test_overrides_and_unknown_preset(tokenizer):
    model = build_tiny_model("tiny", tokenizer, seed=0, num_hidden_layers=2)
    assert model.config.num_hidden_layers == 2
    with pytest.raises(ValueError, match="small, tiny"):
        build_tiny_model("huge", tokenizer, seed=0)
