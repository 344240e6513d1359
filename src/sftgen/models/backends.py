"""Pick a generation backend from one string, so every command takes the same ``--model`` argument.

``make_backend(spec)``: ``http(s)://...`` -> an OpenAI-compatible server; ``vllm:PATH`` -> in-process vLLM;
anything else (a local directory, ``smollm2-135m``, a hub name) -> an in-process Hugging Face model.
All of them implement ``Backend.generate(chats, sampling) -> list[str]``.
"""

from __future__ import annotations

from typing import Any

from sftgen.models.hf_backend import HFBackend
from sftgen.models.loading import load_model
from sftgen.models.openai_backend import OpenAIBackend
from sftgen.models.sampling import Backend, BackendError, Chat, Completion, Sampling, row_seed
from sftgen.models.vllm_backend import VLLMBackend

__all__ = [
    "Backend",
    "BackendError",
    "Chat",
    "Completion",
    "HFBackend",
    "OpenAIBackend",
    "Sampling",
    "VLLMBackend",
    "make_backend",
    "row_seed",
]

_HF_LOAD_KEYS = ("device", "dtype")


def make_backend(spec: str, **kw: Any) -> Backend:
    """Build the backend named by ``spec``; ``kw`` goes to its constructor.

    For HF specs, ``device`` and ``dtype`` go to ``load_model`` and the rest (``batch_size``) to
    ``HFBackend``. For URLs, ``model`` may be omitted when the server lists exactly one model.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(
            "backend spec must be a model path/name, an http(s) URL or vllm:PATH; got an empty one"
        )
    if spec.startswith(("http://", "https://")):
        return OpenAIBackend(spec, **kw)
    if spec.startswith("vllm:"):
        path = spec.removeprefix("vllm:")
        if not path:
            raise ValueError("vllm: spec needs a model path or name, e.g. vllm:/runs/x/checkpoint")
        return VLLMBackend(path, **kw)
    load_kw = {k: kw.pop(k) for k in _HF_LOAD_KEYS if k in kw}
    model, tokenizer = load_model(spec, **load_kw)
    return HFBackend(model, tokenizer, **kw)
