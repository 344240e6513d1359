"""Training data: folder checks, the prompt family recorded for eval, weighted mixing, metadata dropped."""

from __future__ import annotations

import pytest
from train_helpers import rows, write_rows

from sftgen.train.data import load_training_dataset, mixed_counts, prompt_family, read_source
from sftgen.train.typed import ConfigError


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("mix")
    items = rows(3)
    return {
        "a": write_rows(root / "a", items[:8]),
        "b": write_rows(root / "b", items[8:12]),
        "cot": write_rows(root / "cot", rows(1, kind="cot"), kind="cot"),
        "study": write_rows(root / "study", rows(1, template="study"), template="study"),
    }


def test_read_source_describes_the_folder(folders):
    source = read_source(folders["a"])
    assert (source.kind, source.task, source.template, source.response_format, source.rows) == (
        "answer-only",
        "sokoban",
        "compact",
        "answer",
        8,
    )
    assert len(source.data_sha256) == len(source.manifest_sha256) == 64
    assert read_source(folders["cot"]).response_format == "think"


def test_rl_and_foreign_folders_are_rejected(tmp_path):
    rl_rows = [{"prompt": [{"role": "user", "content": "x"}], "task": "sokoban"}]
    rl = write_rows(tmp_path / "rl", rl_rows, kind="rl")
    with pytest.raises(ConfigError, match="prompt/completion") as err:
        read_source(rl)
    assert err.value.field == "data"
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="not an sftgen dataset"):
        read_source(str(tmp_path / "empty"))


def test_prompt_family(folders):
    a, cot, study = (read_source(folders[k]) for k in ("a", "cot", "study"))
    assert prompt_family([a], None, None)["template"] == "compact"
    mixed = prompt_family([a, cot], [1.0, 3.0], None)
    assert (mixed["response_format"], mixed["response_formats"]) == ("think", ["answer", "think"])
    with pytest.raises(ConfigError) as err:
        prompt_family([a, study], None, None)
    assert err.value.field == "data"
    with pytest.raises(ConfigError) as err:
        prompt_family([a], None, "study")
    assert err.value.field == "template"


def test_weighted_mix_keeps_only_prompt_and_completion(folders):
    sources = [read_source(folders["a"]), read_source(folders["b"])]
    assert mixed_counts(sources, None) == [8, 4]
    assert mixed_counts(sources, [1.0, 3.0]) == [3, 9]
    mixed = load_training_dataset(sources, [1.0, 3.0], seed=0)
    assert mixed.column_names == ["prompt", "completion"] and len(mixed) == 12
    b_prompts = {str(r["prompt"]) for r in rows(3)[8:12]}
    from_b = [str(r["prompt"]) for r in mixed.select(range(3, 12))]
    assert set(from_b) == b_prompts  # 9 rows from 4: every row twice, one three times
    assert load_training_dataset(sources, [1.0, 3.0], seed=0)["prompt"] == mixed["prompt"]
    assert len(load_training_dataset(sources, None, seed=0)) == 12
