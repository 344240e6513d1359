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
from sftgen.io import atomic_dir, atomic_write_json
from sftgen.prompts import TEMPLATES, paraphrase_count
from sftgen.seeding import content_hash
from sftgen.tasks.protocol import ROW_KINDS, RowRequest, get_task, task_names
from sftgen.variants import DIVERSE_POOLS

KINDS = ROW_KINDS
DATA_FORMAT = "sftgen-data-v1"


@dataclass(frozen=True)
class BuildConfig:
    """What to build. ``n`` counts instances: levels for multi-turn tasks (every state becomes a row), one row each
    for single-answer ones."""

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
        if self.task not in task_names():
            raise ValueError(f"task must be one of {task_names()}, got {self.task!r}")
        if self.n < 1:
            raise ValueError(f"n must be ≥ 1, got {self.n}")
        if self.template not in TEMPLATES:
            raise ValueError(f"template must be one of {TEMPLATES}, got {self.template!r}")
        if self.pool not in DIVERSE_POOLS:
            raise ValueError(f"pool must be one of {DIVERSE_POOLS}, got {self.pool!r}")
        if self.paraphrases and self.template != "study":
            raise ValueError("paraphrases exist only for the 'study' template")
        if self.template not in get_task(self.task).templates:
            raise ValueError(f"task {self.task!r} has no {self.template!r} template")
        if self.paraphrases and not _has_paraphrases(self.task):
            raise ValueError(f"task {self.task!r} has no paraphrases")

    def request(self) -> RowRequest:
        """The task protocol's request for these rows."""
        return RowRequest(
            self.kind, self.n, self.seed, self.template, self.pool, self.diverse_rl, self.rl_think, self.paraphrases
        )


def _has_paraphrases(task: str) -> bool:
    try:
        return paraphrase_count(task) > 1
    except KeyError:
        return False


def iter_rows(config: BuildConfig, exclude: frozenset[str], states: EvaluationStates | None = None) -> Iterator[dict]:
    """The dataset's rows in order (a pure function of ``config`` and the evaluation keys). Rows whose state is
    an evaluation start are dropped; pass ``states`` to read how many."""
    return get_task(config.task).rows(config.request(), exclude, states)


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
