"""Batch tokenization gives exactly the ids and labels TRL's own per-row preparation gives, or stands aside."""

from __future__ import annotations

import dataclasses

import pytest
from train_helpers import rows

from sftgen.train import pretokenize as pretokenize_module
from sftgen.train.config import SFTRunConfig
from sftgen.train.pretokenize import for_trainer
from sftgen.train.sft import sft_args


def _dataset(items: list[dict]):
    from datasets import Dataset

    return Dataset.from_list([{"prompt": r["prompt"], "completion": r["completion"]} for r in items])


def _args(tmp_path, **settings):
    config = SFTRunConfig(model="tiny", data=["unused"], out=str(tmp_path), max_steps=1, progress=False)
    args = sft_args(dataclasses.replace(config, **settings), bf16=False, use_cuda=False)
    return args


def _trl_prepared(dataset, tokenizer, args):
    """What TRL's ``SFTTrainer`` trains on when it prepares ``dataset`` itself."""
    from trl import SFTTrainer

    from sftgen.models.tiny import build_tiny_model

    trainer = SFTTrainer(
        model=build_tiny_model("tiny", tokenizer, seed=0), args=args, train_dataset=dataset, processing_class=tokenizer
    )
    return trainer.train_dataset


@pytest.mark.parametrize(
    ("task", "kind", "template"),
    [
        ("sokoban", "answer-only", "compact"),
        ("sokoban", "diverse-cot", "compact"),
        ("sokoban", "cot", "study"),
        ("points", "diverse", "compact"),
        ("points", "cot", "study"),
    ],
)
def test_same_ids_and_labels_as_trl(tiny_tokenizer, tmp_path, task, kind, template):
    dataset = _dataset(rows(3, template=template, kind=kind, task=task)[:12])
    args = _args(tmp_path)
    ours, prepared = for_trainer(dataset, tiny_tokenizer, args)
    theirs = _trl_prepared(dataset, tiny_tokenizer, _args(tmp_path))
    assert prepared and args.dataset_kwargs["skip_prepare_dataset"]  # the trainer must not prepare them again
    assert ours.column_names == ["input_ids", "labels"]
    assert ours["input_ids"][:] == theirs["input_ids"][:]
    assert ours["labels"][:] == theirs["labels"][:]
    assert any(label == -100 for label in ours["labels"][0]) and ours["labels"][0][-1] != -100


@pytest.mark.parametrize("mode", ["keep_start", "keep_end"])
def test_truncation_and_dropped_rows_as_trl(tiny_tokenizer, tmp_path, mode):
    """Cut where TRL cuts; under ``keep_start`` a cut that leaves no label drops the row, as TRL does."""
    # General Points prompts are 36 tokens, Sokoban's 48-50: at 40, only keep_start leaves Sokoban rows no label
    dataset = _dataset(rows(6, task="points")[:6] + rows(3)[:6])
    cut = 40

    def truncating():
        args = _args(tmp_path, max_length=cut)
        args.truncation_mode = mode
        return args

    ours, prepared = for_trainer(dataset, tiny_tokenizer, truncating())
    theirs = _trl_prepared(dataset, tiny_tokenizer, truncating())
    assert prepared and max(len(ids) for ids in ours["input_ids"][:]) == cut
    assert len(ours) == (6 if mode == "keep_start" else 12)
    assert ours["input_ids"][:] == theirs["input_ids"][:] and ours["labels"][:] == theirs["labels"][:]


def test_stands_aside_for_what_it_does_not_copy(tiny_tokenizer, tmp_path):
    dataset = _dataset(rows(2)[:4])
    assert not for_trainer(dataset.add_column("tools", ["[]"] * 4), tiny_tokenizer, _args(tmp_path))[1]
    packed = _args(tmp_path)
    packed.packing = True
    assert not for_trainer(dataset, tiny_tokenizer, packed)[1]
    shuffled = _args(tmp_path)
    shuffled.shuffle_dataset = True
    assert not for_trainer(dataset, tiny_tokenizer, shuffled)[1]
    text = dataset.map(lambda r: {"prompt": "say", "completion": "it"})
    assert not for_trainer(text, tiny_tokenizer, _args(tmp_path))[1]


def test_falls_back_when_batch_ids_disagree_with_trl(tiny_tokenizer, tmp_path, monkeypatch):
    """The first rows are tokenized both ways before the batch path is trusted."""
    dataset = _dataset(rows(2)[:4])
    real = pretokenize_module.pretokenize

    def one_token_more(data, tokenizer, max_length, truncation_mode="keep_start"):
        out = real(data, tokenizer, max_length, truncation_mode)
        return out.map(lambda r: {"input_ids": r["input_ids"] + [tokenizer.eos_token_id]})

    monkeypatch.setattr(pretokenize_module, "pretokenize", one_token_more)
    args = _args(tmp_path)
    same, prepared = for_trainer(dataset, tiny_tokenizer, args)
    assert not prepared and same is dataset
    assert not (args.dataset_kwargs or {}).get("skip_prepare_dataset")  # TRL prepares them as usual


def test_sft_run_trains_on_batch_tokenized_rows(small_data, tmp_path):
    from sftgen.train.sft import SFTRun, preflight

    config = SFTRunConfig(model="tiny", data=[small_data], out=str(tmp_path / "run"), max_steps=1, progress=False)
    built = SFTRun(preflight(config)).build(use_cuda=False, bf16=False)
    assert built.trainer.args.dataset_kwargs["skip_prepare_dataset"]
    assert built.trainer.train_dataset.column_names == ["input_ids", "labels"]
    assert len(built.trainer.train_dataset) == 8
