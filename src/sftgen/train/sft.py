"""Supervised fine-tuning with TRL's ``SFTTrainer``: full or LoRA, tiny from-scratch or pretrained, CPU or GPUs.

Loss is on the completion only, including the chat template's end of turn (TRL's ``completion_only_loss`` on
the conversational prompt/completion rows of ``sftgen generate``). Everything is set by ``SFTRunConfig``.

Run folder (``out``)::

    RUN/config.yaml          the resolved config (written when training starts)
    RUN/tokenizer/           tiny presets: the locally built tokenizer
    RUN/checkpoint-N/        HF Trainer checkpoints (model, tokenizer, optimizer, RNG) + sftgen_model.json
    RUN/final/               the trained model + tokenizer + sftgen_model.json (LoRA: merged, see lora.merge)
    RUN/adapter/             LoRA only: the adapter alone
    RUN/log.jsonl            every logged step (loss, lr, grad norm, token accuracy)
    RUN/run.json             config, data hashes, steps, wall time, final loss, versions

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

import importlib.metadata
import importlib.util
import logging
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sftgen.train.callbacks import (
    JsonlLogCallback,
    ModelInfoCallback,
    StopAtLossCallback,
    add_stop_ids,
    checkpoints,
    end_of_turn_ids,
    final_logged_loss,
    last_checkpoint,
    write_model_info,
)
from sftgen.train.config import SFTRunConfig
from sftgen.train.data import DataSource, load_training_dataset, mixed_counts, prompt_family, read_source
from sftgen.train.modeling import (
    build_model,
    check_model_name,
    drop_gguf_marker,
    expand_blocks,
    freeze_parameters,
    lora_config,
)
from sftgen.train.typed import ConfigError

logger = logging.getLogger(__name__)
RUN_FORMAT = "sftgen-run-v1"
SCHEDULES = {"cosine": "cosine", "linear": "linear", "constant": "constant_with_warmup"}


@dataclass(frozen=True)
class Plan:
    """What preflight found: the data, the prompt family, where to resume from. Nothing is written yet."""

    config: SFTRunConfig
    sources: list[DataSource]
    family: dict[str, Any]
    resume_from: Path | None


@dataclass(frozen=True)
class RunResult:
    """What a finished run produced (the same facts as ``RUN/run.json``)."""

    run_dir: Path
    final_dir: Path
    global_step: int
    final_loss: float | None
    wall_seconds: float
    resumed_from: str | None
    record: dict[str, Any] = field(repr=False)


def preflight(config: SFTRunConfig) -> Plan:
    """Validate values, data folders, the model name, the tracker and the resume state; write nothing."""
    config.validate()
    sources = [read_source(folder) for folder in config.data]
    family = prompt_family(sources, config.mix_weights, config.template)
    check_model_name(config)
    if config.report_to != "none" and importlib.util.find_spec(config.report_to) is None:
        raise ConfigError("report_to", f"{config.report_to!r} is not installed (pip install {config.report_to})")
    run_dir = Path(config.out)
    resume_from = last_checkpoint(run_dir) if config.resume != "never" else None
    if config.resume == "always" and resume_from is None:
        raise ConfigError("resume", f"'always' but {run_dir} has no complete checkpoint to resume from")
    if config.resume == "never" and (checkpoints(run_dir) or (run_dir / "final").exists()):
        raise ConfigError("resume", f"'never' but {run_dir} already holds a run; choose another out folder")
    if resume_from is not None:
        _warn_on_changed_settings(config, run_dir / "config.yaml")
    return Plan(config, sources, family, resume_from)


# Settings a resumed run may change without changing what is being trained.
RESUMABLE_CHANGES = frozenset(
    {
        "max_steps",
        "epochs",
        "resume",
        "progress",
        "save_steps",
        "save_total_limit",
        "logging_steps",
        "report_to",
        "stop_at_loss",
        "num_threads",
    }
)


def _warn_on_changed_settings(config: SFTRunConfig, saved: Path) -> None:
    """Resuming with other data, model or optimiser settings is allowed (TRL restores its state) but is
    rarely meant: say which settings differ from the run being continued."""
    if not saved.is_file():
        return
    import yaml

    before = yaml.safe_load(saved.read_text(encoding="utf-8")) or {}
    now = config.to_dict()
    changed = sorted(k for k in now if k not in RESUMABLE_CHANGES and before.get(k, now[k]) != now[k])
    if changed:
        logger.warning("resuming %s with changed settings: %s", saved.parent, ", ".join(changed))


def deepspeed_launch() -> bool:
    """Launched by ``accelerate launch`` with a DeepSpeed config. Without CUDA the HF Trainer must then not be told
    ``use_cpu``: accelerate turns DeepSpeed off on a CPU it was asked to use (``and not cpu``) and quietly runs
    plain DDP, whereas left alone it hands the run to DeepSpeed, whose CPU accelerator communicates over gloo. The
    backend must then be named (``ddp_backend="gloo"``): accelerate finds none for a CPU by itself and would count
    one process while DeepSpeed counts all of them (its batch check fails, each rank would read all the data)."""
    return os.environ.get("ACCELERATE_USE_DEEPSPEED", "").lower() == "true"


def _use_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def checkpointing_kwargs(args_class: type, enabled: bool) -> dict[str, bool]:
    """Activation checkpointing on or off for a TRL config class, under every name it accepts.

    transformers renamed ``gradient_checkpointing`` to ``activation_checkpointing`` (the old name stays as an
    alias) after 5.17; passing the new name to an older 5.x fails with "unexpected keyword argument".
    """
    import dataclasses

    names = {f.name for f in dataclasses.fields(args_class)}
    return {name: enabled for name in ("gradient_checkpointing", "activation_checkpointing") if name in names}


def sft_args(config: SFTRunConfig, bf16: bool, use_cuda: bool) -> Any:
    """TRL ``SFTConfig`` from our config; CPU-hostile TRL defaults (gradient checkpointing, bf16) set explicitly."""
    from trl import SFTConfig

    return SFTConfig(
        output_dir=config.out,
        learning_rate=config.lr,
        lr_scheduler_type=SCHEDULES[config.scheduler],
        warmup_steps=config.warmup_ratio,  # a float < 1 is a ratio of the total steps
        weight_decay=config.weight_decay,
        adam_beta1=config.adam_beta1,
        adam_beta2=config.adam_beta2,
        adam_epsilon=config.adam_epsilon,
        max_grad_norm=config.grad_clip,
        per_device_train_batch_size=config.batch_size,
        train_sampling_strategy="group_by_length" if config.group_by_length else "random",
        gradient_accumulation_steps=config.grad_accum,
        num_train_epochs=config.epochs if config.epochs is not None else 1.0,
        max_steps=config.max_steps if config.max_steps is not None else -1,
        max_length=config.max_length,
        seed=config.seed,
        data_seed=config.seed,
        save_strategy="steps" if config.save_steps else "epoch",
        save_steps=config.save_steps or 500,
        save_total_limit=config.save_total_limit,
        logging_steps=config.logging_steps,
        logging_first_step=True,
        report_to=config.report_to,
        bf16=bf16,
        fp16=False,
        # TRL defaults this to True (pure slowdown on CPU); set explicitly, under both of its names
        **checkpointing_kwargs(SFTConfig, config.gradient_checkpointing),
        eval_strategy="no",
        completion_only_loss=True,
        assistant_only_loss=False,
        packing=False,
        disable_tqdm=not config.progress,
        dataloader_num_workers=0,
        dataset_num_proc=config.dataset_num_proc,
        use_cpu=not use_cuda and not deepspeed_launch(),  # DeepSpeed brings its own CPU accelerator
        ddp_backend="gloo" if deepspeed_launch() and not use_cuda else None,
    )


def _versions() -> dict[str, str]:
    names = ("sftgen", "torch", "transformers", "trl", "peft", "accelerate", "datasets")
    found = {}
    for name in names:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def _save_final(trainer: Any, config: SFTRunConfig, tokenizer: Any, info: dict[str, Any]) -> Path:
    """Write ``RUN/final`` via a temporary folder, so a crash never leaves a half-saved final model.

    LoRA with ``merge``: ``final`` is the merged model and ``RUN/adapter`` the adapter. Under DeepSpeed/FSDP the
    in-memory model is partitioned and cannot be merged in place, so every rank saves the (gathered) adapter and
    rank 0 merges it into a fresh copy of the base read from disk: ``final`` is then a plain model folder that
    vLLM can serve, as after a single-process run (it used to be the adapter alone, which vLLM cannot load as a
    model).
    """
    run_dir = Path(config.out)
    final, tmp = run_dir / "final", run_dir / ".final.tmp"
    main = trainer.is_world_process_zero()
    sharded = bool(getattr(trainer, "is_deepspeed_enabled", False) or getattr(trainer, "is_fsdp_enabled", False))
    # a random-init preset has no base on disk to merge into: its sharded LoRA run keeps the adapter alone
    merge = config.lora.enabled and config.lora.merge and not (sharded and config.is_tiny)
    if merge:
        trainer.save_model(str(run_dir / "adapter"))  # collective under DeepSpeed/FSDP: every rank calls it
        if main:
            if sharded:
                merged = merge_saved_adapter(run_dir / "adapter", config.model, config.model_dtype or _dtype(trainer))
            else:
                merged = trainer.model.merge_and_unload()
            merged.save_pretrained(str(tmp))
            tokenizer.save_pretrained(str(tmp))
    else:  # full model, or the LoRA adapter alone (lora.merge: false)
        trainer.save_model(str(tmp))
    if main:
        add_stop_ids(tmp, end_of_turn_ids(tokenizer))
        write_model_info(tmp, {**info, "lora_merged": merge}, trainer.state.global_step)
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    return final


def distributed_engine(trainer: Any) -> str:
    """How accelerate spread the run over processes (``NO``, ``MULTI_CPU``/``MULTI_GPU`` = DDP, ``FSDP``,
    ``DEEPSPEED``), recorded so a run folder says which engine produced it, not just how many processes."""
    kind = trainer.accelerator.distributed_type
    return str(getattr(kind, "value", kind))


def check_engine(trainer: Any) -> None:
    """Stop before training when accelerate did not give the run the engine its launch asked for.

    Why: accelerate (1.16) runs an FSDP launch without a GPU as plain DDP, saying nothing; every rank then holds
    the whole model and optimizer state, which at 7-8B is an out-of-memory crash long after the launch looked
    fine. A DeepSpeed launch is checked the same way (``deepspeed_launch`` is what makes it work on CPU).
    """
    asked = [
        engine
        for engine, variable in (("FSDP", "ACCELERATE_USE_FSDP"), ("DEEPSPEED", "ACCELERATE_USE_DEEPSPEED"))
        if os.environ.get(variable, "").lower() == "true"
    ]
    got = distributed_engine(trainer)
    if asked and got not in asked:
        cpu = got == "MULTI_CPU"
        hint = " (accelerate shards with FSDP only on GPUs; on CPU use a DeepSpeed config)" if cpu else ""
        raise ConfigError("launcher", f"the launch asked for {asked[0]} but accelerate set up {got}{hint}")


def _dtype(trainer: Any) -> str:
    return "bfloat16" if trainer.args.bf16 else "float32"


def merge_saved_adapter(adapter: Path, base: str, dtype: str) -> Any:
    """The base model (loaded on the CPU from ``base``, as training loaded it) with the adapter saved in
    ``adapter`` merged into its weights."""
    from peft import PeftModel
    from transformers.integrations import deepspeed as hf_deepspeed

    from sftgen.models.loading import load_model

    # Under ZeRO-3 transformers loads every model partitioned, a collective that the other ranks (done) never join:
    # this one copy is rank 0's alone, so ZeRO-3's loading is switched off around it.
    saved = hf_deepspeed._hf_deepspeed_config_weak_ref
    hf_deepspeed.unset_hf_deepspeed_config()
    try:
        model, _ = load_model(base, device="cpu", dtype=dtype)
        return PeftModel.from_pretrained(drop_gguf_marker(model), str(adapter)).merge_and_unload()
    finally:
        hf_deepspeed._hf_deepspeed_config_weak_ref = saved


def finish_run(
    trainer: Any, run_dir: Path, final: Path, record: dict[str, Any], wall: float, use_cuda: bool, bf16: bool
) -> RunResult:
    """Add the environment facts every run records, write ``run.json`` (main process only), return the result."""
    import torch

    record.update(
        final_dir=str(final),
        checkpoints=[p.name for _, p in checkpoints(run_dir)],
        device="cuda" if use_cuda else "cpu",
        world_size=trainer.args.world_size,
        distributed=distributed_engine(trainer),
        bf16=bf16,
        torch_threads=torch.get_num_threads(),
        versions=_versions(),
    )
    if trainer.is_world_process_zero():
        from sftgen.io import atomic_write_json

        atomic_write_json(run_dir / "run.json", record)
    return RunResult(
        run_dir, final, trainer.state.global_step, record["final_loss"], wall, record["resumed_from"], record
    )


def close_distributed() -> None:
    """Under a launch, every rank waits for the others and then leaves the process group. Why: a rank that exits
    with gloo's threads still running can abort ("terminate called without an active exception", SIGABRT), and
    torchrun then fails the whole launch after training finished (seen once in a stand-in recipe run)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def device_settings(config: Any) -> tuple[bool, bool]:
    """(CUDA in use, bf16 on); on CPU one torch thread unless the config says otherwise (measured faster here)."""
    import torch

    use_cuda = _use_cuda()
    if config.num_threads is not None or not use_cuda:
        torch.set_num_threads(config.num_threads or 1)
    return use_cuda, config.bf16 if config.bf16 is not None else use_cuda


