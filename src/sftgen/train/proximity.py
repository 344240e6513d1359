"""Proximity-controlled SFT (study appendix): cross-entropy plus a pull back toward the starting model.

Why: the study asks whether SFT's loss of instruction following comes from drifting far from the base model;
adding ``alpha * KL(pi || pi_start)`` per completion token (full vocabulary, a frozen copy of the starting
model as reference) or ``alpha * ||theta - theta_start||^2`` tests that. Qualitatively the study finds it
raises instruction variants, collapses fake, and hurts ID and difficulty.

``SFTGenTrainer`` (``sftgen.train.trainer``) adds the term in ``compute_loss``. Like the CPU fast path it runs
the output head only on labelled positions, for the policy and (KL) the reference, so the full-vocabulary KL
costs one extra backbone forward without gradients and a head over the completion tokens only. Both the
starting weights and the reference are captured when the trainer is built, before a checkpoint is loaded, so a
resumed run keeps the same anchor. The term is logged apart as ``proximity/kl`` (mean per completion token) or
``proximity/l2``, next to ``proximity/ce``.

Limits: the copy doubles model memory (KL) or the trainable weights (L2); DeepSpeed / FSDP sharding is refused
(the copy and the norm would need gathering); a model whose head rescales logits is refused.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
import torch.nn.functional as F

from sftgen.train.config import ProximitySettings


def token_kl(logits: torch.Tensor, ref_logits: torch.Tensor) -> torch.Tensor:
    """KL(pi || pi_ref) over the full vocabulary for each row: ``sum_v p(v) (log p(v) - log q(v))``."""
    log_p = torch.log_softmax(logits.float(), dim=-1)
    log_q = torch.log_softmax(ref_logits.float(), dim=-1)
    return (log_p.exp() * (log_p - log_q)).sum(-1)


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The ``PreTrainedModel`` under accelerate / PEFT wrappers (LoRA layers stay injected in it)."""
    model = getattr(model, "module", model)
    get_base = getattr(model, "get_base_model", None)
    return get_base() if callable(get_base) else model


def labelled_hidden(model: torch.nn.Module, inputs: dict[str, Any], mask: torch.Tensor) -> torch.Tensor:
    """Last hidden states at the positions that predict a label (the head is applied by the caller)."""
    base = unwrap(model)
    backbone = getattr(base, base.base_model_prefix)
    backbone_inputs = {k: v for k, v in inputs.items() if k not in ("labels", "use_cache")}
    hidden = backbone(**backbone_inputs, use_cache=False).last_hidden_state[:, :-1]
    return hidden[mask]


def labelled_logits(model: torch.nn.Module, inputs: dict[str, Any], mask: torch.Tensor) -> torch.Tensor:
    """Full-vocabulary logits (fp32) at the labelled positions only."""
    head = unwrap(model).get_output_embeddings()
    return head(labelled_hidden(model, inputs, mask)).float()


def frozen_copy(model: torch.nn.Module) -> torch.nn.Module:
    """A frozen deep copy that runs its own weights.

    The Trainer patches ``model.forward`` on the instance (a wrapper around the *original* bound method);
    ``deepcopy`` keeps that wrapper, so the copy's ``forward`` would silently run the live policy. Dropping
    the instance-level ``forward`` restores the class method bound to the copy.
    """
    reference = copy.deepcopy(model)
    for module in reference.modules():
        module.__dict__.pop("forward", None)
    return reference.eval().requires_grad_(False)


