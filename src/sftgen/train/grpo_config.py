"""Every setting of a GRPO run, typed and validated before any work starts.

Defaults are the study's GRPO settings (docs/study.md): 8 rollouts per prompt, 256 prompts per step, lr 1e-6
constant, no KL (beta 0), no entropy bonus, clip 0.2, temperature 1.0, warm-started from a short CoT-SFT
checkpoint (``model`` is that folder). Settings the study does not state follow verl's actor defaults (the
study's trainer): weight decay 0.01, grad clip 1.0, token-mean loss (TRL ``dapo``), group-std advantages.
The run length (``max_steps``) must be given. Loaded through the same typed loader as ``SFTRunConfig``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from sftgen.train.config import (
    DTYPES,
    PROMPT_TEMPLATES,
    REPORTERS,
    RESUME_MODES,
    TINY_MODELS,
    LoraSettings,
    required_option,
    shared,
    validate_optimizer,
)
from sftgen.train.typed import ConfigError, TypedConfig

LOSS_TYPES = ("grpo", "dapo", "dr_grpo", "bnpo")
SCALE_REWARDS = ("group", "batch", "none")
VLLM_MODES = ("colocate", "server")
REWARDS = ("step", "episode")


@dataclass
class GRPORunConfig(TypedConfig):
    """One GRPO run on an ``sftgen generate rl`` prompt set; rewards are the task's verifier."""

    model: str = required_option("warm-start model folder (study: RUN/final or a checkpoint of a 10-step CoT SFT)")
    data: str = required_option("RL prompt folder made by `sftgen generate rl`")
    out: str = shared("out")
    template: str | None = field(
        default=None, metadata={"help": "prompt template family (study / compact); null = the data manifest's"}
    )
    lr: float = field(default=1e-6, metadata={"help": "learning rate (study: 1e-6 constant)", "option": True})
    scheduler: str = field(default="constant", metadata={"help": "cosine, linear or constant"})
    warmup_ratio: float = field(default=0.0, metadata={"help": "fraction of the steps in linear warmup"})
    weight_decay: float = shared("weight_decay")
    adam_beta1: float = shared("adam_beta1")
    adam_beta2: float = field(default=0.999, metadata={"help": "AdamW beta2"})
    adam_epsilon: float = shared("adam_epsilon")
    grad_clip: float = shared("grad_clip")
    num_generations: int = field(
        default=8, metadata={"help": "rollouts per prompt (the GRPO group size)", "option": True}
    )
    prompts_per_step: int = field(
        default=256, metadata={"help": "prompts per optimizer step over all GPUs (study: 256)", "option": True}
    )
    micro_batch_size: int = field(
        default=8,
        metadata={
            "help": "completions per GPU per forward/backward; gradient accumulation makes up the rest of "
            "prompts_per_step x num_generations",
            "option": True,
        },
    )
    max_steps: int | None = field(default=None, metadata={"help": "optimizer steps (required)", "option": True})
    temperature: float = field(default=1.0, metadata={"help": "rollout sampling temperature"})
    top_p: float = field(default=1.0, metadata={"help": "rollout nucleus sampling"})
    epsilon: float = field(default=0.2, metadata={"help": "PPO clip range of the importance ratio"})
    epsilon_high: float | None = field(default=None, metadata={"help": "upper clip (DAPO clip-higher); null = epsilon"})
    beta: float = field(default=0.0, metadata={"help": "KL coefficient to the warm start (study: 0, no KL)"})
    loss_type: str = field(default="dapo", metadata={"help": "TRL loss aggregation: grpo, dapo, dr_grpo, bnpo"})
    scale_rewards: str = field(default="group", metadata={"help": "advantage scaling: group, batch or none"})
    num_iterations: int = field(default=1, metadata={"help": "optimizer passes over each generation batch"})
    max_completion_length: int = field(default=512, metadata={"help": "longest rollout in tokens", "option": True})
    reward: str = field(
        default="step",
        metadata={
            "help": "step: the study's per-state reward (an optimal first move); episode (any task): 1 when the "
            "episode the first move starts, played on greedily by the current model, ends solved"
        },
    )
    episode_turns: int = field(
        default=30, metadata={"help": "reward: episode: turns an episode may take, the first included"}
    )
    seed: int = field(default=0, metadata={"help": "seed of the prompt order and the sampling", "option": True})
    save_steps: int = field(default=50, metadata={"help": "checkpoint every N optimizer steps", "option": True})
    save_total_limit: int | None = field(default=None, metadata={"help": "keep only the newest N checkpoints"})
    logging_steps: int = field(default=1, metadata={"help": "log loss, reward, lengths every N steps"})
    report_to: str = shared("report_to")
    log_completions: bool = field(default=False, metadata={"help": "print sample completions at each log step"})
    bf16: bool | None = shared("bf16")
    model_dtype: str | None = shared("model_dtype")
    gradient_checkpointing: bool = shared("gradient_checkpointing")
    num_threads: int | None = shared("num_threads")
    resume: str = field(
        default="auto",
        metadata={
            "help": "auto (resume when a checkpoint exists), always or never (as in SFT)",
            "option": "--resume/--no-resume",
            "flag_values": ("always", "never"),
        },
    )
    progress: bool = shared("progress")
    use_vllm: bool = field(
        default=False,
        metadata={"help": "generate rollouts with vLLM (GPU, `pip install vllm`)", "option": "--vllm/--no-vllm"},
    )
    vllm_mode: str = field(default="colocate", metadata={"help": "colocate (same GPUs) or server (trl vllm-serve)"})
    vllm_gpu_memory_utilization: float = field(
        default=0.3, metadata={"help": "colocate: share of GPU memory vLLM may take"}
    )
    lora: LoraSettings = field(default_factory=LoraSettings, metadata={"help": "LoRA settings (off: full weights)"})

    @property
    def is_tiny(self) -> bool:
        """Always False for a valid config: GRPO starts from a trained model (``validate`` refuses presets)."""
        return self.model in TINY_MODELS

    @property
    def completions_per_step(self) -> int:
        return self.prompts_per_step * self.num_generations

    def grad_accum(self, world_size: int = 1) -> int:
        """Micro-batches per optimizer step on each of ``world_size`` processes."""
        per_process, rest = divmod(self.completions_per_step, world_size * self.micro_batch_size)
        if rest or per_process < 1:
            raise ConfigError(
                "micro_batch_size",
                f"prompts_per_step x num_generations = {self.completions_per_step} must be a multiple of "
                f"micro_batch_size ({self.micro_batch_size}) x processes ({world_size})",
            )
        return per_process

    def validate(self) -> None:
        """Check every value (no file access: ``sftgen.train.grpo.preflight`` checks the folders)."""
        if not self.model:
            raise ConfigError("model", "required: the warm-start model folder (e.g. RUN/final of a short SFT)")
        if self.is_tiny:
            raise ConfigError("model", f"{self.model!r} is a random-init preset; GRPO needs a warm-start model folder")
        for name in ("data", "out"):
            if not getattr(self, name):
                raise ConfigError(name, "required")
        if self.template is not None and self.template not in PROMPT_TEMPLATES:
            raise ConfigError("template", f"must be one of {PROMPT_TEMPLATES} or null, got {self.template!r}")
        self._validate_optimiser()
        self._validate_rollouts()
        if self.max_steps is None or self.max_steps < 1:
            raise ConfigError("max_steps", f"required, >= 1, got {self.max_steps}")
        for name in ("save_steps", "logging_steps"):
            if getattr(self, name) < 1:
                raise ConfigError(name, f"must be >= 1, got {getattr(self, name)}")
        if self.save_total_limit is not None and self.save_total_limit < 1:
            raise ConfigError("save_total_limit", f"must be >= 1 or null, got {self.save_total_limit}")
        if self.report_to not in REPORTERS:
            raise ConfigError("report_to", f"must be one of {REPORTERS}, got {self.report_to!r}")
        if self.model_dtype is not None and self.model_dtype not in DTYPES:
            raise ConfigError("model_dtype", f"must be one of {DTYPES} or null, got {self.model_dtype!r}")
        if self.num_threads is not None and self.num_threads < 1:
            raise ConfigError("num_threads", f"must be >= 1 or null, got {self.num_threads}")
        if self.resume not in RESUME_MODES:
            raise ConfigError("resume", f"must be one of {RESUME_MODES}, got {self.resume!r}")
        if self.vllm_mode not in VLLM_MODES:
            raise ConfigError("vllm_mode", f"must be one of {VLLM_MODES}, got {self.vllm_mode!r}")
        utilization = self.vllm_gpu_memory_utilization
        if not 0 < utilization <= 1:
            raise ConfigError("vllm_gpu_memory_utilization", f"must be in (0, 1], got {utilization}")
        self.lora.validate()

    def _validate_optimiser(self) -> None:
        validate_optimizer(self)

    def _validate_rollouts(self) -> None:
        if self.num_generations < 2:
            raise ConfigError("num_generations", f"GRPO needs >= 2 rollouts per prompt, got {self.num_generations}")
        for name in ("prompts_per_step", "micro_batch_size", "num_iterations"):
            if getattr(self, name) < 1:
                raise ConfigError(name, f"must be >= 1, got {getattr(self, name)}")
        self.grad_accum(1)
        if not math.isfinite(self.temperature) or self.temperature <= 0:
            raise ConfigError("temperature", f"must be > 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ConfigError("top_p", f"must be in (0, 1], got {self.top_p}")
        if not 0 < self.epsilon < 1:
            raise ConfigError("epsilon", f"must be in (0, 1), got {self.epsilon}")
        if self.epsilon_high is not None and self.epsilon_high < self.epsilon:
            raise ConfigError("epsilon_high", f"must be >= epsilon ({self.epsilon}) or null, got {self.epsilon_high}")
        if not math.isfinite(self.beta) or self.beta < 0:
            raise ConfigError("beta", f"must be >= 0, got {self.beta}")
        if self.loss_type not in LOSS_TYPES:
            raise ConfigError("loss_type", f"must be one of {LOSS_TYPES}, got {self.loss_type!r}")
        if self.scale_rewards not in SCALE_REWARDS:
            raise ConfigError("scale_rewards", f"must be one of {SCALE_REWARDS}, got {self.scale_rewards!r}")
        if self.max_completion_length < 1:
            raise ConfigError("max_completion_length", f"must be >= 1, got {self.max_completion_length}")
        if self.reward not in REWARDS:
            raise ConfigError("reward", f"must be one of {REWARDS}, got {self.reward!r}")
        if self.episode_turns < 1:
            raise ConfigError("episode_turns", f"must be >= 1, got {self.episode_turns}")
