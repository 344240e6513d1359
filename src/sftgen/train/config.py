"""Every setting of an SFT run, typed and validated before any work starts.

Defaults are the study's SFT settings (docs/study.md: AdamW 0.9/0.95, lr 1e-5, weight decay 0.01, 10% warmup then
cosine, grad clip 1.0, bf16 on GPU, loss on the response incl. EOS) except the run length, which a run must
state (``epochs`` or ``max_steps``, exactly one). A YAML file, a dict and ``key=value`` overrides all go
through the same typed loader (``sftgen.train.typed``), so a typo is an error naming the key.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from sftgen.train.typed import ConfigError, TypedConfig

# presets built from scratch with sftgen's own tokenizer (sftgen.models.tiny.TINY_PRESETS)
TINY_MODELS = ("tiny", "small", "tiny-copy")
SCHEDULERS = ("cosine", "linear", "constant")
REPORTERS = ("none", "tensorboard", "wandb")
RESUME_MODES = ("auto", "always", "never")
DTYPES = ("float32", "bfloat16")
PROMPT_TEMPLATES = ("study", "compact")  # sftgen.prompts.TEMPLATES, repeated to keep this module import-light
PROXIMITY_KINDS = ("none", "kl", "l2")


def validate_optimizer(config: Any) -> None:
    """AdamW, schedule and seed checks shared by every run config (SFT and GRPO)."""
    if not math.isfinite(config.lr) or config.lr <= 0:
        raise ConfigError("lr", f"must be a finite number > 0, got {config.lr}")
    if config.scheduler not in SCHEDULERS:
        raise ConfigError("scheduler", f"must be one of {SCHEDULERS}, got {config.scheduler!r}")
    if not 0 <= config.warmup_ratio < 1:
        raise ConfigError("warmup_ratio", f"must be in [0, 1), got {config.warmup_ratio}")
    if not math.isfinite(config.weight_decay) or config.weight_decay < 0:
        raise ConfigError("weight_decay", f"must be >= 0, got {config.weight_decay}")
    for name in ("adam_beta1", "adam_beta2"):
        if not 0 <= getattr(config, name) < 1:
            raise ConfigError(name, f"must be in [0, 1), got {getattr(config, name)}")
    if not math.isfinite(config.adam_epsilon) or config.adam_epsilon <= 0:
        raise ConfigError("adam_epsilon", f"must be > 0, got {config.adam_epsilon}")
    if not math.isfinite(config.grad_clip) or config.grad_clip < 0:
        raise ConfigError("grad_clip", f"must be >= 0 (0 = off), got {config.grad_clip}")
    if config.seed < 0:
        raise ConfigError("seed", f"must be >= 0, got {config.seed}")


# Settings every run config has, with the same default, help and command-line option: declared once here. Each
# class still names them in its own body (``out: str = shared("out")``), so the order of its fields (the order of
# ``--print-config`` and ``--help``) stays its own. Settings whose defaults differ (lr, scheduler, warmup_ratio,
# adam_beta2) stay in each class.
SHARED_SETTINGS: dict[str, tuple[Any, dict[str, Any]]] = {
    "out": ("", {"help": "run folder: checkpoints, final/, run.json, log.jsonl", "option": True}),
    "weight_decay": (0.01, {"help": "AdamW weight decay"}),
    "adam_beta1": (0.9, {"help": "AdamW beta1"}),
    "adam_epsilon": (1e-8, {"help": "AdamW epsilon"}),
    "grad_clip": (1.0, {"help": "max global gradient norm; 0 turns clipping off"}),
    "report_to": (
        "none",
        {"help": "experiment tracker: none, tensorboard or wandb", "option": True, "choices": REPORTERS},
    ),
    "progress": (True, {"help": "show a progress bar"}),
    "bf16": (None, {"help": "bf16 mixed precision; null = on with CUDA, off on CPU (slow there)"}),
    "model_dtype": (
        None,
        {
            "help": "dtype a pretrained model is loaded in (float32, bfloat16); "
            "null = bfloat16 when bf16 is on, else float32"
        },
    ),
    "gradient_checkpointing": (False, {"help": "recompute activations to save GPU memory (pure slowdown on CPU)"}),
    "num_threads": (None, {"help": "torch CPU threads; null = 1 without CUDA (measured faster than 2 here)"}),
}


def required_option(help_text: str) -> Any:
    """A string setting a run must give, with its own command-line option: '' until given (``validate`` refuses it)."""
    return field(default="", metadata={"help": help_text, "option": True})


def shared(name: str) -> Any:
    """The dataclass field of setting ``name`` as ``SHARED_SETTINGS`` declares it (use it for the field ``name``)."""
    default, metadata = SHARED_SETTINGS[name]
    return field(default=default, metadata=metadata)


@dataclass
class LoraSettings:
    """LoRA through PEFT; off means full fine-tuning (the study's choice)."""

    enabled: bool = field(
        default=False, metadata={"help": "train LoRA adapters instead of all weights", "option": "--lora"}
    )
    r: int = field(default=16, metadata={"help": "adapter rank"})
    alpha: float = field(default=32.0, metadata={"help": "LoRA scaling numerator (scale = alpha / r)"})
    dropout: float = field(default=0.05, metadata={"help": "dropout on the adapter input"})
    target_modules: list[str] = field(
        default_factory=lambda: ["all-linear"],
        metadata={"help": "module names to adapt; ['all-linear'] = every linear layer except the output head"},
    )
    merge: bool = field(
        default=True,
        metadata={
            "help": "save final/ as a merged full model (loadable like any model); the adapter alone goes to adapter/"
        },
    )

    def validate(self) -> None:
        if self.r < 1:
            raise ConfigError("lora.r", f"must be >= 1, got {self.r}")
        if not math.isfinite(self.alpha) or self.alpha <= 0:
            raise ConfigError("lora.alpha", f"must be > 0, got {self.alpha}")
        if not 0 <= self.dropout < 1:
            raise ConfigError("lora.dropout", f"must be in [0, 1), got {self.dropout}")
        if not self.target_modules or any(not m for m in self.target_modules):
            raise ConfigError("lora.target_modules", "must list at least one non-empty module name")


@dataclass
class ProximitySettings:
    """Proximity-controlled SFT (study appendix): keep the model near where it started.

    ``kl``: loss = CE + alpha * KL(pi || pi_start) over the full vocabulary, averaged over completion tokens,
    against a frozen copy of the starting model. ``l2``: loss = CE + alpha * ||theta - theta_start||^2 over the
    trained parameters. Study: alpha in {0.05, 0.1, 0.5}.
    """

    kind: str = field(default="none", metadata={"help": "none, kl (to a frozen copy of the start) or l2 (weights)"})
    alpha: float = field(default=0.1, metadata={"help": "weight of the proximity term (study: 0.05, 0.1, 0.5)"})

    def validate(self) -> None:
        if self.kind not in PROXIMITY_KINDS:
            raise ConfigError("proximity.kind", f"must be one of {PROXIMITY_KINDS}, got {self.kind!r}")
        if not math.isfinite(self.alpha) or self.alpha <= 0:
            raise ConfigError("proximity.alpha", f"must be a finite number > 0, got {self.alpha}")


@dataclass
class ExpandSettings:
    """Block expansion (LLaMA Pro, Wu et al. 2024): new decoder blocks inserted after layer ``after``, each a copy of
    that layer with its attention output and MLP down projections zeroed, so it starts as the identity. Why: a
    fine-tune gets fresh depth for the new skill while every circuit the model had computes exactly what it did
    (with ``freeze`` on the old layers, they keep computing it)."""

    blocks: int = field(default=0, metadata={"help": "how many blocks to insert; 0 = no expansion"})
    after: int = field(default=0, metadata={"help": "index of the existing layer the new blocks follow"})

    def validate(self) -> None:
        if self.blocks < 0:
            raise ConfigError("expand.blocks", f"must be >= 0, got {self.blocks}")
        if self.after < 0:
            raise ConfigError("expand.after", f"must be a layer index >= 0, got {self.after}")


@dataclass
class SFTRunConfig(TypedConfig):
    """One SFT run: model, data, optimisation, checkpoints, logging. ``validate()`` names the bad field."""

    model: str = required_option(
        "tiny preset (tiny, small: built from scratch), a local HF folder, smollm2-135m or org/name"
    )
    data: list[str] = field(
        default_factory=list,
        metadata={
            "help": "dataset folders made by `sftgen generate` (DIR/dataset + DIR/manifest.json)",
            "option": True,
        },
    )
    out: str = shared("out")
    mix_weights: list[float] | None = field(
        default=None,
        metadata={
            "help": "one weight per data folder: each folder's share of the mixed rows (resampled to that share); "
            "null = plain concatenation"
        },
    )
    template: str | None = field(
        default=None,
        metadata={
            "help": "prompt template family the data uses (study / compact), recorded in sftgen_model.json for eval; "
            "null = read it from the data manifests (then it must agree with them)"
        },
    )
    lr: float = field(default=1e-5, metadata={"help": "peak learning rate", "option": True})
    scheduler: str = field(
        default="cosine", metadata={"help": "learning-rate schedule after warmup: cosine, linear or constant"}
    )
    warmup_ratio: float = field(
        default=0.1, metadata={"help": "fraction of the optimizer steps spent in linear warmup"}
    )
    weight_decay: float = shared("weight_decay")
    adam_beta1: float = shared("adam_beta1")
    adam_beta2: float = field(default=0.95, metadata={"help": "AdamW beta2 (the study: 0.95)"})
    adam_epsilon: float = shared("adam_epsilon")
    grad_clip: float = shared("grad_clip")
    batch_size: int = field(default=8, metadata={"help": "rows per device per micro-batch", "option": True})
    grad_accum: int = field(
        default=1,
        metadata={
            "help": "micro-batches per optimizer step (global batch = batch_size x grad_accum x GPUs)",
            "option": True,
        },
    )
    epochs: float | None = field(
        default=None,
        metadata={
            "help": "passes over the data (set this or max_steps, not both)",
            "option": True,
            "replaces": "max_steps",
        },
    )
    max_steps: int | None = field(
        default=None,
        metadata={"help": "optimizer steps (set this or epochs, not both)", "option": True, "replaces": "epochs"},
    )
    max_length: int = field(
        default=1024, metadata={"help": "longest tokenized prompt+completion; longer rows are truncated at the end"}
    )
    seed: int = field(
        default=0, metadata={"help": "seed of the data order, LoRA init and tiny-model init", "option": True}
    )
    save_steps: int | None = field(
        default=None,
        metadata={
            "help": "checkpoint every N optimizer steps; null = one checkpoint per epoch (the study)",
            "option": True,
        },
    )
    save_total_limit: int | None = field(
        default=None, metadata={"help": "keep only the newest N checkpoints; null = keep all"}
    )
    logging_steps: int = field(default=10, metadata={"help": "log loss and learning rate every N optimizer steps"})
    report_to: str = shared("report_to")
    bf16: bool | None = shared("bf16")
    model_dtype: str | None = shared("model_dtype")
    attention_dropout: float | None = field(
        default=None,
        metadata={
            "help": "dropout on attention weights while training (a regulariser against leaning on any one prompt "
            "token); null = the model's own setting (0 for the tiny models). Checkpoints keep the rate in their "
            "config, as transformers saves it: a later run from one trains with it unless it sets its own"
        },
    )
    neftune_noise_alpha: float | None = field(
        default=None,
        metadata={
            "help": "NEFTune: uniform noise of scale alpha / sqrt(length x width) on the input embeddings while "
            "training (Jain et al. 2023; transformers' neftune_noise_alpha); null = off"
        },
    )
    group_by_length: bool = field(
        default=False,
        metadata={"help": "batch rows of similar length together (less padding: faster with mixed lengths)"},
    )
    gradient_checkpointing: bool = shared("gradient_checkpointing")
    num_threads: int | None = shared("num_threads")
    dataset_num_proc: int | None = field(
        default=None,
        metadata={
            "help": "processes that tokenize the rows before training (TRL's dataset_num_proc; ~1,500 rows/s each "
            "for the tiny model: a GPU run on 400k rows otherwise waits minutes); null = one"
        },
    )
    resume: str = field(
        default="auto",
        metadata={
            "help": "auto: continue from the newest complete checkpoint in out if there is one; always: require one; "
            "never: start fresh and refuse a run folder that already has checkpoints",
            "option": "--resume/--no-resume",
            "flag_values": ("always", "never"),
        },
    )
    progress: bool = shared("progress")
    stop_at_loss: float | None = field(
        default=None,
        metadata={
            "help": "end early (with a checkpoint) once a logged training loss is at or below this; "
            "null = run to the end"
        },
    )
    freeze: list[str] = field(
        default_factory=list,
        metadata={
            "help": "regular expressions over parameter names (e.g. 'embed_tokens', 'layers\\.3\\.'); every matching "
            "parameter keeps its starting value; [] = train everything"
        },
    )
    expand: ExpandSettings = field(
        default_factory=ExpandSettings,
        metadata={
            "help": "block expansion: insert `blocks` identity-initialised decoder blocks after layer `after` before "
            "training (layer names after them shift by `blocks`; `freeze` sees the new names)"
        },
    )
    lora: LoraSettings = field(
        default_factory=LoraSettings, metadata={"help": "LoRA settings (lora.enabled: false = full fine-tuning)"}
    )
    proximity: ProximitySettings = field(
        default_factory=ProximitySettings,
        metadata={"help": "proximity-controlled SFT: kind none / kl / l2 with weight alpha"},
    )

    # --- validation -----------------------------------------------------------------------------

    def validate(self) -> None:
        """Check every value (no file system access: see ``sftgen.train.sft.preflight`` for that)."""
        if not self.model:
            raise ConfigError("model", "required (a tiny preset, a folder, smollm2-135m or org/name)")
        if not self.data:
            raise ConfigError("data", "give at least one dataset folder")
        if any(not d for d in self.data) or len(set(self.data)) != len(self.data):
            raise ConfigError("data", f"folders must be non-empty and distinct, got {self.data}")
        if not self.out:
            raise ConfigError("out", "required: the run folder")
        if self.mix_weights is not None:
            if len(self.mix_weights) != len(self.data):
                raise ConfigError(
                    "mix_weights", f"needs one weight per data folder ({len(self.data)}), got {len(self.mix_weights)}"
                )
            if any(not math.isfinite(w) or w <= 0 for w in self.mix_weights):
                raise ConfigError("mix_weights", f"weights must be finite and > 0, got {self.mix_weights}")
        if self.template is not None and self.template not in PROMPT_TEMPLATES:
            raise ConfigError("template", f"must be one of {PROMPT_TEMPLATES} or null, got {self.template!r}")
        self._validate_optimisation()
        self._validate_schedule()
        if self.report_to not in REPORTERS:
            raise ConfigError("report_to", f"must be one of {REPORTERS}, got {self.report_to!r}")
        if self.num_threads is not None and self.num_threads < 1:
            raise ConfigError("num_threads", f"must be >= 1 or null, got {self.num_threads}")
        if self.dataset_num_proc is not None and self.dataset_num_proc < 1:
            raise ConfigError("dataset_num_proc", f"must be >= 1 or null, got {self.dataset_num_proc}")
        if self.model_dtype is not None and self.model_dtype not in DTYPES:
            raise ConfigError("model_dtype", f"must be one of {DTYPES} or null, got {self.model_dtype!r}")
        if self.stop_at_loss is not None and (not math.isfinite(self.stop_at_loss) or self.stop_at_loss < 0):
            raise ConfigError("stop_at_loss", f"must be >= 0 or null, got {self.stop_at_loss}")
        if self.resume not in RESUME_MODES:
            raise ConfigError("resume", f"must be one of {RESUME_MODES}, got {self.resume!r}")
        self._validate_freeze()
        self.expand.validate()
        if self.expand.blocks and self.lora.enabled:
            raise ConfigError("expand.blocks", "block expansion trains the new blocks in full; turn lora.enabled off")
        self.lora.validate()
        self.proximity.validate()

    def _validate_freeze(self) -> None:
        for i, pattern in enumerate(self.freeze):
            if not pattern:
                raise ConfigError(f"freeze[{i}]", "must be a non-empty regular expression")
            try:
                re.compile(pattern)
            except re.error as err:
                raise ConfigError(f"freeze[{i}]", f"{pattern!r} is not a regular expression ({err})") from err

    def _validate_optimisation(self) -> None:
        validate_optimizer(self)
        if self.batch_size < 1:
            raise ConfigError("batch_size", f"must be >= 1, got {self.batch_size}")
        if self.grad_accum < 1:
            raise ConfigError("grad_accum", f"must be >= 1, got {self.grad_accum}")
        if self.max_length < 8:
            raise ConfigError("max_length", f"must be >= 8 tokens, got {self.max_length}")
        if self.attention_dropout is not None and not 0 <= self.attention_dropout < 1:
            raise ConfigError("attention_dropout", f"must be in [0, 1) or null, got {self.attention_dropout}")
        if self.neftune_noise_alpha is not None and (
            not math.isfinite(self.neftune_noise_alpha) or self.neftune_noise_alpha <= 0
        ):
            alpha = self.neftune_noise_alpha
            raise ConfigError("neftune_noise_alpha", f"must be a finite number > 0 or null, got {alpha}")

    def _validate_schedule(self) -> None:
        if self.epochs is None and self.max_steps is None:
            raise ConfigError("epochs", "set epochs or max_steps (exactly one): how long should the run be?")
        if self.epochs is not None and self.max_steps is not None:
            raise ConfigError("max_steps", "set epochs or max_steps, not both")
        if self.epochs is not None and (not math.isfinite(self.epochs) or self.epochs <= 0):
            raise ConfigError("epochs", f"must be > 0, got {self.epochs}")
        if self.max_steps is not None and self.max_steps < 1:
            raise ConfigError("max_steps", f"must be >= 1, got {self.max_steps}")
        if self.save_steps is not None and self.save_steps < 1:
            raise ConfigError("save_steps", f"must be >= 1 or null (once per epoch), got {self.save_steps}")
        if self.save_total_limit is not None and self.save_total_limit < 1:
            raise ConfigError("save_total_limit", f"must be >= 1 or null (keep all), got {self.save_total_limit}")
        if self.logging_steps < 1:
            raise ConfigError("logging_steps", f"must be >= 1, got {self.logging_steps}")

    # --- derived --------------------------------------------------------------------------------

    @property
    def is_tiny(self) -> bool:
        """A from-scratch preset: tokenizer built locally, weights random-initialised."""
        return self.model in TINY_MODELS
