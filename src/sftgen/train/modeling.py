"""Model side of a training run: tiny presets with sftgen's tokenizer, pretrained models, LoRA settings.

Why a module of its own: the same choices (which tokenizer a tiny model gets, how a pretrained model is
loaded under one process or under DeepSpeed/FSDP, how a de-quantized GGUF preset becomes trainable) are
needed by every trainer, and they must be checked before a run writes anything.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path
from typing import Any

from sftgen.train.config import SFTRunConfig
from sftgen.train.grpo_config import GRPORunConfig
from sftgen.train.typed import ConfigError


def check_model_name(config: SFTRunConfig | GRPORunConfig) -> None:
    """A tiny preset, an existing folder, a packaged preset or an org/name hub id (loaded later)."""
    if config.is_tiny:
        return
    from sftgen.models.loading import PACKAGED_PRESETS

    name = config.model
    parts = name.split("/")
    hub_like = len(parts) == 2 and all(parts) and not name.startswith((".", "~", "/"))
    if name in PACKAGED_PRESETS and launched_distributed():
        raise ConfigError("model", f"packaged preset {name!r} is for single-process runs; give a model folder")
    if not (Path(name).expanduser().is_dir() or name in PACKAGED_PRESETS or hub_like):
        raise ConfigError(
            "model",
            f"{name!r} is not a tiny preset, a folder, a packaged preset ({', '.join(PACKAGED_PRESETS)}) "
            "or a hub name like org/model",
        )


@functools.cache
def tiny_vocabulary() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(corpus, forced tokens) of the tiny tokenizer: ~4 s to collect, so once per process."""
    from sftgen.vocabulary import TAG_TOKENS, forced_tokens, tokenizer_corpus

    return tuple(tokenizer_corpus()), (*forced_tokens(), *TAG_TOKENS)


def tiny_tokenizer() -> Any:
    """The tokenizer every from-scratch model starts with: words whole, numbers digit by digit.

    Digits are split so a number is spelled from the ten digit tokens every number uses: a declared ``J=11``
    is then read with pieces that SFT on values up to 10 keeps trained, instead of a ``11`` token that no
    SFT row ever shows and that fine-tuning lets drift away.
    """
    from sftgen.models.tokenizer import build_tokenizer

    return build_tokenizer(*tiny_vocabulary(), split_digits=True)


def launched_distributed() -> bool:
    """True under ``accelerate launch`` with DeepSpeed / FSDP or several processes."""
    env = os.environ
    return (
        env.get("ACCELERATE_USE_DEEPSPEED", "").lower() == "true"
        or env.get("ACCELERATE_USE_FSDP", "").lower() == "true"
        or int(env.get("WORLD_SIZE", "1")) > 1
    )


def build_model(
    config: SFTRunConfig | GRPORunConfig, resume_from: Path | None, bf16: bool
) -> tuple[Any, Any, dict | None]:
    """``(model or name, tokenizer, model_init_kwargs)`` for the trainer.

    Tiny presets: a random-init Llama with sftgen's tokenizer (on resume, the checkpoint's tokenizer).
    Pretrained, one process: ``load_model`` on the CPU (the Trainer moves it). Pretrained, distributed: the
    name goes to TRL, which loads it after the ``SFTConfig`` has set up DeepSpeed/FSDP, so ZeRO-3 can shard
    the weights while loading instead of every rank holding a full copy.
    """
    if config.is_tiny:
        from sftgen.models.tiny import build_tiny_model

        if resume_from is not None:  # the exact tokenizer the checkpoint was trained with
            from transformers import AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained(str(resume_from))
        else:
            tokenizer = tiny_tokenizer()
        return build_tiny_model(config.model, tokenizer, seed=config.seed), tokenizer, None
    dtype = config.model_dtype or ("bfloat16" if bf16 else "float32")
    if launched_distributed():
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(config.model)
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        return config.model, tokenizer, {"dtype": dtype}
    from sftgen.models.loading import load_model

    model, tokenizer = load_model(config.model, device="cpu", dtype=dtype)
    return drop_gguf_marker(model), tokenizer, None