class Proximity:
    """The anchor of one run: a frozen reference model (KL) or the starting trainable weights (L2)."""

    def __init__(self, settings: ProximitySettings, model: torch.nn.Module) -> None:
        self.kind, self.alpha = settings.kind, settings.alpha
        self.reference: torch.nn.Module | None = None
        self.start: list[tuple[torch.nn.Parameter, torch.Tensor]] = []
        if self.kind == "kl":
            self.reference = frozen_copy(model)
        elif self.kind == "l2":
            self.start = [(p, p.detach().clone()) for p in model.parameters() if p.requires_grad]
        elif self.kind != "none":
            raise ValueError(f"unknown proximity kind {self.kind!r}")

    @property
    def active(self) -> bool:
        return self.kind != "none"

    def kl_sum(self, logits: torch.Tensor, inputs: dict[str, Any], mask: torch.Tensor) -> torch.Tensor:
        """Summed per-token KL of the policy ``logits`` (labelled positions) to the reference's."""
        assert self.reference is not None
        with torch.no_grad():
            ref_logits = labelled_logits(self.reference, inputs, mask)
        return token_kl(logits, ref_logits).sum()

    def l2(self) -> torch.Tensor:
        """``||theta - theta_start||^2`` over the trainable parameters (gradient flows to theta)."""
        total = torch.zeros((), device=self.start[0][0].device if self.start else "cpu")
        for param, start in self.start:
            total = total + (param.float() - start.float()).pow(2).sum().to(total.device)
        return total


def check_supported(trainer: Any, settings: ProximitySettings) -> None:
    """Refuse the set-ups the proximity term cannot handle, before training starts."""
    if settings.kind == "none":
        return
    if getattr(trainer, "is_deepspeed_enabled", False) or getattr(trainer, "is_fsdp_enabled", False):
        raise ValueError("proximity.kind: kl / l2 are not supported with DeepSpeed or FSDP sharding; use DDP")
    if trainer.label_smoother is not None or trainer.args.loss_type != "nll" or trainer.compute_loss_func:
        raise ValueError("proximity.kind: needs the plain token cross-entropy (no label smoothing, loss_type nll)")


def loss_is_scaled_for_ga(trainer: Any, num_items_in_batch: Any) -> bool:
    """Mirror of the Trainer's rule: when True it will not divide the loss by the accumulation steps."""
    flag = getattr(trainer, "loss_is_scaled_for_ga", None)
    if flag is not None:
        return bool(flag)
    return bool(trainer.model_accepts_loss_kwargs and num_items_in_batch is not None) or (
        trainer.compute_loss_func is not None
    )


def proximity_loss(
    trainer: Any,
    proximity: Proximity,
    model: torch.nn.Module,
    inputs: dict[str, Any],
    num_items_in_batch: torch.Tensor | int | None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(loss, policy logits, targets)`` with loss = CE + alpha * term, scaled as the Trainer expects.

    CE and KL are token sums over ``num_items_in_batch`` (or this batch's label count), so gradient
    accumulation sees one token mean of each; the L2 term is added once per optimizer step.
    """
    labels = inputs["labels"][:, 1:]
    mask = labels != -100
    targets = labels[mask]
    logits = labelled_logits(model, inputs, mask)
    denominator = mask.sum().clamp(min=1) if num_items_in_batch is None else num_items_in_batch
    ce = F.cross_entropy(logits, targets, reduction="sum") / denominator
    loss = ce
    metrics = trainer._metrics["train"]
    if proximity.kind == "kl":
        kl_sum = proximity.kl_sum(logits, inputs, mask)
        loss = loss + proximity.alpha * kl_sum / denominator
        metrics["proximity/kl"].append(kl_sum.item() / max(1, int(mask.sum())))
    if trainer.args.average_tokens_across_devices and num_items_in_batch is not None:
        loss = loss * trainer.accelerator.num_processes
    if proximity.kind == "l2":
        l2 = proximity.l2()
        scale = getattr(trainer, "current_gradient_accumulation_steps", 1) or 1
        loss = loss + proximity.alpha * (l2 / scale if loss_is_scaled_for_ga(trainer, num_items_in_batch) else l2)
        metrics["proximity/l2"].append(l2.item())
    metrics["proximity/ce"].append(F.cross_entropy(logits.detach(), targets).item() if targets.numel() else 0.0)
    return loss, logits, targets
