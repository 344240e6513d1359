"""The base stage is a pure function of its config: same seed, same weights; another seed, other weights."""

from __future__ import annotations

from pathlib import Path

import pytest

from sftgen.base.pretrain import BASE_INFO, BaseConfig, pretrain_base
from sftgen.io import read_json

pytestmark = pytest.mark.slow

TINY = {"lookup_rows": 64, "rows": 64, "skill_rows": 64, "compose_rows": 64, "batch_size": 32}


def test_same_seed_gives_identical_weights_and_probe(tmp_path: Path) -> None:
    first = pretrain_base(BaseConfig(**TINY), out=tmp_path / "a", progress=False)
    second = pretrain_base(BaseConfig(**TINY), out=tmp_path / "b", progress=False)
    other = pretrain_base(BaseConfig(**TINY, seed=1), out=tmp_path / "c", progress=False)
    weights = [(folder / "model.safetensors").read_bytes() for folder in (first, second, other)]
    assert weights[0] == weights[1] and weights[0] != weights[2]
    for probe in ("lookup_probe", "far_lookup_probe", "navigate_probe"):
        assert read_json(first / BASE_INFO)[probe] == read_json(second / BASE_INFO)[probe]
    assert [p.name for p in sorted((tmp_path / "a").iterdir())] == [
        "final",
        "stage-0-lookup",
        "stage-1-mix",
        "stage-2-skills",
        "stage-3-compose",
    ]
    assert read_json(first / BASE_INFO)["resumed_stages"] == []


def test_a_build_resumes_from_finished_stages_and_says_so(tmp_path: Path) -> None:
    import shutil

    first = pretrain_base(BaseConfig(**TINY), out=tmp_path / "a", progress=False)
    weights = (first / "model.safetensors").read_bytes()
    shutil.rmtree(first)  # as after a crash between the last stage and the export
    again = pretrain_base(BaseConfig(**TINY), out=tmp_path / "a", progress=False)
    assert (again / "model.safetensors").read_bytes() == weights
    assert read_json(again / BASE_INFO)["resumed_stages"] == ["lookup", "mix", "skills", "compose"]


def test_a_copy_head_base_is_the_plain_base_plus_a_seeded_fresh_head(tmp_path: Path) -> None:
    from safetensors.torch import load_file

    first = pretrain_base(BaseConfig(**TINY, preset="tiny-copy"), out=tmp_path / "a", progress=False, use_shipped=False)
    second = pretrain_base(
        BaseConfig(**TINY, preset="tiny-copy"), out=tmp_path / "b", progress=False, use_shipped=False
    )
    plain = tmp_path / "a" / "plain" / "final"
    info = read_json(first / BASE_INFO)
    assert info["fingerprint"] == BaseConfig(**TINY, preset="tiny-copy").fingerprint()
    assert info["plain_base"] == read_json(plain / BASE_INFO)["fingerprint"] == BaseConfig(**TINY).fingerprint()
    assert read_json(first / "config.json")["model_type"] == "sftgen_copy_llama"
    extended, original = load_file(first / "model.safetensors"), load_file(plain / "model.safetensors")
    assert all(extended[name].equal(weight) for name, weight in original.items())  # the curriculum's weights, as is
    assert sorted(set(extended) - set(original)) == [
        "copy_gate.bias",
        "copy_gate.weight",
        "copy_key.weight",
        "copy_query.weight",
    ]
    assert (first / "model.safetensors").read_bytes() == (second / "model.safetensors").read_bytes()  # seeded head
    assert info["lookup_probe"] == read_json(second / BASE_INFO)["lookup_probe"]
