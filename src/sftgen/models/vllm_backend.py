"""Generation with an in-process vLLM engine (optional extra ``gpu``).

Why it is optional and lazy: vLLM needs CUDA and pins its own torch; the CPU toolkit must import, test and
run without it, so ``vllm`` is imported only when this backend is built.
"""

from __future__ import annotations

from typing import Any

from sftgen.models.sampling import Chat, Sampling, row_seed, validate_chats


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

    def sampling_params(self, sampling: Sampling, index: int) -> Any:
        """vLLM ``SamplingParams`` for row ``index`` of a call."""
        if sampling.is_greedy:
            return self._vllm.SamplingParams(temperature=0.0, max_tokens=sampling.max_new_tokens)
        return self._vllm.SamplingParams(
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            max_tokens=sampling.max_new_tokens,
            seed=row_seed(sampling.seed, index),
        )

    def generate(self, chats: list[Chat], sampling: Sampling) -> list[str]:
        """One answer per chat, in order (vLLM batches and schedules internally)."""
        validate_chats(chats)
        if not chats:
            return []
        params = [self.sampling_params(sampling, i) for i in range(len(chats))]
        outputs = self.llm.chat(chats, sampling_params=params, add_generation_prompt=True, use_tqdm=False)
        return [out.outputs[0].text for out in outputs]
