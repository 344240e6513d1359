"""Models: a local tokenizer, tiny from-scratch Llamas, loading, generation backends and a server.

Names are imported lazily (``from sftgen.models import HFBackend``) so that ``import sftgen.models`` does
not pull in torch, transformers and FastAPI before they are needed.

* ``tokenizer``: ``build_tokenizer`` (lossless word-level tokenizer with chat template)
* ``tiny``: ``TINY_PRESETS``, ``build_tiny_model``
* ``loading``: ``load_model`` (local dir, ``smollm2-135m``, hub name)
* ``sampling``: ``Sampling``, ``Backend``, ``BackendError``, ``row_seed``
* ``backends``: ``HFBackend``, ``OpenAIBackend``, ``VLLMBackend``, ``make_backend``
* ``serve``: ``create_app``, ``BackgroundServer`` (and ``serve``: import it from ``sftgen.models.serve``,
  the module of the same name shadows it here)
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "build_tokenizer": "tokenizer",
    "TINY_PRESETS": "tiny",
    "build_tiny_model": "tiny",
    "count_parameters": "tiny",
    "load_model": "loading",
    "Sampling": "sampling",
    "Backend": "sampling",
    "BackendError": "sampling",
    "Completion": "sampling",
    "row_seed": "sampling",
    "HFBackend": "hf_backend",
    "OpenAIBackend": "openai_backend",
    "VLLMBackend": "backends",
    "make_backend": "backends",
    "create_app": "serve",
    "BackgroundServer": "serve",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'sftgen.models' has no attribute {name!r}")
    return getattr(importlib.import_module(f"sftgen.models.{_EXPORTS[name]}"), name)
