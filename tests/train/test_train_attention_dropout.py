"""`attention_dropout` must reach every attention layer of a model already built, and a named model's loader."""

from __future__ import annotations

from sftgen.train.modeling import set_attention_dropout


def test_attention_dropout_reaches_every_layer_and_the_saved_config(tiny_tokenizer):
    """A loaded Llama copied the old rate into each attention layer; the loader's kwargs carry it for a name."""
    from sftgen.models.tiny import build_tiny_model

    model = build_tiny_model("tiny", tiny_tokenizer, seed=0)
    model, kwargs = set_attention_dropout(model, None, 0.1)
    rates = [m.attention_dropout for m in model.modules() if hasattr(m, "attention_dropout")]
    assert kwargs is None and model.config.attention_dropout == 0.1
    assert len(rates) == model.config.num_hidden_layers and set(rates) == {0.1}
    assert set_attention_dropout("org/name", {"dtype": "bfloat16"}, 0.2) == (
        "org/name",
        {"dtype": "bfloat16", "attention_dropout": 0.2},
    )


def test_attention_dropout_replaces_an_integer_rate(tiny_tokenizer):
    """A config written with ``"attention_dropout": 0`` gives every layer an int; it is replaced all the same."""
    from sftgen.models.tiny import build_tiny_model

    model = build_tiny_model("tiny", tiny_tokenizer, seed=0)
    for module in model.modules():
        if hasattr(module, "attention_dropout"):
            module.attention_dropout = 0
    model, _ = set_attention_dropout(model, None, 0.05)
    assert {m.attention_dropout for m in model.modules() if hasattr(m, "attention_dropout")} == {0.05}
