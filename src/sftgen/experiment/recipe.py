"""A recipe: tasks × methods × model × evaluation splits × training seeds, validated before anything runs.

Recipes are YAML files (``recipes/*.yaml``); ``quick``, ``tiny``, ``smoke`` and the GPU recipes ship
with sftgen and are addressed by name. Every key is typed: an unknown key or a bad value is an error
naming it, and the SFT settings of every run are checked against ``SFTRunConfig`` up front.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sftgen.base.pretrain import BaseConfig
from sftgen.data.build import BuildConfig
from sftgen.models.sampling import Sampling
from sftgen.splits import get_split, resolve_splits
from sftgen.tasks.protocol import task_names
from sftgen.train.config import SFTRunConfig
from sftgen.train.typed import ConfigError, from_mapping, load_yaml_mapping, parse_override
from sftgen.variants import DIVERSE_POOLS

SFT_METHODS = ("answer-only", "diverse", "cot", "diverse-cot")
METHODS = (*SFT_METHODS, "proximity-kl", "proximity-l2", "grpo")
# The training data each method reads; GRPO also reads CoT data for its short SFT warm start (study).
DATA_KIND = {
    **{m: m for m in SFT_METHODS},
    "proximity-kl": "answer-only",
    "proximity-l2": "answer-only",
    "grpo": "rl",
}
THINK_METHODS = ("cot", "diverse-cot", "grpo")


def response_format(method: str) -> str:
    return "think" if method in THINK_METHODS else "answer"


@dataclass
class TaskData:
    """Training data of one registered task: ``n`` instances (levels of a multi-turn task, whose every state is a
    row, or one-answer puzzles); ``train``: SFT overrides for every method on this task (a task's budget: one-answer
    puzzles learn in fewer steps than multi-turn levels)."""

    task: str
    n: int
    data_seed: int = 0
    paraphrases: bool = False
    train: dict[str, Any] = field(default_factory=dict)


@dataclass
class MethodSettings:
    """SFT overrides for one method (``key: value`` over the recipe's ``train`` settings)."""

    method: str
    train: dict[str, Any] = field(default_factory=dict)


@dataclass
class TeacherSettings:
    """CoT data from a teacher by rejection sampling (``sftgen.data.teacher``, the study's way) instead of the
    solver's CoT: ``model`` is a served ``http(s)://`` endpoint (vLLM's OpenAI server) or a model folder; each
    prompt keeps its first of ``samples`` answers the verifier gives full marks."""

    model: str = ""
    samples: int = 16
    temperature: float = 1.0
    max_new_tokens: int = 4096
    batch_size: int = 64

    def validate(self) -> None:
        if not self.model:
            raise ConfigError("teacher.model", "required: a served endpoint (http://HOST:PORT) or a model folder")
        for name in ("samples", "max_new_tokens", "batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"teacher.{name}", f"must be >= 1, got {getattr(self, name)}")
        if not 0 < self.temperature < 100:
            raise ConfigError("teacher.temperature", f"must be > 0 (samples must differ), got {self.temperature}")


SERVED_BACKENDS = ("hf", "vllm", "openai")


@dataclass
class EvalSettings:
    """What to evaluate: ``splits`` on the chosen checkpoint, ``curve_splits`` at every checkpoint."""

    splits: list[str] = field(default_factory=lambda: ["study", "paraphrase"])
    n: int | None = None
    curve_splits: list[str] = field(default_factory=list)
    curve_n: int | None = None
    validation_n: int | None = None
    greedy: bool = False
    temperature: float = 0.5
    top_p: float = 1.0
    max_new_tokens: int = 256
    seed: int = 0
    batch_size: int = 64
    # hf (in process), vllm (in process, GPU machines with the gpu extra) or openai: the chosen checkpoint is
    # served by ``server`` ({model} = its folder, {port} = a free port) and evaluated over its OpenAI API
    backend: str = "hf"
    server: str = "vllm serve {model} --port {port} --host 127.0.0.1"
    server_timeout: float = 900.0  # seconds for the server to answer /v1/models

    def validate(self) -> None:
        """Impossible values fail here, naming the recipe key, before any data is built or model trained."""
        for name in ("n", "curve_n", "validation_n"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"eval.{name}", f"must be >= 1 instances per split or null (all), got {value}")
        for name in ("max_new_tokens", "batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"eval.{name}", f"must be >= 1, got {getattr(self, name)}")
        if self.backend not in SERVED_BACKENDS:
            raise ConfigError("eval.backend", f"must be one of {SERVED_BACKENDS}, got {self.backend!r}")
        if self.backend == "openai" and not ("{model}" in self.server and "{port}" in self.server):
            raise ConfigError("eval.server", f"must name {{model}} and {{port}}, got {self.server!r}")
        if self.server_timeout <= 0:
            raise ConfigError("eval.server_timeout", f"must be > 0 seconds, got {self.server_timeout}")
        if self.seed < 0:
            raise ConfigError("eval.seed", f"must be >= 0, got {self.seed}")
        try:
            Sampling(self.temperature, self.top_p, self.max_new_tokens, self.seed, self.greedy)
        except ValueError as err:  # "Sampling.top_p must be ..." -> "eval.top_p: must be ..."
            field_name, _, message = str(err).removeprefix("Sampling.").partition(" ")
            raise ConfigError(f"eval.{field_name}", message) from err
        if not self.splits:
            raise ConfigError("eval.splits", "list at least one split or group (e.g. study, quick, or a split)")
        for key in ("splits", "curve_splits"):
            for name in getattr(self, key):
                try:
                    resolve_splits([name])
                except KeyError as err:
                    raise ConfigError(f"eval.{key}", str(err.args[0])) from err


@dataclass
class Recipe:
    """Everything one ``sftgen reproduce`` run does."""

    name: str
    model: str
    tasks: list[TaskData]
    methods: list[str]
    template: str = "study"
    base: BaseConfig | None = None
    # Share of every SFT run's rows replayed from the base's curriculum (its last stage), the same for every
    # method: a tiny base otherwise loses its look-up under the first high-loss SFT steps (docs/tiny-scale-notes.md).
    base_replay: float = 0.0
    # Diverse action words: ``words`` (English words, the study's kind) or ``codes`` (1-3 characters
    # spelled one token each; variants.diverse_code_pool says why). The base, when the recipe has one, draws
    # its declared maps from the same pool.
    diverse_pool: str = "words"
    seeds: list[int] = field(default_factory=lambda: [0])
    train: dict[str, Any] = field(default_factory=dict)
    method_train: list[MethodSettings] = field(default_factory=list)
    eval: EvalSettings = field(default_factory=EvalSettings)
    proximity_alpha: float = 0.1  # α of the proximity-kl / proximity-l2 methods
    grpo: dict[str, Any] = field(default_factory=dict)  # GRPORunConfig settings of the grpo method
    grpo_warm_steps: int = 10  # CoT-SFT steps before GRPO (the study's warm start)
    teacher: TeacherSettings | None = None  # CoT data by rejection sampling from a teacher; None: the solver's CoT
    parallel: int = 2
    launcher: str = ""  # multi-GPU training, e.g. "accelerate launch --config_file configs/accelerate/..."
    description: str = ""

    def validate(self) -> None:
        if not self.name:
            raise ConfigError("name", "required")
        if not self.tasks:
            raise ConfigError("tasks", "list at least one task")
        for i, task in enumerate(self.tasks):
            if task.task not in task_names():
                raise ConfigError(f"tasks[{i}].task", f"must be one of {task_names()}, got {task.task!r}")
            if task.data_seed < 0:
                raise ConfigError(f"tasks[{i}].data_seed", f"must be >= 0, got {task.data_seed}")
            build = BuildConfig("answer-only", task.task, task.n, task.data_seed, self.template, task.paraphrases)
            try:
                build.validate()
            except ValueError as err:
                raise ConfigError(f"tasks[{i}]", str(err)) from err
        if len({t.task for t in self.tasks}) != len(self.tasks):
            raise ConfigError("tasks", "each task may appear once")
        if not self.methods or any(m not in METHODS for m in self.methods):
            raise ConfigError("methods", f"choose from {METHODS}, got {self.methods}")
        for i, settings in enumerate(self.method_train):
            if settings.method not in self.methods:
                raise ConfigError(f"method_train[{i}].method", f"{settings.method!r} is not in methods")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds) or min(self.seeds) < 0:
            raise ConfigError("seeds", f"need distinct training seeds >= 0, got {self.seeds}")
        self.eval.validate()
        if self.parallel < 1:
            raise ConfigError("parallel", f"must be ≥ 1, got {self.parallel}")
        if self.template not in ("study", "compact"):
            raise ConfigError("template", f"must be study or compact, got {self.template!r}")
        if not 0 <= self.base_replay < 1:
            raise ConfigError("base_replay", f"must be in [0, 1), got {self.base_replay}")
        if self.diverse_pool not in DIVERSE_POOLS:
            raise ConfigError("diverse_pool", f"must be one of {DIVERSE_POOLS}, got {self.diverse_pool!r}")
        if self.base is not None and self.base.pool != self.diverse_pool:
            raise ConfigError("base.pool", f"must equal diverse_pool ({self.diverse_pool!r}), got {self.base.pool!r}")
        if self.base_replay and self.base is None:
            raise ConfigError("base_replay", "replays the base's curriculum, so the recipe needs a base")
        if self.base is not None and self.base.preset != self.model:
            # the report labels every run with `model`: a label that is not the architecture trained would mislead
            raise ConfigError("base.preset", f"must equal model ({self.model!r}), got {self.base.preset!r}")
        if self.base is not None:
            try:
                self.base.validate()
            except ValueError as err:
                raise ConfigError("base", str(err)) from err
        if self.proximity_alpha <= 0:
            raise ConfigError("proximity_alpha", f"must be > 0, got {self.proximity_alpha}")
        if self.teacher is not None:
            self.teacher.validate()
        if self.grpo_warm_steps < 1:
            raise ConfigError("grpo_warm_steps", f"must be ≥ 1, got {self.grpo_warm_steps}")
        if "grpo" in self.methods:
            try:
                self.grpo_config(seed=self.seeds[0], model="WARM", data="DATA", out="OUT").validate()
            except ConfigError as err:
                raise ConfigError(
                    err.field if err.field.startswith("grpo.") else f"grpo.{err.field}", str(err).split(": ", 1)[-1]
                ) from err
        for method in self.methods:  # every run's SFT settings, type-checked now
            for task in self.tasks:
                config = self.sft_config(method, seed=self.seeds[0], data="DATA", out="OUT", task=task.task)
                try:
                    config.validate()
                except ConfigError as err:
                    raise _in_train(err) from err

    def method_overrides(self, method: str) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for settings in self.method_train:
            if settings.method == method:
                merged.update(settings.train)
        return merged

    def data_kinds(self) -> list[str]:
        kinds = [DATA_KIND[m] for m in self.methods] + (["cot"] if "grpo" in self.methods else [])
        return list(dict.fromkeys(kinds))

    def task_overrides(self, task: str | None) -> dict[str, Any]:
        return next((t.train for t in self.tasks if t.task == task), {})

    def sft_config(
        self,
        method: str,
        seed: int,
        data: str,
        out: str,
        model: str | None = None,
        replay: str | None = None,
        task: str | None = None,
    ) -> SFTRunConfig:
        """One run's SFT settings (recipe ``train``, then the task's, then the method's overrides); ``replay`` is
        the base curriculum folder mixed in at ``base_replay``."""
        base = {"model": model or self.model, "data": [data], "out": out, "template": self.template, "seed": seed}
        if replay is not None and self.base_replay:
            base.update(data=[data, replay], mix_weights=[1 - self.base_replay, self.base_replay])
        overrides = {**self.train, **self.task_overrides(task), **self.method_overrides(method)}
        if method.startswith("proximity-"):
            overrides["proximity"] = {"kind": method.removeprefix("proximity-"), "alpha": self.proximity_alpha}
        if method == "grpo":  # the warm start: a short CoT SFT run
            overrides.update(max_steps=self.grpo_warm_steps, save_steps=self.grpo_warm_steps, epochs=None)
        try:
            return SFTRunConfig.from_dict({**base, **overrides})
        except ConfigError as err:
            raise _in_train(err) from err

    def grpo_config(self, seed: int, model: str, data: str, out: str) -> Any:
        from sftgen.train.grpo_config import GRPORunConfig

        base = {"model": model, "data": data, "out": out, "template": self.template, "seed": seed}
        try:
            return GRPORunConfig.from_dict({**base, **self.grpo})
        except ConfigError as err:
            raise ConfigError(f"grpo.{err.field}", str(err).split(": ", 1)[-1]) from err

    def splits_for(self, task: str, names: list[str], n: int | None) -> list[str]:
        """The split names of ``names`` (groups expanded) that belong to ``task``."""
        return [s.name for s in resolve_splits(names, n) if s.task == task]

    def validation_split(self, task: str) -> str:
        return get_split(f"{task}/validation").name

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _in_train(err: ConfigError) -> ConfigError:
    """An SFT setting's error, named as the recipe key that holds it."""
    return ConfigError(f"train.{err.field}", str(err).split(": ", 1)[-1])


def recipes_dir() -> Path:
    """The shipped recipes: ``recipes/`` of the checkout, or the copy inside the package."""
    for candidate in (Path(__file__).resolve().parents[3] / "recipes", Path(__file__).resolve().parent / "recipes"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("no recipes/ folder found")


def set_recipe_value(data: dict[str, Any], path: list[str], value: Any) -> None:
    """``data[path...] = value`` where a list of tasks or method settings is addressed by its items' name:
    ``tasks.sokoban.n`` is the ``n`` of the ``tasks`` entry whose ``task`` is ``sokoban``. Why: sizing a shipped
    recipe down (``--set model=... --set tasks.points.n=8 --set train.max_steps=4``) must not need a copy of it."""
    node: Any = data
    for i, part in enumerate(path[:-1]):
        where = ".".join(path[: i + 1])
        if isinstance(node, list):
            found = [item for item in node if isinstance(item, dict) and part in (item.get("task"), item.get("method"))]
            if not found:
                raise ConfigError(where, f"no entry named {part!r} in this list")
            node = found[0]
            continue
        if not isinstance(node, dict):
            raise ConfigError(where, "is not a mapping, so it has no sub-keys")
        node = node.setdefault(part, {})
    if not isinstance(node, dict):
        raise ConfigError(".".join(path), "its parent is not a mapping")
    node[path[-1]] = value


def load_recipe(name_or_path: str, overrides: dict[str, Any] | None = None, settings: Sequence[str] = ()) -> Recipe:
    """A shipped recipe by name (``quick``, ``tiny``, ...) or a YAML file, with ``overrides`` (top-level keys) and
    ``settings`` (``KEY=VALUE`` texts, dotted keys, YAML values) applied; validated."""
    path = Path(name_or_path)
    if not path.is_file():
        path = recipes_dir() / f"{name_or_path}.yaml"
        if not path.is_file():
            shipped = sorted(p.stem for p in recipes_dir().glob("*.yaml"))
            raise ConfigError(
                name_or_path, f"no such YAML file and no shipped recipe of that name; shipped: {', '.join(shipped)}"
            )
    data = load_yaml_mapping(path)
    data.update(overrides or {})
    for text in settings:
        set_recipe_value(data, *parse_override(text))
    recipe = from_mapping(Recipe, data)
    recipe.validate()
    return recipe
