"""The base models shipped in the package: `quick`'s and the plain one ship, they load, read, and are checked on use."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sftgen.base import shipped
from sftgen.base.probe import lookup_probe, navigate_probe, skill_probe
from sftgen.experiment.recipe import load_recipe
from sftgen.models import load_model
from sftgen.models.hf_backend import HFBackend


def test_the_bases_of_quick_and_tiny_and_the_plain_base_ship() -> None:
    assert "tiny" in shipped.shipped_presets()  # the study's plain setting
    for name in ("quick", "tiny"):
        base = load_recipe(name).base
        assert base is not None and shipped.shipped_base(base.fingerprint()) == shipped.shipped_dir(base.preset), name
    for preset in shipped.shipped_presets():
        manifest = shipped.shipped_manifest(preset)
        assert manifest is not None and manifest["config"]["preset"] == preset
        assert {"command", "machine"} <= set(manifest["build"])
        size = sum(p.stat().st_size for p in shipped.shipped_dir(preset).iterdir())
        assert size < 8_000_000  # a few MB each in the wheel


@pytest.mark.parametrize("preset", shipped.shipped_presets())
def test_a_shipped_base_loads_and_passes_its_probes(preset: str) -> None:
    manifest = shipped.shipped_manifest(preset)
    assert manifest is not None
    model, tokenizer = load_model(str(shipped.shipped_dir(preset)))
    backend = HFBackend(model, tokenizer)
    measured = {
        "lookup_probe": lookup_probe(backend),
        "navigate_probe": navigate_probe(backend),
        "skill_probe": skill_probe(backend, manifest["config"]["skill_tasks"]),
    }
    for probe, scores in measured.items():
        assert abs(scores["overall"] - manifest[probe]["overall"]) <= shipped.PROBE_TOLERANCE, probe
    assert measured["skill_probe"]["points"] >= 0.9  # it makes 24 from four numbers, as the study's models can
    # it reads declared maps it never saw, far above chance (0.25), and the numerical one that quick's findings use
    assert measured["lookup_probe"]["overall"] >= 0.6
    assert measured["lookup_probe"]["numerical"] >= 0.9


def _fake_base(folder: Path) -> Path:
    folder.mkdir()
    for name in shipped.SHIPPED_FILES:
        (folder / name).write_text(f"contents of {name}")
    info = {
        "fingerprint": "f" * 16,
        "config": {"preset": "tiny"},
        "lookup_probe": {"overall": 1.0},
        "replay_data": "/somewhere/on/a/disk",
    }
    (folder / shipped.MANIFEST).write_text(json.dumps(info))
    return folder


def test_ship_writes_the_files_and_a_manifest_with_provenance(tmp_path: Path) -> None:
    target = tmp_path / "resources" / "base"
    manifest = shipped.ship(_fake_base(tmp_path / "built"), {"command": "sftgen pretrain-base"}, target)
    assert sorted(p.name for p in target.iterdir()) == sorted([*shipped.SHIPPED_FILES, shipped.MANIFEST])
    assert "replay_data" not in manifest  # a path on the builder's machine means nothing in a wheel
    assert manifest["build"] == {"command": "sftgen pretrain-base"}
    assert manifest["files_sha256"] == shipped.files_hash(target)


def test_a_tampered_shipped_base_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shipped, "shipped_root", lambda: tmp_path / "bases")
    manifest = shipped.ship(_fake_base(tmp_path / "built"), {"command": "x"})  # goes to bases/<its preset>
    target = tmp_path / "bases" / "tiny"
    assert shipped.shipped_presets() == ["tiny"]
    assert shipped.shipped_base(manifest["fingerprint"]) == target
    assert shipped.shipped_base("0" * 16) is None  # another config's base: build it
    (target / "model.safetensors").write_text("changed")
    with pytest.raises(RuntimeError, match="does not match its manifest"):
        shipped.shipped_base(manifest["fingerprint"])


def test_probes_are_compared_within_the_tolerance() -> None:
    old = {"lookup_probe": {"overall": 1.0}, "navigate_probe": {"overall": 0.6}, "skill_probe": {"overall": 0.99}}
    new = {"lookup_probe": {"overall": 0.95}, "navigate_probe": {"overall": 0.45}, "skill_probe": {}}
    assert shipped.compare_probes(new, old) == [  # a probe one side could not take (no skill tasks) is left out
        ("lookup_probe", 1.0, 0.95, True),
        ("navigate_probe", 0.6, 0.45, False),
    ]


@pytest.mark.parametrize(("preset", "reuses_shipped"), [("tiny", False), ("tiny-copy", True)])
def test_shipping_trains_from_scratch_except_a_copy_heads_plain_base(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, preset: str, reuses_shipped: bool
) -> None:
    """A copy-head base is the plain base plus a fresh head: re-shipping a head must not retrain the plain base."""
    from click.testing import CliRunner

    import sftgen.base.pretrain as pretrain
    from sftgen.cli import main

    calls: list[bool] = []

    def built(config: object, out: object, progress: bool, use_shipped: bool) -> Path:
        calls.append(use_shipped)
        return _fake_base(tmp_path / "built")

    shipped_to: list[Path] = []
    monkeypatch.setattr(pretrain, "pretrain_base", built)
    monkeypatch.setattr(shipped, "ship", lambda base, build: shipped_to.append(base))
    result = CliRunner().invoke(main, ["pretrain-base", "--preset", preset, "--ship"])
    assert result.exit_code == 0, result.output
    assert calls == [reuses_shipped] and shipped_to == [tmp_path / "built"]


@pytest.mark.parametrize(("lookup", "exit_code"), [(0.95, 0), (0.5, 1)])
def test_check_rebuilds_from_the_manifests_config_and_compares_the_probes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lookup: float, exit_code: int
) -> None:
    """`pretrain-base --check` (hours for real: benchmarks/base_check.py) with the rebuild faked: it rebuilds from
    scratch with the shipped manifest's config, and fails when a probe is off by more than the tolerance."""
    from click.testing import CliRunner

    import sftgen.base.pretrain as pretrain
    from sftgen.cli import main

    manifest = shipped.shipped_manifest("tiny-copy")
    assert manifest is not None and manifest["lookup_probe"]["overall"] == pytest.approx(1.0, abs=0.05)
    rebuilt: list[tuple[object, bool]] = []

    def build(config: pretrain.BaseConfig, out: Path, progress: bool, use_shipped: bool) -> Path:
        rebuilt.append((config, use_shipped))
        folder = _fake_base(out / "built")
        info = json.loads((folder / shipped.MANIFEST).read_text())
        (folder / shipped.MANIFEST).write_text(json.dumps({**info, "lookup_probe": {"overall": lookup}}))
        return folder

    monkeypatch.setattr(pretrain, "pretrain_base", build)
    result = CliRunner().invoke(main, ["pretrain-base", "--preset", "tiny-copy", "--check", "--out", str(tmp_path)])
    assert result.exit_code == exit_code, result.output
    assert rebuilt == [(pretrain.BaseConfig(**manifest["config"]), False)]  # the shipped config, from scratch
    assert ("ok" if exit_code == 0 else "OFF") in result.output
