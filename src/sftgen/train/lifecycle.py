"""One training run's lifecycle, shared by SFT and GRPO: config → preflight → resume → train → save → ``run.json``.

Why one module: the two methods differ in their data, their TRL trainer and what their record adds, but not in
how a run starts, resumes, saves and reports. Each method supplies a ``Method`` (its inputs, checked in its own
``preflight``, and how to build its trainer); ``execute`` runs the steps in a fixed order:

1. ``preflight`` (the method's, ending in ``check_start``): every value, input folder, the model name, the tracker
   and the resume state are checked before anything is written;
2. device settings, then the method builds its TRL trainer; ``check_engine`` stops a launch that did not get the
   engine it asked for;
3. ``RUN/config.yaml`` is written and training runs, from ``resume_from`` when there is one;
4. ``RUN/final`` is written through a temporary folder (``save_final``), then ``RUN/trainer_state.json``;
5. ``RUN/run.json``: the shared facts, the method's own, and the environment (``finish_run``).

Run folder (``out``)::

    RUN/config.yaml          the resolved config (written when training starts)
    RUN/tokenizer/           tiny presets: the locally built tokenizer
    RUN/checkpoint-N/        HF Trainer checkpoints (model, tokenizer, optimizer, RNG) + sftgen_model.json
    RUN/final/               the trained model + tokenizer + sftgen_model.json (LoRA: merged, see lora.merge)
    RUN/adapter/             LoRA only: the adapter alone
    RUN/log.jsonl            every logged step (loss, lr, grad norm, token accuracy; GRPO: rewards)
    RUN/run.json             config, data hashes, steps, wall time, final loss, versions
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import logging
import os
import shutil
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sftgen.train.callbacks import (
    JsonlLogCallback,
    ModelInfoCallback,
    add_stop_ids,
    checkpoints,
    end_of_turn_ids,
    final_logged_loss,
    last_checkpoint,
    write_model_info,
)
from sftgen.train.config import SFTRunConfig
from sftgen.train.grpo_config import GRPORunConfig
from sftgen.train.modeling import check_model_name, drop_gguf_marker
from sftgen.train.typed import ConfigError

logger = logging.getLogger(__name__)
RUN_FORMAT = "sftgen-run-v1"
SCHEDULES = {"cosine": "cosine", "linear": "linear", "constant": "constant_with_warmup"}
RunConfig = SFTRunConfig | GRPORunConfig

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


# ------------------------------------------------------------------------------------------------ preflight


def check_start(config: RunConfig) -> Path | None:
    """The checks every run makes once its own inputs are read: the model name, the tracker, then the resume
    state. Returns the checkpoint to resume from; writes nothing."""
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
    return resume_from


def _warn_on_changed_settings(config: RunConfig, saved: Path) -> None:
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


# ------------------------------------------------------------------------------------------ device and TRL args


def deepspeed_launch() -> bool:
    """Launched by ``accelerate launch`` with a DeepSpeed config. Without CUDA the HF Trainer must then not be told
    ``use_cpu``: accelerate turns DeepSpeed off on a CPU it was asked to use (``and not cpu``) and quietly runs
    plain DDP, whereas left alone it hands the run to DeepSpeed, whose CPU accelerator communicates over gloo. The
    backend must then be named (``ddp_backend="gloo"``): accelerate finds none for a CPU by itself and would count
    one process while DeepSpeed counts all of them (its batch check fails, each rank would read all the data)."""
    return os.environ.get("ACCELERATE_USE_DEEPSPEED", "").lower() == "true"


def device_settings(config: RunConfig) -> tuple[bool, bool]:
    """(CUDA in use, bf16 on); on CPU one torch thread unless the config says otherwise (measured faster here)."""
    import torch

    use_cuda = torch.cuda.is_available()
    if config.num_threads is not None or not use_cuda:
        torch.set_num_threads(config.num_threads or 1)
    return use_cuda, config.bf16 if config.bf16 is not None else use_cuda


def checkpointing_kwargs(args_class: type, enabled: bool) -> dict[str, bool]:
    """Activation checkpointing on or off for a TRL config class, under every name it accepts.

    transformers renamed ``gradient_checkpointing`` to ``activation_checkpointing`` (the old name stays as an
    alias) after 5.17; passing the new name to an older 5.x fails with "unexpected keyword argument".
    """
    import dataclasses

    names = {f.name for f in dataclasses.fields(args_class)}
    return {name: enabled for name in ("gradient_checkpointing", "activation_checkpointing") if name in names}


def trl_args(args_class: type, config: RunConfig, bf16: bool, use_cuda: bool, **method: Any) -> Any:
    """``args_class`` (TRL's ``SFTConfig`` / ``GRPOConfig``) with the settings every run shares (AdamW, schedule,
    checkpoints, logging, precision, device) plus the method's own; CPU-hostile TRL defaults set explicitly."""
    return args_class(
        output_dir=config.out,
        learning_rate=config.lr,
        lr_scheduler_type=SCHEDULES[config.scheduler],
        warmup_steps=config.warmup_ratio,  # a float < 1 is a ratio of the total steps
        weight_decay=config.weight_decay,
        adam_beta1=config.adam_beta1,
        adam_beta2=config.adam_beta2,
        adam_epsilon=config.adam_epsilon,
        max_grad_norm=config.grad_clip,
        seed=config.seed,
        data_seed=config.seed,
        save_total_limit=config.save_total_limit,
        logging_steps=config.logging_steps,
        logging_first_step=True,
        report_to=config.report_to,
        bf16=bf16,
        fp16=False,
        # TRL defaults this to True (pure slowdown on CPU); set explicitly, under both of its names
        **checkpointing_kwargs(args_class, config.gradient_checkpointing),
        disable_tqdm=not config.progress,
        dataloader_num_workers=0,
        use_cpu=not use_cuda and not deepspeed_launch(),  # DeepSpeed brings its own CPU accelerator
        ddp_backend="gloo" if deepspeed_launch() and not use_cuda else None,
        **method,
    )


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


