"""TRL's SFTTrainer with ``assistant_only_loss=True`` trains on exactly the answer + EOS of our template."""

from __future__ import annotations

import pytest
from datasets import Dataset

from sftgen.models.tiny import build_tiny_model
from sftgen.train.lifecycle import checkpointing_kwargs

trl = pytest.importorskip("trl")


def test_sft_trainer_labels_only_the_assistant_answer(tmp_path, tokenizer, sokoban_prompts):
    model = build_tiny_model("tiny", tokenizer, seed=0)
    rows = [
        {
            "messages": [
                {"role": "user", "content": sokoban_prompts[variant]},
                {"role": "assistant", "content": f"<answer> {word} </answer>"},
            ]
        }
        for variant, word in [("base", "Up"), ("numerical", "3")]
    ]
    config = trl.SFTConfig(
        output_dir=str(tmp_path),
        assistant_only_loss=True,
        max_steps=1,
        per_device_train_batch_size=2,
        **checkpointing_kwargs(trl.SFTConfig, False),  # TRL defaults it to True
        bf16=False,
        use_cpu=True,
        report_to=[],
        save_strategy="no",
        disable_tqdm=True,
    )
    trainer = trl.SFTTrainer(
        model=model, args=config, train_dataset=Dataset.from_list(rows), processing_class=tokenizer
    )
    answers = []
    for example in trainer.train_dataset:
        kept = [i for i, label in zip(example["input_ids"], example["labels"], strict=True) if label != -100]
        answers.append(tokenizer.decode(kept))
    assert answers == ["<answer> Up </answer><eos>", "<answer> 3 </answer><eos>"]
    before = model.lm_head.weight.detach().clone()
    trainer.train()
    assert not model.lm_head.weight.detach().equal(before)
