"""Training data for SFT: read ``sftgen generate`` folders, check them, mix them, keep prompt/completion.

Why a separate step: the run must fail on a wrong folder (RL prompts, a missing manifest, templates that
disagree) before it builds a model, and the run record needs each folder's hashes so a result can be traced
back to the exact bytes it was trained on.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sftgen.io import read_json
from sftgen.seeding import derive_seed
from sftgen.train.typed import ConfigError

DATA_FORMAT = "sftgen-data-v1"  # sftgen.data.build.DATA_FORMAT (not imported: that module pulls in the generators)
TRAIN_COLUMNS = ("prompt", "completion")


@dataclass(frozen=True)
class DataSource:
    """One dataset folder as the run sees it."""

    path: str
    kind: str
    task: str
    template: str
    response_format: str
    rows: int
    data_sha256: str
    manifest_sha256: str

    def record(self) -> dict:
        return {
            "path": self.path,
            "kind": self.kind,
            "task": self.task,
            "template": self.template,
            "response_format": self.response_format,
            "rows": self.rows,
            "data_sha256": self.data_sha256,
            "manifest_sha256": self.manifest_sha256,
        }


def response_format_of(kind: str) -> str:
    """CoT kinds answer ``<think> ... </think> <answer> ...``; the others answer directly."""
    return "think" if kind in ("cot", "diverse-cot") else "answer"


def read_source(folder: str, field: str = "data") -> DataSource:
    """Check ``folder`` is prompt/completion data (``sftgen generate``, a base curriculum) and describe it."""
    root = Path(folder)
    manifest_path, dataset_path = root / "manifest.json", root / "dataset"
    if not manifest_path.is_file() or not dataset_path.is_dir():
        raise ConfigError(field, f"{folder} is not an sftgen dataset (needs manifest.json and dataset/)")
    raw = manifest_path.read_bytes()
    manifest = read_json(manifest_path)
    if manifest.get("format") != DATA_FORMAT:
        raise ConfigError(field, f"{folder}: manifest format {manifest.get('format')!r}, expected {DATA_FORMAT!r}")
    config = manifest.get("config", {})
    kind = str(config.get("kind", "?"))
    missing = [c for c in TRAIN_COLUMNS if c not in manifest.get("columns", [])]
    if kind == "rl" or missing:  # RL prompt sets have no completion to learn
        raise ConfigError(field, f"{folder} holds {kind!r} data without columns {missing}; SFT needs prompt/completion")
    if manifest.get("rows", 0) < 1:
        raise ConfigError(field, f"{folder} has no rows")
    return DataSource(
        path=str(root),
        kind=kind,
        task=config.get("task", "?"),
        template=config.get("template", "study"),
        response_format=response_format_of(kind),
        rows=int(manifest["rows"]),
        data_sha256=manifest.get("sha256", ""),
        manifest_sha256=hashlib.sha256(raw).hexdigest(),
    )


def mixed_counts(sources: list[DataSource], weights: list[float] | None) -> list[int]:
    """Rows taken from each folder: all of them, or each weight's share of the total row count."""
    if weights is None:
        return [s.rows for s in sources]
    total = sum(s.rows for s in sources)
    shares = [w / sum(weights) * total for w in weights]
    return [max(1, round(share)) for share in shares]


def prompt_family(sources: list[DataSource], weights: list[float] | None, template: str | None) -> dict:
    """What ``sftgen_model.json`` records: the template family and the (dominant) response format."""
    templates = sorted({s.template for s in sources})
    if len(templates) > 1:
        raise ConfigError("data", f"folders use different prompt templates {templates}; train on one family")
    if template is not None and template != templates[0]:
        raise ConfigError("template", f"is {template!r} but the data was written with {templates[0]!r}")
    counts = mixed_counts(sources, weights)
    dominant = max(range(len(sources)), key=lambda i: (counts[i], -i))
    return {
        "template": templates[0],
        "response_format": sources[dominant].response_format,
        "response_formats": sorted({s.response_format for s in sources}),
        "tasks": sorted({s.task for s in sources}),
    }


def _take(n_rows: int, count: int, seed: int, index: int) -> np.ndarray:
    """``count`` row indices of a folder: whole copies, then a seeded subset for the remainder."""
    rng = np.random.default_rng(derive_seed("sftgen-train-mix", seed, index))
    whole, rest = divmod(count, n_rows)
    parts = [np.arange(n_rows)] * whole + [np.sort(rng.choice(n_rows, size=rest, replace=False))]
    return np.concatenate(parts)


def load_training_dataset(sources: list[DataSource], weights: list[float] | None, seed: int):
    """One ``datasets.Dataset`` with only ``prompt`` and ``completion`` (metadata columns dropped).

    Metadata differs between tasks (Sokoban's ``words`` vs Points' ``cards``), so it is dropped before
    concatenating; the Trainer's sampler shuffles every epoch, so the mix needs no shuffle of its own.
    """
    from datasets import concatenate_datasets, load_from_disk

    parts = []
    for index, (source, count) in enumerate(zip(sources, mixed_counts(sources, weights), strict=True)):
        dataset = load_from_disk(str(Path(source.path) / "dataset")).select_columns(list(TRAIN_COLUMNS))
        if len(dataset) != source.rows:
            raise ConfigError("data", f"{source.path}: dataset has {len(dataset)} rows, manifest says {source.rows}")
        if weights is not None:
            dataset = dataset.select(_take(len(dataset), count, seed, index).tolist())
        parts.append(dataset)
    return parts[0] if len(parts) == 1 else concatenate_datasets(parts)
