"""TRL adapter: GRPO prompt rows from splits, the verifier as a TRL reward, and a few real GRPOTrainer steps."""

from __future__ import annotations

import json
import random

import pytest
from integration_helpers import sampled_answers

from sftgen.integrations import trl as adapter
from sftgen.integrations.items import make_items, score
from sftgen.prompts import PromptStyle
from sftgen.splits import resolve_splits
from sftgen.tasks.protocol import task_names

trl = pytest.importorskip("trl", reason="TRL is not installed")


def test_rows_carry_the_prompt_and_ground_truth_for_every_task() -> None:
    dataset = adapter.grpo_dataset("sokoban/numerical,points/fake,keys/alphabetical", size=2)
    assert dataset.column_names == ["prompt", "ground_truth", "split", "words"]
    items = make_items("sokoban/numerical", 2) + make_items("points/fake", 2) + make_items("keys/alphabetical", 2)
    for row, item in zip(dataset, items, strict=True):
        assert row["prompt"] == item.prompt
        assert json.loads(row["ground_truth"]) == item.ground_truth
    assert dataset[0]["words"] == ["1", "2", "3", "4"] and dataset[2]["words"] == []
    assert dataset[4]["words"] == ["A", "B", "C", "D"]


@pytest.mark.parametrize("task", task_names())
def test_verifier_reward_agrees_with_the_verifier_on_1000_answers_per_task(task: str) -> None:
    """Completions arrive as chat messages, as TRL passes them for chat prompts; one dataset of the task's group
    (every evaluation split, 15 items each)."""
    rng = random.Random(1)
    items = [item for split in resolve_splits(task, 15) for item in make_items(split)]
    dataset = adapter.grpo_dataset(task, size=15)
    prompts, completions, truths, expected = [], [], [], []
    for row, item in zip(dataset, items, strict=True):
        for answer in sampled_answers(item, rng):
            prompts.append(row["prompt"])
            completions.append([{"role": "assistant", "content": answer}])
            truths.append(row["ground_truth"])
            expected.append(score(answer, item.ground_truth).reward)
    assert len(expected) >= 1000
    rewards = adapter.verifier_reward(prompts=prompts, completions=completions, ground_truth=truths)
    assert rewards == expected


def test_the_episode_reward_deals_each_row_from_its_ground_truth_and_refuses_fake_splits() -> None:
    """Every task's row is dealt again from its ground truth (the prompt text is not read): the env shows the row's
    prompt. A fake split's prompt declares other words than the replay would, so its rows are refused."""
    dataset = adapter.grpo_dataset("sokoban/id,points/id,keys/id,keys/next_colour", size=2, template="compact")
    checks = adapter.ground_truth_checks(len(dataset), dataset.to_dict())
    for row, (task, check) in zip(dataset, checks, strict=True):
        assert task.check_env(check, PromptStyle("compact"), 3).observation() == row["prompt"]
    fake = adapter.grpo_dataset("sokoban/id,keys/fake_numerical", size=1, template="compact")
    with pytest.raises(ValueError, match="keys/fake_numerical is a fake split"):
        adapter.ground_truth_checks(len(fake), fake.to_dict())


def grpo_trainer(tmp_path, dataset, reward_funcs, steps: int):
    from sftgen.models.tiny import build_tiny_model
    from sftgen.models.tokenizer import build_tokenizer
    from sftgen.train.lifecycle import checkpointing_kwargs

    texts = [m["content"] for prompt in dataset["prompt"] for m in prompt]
    texts += [item.reference for name in dataset.unique("split") for item in make_items(name, 1, template="compact")]
    tokenizer = build_tokenizer(texts)
    args = trl.GRPOConfig(
        output_dir=str(tmp_path),
        per_device_train_batch_size=4,
        num_generations=4,
        max_completion_length=8,
        max_steps=steps,
        learning_rate=1e-3,
        logging_steps=1,
        use_cpu=True,
        bf16=False,
        report_to=[],
        save_strategy="no",
        disable_tqdm=True,
        dataloader_num_workers=0,
        remove_unused_columns=False,
        **checkpointing_kwargs(trl.GRPOConfig, False),
    )
    model = build_tiny_model("tiny", tokenizer, seed=0)
    return trl.GRPOTrainer(
        model=model, reward_funcs=reward_funcs, args=args, train_dataset=dataset, processing_class=tokenizer
    )


def test_grpo_trains_a_tiny_model_on_mixed_splits_with_both_rewards(tmp_path) -> None:
    """Not marked slow: about 12 s on one core (two short runs, 8-token completions)."""
    mixed = adapter.grpo_dataset("sokoban/id,points/id", size=4, template="compact")
    trainer = grpo_trainer(tmp_path / "mixed", mixed, [adapter.verifier_reward], steps=2)
    trainer.train()
    logged = [entry for entry in trainer.state.log_history if "rewards/sftgen_verifier/mean" in entry]
    assert len(logged) == 2

    grid = adapter.grpo_dataset("sokoban/id,keys/id", size=2, template="compact")
    episode = adapter.episode_reward(template="compact", turns=2, max_new_tokens=8)
    trainer = grpo_trainer(tmp_path / "episode", grid, [adapter.verifier_reward, episode], steps=1)
    episode.attach(trainer)
    trainer.train()
    assert any("rewards/episode_reward/mean" in entry for entry in trainer.state.log_history)
