"""Training test settings and shared data: offline, one torch thread, small Sokoban datasets on disk."""

from __future__ import annotations

import os

import pytest
from train_helpers import rows, write_rows

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")


@pytest.fixture(scope="session", autouse=True)
def _one_thread():
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def small_data(tmp_path_factory) -> str:
    """Eight compact answer-only Sokoban rows: enough for a few optimizer steps."""
    return write_rows(tmp_path_factory.mktemp("data") / "small", rows(2)[:8])


@pytest.fixture(scope="session")
def tiny_tokenizer():
    from sftgen.train.modeling import tiny_tokenizer as build

    return build()
