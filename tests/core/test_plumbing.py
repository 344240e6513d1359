"""Seeding, atomic writes, the tokenizer corpus and the benchmark runner."""

from __future__ import annotations

import hashlib
import json
import stat
from pathlib import Path

import numpy as np
import pytest

from sftgen import bench
from sftgen.agents import ReferenceAgent
from sftgen.base.shipped import shipped_dir, shipped_presets
from sftgen.io import atomic_dir, atomic_write_json, atomic_write_text, read_json
from sftgen.seeding import content_hash, derive_seed, rng_for
from sftgen.splits import SPLITS
from sftgen.variants import BASE, HELD_OUT_VOCABS, diverse_word_pool
from sftgen.vocabulary import forced_tokens, tokenizer_corpus, vocabulary_samples

# ---------------------------------------------------------------------------------------------- seeding


def test_derive_seed_is_a_63_bit_hash_of_the_parts() -> None:
    expected = int.from_bytes(hashlib.blake2b(b"train\x1fsokoban\x1f3", digest_size=8).digest(), "big") >> 1
    assert derive_seed("train", "sokoban", 3) == expected
    assert 0 <= derive_seed("x") < 2**63
    assert derive_seed("a", 1) != derive_seed("a", 2) != derive_seed("b", 1)
    # neighbouring seeds give unrelated streams (not seed + index)
    assert abs(derive_seed("data", 1, 0) - derive_seed("data", 2, 0)) > 1000


def test_rng_for_is_deterministic() -> None:
    assert rng_for("a", 1).integers(1 << 30, size=5).tolist() == rng_for("a", 1).integers(1 << 30, size=5).tolist()
    assert rng_for("a", 1).random() != rng_for("a", 2).random()
    assert isinstance(rng_for("a"), np.random.Generator)


def test_content_hash_is_sha256() -> None:
    assert content_hash("héllo") == hashlib.sha256("héllo".encode()).hexdigest()


# ---------------------------------------------------------------------------------------------- atomic writes


def test_atomic_write_text_and_json(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "file.json"
    atomic_write_json(path, {"b": 1, "a": "é"})
    assert path.read_text(encoding="utf-8") == '{\n  "a": "é",\n  "b": 1\n}\n'
    assert read_json(path) == {"a": "é", "b": 1}
    atomic_write_text(path, "line\n")
    assert path.read_bytes() == b"line\n"
    assert [p.name for p in path.parent.iterdir()] == ["file.json"]
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    assert stat.S_IMODE(path.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)


def test_atomic_dir_replaces_only_on_success(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with atomic_dir(out) as tmp:
        (tmp / "a.txt").write_text("1")
        assert not out.exists()
    assert (out / "a.txt").read_text() == "1"
    plain = tmp_path / "plain"
    plain.mkdir()
    assert stat.S_IMODE(out.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)
    with pytest.raises(FileExistsError, match="already exists"), atomic_dir(out):
        pass
    with pytest.raises(RuntimeError, match="boom"), atomic_dir(out, overwrite=True) as tmp:
        (tmp / "b.txt").write_text("2")
        raise RuntimeError("boom")
    assert sorted(p.name for p in out.iterdir()) == ["a.txt"]  # untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "plain"]  # temporary folder removed
    with atomic_dir(out, overwrite=True) as tmp:
        (tmp / "b.txt").write_text("2")
    assert sorted(p.name for p in out.iterdir()) == ["b.txt"]


# ---------------------------------------------------------------------------------------------- tokenizer corpus


def test_forced_tokens() -> None:
    tokens = forced_tokens()
    assert tokens == sorted(set(tokens))
    for vocab in (BASE, *HELD_OUT_VOCABS):
        assert set(vocab.words) <= set(tokens), vocab.name
    assert set(diverse_word_pool()) <= set(tokens)
    assert {"A", "J", "Q", "K", "2", "10", "14", "19"} <= set(tokens)


def test_tokenizer_corpus_covers_every_split_and_template() -> None:
    corpus = tokenizer_corpus()
    texts = set(corpus)
    for split in (s for s in SPLITS.values() if s.task in vocabulary_samples()):  # see Task.vocabulary
        inst = split.instance(0)
        for template in ("study", "compact"):
            for response_format in ("answer", "think"):
                prompt = inst.make_env(template, response_format).observation()[0]["content"]
                assert prompt in texts, (split.name, template, response_format)
    oracle = ReferenceAgent("oracle")
    first = SPLITS["sokoban/emoji"].instance(0).make_env().observation()[0]["content"]
    assert oracle.answer(first) in texts
    assert any(t.startswith("<think> I am at") for t in corpus)  # Sokoban CoT targets
    assert any(t.startswith("<think> Here ") for t in corpus)  # Points CoT targets
    assert " ".join(forced_tokens()) in texts


def test_the_tiny_tokenizer_is_the_one_the_shipped_bases_were_built_with() -> None:
    """The tokenizer built from the tasks' texts (``Task.vocabulary``) numbers every token as the shipped bases' own
    tokenizer does: a new word in a task's prompts, rows or words would renumber it and break every shipped base."""
    from sftgen.train.modeling import tiny_tokenizer

    built = json.loads(tiny_tokenizer().backend_tokenizer.to_str())
    for preset in shipped_presets():
        shipped = json.loads((shipped_dir(preset) / "tokenizer.json").read_text(encoding="utf-8"))
        assert built["model"]["vocab"] == shipped["model"]["vocab"], preset
        assert built["model"]["merges"] == shipped["model"]["merges"] == [], preset
        assert built["added_tokens"] == shipped["added_tokens"], preset


# ---------------------------------------------------------------------------------------------- benchmark runner


def test_run_benchmark_rejects_rows_without_the_columns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "good.py").write_text(
        "def run(quick):\n"
        "    return [{'name': 'x', 'ours_per_s': 2.0, 'peer': 'p', 'peer_per_s': 1.0, 'ratio': 2.0, 'note': quick}]\n"
    )
    (tmp_path / "bad.py").write_text("def run(quick):\n    return [{'name': 'x', 'ours_per_s': 1.0}]\n")
    monkeypatch.setattr(bench, "benchmarks_dir", lambda: tmp_path)
    from rich.console import Console

    quiet = Console(file=open(tmp_path / "console.txt", "w"))  # noqa: SIM115
    rows = bench.run_benchmark("good", json_path=tmp_path / "rows.json", quick=True, console=quiet)
    assert rows[0]["note"] is True and read_json(tmp_path / "rows.json") == rows
    with pytest.raises(ValueError, match="lacks"):
        bench.run_benchmark("bad", console=quiet)
    with pytest.raises(FileNotFoundError, match="no benchmark"):
        bench.run_benchmark("missing", console=quiet)
    quiet.file.close()