def train(config: SFTRunConfig) -> RunResult:
    """Run SFT as configured and return what it produced; every check happens before any file is written."""
    plan = preflight(config)

    from sftgen.train.trainer import SFTGenTrainer

    use_cuda, bf16 = device_settings(config)
    run_dir = Path(config.out)

    args = sft_args(config, bf16, use_cuda)  # first: under ZeRO-3 it sets up sharded loading of the model
    dataset = load_training_dataset(plan.sources, config.mix_weights, config.seed)
    model, tokenizer, init_kwargs = build_model(config, plan.resume_from, bf16)
    model = expand_blocks(model, config.expand.after, config.expand.blocks)
    args.model_init_kwargs = init_kwargs
    info = {**plan.family, "base_model": config.model, "lora": config.lora.enabled}
    callbacks: list[Any] = [
        ModelInfoCallback(info, end_of_turn_ids(tokenizer)),
        JsonlLogCallback(run_dir / "log.jsonl"),
    ]
    stopper = StopAtLossCallback(config.stop_at_loss) if config.stop_at_loss is not None else None
    if stopper is not None:
        callbacks.append(stopper)
    trainer = SFTGenTrainer(
        model=model,
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=lora_config(config) if config.lora.enabled else None,
        callbacks=callbacks,
        proximity=config.proximity,
    )
    check_engine(trainer)
    if config.freeze:  # before train(), which builds the optimizer from the parameters still trainable
        frozen = freeze_parameters(trainer.model, config.freeze)
        logger.info("frozen: %d parameter values match %s", frozen, config.freeze)
    if trainer.is_world_process_zero():
        config.to_yaml(run_dir / "config.yaml")
        if config.is_tiny and plan.resume_from is None:
            tokenizer.save_pretrained(str(run_dir / "tokenizer"))

    start = time.perf_counter()
    output = trainer.train(resume_from_checkpoint=str(plan.resume_from) if plan.resume_from else None)
    wall = time.perf_counter() - start
    sizes = [(getattr(p, "ds_numel", p.numel()), p.requires_grad) for p in trainer.model.parameters()]
    n_params, trainable = sum(n for n, _ in sizes), sum(n for n, grad in sizes if grad)
    final = _save_final(trainer, config, tokenizer, info)
    trainer.save_state()  # RUN/trainer_state.json: the final step and the whole log history

    state = trainer.state
    record = {
        "format": RUN_FORMAT,
        "config": config.to_dict(),
        "data": [s.record() for s in plan.sources],
        "mixed_rows": mixed_counts(plan.sources, config.mix_weights),
        "prompt_family": plan.family,
        "model": {"name": config.model, "parameters": n_params, "trainable_parameters": trainable},
        "steps": state.global_step,
        "max_steps": state.max_steps,
        "epochs_done": state.epoch,
        "stopped_early_at": stopper.stopped_at if stopper else None,
        "resumed_from": str(plan.resume_from) if plan.resume_from else None,
        "wall_seconds": round(wall, 3),
        "final_loss": final_logged_loss(state.log_history),
        "train_loss": output.training_loss,
        "tokens_seen": int(getattr(trainer, "_total_train_tokens", 0)),
    }
    result = finish_run(trainer, run_dir, final, record, wall, use_cuda, bf16)
    close_distributed()
    return result
