"""GRPO with TRL's ``GRPOTrainer``: rollouts scored by the evaluation verifiers, same run folder as SFT.

The rewards are ``sftgen.train.rewards`` (Sokoban: 1 when the first ``<answer>`` is an optimal action in the
row's declared words; Points: the verifier's 5/-1/-2/-3), each checked for length and type; ``reward: episode``
scores each first answer by the episode it starts instead (``sftgen.train.episode_reward``, any task). Besides TRL's
loss, reward mean/std and completion lengths, every logging step records ``completions/repeat_char_rate``: the
share of rollouts with a run of 8 identical characters, the early sign of the "!!!!" collapse small models
fall into under RL. Settings: ``GRPORunConfig`` (study defaults); the model is a warm start (study: a
10-step CoT-SFT checkpoint) that the recipe runner passes in.

Run folder (``out``): ``config.yaml``, ``checkpoint-N/`` (with ``sftgen_model.json``), ``final/``,
``log.jsonl``, ``run.json``; ``resume: auto`` continues from the newest complete checkpoint.

Commands::

    # CPU (HF generate, 1 torch thread):
    sftgen train grpo --data runs/data/sokoban-rl --model runs/sft/warm/final --out runs/grpo/tiny \\
        --max-steps 100 --set prompts_per_step=4 --set num_generations=4 --set lr=1e-5

    # one GPU, rollouts with vLLM sharing the GPU:
    sftgen train grpo --config recipes/grpo/qwen2.5-7b-sokoban.yaml --set use_vllm=true

    # 8 GPUs (accelerate does the distribution; each process generates its share of the rollouts):
    accelerate launch --config_file configs/accelerate/deepspeed_zero3.yaml \\
        -m sftgen.train.grpo --config recipes/grpo/qwen2.5-7b-sokoban.yaml
    # or vLLM on its own GPU: `CUDA_VISIBLE_DEVICES=7 trl vllm-serve --model WARM_START` and
    accelerate launch --num_processes 7 --config_file configs/accelerate/deepspeed_zero3.yaml \\
        -m sftgen.train.grpo --config recipes/grpo/qwen2.5-7b-sokoban.yaml --set use_vllm=true --set vllm_mode=server
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sftgen.io import read_json
from sftgen.prompts import PromptStyle
from sftgen.tasks.protocol import task_names
from sftgen.train.data import DATA_FORMAT, DataSource, response_format_of
from sftgen.train.grpo_config import GRPORunConfig
from sftgen.train.lifecycle import Built, Method, RunResult, check_start, execute, run_callbacks, trl_args
from sftgen.train.modeling import build_model, lora_config
from sftgen.train.rewards import checked, completion_text, repeat_char_rate, reward_columns, task_rewards
from sftgen.train.typed import ConfigError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class GRPOPlan:
    """What preflight found; nothing written yet."""

    config: GRPORunConfig
    source: DataSource
    warm_start: dict[str, Any]
    resume_from: Path | None


def read_rl_source(folder: str) -> DataSource:
    """Check ``folder`` is an RL prompt set with the columns its task's verifier needs, and describe it."""
    root = Path(folder)
    manifest_path = root / "manifest.json"
    if not manifest_path.is_file() or not (root / "dataset").is_dir():
        raise ConfigError("data", f"{folder} is not an sftgen dataset (needs manifest.json and dataset/)")
    manifest = read_json(manifest_path)
    if manifest.get("format") != DATA_FORMAT:
        raise ConfigError("data", f"{folder}: manifest format {manifest.get('format')!r}, expected {DATA_FORMAT!r}")
    config = manifest.get("config", {})
    kind, task = str(config.get("kind", "?")), str(config.get("task", "?"))
    if kind != "rl":
        raise ConfigError("data", f"{folder} holds {kind!r} data; GRPO needs `sftgen generate rl` prompts")
    if task not in task_names():
        raise ConfigError("data", f"{folder}: no verifier reward for task {task!r}")
    columns = reward_columns(task)
    missing = [c for c in columns if c not in manifest.get("columns", [])]
    if missing or manifest.get("rows", 0) < 1:
        raise ConfigError("data", f"{folder}: needs rows with columns {list(columns)}, missing {missing}")
    return DataSource(
        path=str(root),
        kind=kind,
        task=task,
        template=config.get("template", "study"),
        response_format="think" if config.get("rl_think") else response_format_of(kind),
        rows=int(manifest["rows"]),
        data_sha256=manifest.get("sha256", ""),
        manifest_sha256=hashlib.sha256(manifest_path.read_bytes()).hexdigest(),
    )


