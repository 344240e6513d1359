"""Shared fixtures for the evaluation tests: one thread, no network, a tiny random model built once."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import torch

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
torch.set_num_threads(1)
sys.path.insert(0, str(Path(__file__).parent))  # eval_fakes, also imported by the kill/resume subprocess


@pytest.fixture(scope="session")
def full_tokenizer():
    """The tokenizer a real tiny model uses: every prompt word of every split is one token."""
    from sftgen.models.tokenizer import build_tokenizer
    from sftgen.vocabulary import forced_tokens, tokenizer_corpus

    return build_tokenizer(tokenizer_corpus(), forced_tokens())


@pytest.fixture(scope="session")
def tiny_model(full_tokenizer):
    """A random-init tiny Llama with peaky logits, so padding noise cannot flip a greedy argmax."""
    from sftgen.models.tiny import build_tiny_model

    return build_tiny_model("tiny", full_tokenizer, seed=0, initializer_range=0.2).eval()
