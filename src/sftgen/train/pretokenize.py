"""Chat prompt/completion rows tokenized in batches, to the same ids and labels TRL's ``SFTTrainer`` would build.

Why: TRL prepares a dataset one row at a time (render the chat template, tokenize, then three more passes for
labels, truncation and fully masked rows), about 0.7 ms a row here: 38 s of a 10-minute `quick` Sokoban job
before its first step, and ~180 MB of cache files written into the data folder. Rendering the template over a
list and tokenizing the texts in one batch call gives the same ids about three times faster, in memory; the
trainer is then told to skip its own preparation (``skip_prepare_dataset``). What TRL does is copied exactly:
the prompt is rendered with the generation prompt, the completion starts where the prompt's ids and the whole
conversation's ids part (``common_prefix_length``), labels are -100 before it, sequences are cut to
``max_length`` at the end ``truncation_mode`` keeps, and rows left with no label are dropped
(``tests/train/test_train_pretokenize.py`` compares both on every template and task).
"""

from __future__ import annotations

from typing import Any

IGNORE = -100


def _is_chat(messages: Any) -> bool:
    return isinstance(messages, list) and all(isinstance(m, dict) and "role" in m for m in messages)


def can_pretokenize(dataset: Any, tokenizer: Any) -> bool:
    """Only the case TRL handles as plain chat prompt/completion: a text tokenizer with a chat template, and rows
    holding nothing but conversational ``prompt`` and ``completion`` (no tools, no per-row template arguments)."""
    from transformers import PreTrainedTokenizerBase

    if not isinstance(tokenizer, PreTrainedTokenizerBase) or not getattr(tokenizer, "chat_template", None):
        return False
    if sorted(dataset.column_names) != ["completion", "prompt"] or len(dataset) == 0:
        return False
    first = dataset[0]
    return _is_chat(first["prompt"]) and _is_chat(first["completion"])


def _labelled(prompt_ids: list[int], ids: list[int], max_length: int | None, keep: str) -> tuple[list, list]:
    from trl.data_utils import common_prefix_length

    start = common_prefix_length(prompt_ids, ids)
    labels = [IGNORE] * start + ids[start:]
    if max_length is not None:
        cut = slice(None, max_length) if keep == "keep_start" else slice(-max_length, None)
        ids, labels = ids[cut], labels[cut]
    return ids, labels


def for_trainer(dataset: Any, tokenizer: Any, args: Any) -> tuple[Any, bool]:
    """``(rows, True)`` tokenized here when TRL would read ``dataset`` as plain chat prompt/completion rows under
    ``args`` and its first rows tokenize to the ids TRL's per-row call gives, with ``args`` told to skip TRL's own
    preparation; else ``(dataset, False)`` and ``args`` untouched, for TRL."""
    plain = (
        args.completion_only_loss is not False
        and not args.assistant_only_loss
        and not args.packing
        and not args.padding_free
        and not args.shuffle_dataset  # TRL shuffles inside the preparation this would skip
        and not (args.dataset_kwargs or {}).get("skip_prepare_dataset")
        and args.chat_template_path is None
        and args.eos_token is None
    )
    if not plain or not can_pretokenize(dataset, tokenizer):
        return dataset, False
    sample = dataset.select(range(min(8, len(dataset))))
    ours = pretokenize(sample, tokenizer, None)
    for index, row in enumerate(sample):
        prompt = tokenizer.apply_chat_template(
            row["prompt"], tokenize=True, return_dict=True, add_generation_prompt=True
        )
        whole = tokenizer.apply_chat_template(row["prompt"] + row["completion"], tokenize=True, return_dict=True)
        ids, labels = _labelled(list(prompt["input_ids"]), list(whole["input_ids"]), None, "keep_start")
        if index >= len(ours) or ours[index] != {"input_ids": ids, "labels": labels}:
            return dataset, False
    rows = pretokenize(dataset, tokenizer, args.max_length, args.truncation_mode)
    args.dataset_kwargs = {**(args.dataset_kwargs or {}), "skip_prepare_dataset": True}
    return rows, True


def pretokenize(dataset: Any, tokenizer: Any, max_length: int | None, truncation_mode: str = "keep_start") -> Any:
    """A ``datasets.Dataset`` of ``input_ids`` and ``labels``, row order kept, rows without a label dropped."""
    from datasets import Dataset

    if truncation_mode not in ("keep_start", "keep_end"):
        raise ValueError(f"truncation_mode: {truncation_mode!r}, expected 'keep_start' or 'keep_end'")
    columns = dataset.to_dict()
    prompts, completions = columns["prompt"], columns["completion"]
    prompt_texts = tokenizer.apply_chat_template(prompts, tokenize=False, add_generation_prompt=True)
    texts = tokenizer.apply_chat_template([p + c for p, c in zip(prompts, completions, strict=True)], tokenize=False)
    prompt_ids = tokenizer(prompt_texts, add_special_tokens=False)["input_ids"]
    full_ids = tokenizer(texts, add_special_tokens=False)["input_ids"]
    rows: dict[str, list[list[int]]] = {"input_ids": [], "labels": []}
    for prompt, ids in zip(prompt_ids, full_ids, strict=True):
        kept, labels = _labelled(prompt, ids, max_length, truncation_mode)
        if any(label != IGNORE for label in labels):
            rows["input_ids"].append(kept)
            rows["labels"].append(labels)
    return Dataset.from_dict(rows)
