"""Checkpoints carry sftgen_model.json; a stopped run resumes from its last complete checkpoint, exactly."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from sftgen.train.callbacks import last_checkpoint, read_model_info
from sftgen.train.config import SFTRunConfig
from sftgen.train.sft import train
from sftgen.train.typed import ConfigError


def config(data: str, out, **changes) -> SFTRunConfig:
    settings = {
        "model": "tiny",
        "data": [data],
        "out": str(out),
        "lr": 1e-3,
        "scheduler": "constant",  # the same schedule whatever max_steps, so a resumed run can match a straight one
        "warmup_ratio": 0.0,
        "batch_size": 4,
        "max_steps": 4,
        "save_steps": 2,
        "logging_steps": 1,
        "progress": False,
        **changes,
    }
    return SFTRunConfig(**settings)


def weights(folder) -> dict[str, torch.Tensor]:
    return load_file(str(folder / "model.safetensors"))


def test_stop_then_resume_matches_a_straight_run(small_data, tmp_path):
    run = tmp_path / "run"
    first = train(config(small_data, run, max_steps=4))
    assert first.global_step == 4 and first.resumed_from is None
    assert sorted(p.name for p in run.glob("checkpoint-*")) == ["checkpoint-2", "checkpoint-4"]
    for step in (2, 4):
        folder = run / f"checkpoint-{step}"
        info = read_model_info(folder)
        assert (info["template"], info["response_format"], info["step"]) == ("compact", "answer", step)
        assert (folder / "tokenizer.json").is_file() and (folder / "optimizer.pt").is_file()
    assert read_model_info(run / "final")["step"] == 4
    assert (run / "tokenizer" / "tokenizer.json").is_file() and (run / "config.yaml").is_file()

    (run / "checkpoint-6").mkdir()  # a crash in the middle of saving: no trainer state, no marker
    (run / "checkpoint-6" / "model.safetensors").write_bytes(b"half written")
    assert last_checkpoint(run) == run / "checkpoint-4"

    second = train(config(small_data, run, max_steps=6))
    assert second.global_step == 6 and second.resumed_from == str(run / "checkpoint-4")
    record = json.loads((run / "run.json").read_text())
    assert record["steps"] == 6 and record["resumed_from"].endswith("checkpoint-4")
    assert record["data"][0]["data_sha256"] and record["final_loss"] is not None and record["wall_seconds"] > 0
    assert read_model_info(run / "checkpoint-6")["step"] == 6
    steps = [json.loads(line)["step"] for line in (run / "log.jsonl").read_text().splitlines()]
    assert [s for s in steps if s > 4][:2] == [5, 6]  # continued from step 4, not from 0

    straight = train(config(small_data, tmp_path / "straight", max_steps=6))
    resumed, reference = weights(run / "final"), weights(straight.final_dir)
    for name, tensor in reference.items():
        torch.testing.assert_close(resumed[name], tensor, rtol=1e-5, atol=1e-6)


def test_resume_modes_are_checked_before_work(small_data, tmp_path):
    with pytest.raises(ConfigError) as err:
        train(config(small_data, tmp_path / "empty", resume="always"))
    assert err.value.field == "resume"
    assert not (tmp_path / "empty").exists()
    run = tmp_path / "done"
    train(config(small_data, run, max_steps=2))
    with pytest.raises(ConfigError) as err:
        train(config(small_data, run, max_steps=4, resume="never"))
    assert err.value.field == "resume"


def test_the_step_log_keeps_only_what_precedes_the_step_training_starts_from(tmp_path):
    """Found by benchmarks/crash_trial.py: a run killed after logging step 6 and resumed from checkpoint-4 (or one
    killed before its first checkpoint and restarted) logged those steps again below the old lines."""
    from transformers import TrainerControl, TrainerState

    from sftgen.train.callbacks import JsonlLogCallback

    log = tmp_path / "log.jsonl"
    lines = [json.dumps({"step": s, "loss": 1.0 / s}) for s in (2, 4, 6)]
    log.write_text("\n".join([*lines, json.dumps({"step": 8, "train_runtime": 1.0}), '{"step": 8, "lo']) + "\n")
    callback, state = JsonlLogCallback(log), TrainerState()
    state.global_step = 4  # resumed from checkpoint-4
    callback.on_train_begin(None, state, TrainerControl())
    assert log.read_text() == "\n".join(lines[:2]) + "\n"
    state.global_step = 0  # a fresh start
    callback.on_train_begin(None, state, TrainerControl())
    assert log.read_text() == ""
    callback.on_log(None, state, TrainerControl(), logs={"loss": 0.5})
    assert [json.loads(line)["loss"] for line in log.read_text().splitlines()] == [0.5]
