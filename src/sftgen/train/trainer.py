"""``SFTTrainer`` with a cheaper loss on CPU: the output head only runs on the positions that carry a label.

Why: TRL 1.16 computes the loss with a chunked, fused LM-head kernel. On CUDA it projects only the labelled
positions (Triton); on CPU it falls back to torch ops over *every* position, recomputes the projection in the
backward and always computes entropy and top-1 metrics. For a tiny model whose completions are ~10 of ~130
tokens that head dominates the step (measured: ~110 of ~230 ms, a 1.36x slowdown against a bare loop).
Here, on CPU, the backbone runs as usual, the head projects only the labelled positions, and the loss is
the same token-mean cross-entropy (``num_items_in_batch`` honoured, so gradient accumulation is unchanged);
the logged ``entropy`` and ``mean_token_accuracy`` are computed from those logits. Any other device, any
model whose head scales or soft-caps logits, and any run over several processes (DDP, FSDP, DeepSpeed: calling
the backbone and head outside the wrapped model's forward skips the gradient all-reduce or the weight gathering
that forward sets up) goes through TRL's own ``compute_loss``.

With ``proximity`` (``sftgen.train.proximity``) the same head-on-labelled-positions loss runs on every device,
plus ``alpha * KL`` to a frozen copy of the starting model or ``alpha * ||theta - theta_start||^2``.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from trl import SFTTrainer

from sftgen.models.copy_head import keep_mixture_under_trl
from sftgen.train.config import ProximitySettings
from sftgen.train.proximity import Proximity, check_supported, proximity_loss

# Config attributes that change the head's output; a model with any of them keeps TRL's loss.
_HEAD_MODIFIERS = (
    "final_logit_softcapping",
    "logit_scale",
    "output_multiplier",
    "lm_head_multiplier",
    "logits_scaling",
    "output_router_logits",
    "copy_head_dim",  # sftgen.models.copy_head: the output mixes the head with a pointer over the context
)


def _unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The ``PreTrainedModel`` under accelerate / PEFT wrappers (LoRA layers stay injected in it)."""
    model = getattr(model, "module", model)
    get_base = getattr(model, "get_base_model", None)
    return get_base() if callable(get_base) else model


class SFTGenTrainer(SFTTrainer):
    """TRL's SFT trainer; only ``compute_loss`` differs: on CPU, and with a proximity term (module docstring)."""

    def __init__(self, *args: Any, proximity: ProximitySettings | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        keep_mixture_under_trl(self.model)  # TRL's fused head would score a copy-head model's lm_head alone
        settings = proximity or ProximitySettings()
        check_supported(self, settings)
        if settings.kind != "none" and not self._head_is_plain(self.model):
            raise ValueError("proximity.kind: this model's output head rescales logits; proximity needs a plain head")
        # built after the model is on its device and before any checkpoint is loaded: the anchor is the start
        self.proximity = Proximity(settings, self.model)

    @staticmethod
    def _head_is_plain(model: torch.nn.Module) -> bool:
        config = _unwrap(model).config.get_text_config()
        return all(not getattr(config, name, None) for name in _HEAD_MODIFIERS)

    def _cpu_fast_path(self, model: torch.nn.Module, return_outputs: bool) -> bool:
        if return_outputs or not model.training or self.args.device.type != "cpu" or self.compute_loss_func:
            return False
        if self.label_smoother is not None or self.args.loss_type != "nll" or self.aux_loss_enabled:
            return False
        # Several processes: only the wrapped model's forward sets up what its backward needs (DDP's gradient
        # all-reduce, FSDP's and ZeRO-3's weight gathering). Calling the backbone under it skipped DDP's
        # all-reduce: each rank stepped on its own gradients and rank 0 saved its own weights.
        if self.accelerator.num_processes > 1 or self.is_fsdp_enabled or self.is_deepspeed_enabled:
            return False
        return self._head_is_plain(model)

    def compute_loss(
        self,
        model: torch.nn.Module,
        inputs: dict[str, Any],
        return_outputs: bool = False,
        num_items_in_batch: torch.Tensor | int | None = None,
    ) -> Any:
        if self.proximity.active and model.training and not return_outputs:
            loss, logits, targets = proximity_loss(self, self.proximity, model, inputs, num_items_in_batch)
            self._record_metrics(logits.detach(), targets, inputs)
            return loss
        if not self._cpu_fast_path(model, return_outputs):
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        base = _unwrap(model)
        backbone = getattr(base, base.base_model_prefix)
        head = base.get_output_embeddings()
        labels = inputs["labels"][:, 1:]
        backbone_inputs = {k: v for k, v in inputs.items() if k not in ("labels", "use_cache")}
        hidden = backbone(**backbone_inputs, use_cache=False).last_hidden_state[:, :-1]
        mask = labels != -100
        targets = labels[mask]
        logits = head(hidden[mask]).float()
        denominator = mask.sum().clamp(min=1) if num_items_in_batch is None else num_items_in_batch
        loss = F.cross_entropy(logits, targets, reduction="sum") / denominator
        if self.args.average_tokens_across_devices and num_items_in_batch is not None:
            loss = loss * self.accelerator.num_processes
        self._record_metrics(logits.detach(), targets, inputs)
        return loss

    def _record_metrics(self, logits: torch.Tensor, targets: torch.Tensor, inputs: dict[str, Any]) -> None:
        """The same train metrics TRL logs: token entropy, top-1 accuracy, tokens seen."""
        metrics = self._metrics["train"]
        count = targets.numel()
        if count:
            log_probs = torch.log_softmax(logits, dim=-1)
            entropy = -(log_probs.exp() * log_probs).sum(-1).mean().item()
            accuracy = (logits.argmax(-1) == targets).float().mean().item()
        else:
            entropy = accuracy = 0.0
        metrics["entropy"].append(entropy)
        metrics["mean_token_accuracy"].append(accuracy)
        mask = inputs.get("attention_mask")
        self._total_train_tokens += int(mask.sum()) if mask is not None else int(inputs["input_ids"].numel())
        metrics["num_tokens"] = [self._total_train_tokens]
