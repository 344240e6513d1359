"""Turn ``--model`` into a generation backend and the prompt settings the model was trained with.

Why here and not in ``sftgen.models``: evaluation also accepts the reference agents (``oracle``,
``shortcut``, ``random``) and resolves ``template="auto"`` from the ``sftgen_model.json`` that training
writes next to a model, so a tiny model trained on the compact template is evaluated on it by default.
Trainer checkpoints without their own tokenizer borrow the run folder's.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from sftgen.agents import ReferenceAgent
from sftgen.models.sampling import Backend
from sftgen.prompts import RESPONSE_FORMATS, TEMPLATES
from sftgen.tasks.protocol import AGENTS

MODEL_SETTINGS_FILE = "sftgen_model.json"
CHECKPOINT_DIR = re.compile(r"^checkpoint-(\d+)$")
_TOKENIZER_FILES = ("tokenizer_config.json", "tokenizer.json")


def model_kind(spec: str) -> str:
    """``agent``, ``url`` or ``hf`` (a local folder, a packaged preset or a hub name)."""
    if spec in AGENTS:
        return "agent"
    if spec.startswith(("http://", "https://")):
        return "url"
    return "hf"


def _settings_folders(spec: str) -> list[Path]:
    path = Path(spec).expanduser()
    if not path.is_dir():
        return []
    return [path, path.parent] if CHECKPOINT_DIR.match(path.name) else [path]


def model_settings(spec: str) -> dict[str, Any]:
    """The model's ``sftgen_model.json`` (a checkpoint falls back to its run folder's), or ``{}``."""
    for folder in _settings_folders(spec):
        file = folder / MODEL_SETTINGS_FILE
        if file.is_file():
            data = json.loads(file.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError(f"{file} must hold a JSON object, got {type(data).__name__}")
            return data
    return {}


def _resolve(value: str, key: str, choices: tuple[str, ...], default: str, settings: dict[str, Any]) -> str:
    if value == "auto":
        value = settings.get(key, default)
    if value not in choices:
        raise ValueError(f"{key} must be auto or one of {choices}, got {value!r}")
    return value


def resolve_prompt_style(spec: str, template: str, response_format: str) -> tuple[str, str]:
    """``(template, response_format)`` with ``auto`` taken from the model's settings file (else study/answer)."""
    settings = model_settings(spec) if "auto" in (template, response_format) else {}
    return (
        _resolve(template, "template", TEMPLATES, "study", settings),
        _resolve(response_format, "response_format", RESPONSE_FORMATS, "answer", settings),
    )


def _has_tokenizer(folder: Path) -> bool:
    return any((folder / name).is_file() for name in _TOKENIZER_FILES)


def _checkpoint_backend(path: Path, batch_size: int, device: str | None, dtype: str | None) -> Backend:
    """A checkpoint saved without a tokenizer: its weights with the run folder's tokenizer."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from sftgen.models.hf_backend import HFBackend
    from sftgen.models.loading import default_device, prepare_for_generation, resolve_dtype

    device = device or default_device()
    tokenizer = AutoTokenizer.from_pretrained(str(path.parent), local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(str(path), dtype=resolve_dtype(dtype, device), local_files_only=True)
    model, tokenizer = prepare_for_generation(model.to(device), tokenizer)
    return HFBackend(model, tokenizer, batch_size=batch_size)


def open_backend(
    spec: str, *, batch_size: int = 64, seed: int = 0, device: str | None = None, dtype: str | None = None
) -> Backend:
    """The backend for ``spec``: a reference agent, an OpenAI-compatible URL or an HF model.

    ``batch_size`` is the HF model's decoding batch, or the number of requests in flight for a URL.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    kind = model_kind(spec)
    if kind == "agent":
        return ReferenceAgent(spec, seed=seed)
    from sftgen.models.backends import make_backend

    if kind == "url":
        return make_backend(spec, concurrency=batch_size)
    path = Path(spec).expanduser()
    if path.is_dir() and not _has_tokenizer(path) and _has_tokenizer(path.parent):
        return _checkpoint_backend(path, batch_size, device, dtype)
    load = {k: v for k, v in (("device", device), ("dtype", dtype)) if v is not None}
    return make_backend(spec, batch_size=batch_size, **load)
