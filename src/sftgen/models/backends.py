"""Pick a generation backend from one string, so every command takes the same ``--model`` argument.

``make_backend(spec)``: ``http(s)://...`` -> an OpenAI-compatible server; ``vllm:PATH`` -> in-process vLLM;
anything else (a local directory, ``smollm2-135m``, a hub name) -> an in-process Hugging Face model.
All of them implement ``Backend.generate(chats, sampling) -> list[str]``.

``VLLMBackend`` lives here because it is small and optional (extra ``gpu``): vLLM needs CUDA and pins its
own torch, so the CPU toolkit must import, test and run without it; ``vllm`` is imported only when a
``VLLMBackend`` is built.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sftgen.models.hf_backend import HFBackend
from sftgen.models.loading import load_model
from sftgen.models.openai_backend import OpenAIBackend
from sftgen.models.sampling import (
    Backend,
    BackendError,
    Chat,
    Completion,
    Sampling,
    row_seed,
    validate_chats,
)

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


def _import_vllm() -> Any:
    try:
        import vllm
    except ImportError as err:
        raise ImportError(
            "the vllm backend needs vLLM, which is not installed; install the GPU extra "
            "(`pip install 'sftgen[gpu]'`) on a CUDA machine, or use an HF model path or an http:// server"
        ) from err
    return vllm


class VLLMBackend:
    """``generate(chats, sampling)`` on a ``vllm.LLM``; each row gets its own seed (``row_seed``)."""

    def __init__(self, model: str, **engine_kwargs: Any) -> None:
        self._vllm = _import_vllm()
        self.model = model
        self.llm = self._vllm.LLM(model=model, **engine_kwargs)

    def sampling_params(self, sampling: Sampling, index: int, seed: int | None = None) -> Any:
        """vLLM ``SamplingParams`` for row ``index`` of a call (seed ``seed``, else ``row_seed``); one sample
        per prompt (``n=1``), no log-probabilities."""
        if sampling.is_greedy:
            return self._vllm.SamplingParams(temperature=0.0, max_tokens=sampling.max_new_tokens)
        return self._vllm.SamplingParams(
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            max_tokens=sampling.max_new_tokens,
            seed=row_seed(sampling.seed, index) if seed is None else seed,
        )

    def generate(self, chats: list[Chat], sampling: Sampling) -> list[str]:
        """One answer per chat, in order (vLLM batches and schedules internally)."""
        return [c.text for c in self.complete(chats, sampling)]

    def complete(self, chats: list[Chat], sampling: Sampling, seeds: Sequence[int] | None = None) -> list[Completion]:
        """Like ``generate`` with finish reasons and token counts; ``seeds`` as in ``HFBackend.complete``."""
        validate_chats(chats)
        if seeds is not None and len(seeds) != len(chats):
            raise ValueError(f"got {len(seeds)} seeds for {len(chats)} chats")
        if not chats:
            return []
        params = [self.sampling_params(sampling, i, None if seeds is None else seeds[i]) for i in range(len(chats))]
        outputs = self.llm.chat(chats, sampling_params=params, add_generation_prompt=True, use_tqdm=False)
        if len(outputs) != len(chats):
            raise BackendError(f"vLLM returned {len(outputs)} outputs for {len(chats)} chats")
        return [vllm_completion(out) for out in outputs]


def vllm_completion(output: Any) -> Completion:
    """A ``vllm.RequestOutput``'s first sample as a ``Completion`` (``length`` when cut at ``max_tokens``)."""
    sample = output.outputs[0]
    return Completion(
        text=sample.text,
        finish_reason="length" if sample.finish_reason == "length" else "stop",
        prompt_tokens=len(output.prompt_token_ids or ()),
        completion_tokens=len(sample.token_ids or ()),
    )


def make_backend(spec: str, **kw: Any) -> Backend:
    """Build the backend named by ``spec``; ``kw`` goes to its constructor.

    For HF specs, ``device`` and ``dtype`` go to ``load_model`` and the rest (``batch_size``) to
    ``HFBackend``. For URLs, ``model`` may be omitted when the server lists exactly one model.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError("backend spec must be a model path/name, an http(s) URL or vllm:PATH; got an empty one")
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