def _warm_start_info(model: str) -> dict[str, Any]:
    file = Path(model).expanduser() / "sftgen_model.json"
    return json.loads(file.read_text(encoding="utf-8")) if file.is_file() else {}


def preflight(config: GRPORunConfig) -> GRPOPlan:
    """Validate values, the data folder, the model and the resume state; write nothing."""
    config.validate()
    source = read_rl_source(config.data)
    if config.template is not None and config.template != source.template:
        raise ConfigError("template", f"is {config.template!r} but the data was written with {source.template!r}")
    config.grad_accum(int(os.environ.get("WORLD_SIZE", "1")))
    warm = _warm_start_info(config.model)
    if warm.get("template") not in (None, source.template):
        raise ConfigError("data", f"prompts use template {source.template!r}, the warm start {warm['template']!r}")
    if warm.get("response_format") not in (None, source.response_format):
        logger.warning(
            "warm start answers in %r format but the RL prompts ask for %r",
            warm["response_format"],
            source.response_format,
        )
    _check_reward(config, source)
    if source.rows < config.prompts_per_step:  # TRL's sampler drops an incomplete generation batch
        raise ConfigError(
            "prompts_per_step",
            f"{config.prompts_per_step} prompts per step but {config.data} holds {source.rows}: "
            "no step could be taken (TRL would end at step 0 and report success)",
        )
    return GRPOPlan(config, source, warm, check_start(config))


def _check_reward(config: GRPORunConfig, source: DataSource) -> None:
    """The episode reward plays on with the trainer's own model, so it needs that model whole in one process. Any
    task's rows will do: each row's task deals its state from the row (``Task.check_env``), and a single-turn
    task's episode is its one answer (1 when the verifier calls it a success)."""
    if config.reward != "episode":
        return
    if config.use_vllm:
        raise ConfigError("reward", "'episode' plays on with the trained model in-process; set use_vllm: false")
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise ConfigError("reward", "'episode' needs the whole model in one process; launch without accelerate")


def _rewards(config: GRPORunConfig, source: DataSource) -> tuple[list[Any], Any]:
    """The reward functions, and the episode reward that must be attached to the trainer (or None)."""
    if config.reward != "episode":
        return task_rewards(source.task), None
    from sftgen.train.episode_reward import EpisodeReward, rl_row_checks  # torch and the HF backend: only when used

    style = PromptStyle(source.template, response_format=source.response_format)
    reads = rl_row_checks(source.task)  # training keeps `prompt` and the task's rl_columns, not `task`
    episode = EpisodeReward(style, config.episode_turns, config.max_completion_length, read_checks=reads)
    return [checked(episode, episode.__name__)], episode


def grpo_args(config: GRPORunConfig, bf16: bool, use_cuda: bool, world_size: int) -> Any:
    """TRL ``GRPOConfig``; one generation batch (prompts_per_step x num_generations) per optimizer step."""
    from trl import GRPOConfig

    accum = config.grad_accum(world_size)
    return trl_args(
        GRPOConfig,
        config,
        bf16,
        use_cuda,
        per_device_train_batch_size=config.micro_batch_size,
        gradient_accumulation_steps=accum,
        steps_per_generation=accum,
        num_generations=config.num_generations,
        max_completion_length=config.max_completion_length,
        temperature=config.temperature,
        top_p=config.top_p,
        epsilon=config.epsilon,
        epsilon_high=config.epsilon_high,
        beta=config.beta,
        loss_type=config.loss_type,
        scale_rewards=config.scale_rewards,
        num_iterations=config.num_iterations,
        max_steps=config.max_steps,
        save_strategy="steps",
        save_steps=config.save_steps,
        log_completions=config.log_completions,
        use_vllm=config.use_vllm,
        vllm_mode=config.vllm_mode,
        vllm_gpu_memory_utilization=config.vllm_gpu_memory_utilization,
        remove_unused_columns=False,  # the verifier columns must reach the rewards
    )