# -------------------------------------------------------------------------------------------------- saving


def save_final(trainer: Any, config: RunConfig, tokenizer: Any, info: dict[str, Any]) -> Path:
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
                dtype = config.model_dtype or ("bfloat16" if trainer.args.bf16 else "float32")
                merged = merge_saved_adapter(run_dir / "adapter", config.model, dtype)
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


def _versions() -> dict[str, str]:
    names = ("sftgen", "torch", "transformers", "trl", "peft", "accelerate", "datasets")
    found = {}
    for name in names:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


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


# ------------------------------------------------------------------------------------------------ the run


def run_callbacks(config: RunConfig, tokenizer: Any, info: dict[str, Any]) -> list[Any]:
    """The callbacks every run's trainer gets: ``sftgen_model.json`` and the stop ids in each checkpoint, and
    ``RUN/log.jsonl``."""
    return [ModelInfoCallback(info, end_of_turn_ids(tokenizer)), JsonlLogCallback(Path(config.out) / "log.jsonl")]


@dataclass
class Built:
    """What a method's ``build`` made: the TRL trainer, its tokenizer, and the facts ``sftgen_model.json``
    records in every checkpoint and in ``final`` (the prompt family eval must use)."""

    trainer: Any
    tokenizer: Any
    info: dict[str, Any]


class Method(ABC):
    """A training method's part of the lifecycle (SFT, GRPO): its preflighted inputs, its trainer, its record."""

    config: RunConfig
    resume_from: Path | None

    @abstractmethod
    def build(self, use_cuda: bool, bf16: bool) -> Built:
        """TRL args first (under ZeRO-3 they set up sharded loading), then data, model and trainer."""

    @abstractmethod
    def prepare(self, built: Built) -> None:
        """Last changes once the engine is checked, before ``config.yaml`` is written and training starts."""

    @abstractmethod
    def facts(self, trainer: Any, wall: float) -> dict[str, Any]:
        """What this method adds to ``run.json`` (its data, prompt family, method-specific results)."""


def execute(method: Method) -> RunResult:
    """Train ``method`` (already through its preflight), save ``RUN/final`` and write ``RUN/run.json``."""
    config, resume_from = method.config, method.resume_from
    run_dir = Path(config.out)
    use_cuda, bf16 = device_settings(config)
    built = method.build(use_cuda, bf16)
    trainer = built.trainer
    check_engine(trainer)
    method.prepare(built)
    if trainer.is_world_process_zero():
        config.to_yaml(run_dir / "config.yaml")

    start = time.perf_counter()
    output = trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    wall = time.perf_counter() - start
    sizes = [(getattr(p, "ds_numel", p.numel()), p.requires_grad) for p in trainer.model.parameters()]
    n_params, trainable = sum(n for n, _ in sizes), sum(n for n, grad in sizes if grad)
    final = save_final(trainer, config, built.tokenizer, built.info)
    trainer.save_state()  # RUN/trainer_state.json: the final step and the whole log history

    state = trainer.state
    record = {
        "format": RUN_FORMAT,
        "config": config.to_dict(),
        "model": {"name": config.model, "parameters": n_params, "trainable_parameters": trainable},
        "steps": state.global_step,
        "max_steps": state.max_steps,
        "resumed_from": str(resume_from) if resume_from else None,
        "wall_seconds": round(wall, 3),
        "train_loss": output.training_loss,
        "final_loss": final_logged_loss(state.log_history),
        **method.facts(trainer, wall),
    }
    result = finish_run(trainer, run_dir, final, record, wall, use_cuda, bf16)
    close_distributed()
    return result
