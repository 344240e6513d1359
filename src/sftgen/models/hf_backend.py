"""Batched generation with an in-process Hugging Face model (CPU or one GPU).

Why sampling is done here and not by ``generate(do_sample=True)``: HF samples every row of a batch from the
global torch RNG, so a row's answer depends on which other rows share its batch. Here each row draws from its
own pre-computed uniforms (seeded by ``row_seed``) through inverse-CDF sampling inside a logits processor, and
``generate`` then just takes the argmax. Sampled answers are therefore repeatable for a seed and independent
of ``batch_size`` and of the length sorting (up to float noise between padded and unpadded forward passes).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from transformers import GenerationConfig, LogitsProcessor, LogitsProcessorList, StoppingCriteria, StoppingCriteriaList

from sftgen.models.sampling import Chat, Completion, Sampling, row_seed, validate_chats

# End-of-turn markers of common chat formats: generation stops at any that the tokenizer has as a token.
END_OF_TURN_TOKENS: tuple[str, ...] = (
    "<|end|>",
    "<|im_end|>",
    "<|eot_id|>",
    "<end_of_turn>",
    "<|endoftext|>",
)


class RowSampler(LogitsProcessor):
    """Temperature + top-p sampling with one random stream per row; returns one-hot scores for argmax."""

    def __init__(self, uniforms: torch.Tensor, prompt_len: int, temperature: float, top_p: float) -> None:
        self.uniforms = uniforms  # (rows, max_new_tokens), one stream per row
        self.prompt_len = prompt_len
        self.temperature = temperature
        self.top_p = top_p

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        step = input_ids.shape[1] - self.prompt_len
        probs = torch.softmax(scores.float() / self.temperature, dim=-1)
        if self.top_p < 1.0:
            # keep the smallest prefix (by probability) whose mass reaches top_p; the first is always kept
            sorted_probs, order = probs.sort(dim=-1, descending=True)
            keep_sorted = (sorted_probs.cumsum(dim=-1) - sorted_probs) < self.top_p
            probs = probs * torch.zeros_like(keep_sorted).scatter_(-1, order, keep_sorted)
        # the draw walks the vocabulary in id order, not by probability: two near-equal probabilities
        # whose order flips with float noise (padding, batch shape) would otherwise move whole intervals
        cdf = probs.cumsum(dim=-1)
        u = self.uniforms[:, step].to(device=cdf.device, dtype=cdf.dtype).unsqueeze(-1)
        chosen = torch.searchsorted(cdf, u * cdf[:, -1:], right=True).clamp_(max=cdf.shape[-1] - 1)
        out = torch.full_like(scores, float("-inf"))
        return out.scatter_(-1, chosen, 0.0)


AnswerEnd = Callable[[str], int | None]
"""A task's ``answer_end``: where the scored answer in a text is complete, or None while it is not."""


class AnswerSettled(StoppingCriteria):
    """Stops a row once ``answer_end`` says its scored answer is complete, and remembers after how many new
    tokens: a model that goes on writing after its answer (``<answer> Left </answer> Left Left ...``) would
    otherwise decode to ``max_new_tokens`` for text no score reads, and hold its whole batch there."""

    def __init__(self, tokenizer: object, prompt_len: int, answer_end: AnswerEnd, stop_ids: Sequence[int]) -> None:
        self.tokenizer = tokenizer
        self.prompt_len = prompt_len
        self.answer_end = answer_end
        self.stop_ids = torch.tensor(list(stop_ids))
        self.settled_at: dict[int, int] = {}

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs: object) -> torch.BoolTensor:
        new = input_ids[:, self.prompt_len :].cpu()
        ended = torch.isin(new, self.stop_ids).any(dim=-1).tolist()
        open_rows = [r for r in range(new.shape[0]) if r not in self.settled_at and not ended[r]]
        if open_rows:
            texts = self.tokenizer.batch_decode(  # type: ignore[attr-defined]
                new[open_rows].tolist(), skip_special_tokens=True
            )
            for row, text in zip(open_rows, texts, strict=True):
                if self.answer_end(text) is not None:
                    self.settled_at[row] = new.shape[1]
        done = torch.zeros(new.shape[0], dtype=torch.bool, device=input_ids.device)
        done[list(self.settled_at)] = True
        return done


def stop_token_ids(model: torch.nn.Module, tokenizer: object) -> list[int]:
    """EOS of the tokenizer and of the model's generation config, plus any end-of-turn token of the vocab."""
    ids: list[int] = []
    candidates: list[object] = [getattr(tokenizer, "eos_token_id", None)]
    generation_config = getattr(model, "generation_config", None)
    eos = getattr(generation_config, "eos_token_id", None)
    candidates.extend(eos if isinstance(eos, list) else [eos])
    vocab = tokenizer.get_vocab()  # type: ignore[attr-defined]
    candidates.extend(vocab.get(token) for token in END_OF_TURN_TOKENS)
    for token_id in candidates:
        if isinstance(token_id, int) and token_id not in ids:
            ids.append(token_id)
    if not ids:
        raise ValueError("the tokenizer and model define no EOS token: generation could never stop")
    return ids


