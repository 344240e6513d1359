"""Training: SFT with TRL's ``SFTTrainer`` (full or LoRA), configured by typed dataclasses.

Names are imported lazily so that ``sftgen.train.config`` (used by the CLI) does not pull in torch:

* ``SFTRunConfig``, ``LoraSettings``, ``ConfigError``: every setting, validated (``sftgen.train.config``)
* ``train(config) -> RunResult``, ``preflight``: run SFT (``sftgen.train.sft``)
* ``read_model_info``, ``last_checkpoint``: what a saved model was trained on, where to resume
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "SFTRunConfig": "config",
    "LoraSettings": "config",
    "ConfigError": "typed",
    "train": "sft",
    "preflight": "sft",
    "RunResult": "sft",
    "read_model_info": "callbacks",
    "last_checkpoint": "callbacks",
    "SFTGenTrainer": "trainer",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'sftgen.train' has no attribute {name!r}")
    return getattr(importlib.import_module(f"sftgen.train.{_EXPORTS[name]}"), name)
