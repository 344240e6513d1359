"""``lookup_ablation``: one score per block of the model plus the intact model, and no hook left behind."""

from __future__ import annotations

import torch

from sftgen.base.probe import _zero_output, lookup_ablation
from sftgen.models.tiny import build_tiny_model
from sftgen.train.modeling import tiny_tokenizer


def tiny_model():
    tokenizer = tiny_tokenizer()
    return build_tiny_model("tiny", tokenizer, seed=0).eval(), tokenizer


def test_scores_every_block_and_leaves_the_model_as_it_was():
    model, tokenizer = tiny_model()
    ids = torch.tensor([[5, 6, 7, 8]])
    with torch.no_grad():
        before = model(ids).logits
        scores = lookup_ablation(model, tokenizer, n=1)
        after = model(ids).logits
    layers = model.config.num_hidden_layers
    assert list(scores) == ["none", *(f"{i}.{part}" for i in range(layers) for part in ("self_attn", "mlp"))]
    assert all(0.0 <= v <= 1.0 for v in scores.values())
    assert torch.equal(before, after)


def test_a_zeroed_block_changes_the_output():
    model, _ = tiny_model()
    ids = torch.tensor([[5, 6, 7, 8]])
    with torch.no_grad():
        intact = model(ids).logits
        for part in ("self_attn", "mlp"):
            handle = getattr(model.model.layers[1], part).register_forward_hook(_zero_output)
            changed = model(ids).logits
            handle.remove()
            assert not torch.allclose(intact, changed)
