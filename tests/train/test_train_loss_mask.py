"""Loss mask: only the completion and its EOS carry labels; the CPU head gives TRL's loss and gradients."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from train_helpers import rows
from trl import SFTTrainer

from sftgen.train.config import LoraSettings, SFTRunConfig
from sftgen.train.modeling import lora_config
from sftgen.train.sft import sft_args
from sftgen.train.trainer import SFTGenTrainer


def make_trainer(tokenizer, tmp_path, lora: bool = False) -> SFTGenTrainer:
    from datasets import Dataset

    from sftgen.models.tiny import build_tiny_model

    items = rows(2)[:6]
    dataset = Dataset.from_list([{"prompt": r["prompt"], "completion": r["completion"]} for r in items])
    config = SFTRunConfig(model="tiny", data=["unused"], out=str(tmp_path), max_steps=1, batch_size=6, progress=False)
    if lora:
        config = dataclasses.replace(config, lora=LoraSettings(enabled=True, r=4, dropout=0.0))
    return SFTGenTrainer(
        model=build_tiny_model("tiny", tokenizer, seed=0),
        args=sft_args(config, bf16=False, use_cuda=False),
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=lora_config(config) if lora else None,
    )


def first_batch(trainer) -> dict:
    batch = next(iter(trainer.get_train_dataloader()))
    return {k: v for k, v in batch.items() if isinstance(v, torch.Tensor)}


def test_only_completion_and_eos_are_labelled(tiny_tokenizer, tmp_path):
    trainer = make_trainer(tiny_tokenizer, tmp_path)
    batch = first_batch(trainer)
    by_prompt = {tiny_tokenizer.apply_chat_template(r["prompt"], tokenize=False): r for r in rows(2)[:6]}
    eos = tiny_tokenizer.eos_token_id
    assert batch["input_ids"].shape[0] == 6
    for ids, labels, mask in zip(batch["input_ids"], batch["labels"], batch["attention_mask"], strict=True):
        length = int(mask.sum())
        assert (labels[length:] == -100).all() and (ids[length:] == tiny_tokenizer.pad_token_id).all()
        labelled = (labels != -100).nonzero().flatten()
        start = int(labelled[0])
        assert labelled.tolist() == list(range(start, length))  # one contiguous block up to the end
        assert torch.equal(labels[start:length], ids[start:length])
        assert int(ids[length - 1]) == eos and int(labels[length - 1]) == eos  # EOS is learned
        prompt_text = tiny_tokenizer.decode(ids[:start].tolist())
        row = by_prompt[prompt_text.removesuffix("<|assistant|>")]
        assert prompt_text.endswith("<|assistant|>")  # the generation prompt is context, not target
        completion = tiny_tokenizer.decode(ids[start : length - 1].tolist())
        assert completion == row["completion"][0]["content"]


@pytest.mark.parametrize("lora", [False, True])
def test_cpu_head_matches_trl_loss_and_gradients(tiny_tokenizer, tmp_path, lora):
    trainer = make_trainer(tiny_tokenizer, tmp_path, lora=lora)
    model = trainer.model.train()
    batch = first_batch(trainer)
    assert trainer._cpu_fast_path(model, return_outputs=False)

    def loss_and_grads(compute) -> tuple[float, list[torch.Tensor]]:
        model.zero_grad(set_to_none=True)
        loss = compute(trainer, model, dict(batch), num_items_in_batch=None)
        loss.backward()
        grads = [p.grad.clone() for p in model.parameters() if p.requires_grad]
        return loss.item(), grads

    ours, our_grads = loss_and_grads(SFTGenTrainer.compute_loss)
    theirs, their_grads = loss_and_grads(SFTTrainer.compute_loss)
    assert ours == pytest.approx(theirs, rel=1e-5)
    for a, b in zip(our_grads, their_grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
    tokens = int((batch["labels"][:, 1:] != -100).sum())
    halved = SFTGenTrainer.compute_loss(trainer, model, dict(batch), num_items_in_batch=2 * tokens)
    assert halved.item() == pytest.approx(ours / 2, rel=1e-5)  # gradient accumulation normalises globally
