"""How each run was trained, read from its ``run.json``: the settings a reader needs before comparing two rows.

Why a table of its own: two methods are only comparable at equal budgets and equal trainable parts, and a
recipe may override settings per method (a learning rate, frozen layers, block expansion). The report shows
what each run actually used, from the file the trainer wrote, not what the recipe meant.
"""

from __future__ import annotations

from typing import Any

from sftgen.io import read_json
from sftgen.report.runs import Source

RUN_RECORD = "run.json"
SETTINGS_HEADER = [
    "task",
    "method",
    "run",
    "seed",
    "lr (schedule)",
    "batch",
    "steps",
    "epochs",
    "frozen",
    "expanded",
    "LoRA / proximity / regularisers",
    "trained / all parameters",
]


def _learning_rate(config: dict[str, Any]) -> str:
    lr = config.get("lr")
    return f"{lr:g} ({config.get('scheduler', 'constant')})" if isinstance(lr, int | float) else "–"


def _batch(config: dict[str, Any]) -> str:
    if "prompts_per_step" in config:  # GRPO: prompts per optimizer step, each rolled out num_generations times
        return f"{config['prompts_per_step']} prompts × {config.get('num_generations', '?')}"
    accum = config.get("grad_accum", 1)
    return f"{config.get('batch_size', '?')}" + (f" × {accum}" if accum and accum != 1 else "")


def _extras(config: dict[str, Any]) -> str:
    lora, proximity = config.get("lora") or {}, config.get("proximity") or {}
    parts = [f"LoRA r={lora.get('r')}"] if lora.get("enabled") else []
    if proximity.get("kind", "none") != "none":
        parts.append(f"{proximity['kind']} α={proximity.get('alpha')}")
    if config.get("attention_dropout"):
        parts.append(f"attention dropout {config['attention_dropout']:g}")
    if config.get("neftune_noise_alpha"):
        parts.append(f"NEFTune α={config['neftune_noise_alpha']:g}")
    return ", ".join(parts) or "–"


def _expanded(config: dict[str, Any]) -> str:
    expand = config.get("expand") or {}
    blocks = expand.get("blocks") or 0
    return f"{blocks} after layer {expand.get('after', 0)}" if blocks else "–"


def _parameters(model: dict[str, Any]) -> str:
    total, trained = model.get("parameters"), model.get("trainable_parameters")
    if not isinstance(total, int) or not isinstance(trained, int) or total <= 0:
        return "–"
    return f"{trained:,} / {total:,} ({trained / total:.0%})"


def training_rows(sources: list[Source]) -> list[dict[str, str]]:
    """One row per run whose train folder holds a ``run.json``; runs without one (still training, or made
    elsewhere) are left out rather than shown with guessed settings."""
    rows = []
    for source in sources:
        for run in source.runs:
            file = run.train_dir / RUN_RECORD if run.train_dir is not None else None
            if file is None or not file.is_file():
                continue
            record = read_json(file)
            config = record.get("config") if isinstance(record, dict) else None
            if not isinstance(config, dict):
                continue
            epochs = record.get("epochs_done")
            rows.append(
                {
                    "task": run.task,
                    "method": run.method,
                    "run": source.label,
                    "seed": str(run.seed),
                    "lr": _learning_rate(config),
                    "batch": _batch(config),
                    "steps": str(record.get("steps", "–")),
                    "epochs": f"{epochs:.2f}" if isinstance(epochs, int | float) else "–",
                    "frozen": ", ".join(f"`{p}`" for p in config.get("freeze") or []) or "–",
                    "expanded": _expanded(config),
                    "extras": _extras(config),
                    "parameters": _parameters(record.get("model") or {}),
                }
            )
    return rows
