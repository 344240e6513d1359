"""The tiny base models that ship inside the package, so `sftgen reproduce` starts fine-tuning at once.

Building a base takes longer than the whole `quick` recipe on a 2-core CPU, and every user would build the same
one: its weights (a few MB), tokenizer and manifest live in ``sftgen/resources/bases/<preset>`` (one base per
tiny preset: ``tiny-copy`` for the default recipes, plain ``tiny`` for the study's plain setting). The manifest
records the base's config and fingerprint, the command that built it, where, the content hash of its files and
its probe scores. A recipe whose base config has a shipped fingerprint uses that base; ``--rebuild-base`` trains
it again, and ``sftgen pretrain-base --check`` rebuilds one from scratch and compares the probes with its manifest.
"""

from __future__ import annotations

import hashlib
import shutil
from importlib import resources
from pathlib import Path
from typing import Any

from sftgen.io import atomic_dir, atomic_write_json, read_json

MANIFEST = "sftgen_base.json"
# What a model folder needs to load and to be recognised as an sftgen base: weights, config, tokenizer, template.
SHIPPED_FILES = (
    "config.json",
    "generation_config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "chat_template.jinja",
    "sftgen_model.json",
)
# Probe scores a rebuild must reproduce within this distance (overall accuracy, 50 questions per vocabulary):
# a rebuild on another device or library version is not bit-identical, its abilities are.
PROBE_TOLERANCE = 0.1
PROBES = ("lookup_probe", "navigate_probe", "skill_probe")


def shipped_root() -> Path:
    return Path(str(resources.files("sftgen.resources").joinpath("bases")))


def shipped_dir(preset: str) -> Path:
    """Where the base of tiny ``preset`` ships (it may not exist)."""
    return shipped_root() / preset


def shipped_presets() -> list[str]:
    """The presets whose base ships with this installation."""
    root = shipped_root()
    return sorted(p.name for p in root.iterdir() if (p / MANIFEST).is_file()) if root.is_dir() else []


def shipped_manifest(preset: str) -> dict[str, Any] | None:
    manifest = shipped_dir(preset) / MANIFEST
    return read_json(manifest) if manifest.is_file() else None


def shipped_base(fingerprint: str) -> Path | None:
    """The folder of the shipped base with this fingerprint (its files checked), or None when none ships."""
    for preset in shipped_presets():
        manifest = shipped_manifest(preset)
        if manifest is None or manifest.get("fingerprint") != fingerprint:
            continue
        folder = shipped_dir(preset)
        if files_hash(folder) != manifest.get("files_sha256"):
            raise RuntimeError(f"the shipped base in {folder} does not match its manifest; reinstall sftgen")
        return folder
    return None


def files_hash(folder: Path) -> str:
    """One sha256 over the shipped files, in a fixed order."""
    digest = hashlib.sha256()
    for name in SHIPPED_FILES:
        digest.update(name.encode() + b"\0" + (folder / name).read_bytes() + b"\0")
    return digest.hexdigest()


def ship(base: Path, build: dict[str, Any], target: Path | None = None) -> dict[str, Any]:
    """Copy a trained base (a ``pretrain_base`` folder) into the package with its manifest; returns it.

    ``build`` says how it was made (command, machine, sftgen commit): the manifest is the base's provenance.
    """
    info = read_json(base / MANIFEST)
    target = target or shipped_dir(info["config"]["preset"])
    manifest = {key: value for key, value in info.items() if key != "replay_data"}  # a path on the builder's disk
    with atomic_dir(target, overwrite=True) as tmp:
        for name in SHIPPED_FILES:
            shutil.copy2(base / name, tmp / name)
        manifest.update(build=build, files_sha256=files_hash(tmp))
        atomic_write_json(tmp / MANIFEST, manifest)
    return manifest


def compare_probes(rebuilt: dict[str, Any], shipped: dict[str, Any]) -> list[tuple[str, float, float, bool]]:
    """(probe, shipped overall, rebuilt overall, within tolerance) for each probe both manifests hold."""
    rows = []
    for probe in PROBES:
        if "overall" in shipped.get(probe, {}) and "overall" in rebuilt.get(probe, {}):
            old, new = shipped[probe]["overall"], rebuilt[probe]["overall"]
            rows.append((probe, old, new, abs(old - new) <= PROBE_TOLERANCE))
    return rows
