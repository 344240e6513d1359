"""A real (tiny, random) HF model through the engine: batched == one at a time; auto template; sweeps."""

from __future__ import annotations

import json

import torch

from sftgen.eval.backend import resolve_prompt_style
from sftgen.eval.evaluate import evaluate
from sftgen.eval.records import episodes_path, read_records
from sftgen.eval.rollout import run_rollouts
from sftgen.eval.sweep import find_checkpoints, sweep
from sftgen.models.hf_backend import HFBackend, stop_token_ids
from sftgen.models.sampling import Sampling
from sftgen.splits import resolve_splits

GREEDY = Sampling(greedy=True, max_new_tokens=12)
SPLITS = ["sokoban/numerical", "points/id", "points/five"]


def _one_at_a_time(model, tokenizer, instances, template: str) -> dict[str, list[str]]:
    """The plain loop a user would write: one episode at a time, one model.generate per turn."""
    stops = stop_token_ids(model, tokenizer)
    texts = {}
    for inst in instances:
        env, done, answers = inst.make_env(template), False, []
        while not done:
            ids = tokenizer.apply_chat_template(env.observation(), add_generation_prompt=True, return_tensors="pt")
            ids = ids["input_ids"] if not isinstance(ids, torch.Tensor) else ids
            with torch.inference_mode():
                out = model.generate(
                    ids, max_new_tokens=12, do_sample=False, eos_token_id=stops, pad_token_id=tokenizer.pad_token_id
                )
            text = tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True)
            answers.append(text)
            _, _, terminated, truncated, _ = env.step(text)
            done = terminated or truncated
        texts[inst.id] = answers
    return texts


def test_batched_engine_equals_one_episode_at_a_time(tiny_model, full_tokenizer):
    instances = [i for s in resolve_splits(SPLITS, 2) for i in s.instances()]
    backend = HFBackend(tiny_model, full_tokenizer, batch_size=64)
    records, stats = run_rollouts(backend, instances, GREEDY, template="compact")
    batched = {r["instance_id"]: [t["response"] for t in r["turns"]] for r in records}
    loop = _one_at_a_time(tiny_model, full_tokenizer, instances, "compact")
    assert batched == loop
    memo_records, memo_stats = run_rollouts(backend, instances, GREEDY, template="compact", memoize=True)
    assert {r["instance_id"]: [t["response"] for t in r["turns"]] for r in memo_records} == loop
    assert memo_stats.reused > 0
    assert stats.calls == max(r["n_turns"] for r in records)  # one call per turn, all episodes together
    assert all(t["finish_reason"] in ("stop", "length") for r in records for t in r["turns"])


def _save(model, tokenizer, folder, with_tokenizer: bool = True) -> None:
    model.save_pretrained(folder)
    if with_tokenizer:
        tokenizer.save_pretrained(folder)


def test_auto_template_comes_from_the_model_folder(tmp_path, tiny_model, full_tokenizer):
    _save(tiny_model, full_tokenizer, tmp_path / "model")
    (tmp_path / "model" / "sftgen_model.json").write_text(json.dumps({"template": "compact"}))
    assert resolve_prompt_style(str(tmp_path / "model"), "auto", "auto") == ("compact", "answer")
    assert resolve_prompt_style("oracle", "auto", "answer") == ("study", "answer")
    metrics = evaluate(str(tmp_path / "model"), ["points/id"], tmp_path / "out", n=3, sampling=GREEDY)
    assert metrics["config"]["template"] == "compact" and metrics["splits"]["points/id"]["n"] == 3
    records = read_records(episodes_path(tmp_path / "out", "points/id"))
    assert all(r["template"] == "compact" and r["turns"][0]["prompt"].startswith("24 game") for r in records)


def test_the_final_model_stands_for_the_checkpoint_of_its_own_step(tmp_path):
    """Same step, same weights: one curve point, named ``final``; an earlier final step keeps every checkpoint."""
    run = tmp_path / "run"
    for name in ("checkpoint-2", "checkpoint-4", "final"):
        (run / name).mkdir(parents=True)
        (run / name / "config.json").write_text("{}")
    (run / "final" / "trainer_state.json").write_text(json.dumps({"global_step": 4}))
    assert [(c.name, c.step) for c in find_checkpoints(run)] == [("checkpoint-2", 2), ("final", 4)]
    (run / "final" / "trainer_state.json").write_text(json.dumps({"global_step": 5}))  # stopped later
    assert [c.name for c in find_checkpoints(run)] == ["checkpoint-2", "checkpoint-4", "final"]


