"""Supervised fine-tuning with TRL's ``SFTTrainer``: full or LoRA, tiny from-scratch or pretrained, CPU or GPUs.

Loss is on the completion only, including the chat template's end of turn (TRL's ``completion_only_loss`` on
the conversational prompt/completion rows of ``sftgen generate``). Everything is set by ``SFTRunConfig``.

The run folder and the steps of a run are ``sftgen.train.lifecycle``'s (shared with GRPO).

Resume: ``resume: auto`` (default) continues from the newest *complete* checkpoint after a crash; raise
``max_steps`` / ``epochs`` and run again to extend a finished run.

Commands::

    # CPU (one process, 1 torch thread):
    sftgen train sft --config recipes/sft/tiny-sokoban-answer-only.yaml
    sftgen train sft --data runs/data/sok --model tiny --out runs/sft/tiny --max-steps 2000 --lr 1e-3

    # one GPU (bf16 switches on by itself):
    sftgen train sft --config recipes/sft/qwen2.5-7b-sokoban-answer-only.yaml

    # 8 GPUs, DeepSpeed ZeRO-3 or FSDP (accelerate does the distribution; nothing here is distributed code):
    accelerate launch --config_file configs/accelerate/deepspeed_zero3.yaml \\
        -m sftgen.train.sft_main --config recipes/sft/qwen2.5-7b-sokoban-answer-only.yaml
    accelerate launch --config_file configs/accelerate/fsdp.yaml \\
        $(which sftgen) train sft --config recipes/sft/qwen2.5-7b-sokoban-answer-only.yaml
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sftgen.train.callbacks import StopAtLossCallback
from sftgen.train.config import SFTRunConfig
from sftgen.train.data import DataSource, load_training_dataset, mixed_counts, prompt_family, read_source
from sftgen.train.lifecycle import Built, Method, RunResult, check_start, execute, run_callbacks, trl_args
from sftgen.train.modeling import (
    build_model,
    expand_blocks,
    freeze_parameters,
    lora_config,
    set_attention_dropout,
)
from sftgen.train.pretokenize import for_trainer

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Plan:
    """What preflight found: the data, the prompt family, where to resume from. Nothing is written yet."""

    config: SFTRunConfig
    sources: list[DataSource]
    family: dict[str, Any]
    resume_from: Path | None


def preflight(config: SFTRunConfig) -> Plan:
    """Validate values, data folders, the model name, the tracker and the resume state; write nothing."""
    config.validate()
    sources = [read_source(folder) for folder in config.data]
    family = prompt_family(sources, config.mix_weights, config.template)
    return Plan(config, sources, family, check_start(config))


def sft_args(config: SFTRunConfig, bf16: bool, use_cuda: bool) -> Any:
    """TRL ``SFTConfig`` from our config: the shared settings (``trl_args``) plus SFT's batch, length and loss."""
    from trl import SFTConfig

    return trl_args(
        SFTConfig,
        config,
        bf16,
        use_cuda,
        per_device_train_batch_size=config.batch_size,
        train_sampling_strategy="group_by_length" if config.group_by_length else "random",
        gradient_accumulation_steps=config.grad_accum,
        num_train_epochs=config.epochs if config.epochs is not None else 1.0,
        max_steps=config.max_steps if config.max_steps is not None else -1,
        max_length=config.max_length,
        save_strategy="steps" if config.save_steps else "epoch",
        save_steps=config.save_steps or 500,
        eval_strategy="no",
        completion_only_loss=True,
        assistant_only_loss=False,
        packing=False,
        dataset_num_proc=config.dataset_num_proc,
        neftune_noise_alpha=config.neftune_noise_alpha,
    )


class SFTRun(Method):
    """SFT's part of the lifecycle: mixed prompt/completion data, ``SFTGenTrainer``, freezing and block expansion."""

    def __init__(self, plan: Plan) -> None:
        self.plan, self.config, self.resume_from = plan, plan.config, plan.resume_from
        self.stopper: StopAtLossCallback | None = None

    def build(self, use_cuda: bool, bf16: bool) -> Built:
        from sftgen.train.trainer import SFTGenTrainer

        config, plan = self.config, self.plan
        args = sft_args(config, bf16, use_cuda)  # first: under ZeRO-3 it sets up sharded loading of the model
        dataset = load_training_dataset(plan.sources, config.mix_weights, config.seed)
        model, tokenizer, init_kwargs = build_model(config, plan.resume_from, bf16)
        model = expand_blocks(model, config.expand.after, config.expand.blocks)
        if config.attention_dropout is not None:
            model, init_kwargs = set_attention_dropout(model, init_kwargs, config.attention_dropout)
        args.model_init_kwargs = init_kwargs
        dataset, prepared = for_trainer(dataset, tokenizer, args)
        if prepared:  # the same ids and labels TRL's own preparation would build (sftgen.train.pretokenize)
            logger.info("tokenized %d rows in batches; TRL's per-row preparation skipped", len(dataset))
        info = {**plan.family, "base_model": config.model, "lora": config.lora.enabled}
        callbacks = run_callbacks(config, tokenizer, info)
        if config.stop_at_loss is not None:
            self.stopper = StopAtLossCallback(config.stop_at_loss)
            callbacks.append(self.stopper)
        trainer = SFTGenTrainer(
            model=model,
            args=args,
            train_dataset=dataset,
            processing_class=tokenizer,
            peft_config=lora_config(config) if config.lora.enabled else None,
            callbacks=callbacks,
            proximity=config.proximity,
        )
        return Built(trainer, tokenizer, info)

    def prepare(self, built: Built) -> None:
        config = self.config
        if config.freeze:  # before train(), which builds the optimizer from the parameters still trainable
            frozen = freeze_parameters(built.trainer.model, config.freeze)
            logger.info("frozen: %d parameter values match %s", frozen, config.freeze)
        if built.trainer.is_world_process_zero() and config.is_tiny and self.resume_from is None:
            built.tokenizer.save_pretrained(str(Path(config.out) / "tokenizer"))

    def facts(self, trainer: Any, wall: float) -> dict[str, Any]:
        plan = self.plan
        return {
            "data": [s.record() for s in plan.sources],
            "mixed_rows": mixed_counts(plan.sources, self.config.mix_weights),
            "prompt_family": plan.family,
            "epochs_done": trainer.state.epoch,
            "stopped_early_at": self.stopper.stopped_at if self.stopper else None,
            "tokens_seen": int(getattr(trainer, "_total_train_tokens", 0)),
        }


def train(config: SFTRunConfig) -> RunResult:
    """Run SFT as configured and return what it produced; every check happens before any file is written."""
    return execute(SFTRun(preflight(config)))
