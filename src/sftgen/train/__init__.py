"""Training: SFT with TRL's ``SFTTrainer`` and GRPO with ``GRPOTrainer`` (full or LoRA), typed dataclass configs.

Names are imported lazily so that ``sftgen.train.config`` (used by the CLI) does not pull in torch:

* ``SFTRunConfig``, ``LoraSettings``, ``ConfigError``: every setting, validated (``sftgen.train.config``)
* ``train(config) -> RunResult``, ``preflight``: run SFT (``sftgen.train.sft``), through the run lifecycle shared
  with GRPO (``sftgen.train.lifecycle``: preflight, resume, train, save, ``run.json``)
* ``read_model_info``, ``last_checkpoint``: what a saved model was trained on, where to resume
* ``ProximitySettings``: proximity-controlled SFT (CE + alpha * KL or L2 to the start; ``sftgen.train.proximity``)
* ``GRPORunConfig``, ``train_grpo(config) -> RunResult``: GRPO on ``sftgen generate rl`` prompts (``sftgen.train.grpo``)
* ``task_rewards``, ``verifier_reward``, ``<task>_reward``: the verifiers as TRL rewards (``sftgen.train.rewards``)
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "SFTRunConfig": "config",
    "LoraSettings": "config",
    "ProximitySettings": "config",
    "GRPORunConfig": "grpo_config",
    "train_grpo": "grpo",
    "task_rewards": "rewards",
    "verifier_reward": "rewards",
    "ConfigError": "typed",
    "train": "sft",
    "preflight": "sft",
    "RunResult": "lifecycle",
    "read_model_info": "callbacks",
    "last_checkpoint": "callbacks",
    "SFTGenTrainer": "trainer",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name.endswith("_reward"):  # one per registered task, made by sftgen.train.rewards on first use
        return getattr(importlib.import_module("sftgen.train.rewards"), name)
    if name not in _EXPORTS:
        raise AttributeError(f"module 'sftgen.train' has no attribute {name!r}")
    return getattr(importlib.import_module(f"sftgen.train.{_EXPORTS[name]}"), name)