def _trainer_class() -> type:
    """``GRPOTrainer`` that also logs the repeated-character rate of each batch of rollouts."""
    from trl import GRPOTrainer

    class SFTGenGRPOTrainer(GRPOTrainer):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            from sftgen.models.copy_head import keep_mixture_under_trl

            for model in (self.model, self.ref_model):  # TRL's fused head would score a copy head's lm_head alone
                keep_mixture_under_trl(model, temperature=self.temperature)

        def _calculate_rewards(self, inputs: Any, prompts: Any, completions: Any, completion_ids_list: Any) -> Any:
            rate = repeat_char_rate([completion_text(c) for c in completions])
            self._pending_metrics["completions/repeat_char_rate"].append(rate)  # averaged over processes by TRL
            return super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)

    return SFTGenGRPOTrainer


def _load_prompts(source: DataSource) -> Any:
    from datasets import load_from_disk

    dataset = load_from_disk(str(Path(source.path) / "dataset"))
    if len(dataset) != source.rows:
        raise ConfigError("data", f"{source.path}: dataset has {len(dataset)} rows, manifest says {source.rows}")
    return dataset.select_columns(list(reward_columns(source.task)))


def _family(source: DataSource) -> dict[str, Any]:
    """The prompt family of the RL prompts, as ``sftgen_model.json`` and ``run.json`` record it."""
    return {
        "template": source.template,
        "response_format": source.response_format,
        "response_formats": [source.response_format],
        "tasks": [source.task],
    }


class GRPORun(Method):
    """GRPO's part of the lifecycle: RL prompts, verifier rewards, ``SFTGenGRPOTrainer``, the reward record."""

    def __init__(self, plan: GRPOPlan) -> None:
        self.plan, self.config, self.resume_from = plan, plan.config, plan.resume_from
        self.episode: Any = None  # the episode reward, when used: it plays on with the trainer's model

    def build(self, use_cuda: bool, bf16: bool) -> Built:
        config, source = self.config, self.plan.source
        world_size = int(os.environ.get("WORLD_SIZE", "1"))
        args = grpo_args(config, bf16, use_cuda, world_size)  # first: under ZeRO-3 it sets up sharded loading
        dataset = _load_prompts(source)
        model, tokenizer, init_kwargs = build_model(config, None, bf16)
        args.model_init_kwargs = init_kwargs
        info = {
            **_family(source),
            "base_model": config.model,
            "lora": config.lora.enabled,
            "method": "grpo",
            "warm_start": self.plan.warm_start,
        }
        reward_funcs, self.episode = _rewards(config, source)
        trainer = _trainer_class()(
            model=model,
            reward_funcs=reward_funcs,
            args=args,
            train_dataset=dataset,
            processing_class=tokenizer,
            peft_config=lora_config(config) if config.lora.enabled else None,
            callbacks=run_callbacks(config, tokenizer, info),
        )
        return Built(trainer, tokenizer, info)

    def prepare(self, built: Built) -> None:
        if self.episode is not None:
            self.episode.attach(built.trainer)

    def facts(self, trainer: Any, wall: float) -> dict[str, Any]:
        state, source = trainer.state, self.plan.source
        rewards = [r["reward"] for r in state.log_history if r.get("reward") is not None]
        return {
            "method": "grpo",
            "data": [source.record()],
            "prompt_family": _family(source),
            "warm_start": self.plan.warm_start,
            "seconds_per_step": round(wall / max(1, state.global_step - _step_of(self.resume_from)), 3),
            "first_reward": rewards[0] if rewards else None,
            "final_reward": rewards[-1] if rewards else None,
        }


def train_grpo(config: GRPORunConfig) -> RunResult:
    """Run GRPO as configured and return what it produced; every check happens before any file is written."""
    return execute(GRPORun(preflight(config)))


def _step_of(checkpoint: Path | None) -> int:
    return int(checkpoint.name.rsplit("-", 1)[1]) if checkpoint is not None else 0


def main(argv: list[str] | None = None) -> None:
    """``python -m sftgen.train.grpo`` (for ``accelerate launch -m``): the options of ``sftgen train grpo``."""
    from sftgen.train.commands import grpo_command

    grpo_command.main(args=sys.argv[1:] if argv is None else argv, prog_name="python -m sftgen.train.grpo")


if __name__ == "__main__":
    main()
