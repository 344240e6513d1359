"""Build SFT and RL datasets on disk: Hugging Face ``datasets`` + JSONL + a manifest, atomically.

The same arguments always give byte-identical files (hashed seeds, sorted JSON, no timestamps), and
a build fails before writing if any training instance is also an evaluation instance.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from datasets import Dataset
from tqdm import tqdm

from sftgen import __version__
from sftgen.data.leakage import EvaluationStates, assert_disjoint, evaluation_keys
from sftgen.data.points import points_rl_rows, points_sft_rows, training_hands
from sftgen.data.sokoban import RowSpec, sokoban_rl_rows, sokoban_sft_rows, training_levels
from sftgen.io import atomic_dir, atomic_write_json
from sftgen.prompts import TEMPLATES, paraphrase_pool
from sftgen.seeding import content_hash
from sftgen.variants import DIVERSE_POOLS, sokoban_difficulty

KINDS = ("answer-only", "diverse", "cot", "diverse-cot", "rl")
DATA_FORMAT = "sftgen-data-v1"


@dataclass(frozen=True)
class BuildConfig:
    """What to build. ``n`` counts levels (Sokoban, every state becomes a row) or hands (Points)."""

    kind: str
    task: str
    n: int
    seed: int = 0
    template: str = "study"
    paraphrases: bool = False  # sample each row's wording from the training paraphrase pool
    diverse_rl: bool = False  # RL prompts with random action words / face maps
    rl_think: bool = False  # RL prompts asking for <think> ... </think> first (GRPO warm-started from CoT)
    pool: str = "words"  # diverse Sokoban action words: words (the study's kind) or codes (variants.diverse_pool)

    def validate(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if self.task not in ("sokoban", "points"):
            raise ValueError(f"task must be 'sokoban' or 'points', got {self.task!r}")
        if self.n < 1:
            raise ValueError(f"n must be ≥ 1, got {self.n}")
        if self.template not in TEMPLATES:
            raise ValueError(f"template must be one of {TEMPLATES}, got {self.template!r}")
        if self.pool not in DIVERSE_POOLS:
            raise ValueError(f"pool must be one of {DIVERSE_POOLS}, got {self.pool!r}")
        if self.paraphrases and self.template != "study":
            raise ValueError("paraphrases exist only for the 'study' template")

    def row_spec(self) -> RowSpec:
        pool = paraphrase_pool(self.task, held_out=False) if self.paraphrases else (0,)
        diverse = self.kind in ("diverse", "diverse-cot") or (self.kind == "rl" and self.diverse_rl)
        cot = self.kind in ("cot", "diverse-cot") or (self.kind == "rl" and self.rl_think)
        return RowSpec(diverse=diverse, cot=cot, template=self.template, paraphrases=pool, pool=self.pool)


def iter_rows(config: BuildConfig, exclude: frozenset[str], states: EvaluationStates | None = None) -> Iterator[dict]:
    """The dataset's rows in order (a pure function of ``config`` and the evaluation keys). Sokoban rows whose
    state is an evaluation start board are dropped; pass ``states`` to read how many."""
    spec = config.row_spec()
    if config.task == "sokoban":
        states = states or EvaluationStates(exclude)
        levels = states.levels(training_levels(config.n, config.seed, sokoban_difficulty("6x6-1"), exclude))
        return states.rows((sokoban_rl_rows if config.kind == "rl" else sokoban_sft_rows)(levels, spec, config.seed))
    hands = training_hands(config.n, config.seed, spec.diverse, exclude)
    return (points_rl_rows if config.kind == "rl" else points_sft_rows)(hands, spec, config.seed)


def build_dataset(config: BuildConfig, out: str | Path, overwrite: bool = False, progress: bool = True) -> dict:
    """Write ``out/{data.jsonl, dataset/, manifest.json}`` and return the manifest."""
    config.validate()
    exclude = evaluation_keys()
    states = EvaluationStates(exclude)
    stream = iter_rows(config, exclude, states)
    rows = list(tqdm(stream, desc=f"{config.kind} {config.task}", unit="row", disable=not progress))
    seen_keys = {row["instance_key"] for row in rows}
    assert_disjoint(seen_keys, exclude)
    meta = {
        "config": asdict(config),
        "instances": config.n,
        "distinct_instances": len(seen_keys),
        "instance_keys_sha256": content_hash("\n".join(sorted(seen_keys))),
        "disjoint_from_evaluation": True,
        "evaluation_keys": len(exclude),
        "dropped_evaluation_states": states.dropped,
    }
    return write_dataset(rows, out, meta, overwrite=overwrite)


def write_dataset(rows: list[dict], out: str | Path, meta: dict, overwrite: bool = False) -> dict:
    """Write rows as ``out/{data.jsonl, dataset/, manifest.json}`` in one atomic step; returns the manifest."""
    jsonl = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows)
    manifest = {
        "format": DATA_FORMAT,
        "sftgen_version": __version__,
        **meta,
        "rows": len(rows),
        "columns": sorted(rows[0]) if rows else [],
        "sha256": content_hash(jsonl),
    }
    with atomic_dir(out, overwrite=overwrite) as tmp:
        (tmp / "data.jsonl").write_text(jsonl, encoding="utf-8")
        Dataset.from_list(rows).save_to_disk(str(tmp / "dataset"))
        atomic_write_json(tmp / "manifest.json", manifest)
    return manifest