def test_sweep_over_two_checkpoints_writes_curves(tmp_path, tiny_model, full_tokenizer):
    run = tmp_path / "run"
    _save(tiny_model, full_tokenizer, run / "checkpoint-2")
    _save(tiny_model, full_tokenizer, run / "checkpoint-10", with_tokenizer=False)  # uses the run's tokenizer
    full_tokenizer.save_pretrained(run)
    (run / "sftgen_model.json").write_text(json.dumps({"template": "compact"}))
    assert [c.name for c in find_checkpoints(run)] == ["checkpoint-2", "checkpoint-10"]  # by step, not by name

    seen = []
    curves = sweep(run, ["sokoban/id", "points/id"], tmp_path / "out", n=2, sampling=GREEDY,
                   on_checkpoint=lambda c, m, skipped: seen.append((c.name, skipped)))  # fmt: skip
    assert seen == [("checkpoint-2", False), ("checkpoint-10", False)]
    assert [p["step"] for p in curves["points"]] == [2, 10]
    assert set(curves["points"][0]["splits"]) == {"sokoban/id", "points/id"}
    on_disk = json.loads((tmp_path / "out" / "curves.json").read_text())
    assert on_disk["points"][1]["splits"]["points/id"]["n"] == 2
    assert (tmp_path / "out" / "curves.csv").read_text().count("\n") == 1 + 2 * 2
    for name in ("checkpoint-2", "checkpoint-10"):
        assert json.loads((tmp_path / "out" / name / "metrics.json").read_text())["config"]["template"] == "compact"
    # identical weights: identical curves; a second sweep skips both finished checkpoints
    assert curves["points"][0]["splits"] == curves["points"][1]["splits"]
    seen.clear()
    csv = (tmp_path / "out" / "curves.csv").read_text()
    sweep(run, ["sokoban/id", "points/id"], tmp_path / "out", n=2, sampling=GREEDY,
          on_checkpoint=lambda c, m, skipped: seen.append((c.name, skipped)))  # fmt: skip
    assert seen == [("checkpoint-2", True), ("checkpoint-10", True)]
    # the skipped checkpoints' rows keep the requested split order (their metrics.json has sorted keys)
    assert (tmp_path / "out" / "curves.csv").read_text() == csv  # found by benchmarks/crash_trial.py


def test_sweep_puts_the_start_model_first_at_step_0(tmp_path, tiny_model, full_tokenizer):
    run = tmp_path / "run"
    _save(tiny_model, full_tokenizer, run / "checkpoint-4")
    _save(tiny_model, full_tokenizer, tmp_path / "base")
    for folder in (run / "checkpoint-4", tmp_path / "base"):
        (folder / "sftgen_model.json").write_text(json.dumps({"template": "compact"}))
    curves = sweep(run, ["sokoban/id"], tmp_path / "out", n=2, sampling=GREEDY, start=str(tmp_path / "base"))
    assert [(p["checkpoint"], p["step"]) for p in curves["points"]] == [("start", 0), ("checkpoint-4", 4)]
    assert curves["points"][0]["splits"] == curves["points"][1]["splits"]  # same weights
    from sftgen.experiment.jobs import choose_checkpoints

    chosen, study = choose_checkpoints(curves, "sokoban/id")
    assert chosen == study == "checkpoint-4"  # the start is a reference point, never a choice


def test_sampled_runs_repeat_whatever_the_batching(tiny_model, full_tokenizer):
    instances = [i for s in resolve_splits(["sokoban/id", "points/id"], 2) for i in s.instances()]
    sampled = Sampling(temperature=1.0, max_new_tokens=8, seed=3)
    whole, _ = run_rollouts(HFBackend(tiny_model, full_tokenizer), instances, sampled, template="compact")
    one_by_one, _ = run_rollouts(
        HFBackend(tiny_model, full_tokenizer, batch_size=1), instances[::-1], sampled, template="compact", max_batch=1
    )
    by_id = {r["instance_id"]: r["turns"] for r in whole}
    assert all(by_id[r["instance_id"]] == r["turns"] for r in one_by_one)
    assert all("sample_seed" in t for r in whole for t in r["turns"])