class HFBackend:
    """``generate(chats, sampling)`` over a local HF causal LM: chat template, length-sorted left-padded
    batches, KV cache, stop at EOS / end of turn, original order restored."""

    def __init__(self, model: torch.nn.Module, tokenizer: object, batch_size: int = 64) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if getattr(tokenizer, "chat_template", None) is None:
            raise ValueError("the tokenizer has no chat_template; chats cannot be rendered")
        self.model = model
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.stop_ids = stop_token_ids(model, tokenizer)
        pad = getattr(tokenizer, "pad_token_id", None)
        self.pad_id: int = pad if isinstance(pad, int) else self.stop_ids[0]

    def generate(self, chats: list[Chat], sampling: Sampling) -> list[str]:
        """New assistant text per chat (special tokens stripped), in the order given."""
        return [c.text for c in self.complete(chats, sampling)]

    def encode(self, chat: Chat) -> list[int]:
        """Prompt ids of one chat: the chat template with the assistant turn opened."""
        encoded = self.tokenizer.apply_chat_template(  # type: ignore[attr-defined]
            chat, add_generation_prompt=True, tokenize=True, return_dict=True
        )
        return list(encoded["input_ids"])

    def complete(
        self,
        chats: list[Chat],
        sampling: Sampling,
        seeds: Sequence[int] | None = None,
        answer_end: AnswerEnd | None = None,
    ) -> list[Completion]:
        """Like ``generate`` with token counts and finish reasons; ``seeds`` overrides the per-row seeds. With
        ``answer_end`` (a task's), a row stops as soon as its scored answer is complete (``finish_reason``
        ``stop``), which changes no score."""
        validate_chats(chats)
        return self.complete_ids([self.encode(chat) for chat in chats], sampling, seeds, answer_end)

    def complete_ids(
        self,
        prompts: list[list[int]],
        sampling: Sampling,
        seeds: Sequence[int] | None = None,
        answer_end: AnswerEnd | None = None,
    ) -> list[Completion]:
        """``complete`` for already-encoded prompts (the server encodes per request, then batches)."""
        if seeds is None:
            seeds = [row_seed(sampling.seed, i) for i in range(len(prompts))]
        elif len(seeds) != len(prompts):
            raise ValueError(f"got {len(seeds)} seeds for {len(prompts)} prompts")
        if any(not p for p in prompts):
            raise ValueError("cannot generate from an empty prompt")
        order = sorted(range(len(prompts)), key=lambda i: -len(prompts[i]))
        results: list[Completion | None] = [None] * len(prompts)
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            batch = self._generate_batch([prompts[i] for i in rows], sampling, [seeds[i] for i in rows], answer_end)
            for i, completion in zip(rows, batch, strict=True):
                results[i] = completion
        return [r for r in results if r is not None]

    def _generate_batch(
        self, prompts: list[list[int]], sampling: Sampling, seeds: list[int], answer_end: AnswerEnd | None
    ) -> list[Completion]:
        device = next(self.model.parameters()).device
        width = max(len(p) for p in prompts)
        input_ids = torch.full((len(prompts), width), self.pad_id, dtype=torch.long)
        attention_mask = torch.zeros((len(prompts), width), dtype=torch.long)
        for row, prompt in enumerate(prompts):
            input_ids[row, width - len(prompt) :] = torch.tensor(prompt, dtype=torch.long)
            attention_mask[row, width - len(prompt) :] = 1
        processors = LogitsProcessorList()
        if not sampling.is_greedy:
            uniforms = torch.stack([self._uniforms(seed, sampling.max_new_tokens) for seed in seeds])
            processors.append(RowSampler(uniforms, width, sampling.temperature, sampling.top_p))
        settled = None if answer_end is None else AnswerSettled(self.tokenizer, width, answer_end, self.stop_ids)
        config = GenerationConfig(
            max_new_tokens=sampling.max_new_tokens,
            do_sample=False,
            num_beams=1,
            eos_token_id=self.stop_ids,
            pad_token_id=self.pad_id,
            use_cache=True,
        )
        with torch.inference_mode():
            output = self.model.generate(  # type: ignore[operator]
                input_ids=input_ids.to(device),
                attention_mask=attention_mask.to(device),
                generation_config=config,
                logits_processor=processors,
                stopping_criteria=StoppingCriteriaList([settled] if settled else []),
            )
        new_tokens = output[:, width:].tolist()
        settled_at = {} if settled is None else settled.settled_at
        return [
            self._finish(tokens, len(prompt), settled_at.get(row))
            for row, (tokens, prompt) in enumerate(zip(new_tokens, prompts, strict=True))
        ]

    @staticmethod
    def _uniforms(seed: int, count: int) -> torch.Tensor:
        generator = torch.Generator().manual_seed(seed)
        return torch.rand(count, generator=generator, dtype=torch.float64)

    def _finish(self, tokens: list[int], prompt_tokens: int, settled: int | None = None) -> Completion:
        """The text before the first stop token, or the first ``settled`` tokens when the answer was complete
        there (``AnswerSettled``; it never counts a row that had already stopped)."""
        if settled is not None:
            text = self.tokenizer.decode(tokens[:settled], skip_special_tokens=True)  # type: ignore[attr-defined]
            return Completion(text=text, finish_reason="stop", prompt_tokens=prompt_tokens, completion_tokens=settled)
        stops = set(self.stop_ids)
        end = next((k for k, t in enumerate(tokens) if t in stops), None)
        kept = tokens if end is None else tokens[:end]
        text = self.tokenizer.decode(kept, skip_special_tokens=True)  # type: ignore[attr-defined]
        return Completion(
            text=text,
            finish_reason="length" if end is None else "stop",
            prompt_tokens=prompt_tokens,
            completion_tokens=len(tokens) if end is None else end + 1,
        )
