"""A tiny Llama with a copy head: the next token is a mixture of the vocabulary softmax and a pointer to context tokens.

Why: at tiny scale, diverse SFT trains only pool words as answers, and the base model's copy of a declared word
drifts toward those tokens until words never trained as answers (every evaluation word) can no longer be written
(docs/tiny-scale-notes.md). A pointer (See et al., 2017, "Get To The Point") copies *positions*, not token
identities: "answer the word declared in the slot for the move I chose" is then the same computation for a pool
word and for ``1``, ``A`` or ``#``, and a model unsure of its move spreads mass over declared words instead of
blending them into an undeclared one. A position's copy key reads its own state and the states of the
``copy_key_span - 1`` positions before it (a causal convolution), so the word in ``left=fox`` is keyed by ``left``
from the start, as an induction head's previous-token feature does: with keys from one position alone, the four
declared slots look alike until the backbone learns to mark them, and pointing sat at a quarter each for
thousands of steps (docs/tiny-scale-notes.md). Large pretrained models have token-agnostic copy heads of their own; this
gives the tiny one the same ability by construction. The vocabulary path stays, so a fixed answer template can
still be learned as fixed tokens (the answer-only shortcut).

The head returns ``logits = log p`` of the mixture, so cross-entropy, greedy decoding and temperature sampling
work unchanged in transformers and TRL. The KV cache is extended with the copy keys, so cached generation works.
TRL's trainers replace ``forward`` with a fused LM head that projects the backbone's states through ``lm_head``
alone, which would train and score the vocabulary path only: ``speak_trl_fused_head`` puts back a forward that
answers TRL's ``fused_lm_head=True`` calls from the whole mixture.
"""

from __future__ import annotations

import functools
import math
import types
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from transformers import AutoConfig, AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM
from transformers.modeling_outputs import CausalLMOutputWithPast

MODEL_TYPE = "sftgen_copy_llama"


class CopyHeadConfig(LlamaConfig):
    """``LlamaConfig`` plus the copy head's key width and the gate's starting bias (logit of the vocabulary share)."""

    model_type = MODEL_TYPE

    def __init__(
        self, copy_head_dim: int = 64, copy_gate_bias: float = 0.0, copy_key_span: int = 3, **kwargs: Any
    ) -> None:
        self.copy_head_dim = copy_head_dim
        self.copy_gate_bias = copy_gate_bias
        self.copy_key_span = copy_key_span
        super().__init__(**kwargs)


