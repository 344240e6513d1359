"""Trainer callbacks and run-folder helpers shared by the SFT and GRPO trainers.

Why: every saved model folder, checkpoints included, must say which prompt family it was trained on
(``sftgen_model.json``, read by eval), a crash in the middle of writing a checkpoint must not be mistaken for
a checkpoint on resume, and the loss history should survive in plain JSONL next to the run.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from sftgen.io import atomic_write_json, atomic_write_text

MODEL_INFO = "sftgen_model.json"
MODEL_INFO_FORMAT = "sftgen-model-v1"
TRAINER_STATE = "trainer_state.json"
CHECKPOINT_RE = re.compile(r"^checkpoint-(\d+)$")


def write_model_info(folder: str | Path, info: dict[str, Any], step: int) -> None:
    """``folder/sftgen_model.json``: ``{"template", "response_format", ...}`` plus the step it holds."""
    atomic_write_json(Path(folder) / MODEL_INFO, {"format": MODEL_INFO_FORMAT, **info, "step": step})


def end_of_turn_ids(tokenizer: Any) -> list[int]:
    """The special token the chat template writes right after an assistant message (``<|im_end|>``,
    ``<|eot_id|>``, ...), or nothing when the template ends a turn with plain text."""
    if not getattr(tokenizer, "chat_template", None):
        return []
    mark = "SFTGEN-END-OF-MESSAGE"
    chat = [{"role": "user", "content": "q"}, {"role": "assistant", "content": mark}]
    text = tokenizer.apply_chat_template(chat, tokenize=False)
    after = text.split(mark, 1)[1] if mark in text else ""
    ids = tokenizer.encode(after, add_special_tokens=False) if after else []
    special = set(getattr(tokenizer, "all_special_ids", [])) | set(getattr(tokenizer, "added_tokens_decoder", {}))
    return ids[:1] if ids and ids[0] in special else []


def add_stop_ids(folder: str | Path, stop_ids: list[int]) -> None:
    """Add ``stop_ids`` to ``generation_config.json``'s ``eos_token_id`` in a saved model folder.

    Why: SFT teaches the model to end its answer with the chat template's end-of-turn token, but a base model's
    generation config names only its document end (Qwen2.5-7B: ``<|endoftext|>``, while ChatML turns end with
    ``<|im_end|>``). sftgen's own backend stops at both; vLLM stops where the generation config says, and would run
    every answer on to ``max_tokens``.
    """
    path = Path(folder) / "generation_config.json"
    if not stop_ids or not path.is_file():
        return
    config = json.loads(path.read_text(encoding="utf-8"))
    eos = config.get("eos_token_id")
    current = eos if isinstance(eos, list) else ([] if eos is None else [eos])
    merged = [*current, *(i for i in stop_ids if i not in current)]
    if merged != current:
        config["eos_token_id"] = merged
        atomic_write_json(path, config)


def read_model_info(folder: str | Path) -> dict[str, Any]:
    """The prompt family a saved model was trained on (what eval needs to prompt it the same way)."""
    return json.loads((Path(folder) / MODEL_INFO).read_text(encoding="utf-8"))


def checkpoints(run_dir: str | Path) -> list[tuple[int, Path]]:
    """``(step, folder)`` of every ``checkpoint-N`` folder, oldest first, complete or not."""
    root = Path(run_dir)
    if not root.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in root.iterdir() if p.is_dir() and (m := CHECKPOINT_RE.match(p.name))]
    return sorted(found)


def is_complete_checkpoint(folder: Path) -> bool:
    """Written last by ``ModelInfoCallback``, after the trainer state: its presence means the save finished."""
    return (folder / TRAINER_STATE).is_file() and (folder / MODEL_INFO).is_file()


def last_checkpoint(run_dir: str | Path) -> Path | None:
    """The newest complete checkpoint (a half-written one from a crash is skipped)."""
    complete = [folder for _, folder in checkpoints(run_dir) if is_complete_checkpoint(folder)]
    return complete[-1] if complete else None


class ModelInfoCallback(TrainerCallback):
    """After each checkpoint save, add the end-of-turn stop ids to its generation config and write
    ``sftgen_model.json`` into it, last (main process only)."""

    def __init__(self, info: dict[str, Any], stop_ids: list[int] | None = None) -> None:
        self.info = info
        self.stop_ids = stop_ids or []

    def on_save(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any) -> None:
        if state.is_world_process_zero:
            folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            if folder.is_dir():
                add_stop_ids(folder, self.stop_ids)
                write_model_info(folder, self.info, state.global_step)


Log = dict[str, Any]


class LogRecordCallback(TrainerCallback):
    """A callback that acts on each logged record: ``on_record`` gets the record (``{}`` when none came)."""

    def on_log(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        logs: Log | None = None,
        **kwargs: Any,
    ) -> None:
        self.on_record(args, state, control, logs or {})

    def on_record(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, logs: Log) -> None:
        raise NotImplementedError


class JsonlLogCallback(LogRecordCallback):
    """Append every log record (loss, lr, grad norm, token accuracy, ...) to ``RUN/log.jsonl``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def on_train_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        """Keep only the records up to the step training starts from: a run killed after its last checkpoint and
        resumed (or restarted from scratch) logs those steps again, and the old lines would appear twice."""
        if not state.is_world_process_zero or not self.path.is_file():
            return
        kept = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except ValueError:  # a line cut by the kill
                continue
            if record.get("step", 0) <= state.global_step and "train_runtime" not in record:  # not a run's summary
                kept.append(line + "\n")
        atomic_write_text(self.path, "".join(kept))

    def on_record(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, logs: Log) -> None:
        if not state.is_world_process_zero or not logs:
            return
        record = {"step": state.global_step, "epoch": state.epoch, **logs}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, sort_keys=True) + "\n")


class StopAtLossCallback(LogRecordCallback):
    """End training (and checkpoint) once a logged loss reaches ``threshold``: for memorisation checks."""

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self.stopped_at: int | None = None

    def on_record(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, logs: Log) -> None:
        loss = logs.get("loss")
        if loss is not None and float(loss) <= self.threshold and not control.should_training_stop:
            control.should_training_stop = True
            control.should_save = args.save_strategy != "no"
            self.stopped_at = state.global_step


def final_logged_loss(log_history: list[dict[str, Any]]) -> float | None:
    """The last logged training loss (``train_loss`` averages the whole run, which hides the end)."""
    for record in reversed(log_history):
        if "loss" in record:
            return float(record["loss"])
    return None
