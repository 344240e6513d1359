"""From-scratch decoder-only models small enough to train on one CPU core.

Llama (RoPE, RMSNorm, SwiGLU) because learned absolute positions sat on the chance plateau in the CPU probes,
and untied input/output embeddings because with tied ones the tokens never seen as inputs (``1``, ``Q`` ...)
drift to large norms, so declaring them in a prompt measures embedding noise instead of the SFT shortcut
(docs/tiny-scale-notes.md).
"""

from __future__ import annotations

from typing import Any

import torch
from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerBase

from sftgen.models.copy_head import CopyHeadConfig, CopyHeadForCausalLM

# Shared by every preset: long enough for a 10x10 Sokoban prompt with a CoT answer; RoPE has no position
# parameters, so a large limit costs nothing.
COMMON: dict[str, Any] = {
    "max_position_embeddings": 2048,
    "tie_word_embeddings": False,
    "hidden_act": "silu",
    "rms_norm_eps": 1e-6,
    "initializer_range": 0.02,
    "attention_dropout": 0.0,
    "attention_bias": False,
    "mlp_bias": False,
}

TINY_PRESETS: dict[str, dict[str, Any]] = {
    # ~1.1M parameters at a few hundred tokens of vocabulary: the size measured in docs/tiny-scale-notes.md.
    "tiny": {"hidden_size": 128, "num_hidden_layers": 4, "num_attention_heads": 4, "intermediate_size": 512},
    # ~6.5M parameters: ~4x slower per token, for runs with more budget.
    "small": {
        "hidden_size": 256,
        "num_hidden_layers": 6,
        "num_attention_heads": 8,
        "intermediate_size": 1024,
    },
}
# ``tiny`` plus a copy head (models/copy_head.py): declared words are copied by position, not by identity,
# so diverse SFT keeps reading words it never trains as answers (docs/tiny-scale-notes.md). The gate starts at
# 98% vocabulary (logit 4): an untrained pointer at 50% answered the board's most frequent symbol `#` on most
# zero-shot turns, and at 88% (logit 2) answer-only SFT on the frozen prompt learned to point at one or more
# declared slots on three training seeds of four, so it read part of the fake split's declaration.
TINY_PRESETS["tiny-copy"] = {**TINY_PRESETS["tiny"], "copy_head_dim": 64, "copy_gate_bias": 4.0}


def tiny_config(preset: str, tokenizer: PreTrainedTokenizerBase, **overrides: Any) -> LlamaConfig:
    """The ``LlamaConfig`` of a preset, sized to ``tokenizer`` (``overrides`` win over the preset); a preset with
    ``copy_head_dim`` gets a ``CopyHeadConfig``."""
    if preset not in TINY_PRESETS:
        raise ValueError(f"unknown tiny preset {preset!r}; valid presets: {', '.join(sorted(TINY_PRESETS))}")
    if tokenizer.pad_token_id is None or tokenizer.eos_token_id is None:
        raise ValueError("the tokenizer needs a pad and an eos token (build it with build_tokenizer)")
    settings = {**COMMON, **TINY_PRESETS[preset], **overrides}
    settings.setdefault("num_key_value_heads", settings["num_attention_heads"])
    config_class = CopyHeadConfig if "copy_head_dim" in settings else LlamaConfig
    return config_class(
        vocab_size=len(tokenizer),
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        **settings,
    )


def build_tiny_model(preset: str, tokenizer: PreTrainedTokenizerBase, seed: int, **overrides: Any) -> LlamaForCausalLM:
    """A randomly initialised Llama for ``preset``; the same seed gives the same weights.

    The global torch RNG is forked, so building a model does not disturb anyone else's random stream.
    The output head starts as a copy of the input embeddings (then trains separately): with untied
    embeddings learned from scratch, every word's output row must otherwise be aligned with its input row
    one by one before the model can copy a declared word, which delays the look-up.
    """
    config = tiny_config(preset, tokenizer, **overrides)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = CopyHeadForCausalLM(config) if isinstance(config, CopyHeadConfig) else LlamaForCausalLM(config)
    with torch.no_grad():  # untied, but starting equal: copying a token is then one shared map to learn
        model.lm_head.weight.copy_(model.model.embed_tokens.weight)
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        do_sample=False,
    )
    return model


def count_parameters(model: torch.nn.Module) -> int:
    """Number of parameters (untied embeddings count twice, as they should)."""
    return sum(p.numel() for p in model.parameters())