class CopyHeadForCausalLM(LlamaForCausalLM):
    """``LlamaForCausalLM`` whose output distribution mixes the vocabulary softmax with a pointer over the context."""

    config_class = CopyHeadConfig

    def __init__(self, config: CopyHeadConfig) -> None:
        super().__init__(config)
        width = config.copy_head_dim
        self.copy_query = nn.Linear(config.hidden_size, width, bias=False)
        self.copy_key = nn.Linear(config.hidden_size * config.copy_key_span, width, bias=False)
        self.copy_gate = nn.Linear(config.hidden_size, 1)
        self.post_init()
        with torch.no_grad():
            self.copy_gate.bias.fill_(config.copy_gate_bias)

    def forward(  # type: ignore[override]
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
        cache: Any = None,
        inputs_embeds: torch.FloatTensor | None = None,
        labels: torch.LongTensor | None = None,
        use_cache: bool | None = None,
        logits_to_keep: int | torch.Tensor = 0,
        **kwargs: Any,
    ) -> CausalLMOutputWithPast:
        if input_ids is None:
            raise ValueError("the copy head points at input tokens, so it needs input_ids (not inputs_embeds)")
        cached = cache.get_seq_length() if cache is not None else 0
        outputs = self.model(
            input_ids=input_ids,
            attention_mask=attention_mask,
            position_ids=position_ids,
            cache=cache,
            use_cache=use_cache,
            **kwargs,
        )
        hidden = outputs.last_hidden_state
        keys, ids = self._context(hidden, input_ids, attention_mask, outputs.cache if use_cache else None, cached)
        logits = self._mixture(hidden, keys, ids, attention_mask, cached)
        if not (isinstance(logits_to_keep, int) and logits_to_keep == 0):
            keep = slice(-logits_to_keep, None) if isinstance(logits_to_keep, int) else logits_to_keep
            logits = logits[:, keep, :]
        loss = None
        if labels is not None:
            loss = self.loss_function(logits=logits, labels=labels, vocab_size=self.config.vocab_size, **kwargs)
        return CausalLMOutputWithPast(
            loss=loss,
            logits=logits,
            cache=outputs.cache,
            hidden_states=outputs.hidden_states,
            attentions=outputs.attentions,
        )

    def _context(
        self,
        hidden: torch.Tensor,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None,
        cache: Any,
        cached: int,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Copy keys and token ids of every position so far; kept on the KV cache object between decoding steps,
        with the last states a new position's key reads."""
        span, batch, width = self.config.copy_key_span, hidden.shape[0], hidden.shape[-1]
        if attention_mask is not None:  # padding contributes nothing to its neighbours' keys
            hidden = hidden * attention_mask[:, -hidden.shape[1] :, None].to(hidden.dtype)
        tail = hidden.new_zeros(batch, span - 1, width)
        previous = getattr(cache, "sftgen_copy_context", None) if cached else None
        if cached and (previous is None or previous[1].shape[1] != cached):
            raise RuntimeError("the copy head's context is missing from the KV cache (beam search is unsupported)")
        if previous is not None:
            tail = previous[2]
        states = torch.cat([tail, hidden], dim=1)
        windows = torch.cat([states[:, k : k + hidden.shape[1]] for k in range(span - 1, -1, -1)], dim=-1)
        keys, ids = self.copy_key(windows), input_ids
        if previous is not None:
            keys, ids = torch.cat([previous[0], keys], dim=1), torch.cat([previous[1], ids], dim=1)
        if cache is not None:
            cache.sftgen_copy_context = (keys, ids, states[:, states.shape[1] - (span - 1) :])
        return keys, ids

    def _mixture(
        self,
        hidden: torch.Tensor,
        keys: torch.Tensor,
        ids: torch.Tensor,
        attention_mask: torch.Tensor | None,
        cached: int,
        select: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``log(g * softmax(lm_head(h)) + (1 - g) * pointer)``; the pointer attends causally to non-pad positions.

        ``select`` (batch x queries, bool) keeps only those positions, flattened: training scores the labelled
        positions alone, and the vocabulary-sized work is most of the head's cost.
        """
        scores = self.copy_query(hidden).float() @ keys.float().transpose(1, 2) / math.sqrt(keys.shape[-1])
        queries, total = hidden.shape[1], keys.shape[1]
        query_at = torch.arange(cached, cached + queries, device=hidden.device)[:, None]
        allowed = torch.arange(total, device=hidden.device)[None, :] <= query_at
        allowed = allowed[None].expand(hidden.shape[0], -1, -1)
        if attention_mask is not None:
            allowed = allowed & attention_mask[:, None, -total:].bool()
        pointer = torch.softmax(scores.masked_fill(~allowed, float("-inf")), dim=-1)
        pointer = torch.nan_to_num(pointer)  # a row with nothing to attend to (all padding) copies nothing
        if self.training and self.config.attention_dropout:  # the pointer is an attention: dropped out alike
            pointer = F.dropout(pointer, p=self.config.attention_dropout)
        sources = ids[:, None, :].expand(-1, queries, -1)
        if select is not None:
            hidden, pointer, sources = hidden[select], pointer[select], sources[select]
        vocab_logp = F.log_softmax(self.lm_head(hidden).float(), dim=-1)
        copied = torch.zeros_like(vocab_logp).scatter_add_(-1, sources, pointer)
        gate = self.copy_gate(hidden).float()
        return torch.logaddexp(F.logsigmoid(gate) + vocab_logp, F.logsigmoid(-gate) + torch.log(copied + 1e-12))

    def fused_scores(
        self,
        labels: torch.Tensor | None,
        shift_labels: torch.Tensor | None,
        temperature: float,
        **inputs: Any,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(log-probability of each next-token label, entropy, top-1 flag, label mask), zero where unlabelled,
        computed at the labelled positions only (TRL's fused-head contract)."""
        input_ids, attention_mask = inputs["input_ids"], inputs.get("attention_mask")
        hidden = self.model(**{**inputs, "use_cache": False}).last_hidden_state
        keys, ids = self._context(hidden, input_ids, attention_mask, None, 0)
        targets = labels[:, 1:] if shift_labels is None else shift_labels
        mask = targets != -100
        select = torch.zeros(hidden.shape[:2], dtype=torch.bool, device=hidden.device)
        select[:, : mask.shape[1]] = mask
        log_probs = torch.log_softmax(self._mixture(hidden, keys, ids, attention_mask, 0, select) / temperature, -1)
        wanted = targets[mask]
        picked = log_probs.gather(-1, wanted[:, None])[:, 0]
        entropy = -(log_probs.exp() * log_probs).sum(-1)
        top1 = log_probs.argmax(-1) == wanted

        def spread(values: torch.Tensor) -> torch.Tensor:
            return torch.zeros(mask.shape, dtype=values.dtype, device=values.device).masked_scatter(mask, values)

        return spread(picked), spread(entropy), spread(top1), mask


def is_copy_head_model(model: Any) -> bool:
    return getattr(getattr(model, "config", None), "model_type", None) == MODEL_TYPE


def keep_mixture_under_trl(model: Any, temperature: float = 1.0) -> None:
    """Called once a TRL trainer has patched ``model`` (or the PEFT model around it) with its fused LM head: a
    copy-head model answers those calls from its mixture (``speak_trl_fused_head``); any other keeps TRL's head."""
    get_base = getattr(model, "get_base_model", None)
    base = get_base() if callable(get_base) else model
    if is_copy_head_model(base):
        speak_trl_fused_head(base, temperature)


def speak_trl_fused_head(model: CopyHeadForCausalLM, temperature: float = 1.0) -> None:
    """Replace TRL's fused-LM-head forward on ``model`` by one that scores the copy-head mixture.

    Same contract as ``trl.trainer.utils.add_fused_lm_head``: with ``fused_lm_head=True`` it returns per-token
    log-probabilities of the next-token labels (``shift_labels`` taken as already shifted), their entropy and
    top-1 flags, the label mask and the token-mean loss, all under ``temperature``; without it, the model's
    own forward.
    """
    from trl.trainer.utils import FusedCausalLMOutput

    @functools.wraps(type(model).forward)  # generate() validates its kwargs against this signature
    def forward(
        self: CopyHeadForCausalLM,
        *args: Any,
        fused_lm_head: bool = False,
        labels: torch.Tensor | None = None,
        shift_labels: torch.Tensor | None = None,
        num_items_in_batch: Any = None,
        **kwargs: Any,
    ) -> Any:
        if not fused_lm_head:
            extra = {} if num_items_in_batch is None else {"num_items_in_batch": num_items_in_batch}
            return type(self).forward(self, *args, labels=labels, **kwargs, **extra)
        if args:
            raise TypeError("the copy head's fused forward takes keyword inputs only, as TRL's trainers pass them")
        picked, entropy, top1, mask = self.fused_scores(labels, shift_labels, temperature, **kwargs)
        denominator = mask.sum().clamp(min=1) if num_items_in_batch is None else num_items_in_batch
        return FusedCausalLMOutput(
            loss=-picked.sum() / denominator, log_probs=picked, entropy=entropy, is_top1=top1, label_mask=mask
        )

    model.forward = types.MethodType(forward, model)


def with_copy_head(
    model: LlamaForCausalLM, head_dim: int = 64, gate_bias: float = 0.0, key_span: int = 3
) -> CopyHeadForCausalLM:
    """The same Llama with a freshly initialised copy head (every other weight carried over)."""
    settings = model.config.to_dict()
    for key in ("model_type", "architectures", "transformers_version"):
        settings.pop(key, None)
    config = CopyHeadConfig(copy_head_dim=head_dim, copy_gate_bias=gate_bias, copy_key_span=key_span, **settings)
    config.architectures = [CopyHeadForCausalLM.__name__]
    fresh = CopyHeadForCausalLM(config)
    missing, unexpected = fresh.load_state_dict(model.state_dict(), strict=False)
    if unexpected or any(not name.startswith("copy_") for name in missing):
        raise ValueError(f"not a Llama the copy head can extend: missing {missing}, unexpected {unexpected}")
    fresh.generation_config = model.generation_config
    return fresh


AutoConfig.register(MODEL_TYPE, CopyHeadConfig)
AutoModelForCausalLM.register(CopyHeadConfig, CopyHeadForCausalLM)
