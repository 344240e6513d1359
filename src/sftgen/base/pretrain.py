"""Train a tiny base model once on the curriculum, and reuse it by content hash.

The base is an ordinary Hugging Face checkpoint (``from_pretrained`` works), so every later SFT
method starts from it exactly as the study starts from a pretrained model. Its folder name is a
hash of everything that determines it (curriculum, preset, optimisation, seed, sftgen version), so
a second recipe run finds it and does not retrain.

CPU: ``sftgen pretrain-base --preset tiny --out DIR``; the same function runs under
``accelerate launch`` for larger presets since training goes through TRL's ``SFTTrainer``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from sftgen import __version__
from sftgen.base.curriculum import KINDS, curriculum_rows
from sftgen.data.build import write_dataset
from sftgen.io import atomic_write_json, read_json
from sftgen.seeding import content_hash
from sftgen.tasks.protocol import builtin_skill_tasks, presumes_skill, task_names
from sftgen.variants import DIVERSE_POOLS, diverse_pool, forbidden_words
from sftgen.vocabulary import forced_tokens

# v5: the tiny tokenizer spells numbers digit by digit, so no v4 base (whole-number tokens) may be reused;
# v6: a skills stage (making 24 from four numbers) after the mix; v7: a compose stage after the skills
CURRICULUM_VERSION = "base-curriculum-v7"
BASE_INFO = "sftgen_base.json"
# Tiny presets with a copy head, and the plain preset whose base they extend (sftgen.models.tiny.TINY_PRESETS).
COPY_HEAD_PRESETS = {"tiny-copy": "tiny"}


@dataclass(frozen=True)
class BaseStage:
    """One training stage of the base: its rows, task mix, look-up questions per row and learning rate."""

    name: str
    rows: int
    mix: dict[str, float]
    queries: int  # look-up questions per row
    lr: float
    stop_loss: float | None  # end the stage once the logged training loss is this low
    scheduler: str | None = None  # None: the config's


@dataclass(frozen=True)
class BaseConfig:
    """Everything that determines a base model; its hash names the cached folder.

    Up to five stages. First dense look-up alone (``lookup_queries`` questions per row) until its training loss
    reaches ``lookup_stop_loss`` — the circuit forms in a late, seed-dependent phase transition, and the
    mix's other losses delay it — then the whole mix at the lower ``mix_lr``, its look-up rows asking
    one question as every task does, so every token is in distribution without overwriting the look-up
    (docs/tiny-scale-notes.md). Measured: a mix stage at 2e-3 whose look-up rows asked 1..4 questions left the
    held-out look-up at 0.64; one question per row at 1e-3 gives 1.00. Either stage may be skipped (0 rows).

    An optional third stage (``navigate_rows`` > 0, at ``mix_lr``) trains the composite skill Sokoban
    needs under declared words — compute a move, answer its declared word — on box-free grids mixed with
    look-ups. It forms late: held-out navigation went 0.40 → 0.55 in 2,000 steps and 0.73 after 5,000.

    The skills stage (``skill_rows``, at ``skill_lr`` with a cosine decay) teaches the general skills the tasks in
    ``skill_tasks`` presume (``Task.skill``: General Points' arithmetic of making 24), mixed with the curriculum
    so the look-up is kept. It is memorization of one formula per multiset of values: measured on the tiny
    preset, 6,000 steps of 85% such rows reached 0.50 on fresh draws (docs/results/).

    The compose stage (``compose_rows``, at ``compose_lr`` with a cosine decay) then mixes those rows with the same
    skills applied to inputs the model must first work out (``compose``: General Points' numbers partly written as
    sums), as the task's answer applies the arithmetic to values it has just read from the declared map. Measured
    as a probe on the v6 base: diverse − answer-only on General Points' all_5 went +0.19 → +0.45
    (docs/results/2026-12-05-gp-compose.md).
    """

    preset: str = "tiny"
    lookup_rows: int = 96_000  # at most; the stage ends at lookup_stop_loss
    lookup_stop_loss: float = 0.05
    rows: int = 48_000
    seed: int = 0
    mix: dict[str, float] = field(default_factory=lambda: {"lookup": 0.3, "navigate": 0.5, "values": 0.1, "copy": 0.1})
    lookup_queries: int = 4
    symbol_weight: int = 12  # how many times each evaluation-vocabulary word is listed next to the pool words
    lr: float = 2e-3
    mix_lr: float = 1e-3
    scheduler: str = "constant"  # the look-up circuit forms in a late phase transition: keep the rate up
    batch_size: int = 32
    epochs: float = 1.0
    warmup_ratio: float = 0.03
    navigate_rows: int = 0
    navigate_mix: dict[str, float] = field(default_factory=lambda: {"navigate": 0.7, "lookup": 0.3})
    pool: str = "words"  # the diverse pool its declared maps draw from (variants.diverse_pool)
    skill_rows: int = 320_000
    skill_mix: dict[str, float] = field(
        default_factory=lambda: {"skills": 0.85, "navigate": 0.06, "lookup": 0.05, "values": 0.02, "copy": 0.02}
    )
    skill_tasks: tuple[str, ...] = field(default_factory=builtin_skill_tasks)
    skill_lr: float = 2e-3
    compose_rows: int = 48_000
    compose_mix: dict[str, float] = field(
        default_factory=lambda: {
            "compose": 0.45,
            "skills": 0.47,
            "navigate": 0.03,
            "lookup": 0.03,
            "values": 0.01,
            "copy": 0.01,
        }
    )
    compose_lr: float = 1e-3

    def validate(self) -> None:
        sizes = (self.lookup_rows, self.rows, self.navigate_rows, self.skill_rows, self.compose_rows)
        if min(sizes) < 0 or sum(sizes) < 1:
            raise ValueError(
                f"lookup_rows, rows, navigate_rows, skill_rows, compose_rows: all ≥ 0 and not all 0, got {sizes}"
            )
        rates = (self.lr, self.mix_lr, self.skill_lr, self.compose_lr)
        if min(rates) <= 0 or self.batch_size < 1 or self.epochs <= 0:
            raise ValueError("lr, mix_lr, skill_lr, compose_lr, batch_size and epochs must be positive")
        unregistered = sorted(set(self.skill_tasks) - set(task_names()))
        if unregistered:
            raise ValueError(f"skill_tasks: {unregistered} are not registered tasks ({', '.join(task_names())})")
        skill_less = [name for name in self.skill_tasks if not presumes_skill(name)]
        if skill_less:  # the skills stage would draw rows from them forever
            raise ValueError(f"skill_tasks: {skill_less} presume no skill (their Task.skill is None)")
        if self.lookup_stop_loss < 0:
            raise ValueError(f"lookup_stop_loss must be ≥ 0, got {self.lookup_stop_loss}")
        if self.symbol_weight < 1 or self.lookup_queries < 1:
            raise ValueError("symbol_weight and lookup_queries must be ≥ 1")
        if self.pool not in DIVERSE_POOLS:
            raise ValueError(f"pool must be one of {DIVERSE_POOLS}, got {self.pool!r}")
        for name in ("mix", "navigate_mix", "skill_mix", "compose_mix"):
            mix = getattr(self, name)
            unknown = sorted(set(mix) - set(KINDS))
            if unknown or not mix or any(not w > 0 for w in mix.values()):
                raise ValueError(f"{name}: kinds from {KINDS} with weights > 0, got {mix}")

    def stages(self) -> list[BaseStage]:
        """The stages that have rows, in training order."""
        stages = [
            BaseStage("lookup", self.lookup_rows, {"lookup": 1.0}, self.lookup_queries, self.lr, self.lookup_stop_loss),
            BaseStage("mix", self.rows, self.mix, 1, self.mix_lr, None),
            BaseStage("navigate", self.navigate_rows, self.navigate_mix, 1, self.mix_lr, None),
            BaseStage("skills", self.skill_rows, self.skill_mix, 1, self.skill_lr, None, "cosine"),
            BaseStage("compose", self.compose_rows, self.compose_mix, 1, self.compose_lr, None, "cosine"),
        ]
        return [stage for stage in stages if stage.rows > 0]

    def fingerprint(self) -> str:
        """Settings added after a release enter the hash only when changed, so cached bases keep their names."""
        defaults = BaseConfig()
        settings = {k: v for k, v in asdict(self).items() if k not in LATER_SETTINGS or v != getattr(defaults, k)}
        payload = {"config": settings, "curriculum": CURRICULUM_VERSION, "sftgen": __version__}
        if self.preset in COPY_HEAD_PRESETS:  # the fresh head's settings live in the model preset
            from sftgen.models.tiny import TINY_PRESETS

            payload["head"] = TINY_PRESETS[self.preset]
        return content_hash(json.dumps(payload, sort_keys=True))[:16]


LATER_SETTINGS = ("navigate_rows", "navigate_mix", "pool")


def cache_root() -> Path:
    return Path(os.environ.get("SFTGEN_CACHE", Path.home() / ".cache" / "sftgen")) / "bases"


def declared_word_list(symbol_weight: int, pool: str = "words") -> list[str]:
    """Pool words once plus every evaluation word ``symbol_weight`` times, so all are seen as declared words."""
    return list(diverse_pool(pool)) + list(forbidden_words()) * symbol_weight


def build_curriculum(config: BaseConfig, stage: BaseStage, index: int, out: Path) -> dict:
    """One stage's rows; each stage has its own seeds."""
    data = curriculum_rows(
        stage.rows,
        config.seed * 1000 + index,
        declared_word_list(config.symbol_weight, config.pool),
        forced_tokens(),
        stage.mix,
        stage.queries,
        config.skill_tasks,
    )
    meta = {"config": {"kind": "base", "task": "curriculum", "template": "compact", "stage": index, **asdict(config)}}
    return write_dataset(list(data), out, meta, overwrite=True)


def replay_rows(base: Path, out: Path) -> Path:
    """The base's last-stage rows (for ``base_replay``): the folder it recorded, else rebuilt with the same seeds
    into ``out`` (a shipped base carries no training data)."""
    info = read_json(base / BASE_INFO)
    recorded = info.get("replay_data")
    if recorded and Path(recorded, "manifest.json").is_file():
        return Path(recorded)
    config = BaseConfig(**info["config"])
    stages = config.stages()
    if not (out / "manifest.json").is_file():
        build_curriculum(config, stages[-1], len(stages) - 1, out)
    return out


def base_is_ready(folder: Path, fingerprint: str) -> bool:
    info = folder / BASE_INFO
    return info.exists() and read_json(info).get("fingerprint") == fingerprint


def pretrain_base(
    config: BaseConfig, out: str | Path | None = None, progress: bool = True, use_shipped: bool = True
) -> Path:
    """The base model folder for ``config``: the shipped one when it is this config's (and ``out`` is not
    given), else reused from the cache, else built, trained and probed."""
    from sftgen.base.shipped import shipped_base
    from sftgen.train import train

    config.validate()
    fingerprint = config.fingerprint()
    shipped = shipped_base(fingerprint) if use_shipped and out is None else None
    if shipped is not None:
        return shipped
    root = Path(out) if out is not None else cache_root() / fingerprint
    final = root / "final"
    if base_is_ready(final, fingerprint):
        return final
    if config.preset in COPY_HEAD_PRESETS:
        return _attach_copy_head(config, root, progress, use_shipped)
    start = time.perf_counter()
    model: str | Path = config.preset
    resumed = []  # stages found finished in ``root``, not trained by this call: the manifest says so
    for index, stage in enumerate(config.stages()):
        run_dir = root / f"stage-{index}-{stage.name}"
        if (run_dir / "run" / "run.json").is_file():  # a finished stage is not redone after a crash
            resumed.append(stage.name)
        else:
            build_curriculum(config, stage, index, run_dir / "data")
            train(_stage_run(config, stage, model, run_dir, progress))
        model = run_dir / "run" / "final"
    probe = probe_base(model, config.skill_tasks)
    export(Path(model), final)
    atomic_write_json(
        final / BASE_INFO,
        {
            "fingerprint": fingerprint,
            "config": asdict(config),
            "lookup_probe": probe["lookup"],
            "far_lookup_probe": probe["far_lookup"],
            "navigate_probe": probe["navigate"],
            "skill_probe": probe["skills"],
            "replay_data": str((run_dir / "data").resolve()),  # the last stage's rows, for SFT replay
            "resumed_stages": resumed,
            "wall_seconds": time.perf_counter() - start,
        },
    )
    return final


def _attach_copy_head(config: BaseConfig, root: Path, progress: bool, use_shipped: bool) -> Path:
    """A copy-head preset's base: the plain preset's base (same curriculum and seed), then a fresh copy head.

    The head is attached after the curriculum, untrained, and learns in SFT. Trained through the curriculum it
    learned to point at declared words before the dense look-up formed, and the look-up never did (held-out
    look-up probe 0.24, chance 0.25, against 0.78 for the plain base; docs/tiny-scale-notes.md).
    """
    import shutil

    import torch
    from transformers import AutoModelForCausalLM

    from sftgen.io import atomic_dir
    from sftgen.models.copy_head import with_copy_head
    from sftgen.models.tiny import TINY_PRESETS

    start = time.perf_counter()
    plain_config = replace(config, preset=COPY_HEAD_PRESETS[config.preset])
    # the shipped or cached plain base when allowed; a from-scratch build (`--check`, `--ship`) trains it too
    plain = pretrain_base(plain_config, None if use_shipped else root / "plain", progress, use_shipped)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        head = TINY_PRESETS[config.preset]
        model = with_copy_head(
            AutoModelForCausalLM.from_pretrained(str(plain)), head["copy_head_dim"], head["copy_gate_bias"]
        )
    with atomic_dir(root / "final", overwrite=True) as tmp:
        for item in plain.iterdir():  # tokenizer, chat template, sftgen's model card: the plain base's
            if item.is_file() and item.name not in ("model.safetensors", "config.json", BASE_INFO):
                shutil.copy2(item, tmp / item.name)
        model.save_pretrained(tmp)
        probe = probe_base(tmp, config.skill_tasks)
        plain_info = read_json(plain / BASE_INFO)
        atomic_write_json(
            tmp / BASE_INFO,
            {
                "fingerprint": config.fingerprint(),
                "config": asdict(config),
                "plain_base": plain_info["fingerprint"],
                "lookup_probe": probe["lookup"],
                "far_lookup_probe": probe["far_lookup"],
                "navigate_probe": probe["navigate"],
                "skill_probe": probe["skills"],
                "replay_data": plain_info.get("replay_data"),
                "resumed_stages": plain_info.get("resumed_stages", []),
                "wall_seconds": time.perf_counter() - start,
            },
        )
    return root / "final"


def _stage_run(config: BaseConfig, stage: BaseStage, model: str | Path, run_dir: Path, progress: bool) -> Any:
    from sftgen.train import SFTRunConfig

    return SFTRunConfig(
        model=str(model),
        data=[str(run_dir / "data")],
        out=str(run_dir / "run"),
        template="compact",
        lr=stage.lr,
        scheduler=stage.scheduler or config.scheduler,
        batch_size=config.batch_size,
        epochs=config.epochs,
        warmup_ratio=config.warmup_ratio,
        seed=config.seed,
        group_by_length=True,
        save_steps=500,
        save_total_limit=1,
        logging_steps=50,
        stop_at_loss=stage.stop_loss,
        progress=progress,
    )


def export(source: Path, target: Path) -> None:
    """Copy the trained model folder to ``target`` (the cache entry), replacing an unfinished one."""
    import shutil

    from sftgen.io import atomic_dir

    with atomic_dir(target, overwrite=True) as tmp:
        shutil.copytree(source, tmp, dirs_exist_ok=True)


def probe_base(model_dir: str | Path, skill_tasks: Sequence[str] = ()) -> dict[str, dict[str, float]]:
    from sftgen.base.probe import lookup_probe, navigate_probe, skill_probe
    from sftgen.models import load_model
    from sftgen.models.hf_backend import HFBackend

    model, tokenizer = load_model(str(model_dir))
    backend = HFBackend(model, tokenizer)
    return {
        "lookup": lookup_probe(backend),
        "far_lookup": lookup_probe(backend, far=True),
        "navigate": navigate_probe(backend),
        "skills": skill_probe(backend, skill_tasks),
    }