def expand_blocks(model: Any, after: int, blocks: int) -> Any:
    """Insert ``blocks`` copies of decoder layer ``after`` right behind it, each with its attention output and MLP
    down projections zeroed: a pre-norm residual block whose two outputs are zero adds nothing, so the expanded
    model computes what the original did (LLaMA Pro's block expansion). The result is an ordinary checkpoint of
    the same family with more layers."""
    if not blocks:
        return model
    if isinstance(model, str):  # distributed: TRL loads the model itself, sharded, so there is no whole model here
        raise ConfigError("expand.blocks", "block expansion needs the whole model in one process; run it unlaunched")
    import copy

    import torch

    layers = getattr(getattr(model, "model", None), "layers", None)
    if not isinstance(layers, torch.nn.ModuleList) or not all(_has_identity_outputs(layer) for layer in layers):
        raise ConfigError("expand", "needs a Llama-style decoder (model.layers[i].self_attn.o_proj, mlp.down_proj)")
    if not 0 <= after < len(layers):
        raise ConfigError("expand.after", f"must name one of the model's {len(layers)} layers (0..{len(layers) - 1})")
    fresh = []
    for _ in range(blocks):
        block = copy.deepcopy(layers[after])
        with torch.no_grad():
            for projection in (block.self_attn.o_proj, block.mlp.down_proj):
                projection.weight.zero_()
                if projection.bias is not None:
                    projection.bias.zero_()
        fresh.append(block)
    model.model.layers = torch.nn.ModuleList([*layers[: after + 1], *fresh, *layers[after + 1 :]])
    for index, layer in enumerate(model.model.layers):  # the KV cache is addressed by layer_idx
        layer.self_attn.layer_idx = index
    config = model.config
    config.num_hidden_layers = len(model.model.layers)
    if isinstance(getattr(config, "layer_types", None), list):  # e.g. Qwen2's per-layer attention kinds
        types = config.layer_types
        config.layer_types = [*types[: after + 1], *[types[after]] * blocks, *types[after + 1 :]]
    return model


def set_attention_dropout(model: Any, init_kwargs: dict | None, rate: float) -> tuple[Any, dict | None]:
    """The model (or, for a name TRL loads later, its loading kwargs) with attention dropout ``rate``.

    Why every module: a Llama attention layer copies ``config.attention_dropout`` when it is built, so a model
    already loaded keeps the old rate unless each layer is told; the config is updated too so checkpoints say it.
    """
    if isinstance(model, str):
        return model, {**(init_kwargs or {}), "attention_dropout": rate}
    model.config.attention_dropout = rate
    for module in model.modules():
        current = getattr(module, "attention_dropout", None)
        if isinstance(current, (int, float)) and not isinstance(current, bool):  # configs may hold an int 0
            module.attention_dropout = rate
    return model, init_kwargs


def _has_identity_outputs(layer: Any) -> bool:
    attention, mlp = getattr(layer, "self_attn", None), getattr(layer, "mlp", None)
    return hasattr(attention, "o_proj") and hasattr(mlp, "down_proj") and hasattr(attention, "layer_idx")


def drop_gguf_marker(model: Any) -> Any:
    """A GGUF checkpoint is de-quantized to plain float weights on load, but transformers keeps its quantizer
    marker, and the Trainer refuses to train "quantized" models; the weights are ordinary, so drop the marker
    (which would otherwise also be written into every saved config)."""
    method = getattr(model, "quantization_method", None)
    if getattr(method, "value", method) != "gguf" or any(not p.is_floating_point() for p in model.parameters()):
        return model
    model.hf_quantizer = None
    model.is_quantized = False
    model.quantization_method = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    return model


def lora_config(config: SFTRunConfig | GRPORunConfig) -> Any:
    from peft import LoraConfig

    targets = config.lora.target_modules
    return LoraConfig(
        r=config.lora.r,
        lora_alpha=config.lora.alpha,
        lora_dropout=config.lora.dropout,
        target_modules="all-linear" if targets == ["all-linear"] else list(targets),
        task_type="CAUSAL_LM",
    )


def freeze_parameters(model: Any, patterns: list[str]) -> int:
    """Stop gradients to every parameter whose name matches one of ``patterns`` (``re.search``); return how many
    values were frozen. A pattern that matches nothing is a config error: a silent no-op would train what the
    user meant to keep."""
    named = list(model.named_parameters())
    frozen = 0
    for i, pattern in enumerate(patterns):
        hits = [p for name, p in named if re.search(pattern, name)]
        if not hits:
            names = ", ".join(name for name, _ in named[:6])
            raise ConfigError(f"freeze[{i}]", f"{pattern!r} matches no parameter name (names look like: {names}, ...)")
        for parameter in hits:
            if parameter.requires_grad:
                parameter.requires_grad_(False)
                frozen += parameter.numel()
    return frozen
