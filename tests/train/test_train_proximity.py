"""Proximity-controlled SFT: the loss is CE + alpha * term computed by hand, the KL and L2 terms start at 0, the L2
term grows after a step, the term is logged apart, and config errors name proximity.alpha / proximity.kind."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
import torch.nn.functional as F
from train_helpers import rows

from sftgen.train.config import LoraSettings, ProximitySettings, SFTRunConfig
from sftgen.train.modeling import lora_config
from sftgen.train.proximity import token_kl
from sftgen.train.sft import sft_args, train
from sftgen.train.trainer import SFTGenTrainer
from sftgen.train.typed import ConfigError


def make_trainer(tokenizer, tmp_path, kind: str, alpha: float = 0.5, lora: bool = False, **changes) -> SFTGenTrainer:
    from datasets import Dataset

    from sftgen.models.tiny import build_tiny_model

    items = rows(2)[:6]
    dataset = Dataset.from_list([{"prompt": r["prompt"], "completion": r["completion"]} for r in items])
    config = SFTRunConfig(
        model="tiny", data=["unused"], out=str(tmp_path), max_steps=1, batch_size=6, progress=False, **changes
    )
    if lora:
        config = dataclasses.replace(config, lora=LoraSettings(enabled=True, r=4, dropout=0.0))
    return SFTGenTrainer(
        model=build_tiny_model("tiny", tokenizer, seed=0),
        args=sft_args(config, bf16=False, use_cuda=False),
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=lora_config(config) if lora else None,
        proximity=ProximitySettings(kind=kind, alpha=alpha),
    )


def first_batch(trainer) -> dict:
    batch = next(iter(trainer.get_train_dataloader()))
    return {k: v for k, v in batch.items() if isinstance(v, torch.Tensor)}


def by_hand(model, batch) -> tuple[torch.Tensor, torch.Tensor]:
    """(labelled logits, targets) from a plain full forward pass: no shortcut shared with the trainer."""
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, :-1]
    labels = batch["labels"][:, 1:]
    mask = labels != -100
    return logits[mask].float(), labels[mask]


def perturb(model, scale: float = 0.05) -> None:
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.add_(torch.randn(p.shape, generator=generator) * scale)


def test_kl_is_zero_at_the_start_then_loss_is_ce_plus_alpha_kl(tiny_tokenizer, tmp_path):
    trainer = make_trainer(tiny_tokenizer, tmp_path, "kl", alpha=0.5)
    model, batch = trainer.model.train(), first_batch(trainer)
    logits, targets = by_hand(model, batch)
    ce = F.cross_entropy(logits, targets)
    loss = trainer.compute_loss(model, dict(batch))
    assert trainer._metrics["train"]["proximity/kl"][-1] == pytest.approx(0.0, abs=1e-6)  # model == reference
    assert loss.item() == pytest.approx(ce.item(), rel=1e-5)

    perturb(model)  # the policy moves, the frozen reference does not
    logits, targets = by_hand(model, batch)
    ref_logits, _ = by_hand(trainer.proximity.reference, batch)
    log_p, log_q = torch.log_softmax(logits, -1), torch.log_softmax(ref_logits, -1)
    kl = (log_p.exp() * (log_p - log_q)).sum(-1).mean()
    expected = F.cross_entropy(logits, targets) + 0.5 * kl
    loss = trainer.compute_loss(model, dict(batch))
    assert kl.item() > 1e-3
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    assert trainer._metrics["train"]["proximity/kl"][-1] == pytest.approx(kl.item(), rel=1e-5)
    tokens = int(targets.numel())  # gradient accumulation: CE and KL are both token sums over the global count
    assert trainer.compute_loss(model, dict(batch), num_items_in_batch=2 * tokens).item() == pytest.approx(
        expected.item() / 2, rel=1e-5
    )
    loss.backward()
    assert all(p.grad is None for p in trainer.proximity.reference.parameters())


def test_token_kl_matches_torch():
    a, b = torch.randn(5, 11), torch.randn(5, 11)
    expected = F.kl_div(torch.log_softmax(b, -1), torch.log_softmax(a, -1), log_target=True, reduction="none").sum(-1)
    torch.testing.assert_close(token_kl(a, b), expected)
    assert token_kl(a, a).abs().max() < 1e-6


def test_l2_is_zero_at_the_start_then_loss_is_ce_plus_alpha_l2(tiny_tokenizer, tmp_path):
    trainer = make_trainer(tiny_tokenizer, tmp_path, "l2", alpha=0.1)
    model, batch = trainer.model.train(), first_batch(trainer)
    assert trainer.proximity.l2().item() == 0.0
    start = {n: p.detach().clone() for n, p in model.named_parameters()}
    perturb(model)
    logits, targets = by_hand(model, batch)
    l2 = sum(((p - start[n]) ** 2).sum() for n, p in model.named_parameters())
    loss = trainer.compute_loss(model, dict(batch))
    assert loss.item() == pytest.approx((F.cross_entropy(logits, targets) + 0.1 * l2).item(), rel=1e-5)
    assert trainer._metrics["train"]["proximity/l2"][-1] == pytest.approx(l2.item(), rel=1e-5)


def test_l2_grows_after_a_step_and_is_logged(tiny_tokenizer, tmp_path):
    trainer = make_trainer(tiny_tokenizer, tmp_path, "l2", alpha=0.1, lr=1e-3, warmup_ratio=0.0, logging_steps=1)
    assert trainer.proximity.l2().item() == 0.0
    trainer.train()
    assert trainer.proximity.l2().item() > 0.0
    logged = [r for r in trainer.state.log_history if "proximity/l2" in r]
    assert logged and logged[0]["proximity/l2"] == 0.0  # measured in the step's forward, before the update


def test_lora_kl_anchor_is_the_start(tiny_tokenizer, tmp_path):
    trainer = make_trainer(tiny_tokenizer, tmp_path, "kl", lora=True)
    model, batch = trainer.model.train(), first_batch(trainer)
    trainer.compute_loss(model, dict(batch))
    assert trainer._metrics["train"]["proximity/kl"][-1] == pytest.approx(0.0, abs=1e-6)


def test_sft_run_logs_the_term(tmp_path, small_data):
    config = SFTRunConfig(
        model="tiny",
        data=[small_data],
        out=str(tmp_path / "run"),
        lr=1e-3,
        batch_size=4,
        max_steps=3,
        logging_steps=1,
        save_steps=3,
        progress=False,
        proximity=ProximitySettings(kind="kl", alpha=0.1),
    )
    train(config)
    logs = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    terms = [r["proximity/kl"] for r in logs if "proximity/kl" in r]
    assert len(terms) == 3 and terms[0] == pytest.approx(0.0, abs=1e-6) and terms[-1] > 0.0
    assert all("proximity/ce" in r for r in logs if "loss" in r)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"proximity": {"kind": "kl", "alpha": 0}}, "proximity.alpha"),
        ({"proximity": {"kind": "l2", "alpha": -0.1}}, "proximity.alpha"),
        ({"proximity": {"kind": "kl", "alpha": float("nan")}}, "proximity.alpha"),
        ({"proximity": {"kind": "js"}}, "proximity.kind"),
        ({"proximity": {"weight": 0.1}}, "proximity.weight"),
        ({"proximity": {"alpha": "big"}}, "proximity.alpha"),
    ],
)
def test_config_errors_name_the_field(data, field):
    base = {"model": "tiny", "data": ["d"], "out": "o", "max_steps": 1}
    with pytest.raises(ConfigError) as err:
        SFTRunConfig.from_dict({**base, **data}).validate()
    assert err.value.field == field


def test_config_round_trip_and_default_off(tmp_path):
    config = SFTRunConfig(model="tiny", data=["d"], out="o", max_steps=1)
    assert config.proximity == ProximitySettings(kind="none", alpha=0.1)
    config = config.with_overrides(["proximity.kind=l2", "proximity.alpha=0.05"])
    config.validate()
    config.to_yaml(tmp_path / "c.yaml")
    assert SFTRunConfig.from_yaml(tmp_path / "c.yaml").proximity == ProximitySettings("l2", 0.05)
