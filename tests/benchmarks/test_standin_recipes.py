"""The 7-8B recipes end to end at stand-in size (benchmarks/standin_recipes.py), reduced to the GRPO method on
Sokoban: the one job that goes through every stage (teacher CoT by rejection sampling from a served endpoint, the
CoT-SFT warm start and GRPO through the recipe's ZeRO-3 accelerate config on 2 processes, the checkpoint sweep,
the chosen checkpoint evaluated through the OpenAI backend against a served copy, the report)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
ARCHITECTURES = {"qwen2.5-7b": "Qwen2ForCausalLM", "llama-3.1-8b": "LlamaForCausalLM"}


@pytest.mark.timeout(2400)  # 270 s on a quiet 2-core machine, over 900 s (the suite's limit) under load 8
def test_both_recipes_run_end_to_end_on_standin_models(tmp_path):
    out = tmp_path / "standin"
    command = [sys.executable, str(REPO / "benchmarks" / "standin_recipes.py"), "--out", str(out)]
    command += ["--methods", "grpo", "--tasks", "sokoban", "--splits", "sokoban/id"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=2300)
    logs = "".join(
        (out / f"{recipe}.log").read_text()[-3000:] for recipe in ARCHITECTURES if (out / f"{recipe}.log").is_file()
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:] + logs

    summary = json.loads((out / "summary.json").read_text())
    assert [r["recipe"] for r in summary["runs"]] == list(ARCHITECTURES)
    for recipe, architecture in ARCHITECTURES.items():
        run = out / recipe
        assert (run / "report.md").is_file() and (run / "report.html").is_file(), recipe
        assert json.loads((run / "results.json").read_text())["complete"], recipe

        manifest = json.loads((run / "data" / "sokoban" / "cot" / "manifest.json").read_text())
        assert manifest["config"]["source"] == "teacher" and manifest["config"]["teacher"].startswith("http://")
        assert 0 < manifest["kept"] <= manifest["prompts"], recipe

        train = run / "train" / "sokoban" / "grpo"
        for folder in (train / "seed0-warm", train / "seed0"):
            record = json.loads((folder / "run.json").read_text())
            assert (record["world_size"], record["distributed"], record["steps"]) == (2, "DEEPSPEED", 2), folder
            config = json.loads((folder / "final" / "config.json").read_text())
            assert config["architectures"] == [architecture], folder
            # SmolLM2's ids: 0 <|endoftext|>, 2 <|im_end|>; the end of turn must stop vLLM too (base: added)
            eos = json.loads((folder / "final" / "generation_config.json").read_text())["eos_token_id"]
            assert (eos if isinstance(eos, list) else [eos]) == ([0, 2] if recipe == "qwen2.5-7b" else [2]), folder
            assert len(list(folder.glob("checkpoint-*"))) == 1, folder  # written once, by rank 0

        chosen = json.loads((run / "results.json").read_text())["runs"][0]["chosen"]
        metrics = json.loads((run / "eval" / "sokoban" / "grpo" / "seed0" / chosen / "metrics.json").read_text())
        assert metrics["config"]["model_kind"] == "OpenAIBackend", recipe  # served, read over the OpenAI API
        episodes = run / "eval" / "sokoban" / "grpo" / "seed0" / chosen / "episodes" / "sokoban__id.jsonl"
        assert len(episodes.read_text().splitlines()) == 1, recipe  # evaluated once (n=1), not once per rank
