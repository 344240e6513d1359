"""Teacher CoT rejection sampling: the first full-mark sample is kept, prompts without one are dropped."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from datasets import load_from_disk

from sftgen.agents import ReferenceAgent
from sftgen.cli import main
from sftgen.data.build import BuildConfig, iter_rows
from sftgen.data.leakage import evaluation_keys
from sftgen.data.teacher import PROMPTS_PER_CALL, teacher_cot
from sftgen.models.sampling import Sampling, row_seed
from sftgen.train.data import read_source
from sftgen.train.typed import ConfigError

GOOD = (2, 3)  # sample indices the stub answers correctly (2 is the one that must be kept)


class StubTeacher:
    """Correct (oracle answer after a think block) only on samples ``GOOD`` of prompts not in ``hopeless``.

    Which sample a chat is comes from how often its prompt was asked before, so the stub does not depend on
    how ``teacher_cot`` lays rows out in a call, only on samples being asked in order.
    """

    def __init__(self, hopeless: set[str] = frozenset(), good: tuple[int, ...] = GOOD) -> None:
        self.hopeless, self.good = hopeless, good
        self.oracle = ReferenceAgent("oracle")
        self.asked: dict[str, int] = {}
        self.seeds: list[int] = []

    def generate(self, chats: list[list[dict[str, str]]], sampling: Sampling) -> list[Any]:
        assert sampling.temperature == 1.0 and not sampling.is_greedy
        answers = []
        for row, chat in enumerate(chats):
            prompt = chat[-1]["content"]
            k = self.asked[prompt] = self.asked.get(prompt, -1) + 1
            self.seeds.append(row_seed(sampling.seed, row))
            if k in self.good and prompt not in self.hopeless:
                answers.append(f"<think> sample {k} </think> {self.oracle.answer(prompt)}")
            else:
                answers.append(self._garbage(prompt, k))
        return answers

    @staticmethod
    def _garbage(prompt: str, k: int) -> Any:
        if "sokoban" in prompt.lower():
            options = ["", None, "<answer> Up", "<answer> nonsense </answer>", "(" * 3000, "<answer></answer>"]
        else:
            options = ["", None, '{"formula": "1/0"}', '"formula": "' + "(" * 3000 + '"', "{cards: ", "24"]
        return options[k % len(options)]


def _rows(task: str, n: int, diverse: bool = False) -> list[dict]:
    return list(iter_rows(BuildConfig("rl", task, n, 0, diverse_rl=diverse, rl_think=True), evaluation_keys()))


@pytest.mark.parametrize(("task", "n", "diverse"), [("sokoban", 2, True), ("points", 6, False)])
def test_first_full_mark_sample_kept_and_hopeless_dropped(tmp_path: Path, task: str, n: int, diverse: bool) -> None:
    rows = _rows(task, n, diverse)
    prompts = [row["prompt"][-1]["content"] for row in rows]
    assert len(set(prompts)) == len(prompts) and "<think>" in prompts[0]
    hopeless = set(prompts[1::3])
    stub = StubTeacher(hopeless)
    out = tmp_path / "cot"
    manifest = teacher_cot("stub", task, n, 0, out, samples=5, diverse=diverse, backend=stub, progress=False)

    expected = [row for row in rows if row["prompt"][-1]["content"] not in hopeless]
    assert manifest["prompts"] == len(rows) and manifest["kept"] == len(expected) == manifest["rows"]
    assert manifest["acceptance_rate"] == len(expected) / len(rows)
    assert manifest["pass_rate_by_sample"] == [0.0, 0.0, len(expected) / len(rows), len(expected) / len(rows), 0.0]
    assert manifest["sample_pass_rate"] == 2 * len(expected) / (5 * len(rows))
    assert manifest["config"]["kind"] == "cot" and manifest["config"]["source"] == "teacher"
    assert (manifest["config"]["teacher"], manifest["config"]["samples"], manifest["config"]["temperature"]) == (
        "stub",
        5,
        1.0,
    )
    assert len(stub.seeds) == len(set(stub.seeds)) == 5 * len(rows)  # one seed per (prompt, sample)

    data = load_from_disk(str(out / "dataset"))
    assert len(data) == len(expected)
    for got, row in zip(data, expected, strict=True):
        assert got["prompt"] == row["prompt"] and got["instance_key"] == row["instance_key"]
        assert got["accepted_sample"] == 2 and got["passed_samples"] == 2 and got["teacher"] == "stub"
        assert got["task"] == task
        assert got["completion"][0]["role"] == "assistant"
        assert got["completion"][0]["content"].startswith("<think> sample 2 </think>")
    source = read_source(str(out))
    assert (source.kind, source.response_format, source.rows) == ("cot", "think", len(expected))
    assert json.loads((out / "manifest.json").read_text())["acceptance_rate"] == manifest["acceptance_rate"]


def test_repeatable_and_calls_are_big(tmp_path: Path) -> None:
    first, second = StubTeacher(good=(0,)), StubTeacher(good=(0,))
    a = teacher_cot("stub", "points", 3, 7, tmp_path / "a", samples=3, backend=first, progress=False)
    b = teacher_cot("stub", "points", 3, 7, tmp_path / "b", samples=3, backend=second, progress=False)
    assert a["sha256"] == b["sha256"] and first.seeds == second.seeds and a["acceptance_rate"] == 1.0
    assert len(first.seeds) == 9 <= PROMPTS_PER_CALL * 3  # one call holds every sample of its prompts
    c = StubTeacher(good=(0,))
    teacher_cot("stub", "points", 3, 8, tmp_path / "c", samples=3, backend=c, progress=False)
    assert not set(c.seeds) & set(first.seeds)  # another data seed samples with other seeds


def test_no_passing_sample_writes_empty_dataset(tmp_path: Path) -> None:
    out = tmp_path / "empty"
    manifest = teacher_cot("stub", "points", 2, 0, out, samples=2, backend=StubTeacher(good=()), progress=False)
    assert (manifest["kept"], manifest["rows"], manifest["acceptance_rate"]) == (0, 0, 0.0)
    assert {"prompt", "completion", "accepted_sample"} <= set(manifest["columns"])
    assert len(load_from_disk(str(out / "dataset"))) == 0
    with pytest.raises(ConfigError, match="no rows"):
        read_source(str(out))
    with pytest.raises(FileExistsError):
        teacher_cot("stub", "points", 2, 0, out, samples=2, backend=StubTeacher(), progress=False)


def test_bad_arguments_fail_before_sampling(tmp_path: Path) -> None:
    stub = StubTeacher()
    with pytest.raises(ValueError, match="samples"):
        teacher_cot("stub", "points", 2, 0, tmp_path / "x", samples=0, backend=stub)
    with pytest.raises(ValueError, match="greedy"):
        teacher_cot("stub", "points", 2, 0, tmp_path / "x", temperature=0.0, backend=stub)
    with pytest.raises(ValueError, match="task"):
        teacher_cot("stub", "chess", 2, 0, tmp_path / "x", backend=stub)
    assert not stub.asked and not (tmp_path / "x").exists()


def test_cli_with_oracle_teacher(tmp_path: Path) -> None:
    out = tmp_path / "cli"
    args = ["cot", "--teacher", "oracle", "--task", "sokoban", "--n", "1", "--samples", "2", "--out", str(out)]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["acceptance_rate"] == 1.0 and "kept" in result.output
    assert "100.0%" in result.output
    again = CliRunner().invoke(main, args)
    assert again.exit_code != 0 and "already exists" in again.output


class _Recorder:
    """A backend that remembers every text the wrapped one produced."""

    def __init__(self, backend: Any) -> None:
        self.backend, self.texts = backend, []

    def generate(self, chats: list[list[dict[str, str]]], sampling: Sampling) -> list[str]:
        out = self.backend.generate(chats, sampling)
        self.texts.extend(out)
        return out


@pytest.mark.slow
def test_served_tiny_teacher_end_to_end(tmp_path: Path) -> None:
    import torch

    from sftgen.models.hf_backend import HFBackend
    from sftgen.models.openai_backend import OpenAIBackend
    from sftgen.models.serve import BackgroundServer, create_app
    from sftgen.models.tiny import build_tiny_model
    from sftgen.models.tokenizer import build_tokenizer
    from sftgen.vocabulary import forced_tokens, tokenizer_corpus

    torch.set_num_threads(1)
    tokenizer = build_tokenizer(tokenizer_corpus(), forced_tokens())
    model = build_tiny_model("tiny", tokenizer, seed=0).eval()
    out = tmp_path / "served"
    with BackgroundServer(create_app(model, tokenizer)) as server:
        manifest = teacher_cot(server.url, "sokoban", 2, 0, out, samples=2, max_new_tokens=8, progress=False)
        served = _Recorder(OpenAIBackend(server.url))
        teacher_cot("url", "points", 2, 0, tmp_path / "p1", samples=2, max_new_tokens=8, backend=served, progress=False)
    local = _Recorder(HFBackend(model, tokenizer))
    teacher_cot("hf", "points", 2, 0, tmp_path / "p2", samples=2, max_new_tokens=8, backend=local, progress=False)
    assert served.texts == local.texts and len(local.texts) == 4  # same seeds in process and over HTTP
    saved = json.loads((out / "manifest.json").read_text())
    assert saved == manifest and saved["config"]["teacher"].startswith("http://127.0.0.1:")
    assert saved["prompts"] >= 2 and 0.0 <= saved["acceptance_rate"] <= 1.0
    assert len(load_from_disk(str(out / "dataset"))) == saved["rows"] == saved["kept"]
