"""The batched engine: one call per turn, retirement, seeds, failures, records <-> metrics, resume repair."""

from __future__ import annotations

import json

import pytest
from eval_fakes import FailingBackend, HashAgent, RamblingBackend, SeededBackend

from sftgen.eval.evaluate import evaluate, load_records
from sftgen.eval.metrics import split_metrics
from sftgen.eval.records import episodes_path, read_records
from sftgen.eval.rollout import EvalInterrupted, run_rollouts
from sftgen.models.sampling import Sampling
from sftgen.splits import resolve_splits
from sftgen.tasks.protocol import get_task

GREEDY = Sampling(greedy=True)
SPLITS = ["sokoban/id", "sokoban/numerical", "points/id", "points/all_5"]


def _instances(names: list[str], n: int):
    return [inst for split in resolve_splits(names, n) for inst in split.instances()]


def test_one_backend_call_per_turn_and_episodes_retire():
    backend = HashAgent()
    instances = _instances(SPLITS, 5)
    records, stats = run_rollouts(backend, instances, GREEDY)
    turns = [r["n_turns"] for r in records]
    assert len(records) == len(instances) == stats.episodes
    assert stats.calls == len(backend.calls) == max(turns)  # exactly one call per turn
    # the call of turn t covers exactly the episodes still playing at turn t
    assert backend.calls == [sum(n >= t for n in turns) for t in range(1, max(turns) + 1)]
    assert backend.calls[0] == len(instances) and min(turns) == 1 and max(turns) <= 30
    assert sum(backend.calls) == sum(turns) == stats.turn_steps
    for record in records:
        assert [t["turn"] for t in record["turns"]] == list(range(1, record["n_turns"] + 1))
        assert record["success"] == record["turns"][-1]["success"]
        assert not any(t["success"] for t in record["turns"][:-1])  # a solved episode stops at once


def test_max_batch_chunks_each_turn_and_changes_nothing():
    instances = _instances(["sokoban/id", "points/id"], 5)
    whole, _ = run_rollouts(HashAgent(), instances, GREEDY)
    backend = HashAgent()
    chunked, stats = run_rollouts(backend, instances, GREEDY, max_batch=3)
    assert max(backend.calls) <= 3 and stats.calls > max(r["n_turns"] for r in chunked)
    by_id = {r["instance_id"]: r for r in whole}
    assert all(by_id[r["instance_id"]] == r for r in chunked)


def test_memoized_greedy_runs_ask_less_and_change_nothing():
    instances = _instances(["sokoban/id", "sokoban/numerical", "points/id"], 6)
    plain, plain_stats = run_rollouts(HashAgent(), instances, GREEDY)
    backend = HashAgent()
    memo, stats = run_rollouts(backend, instances, GREEDY, memoize=True)
    assert stats.reused > 0 and sum(backend.calls) == plain_stats.turn_steps - stats.reused
    strip = [{k: v for k, v in t.items() if k != "reused"} for r in memo for t in r["turns"]]
    assert strip == [t for r in plain for t in r["turns"]]
    reused = [t for r in memo for t in r["turns"] if t.get("reused")]
    assert reused and all(not t["valid"] or t["reward"] <= 0 for t in reused)  # only repeated, stuck prompts
    with pytest.raises(ValueError, match="greedy"):
        run_rollouts(HashAgent(), instances, Sampling(), memoize=True)


def test_per_episode_seeds_do_not_depend_on_batching():
    instances = _instances(["sokoban/id", "points/id"], 4)
    sampled = Sampling(temperature=0.5, seed=7)
    first, _ = run_rollouts(SeededBackend(), instances, sampled)
    second, _ = run_rollouts(SeededBackend(), list(reversed(instances)), sampled, max_batch=3)
    key = {r["instance_id"]: r for r in first}
    assert all(key[r["instance_id"]] == r for r in second)
    seeds = [t["sample_seed"] for r in first for t in r["turns"]]
    assert len(set(seeds)) == len(seeds)  # a fresh seed for every episode and turn
    other, _ = run_rollouts(SeededBackend(), instances, Sampling(temperature=0.5, seed=8))
    assert [r["turns"] for r in other] != [r["turns"] for r in first]


def test_metrics_are_recomputable_from_the_jsonl(tmp_path):
    metrics = evaluate("hash", SPLITS, tmp_path, n=8, sampling=GREEDY, backend=HashAgent())
    for name, m in metrics["splits"].items():
        records = read_records(episodes_path(tmp_path, name))
        assert len(records) == m["n"] == 8
        assert m["success"] == sum(r["success"] for r in records) / 8
        validity = [sum(t["valid"] for t in r["turns"]) / len(r["turns"]) for r in records]
        assert m["validity"] == pytest.approx(sum(validity) / 8)
        assert sum(m["outcomes"].values()) == sum(r["n_turns"] for r in records)
        assert split_metrics(name, records, 8) == m
    on_disk = json.loads((tmp_path / "metrics.json").read_text())
    assert on_disk == json.loads(json.dumps(metrics))
    assert 0 < metrics["splits"]["sokoban/id"]["success"] < 1  # the fake agent is imperfect: a real test
    assert (tmp_path / "metrics.csv").read_text().count("\n") == len(SPLITS) + 1
    assert "| sokoban/id | 8 |" in (tmp_path / "metrics.md").read_text()


def test_backend_failure_keeps_finished_episodes_and_resume_completes(tmp_path):
    reference = evaluate("hash", SPLITS, tmp_path / "ref", n=6, sampling=GREEDY, backend=HashAgent())
    with pytest.raises(EvalInterrupted, match="failed after 5 attempts") as info:
        evaluate("hash", SPLITS, tmp_path / "run", n=6, sampling=GREEDY, backend=FailingBackend(ok_calls=3))
    assert 0 < info.value.finished < 24 and info.value.unfinished > 0
    assert not (tmp_path / "run" / "metrics.json").exists()  # no zeros scored for the missing episodes
    saved = sum(len(r) for r in load_records(tmp_path / "run", resolve_splits(SPLITS, 6)).values())
    assert saved == info.value.finished
    resumed = evaluate("hash", SPLITS, tmp_path / "run", n=6, sampling=GREEDY, backend=HashAgent())
    assert resumed["config"]["episodes_resumed"] == saved
    assert resumed["splits"] == reference["splits"]


def test_truncated_last_line_is_ignored_and_repaired(tmp_path):
    reference = evaluate("hash", SPLITS, tmp_path, n=4, sampling=GREEDY, backend=HashAgent())
    path = episodes_path(tmp_path, "sokoban/id")
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(lines[:2]) + lines[2][: len(lines[2]) // 2], encoding="utf-8")  # killed mid-write
    assert len(read_records(path)) == 2
    backend = HashAgent()
    resumed = evaluate("hash", SPLITS, tmp_path, n=4, sampling=GREEDY, backend=backend)
    assert resumed["splits"] == reference["splits"] and resumed["config"]["episodes_run"] == 2
    assert all(json.loads(line) for line in path.read_text(encoding="utf-8").splitlines())


def test_resume_refuses_other_settings_and_no_resume_starts_over(tmp_path):
    evaluate("hash", ["points/id"], tmp_path, n=3, sampling=GREEDY, backend=HashAgent())
    with pytest.raises(ValueError, match=r"other settings.*no-resume"):
        evaluate("hash", ["points/id"], tmp_path, n=3, sampling=Sampling(temperature=0.7), backend=HashAgent())
    backend = HashAgent()
    metrics = evaluate("hash", ["points/id"], tmp_path, n=3, sampling=Sampling(), backend=backend, resume=False)
    assert metrics["config"]["episodes_run"] == 3 and backend.calls == [3]


def test_larger_n_reuses_the_prefix_and_unknown_splits_fail_early(tmp_path):
    evaluate("hash", ["points/id"], tmp_path, n=3, sampling=GREEDY, backend=HashAgent())
    backend = HashAgent()
    metrics = evaluate("hash", ["points/id"], tmp_path, n=5, sampling=GREEDY, backend=backend)
    assert backend.calls == [2] and metrics["splits"]["points/id"]["n"] == 5
    smaller = evaluate("hash", ["points/id"], tmp_path, n=2, sampling=GREEDY, backend=HashAgent())
    assert smaller["splits"]["points/id"]["n"] == 2  # extra records on disk are not counted
    with pytest.raises(KeyError, match="sokoban/id"):
        evaluate("hash", ["sokoban/idd"], tmp_path / "never", backend=HashAgent())
    assert not (tmp_path / "never").exists()


def _scores(records: list[dict]) -> dict[str, list[tuple]]:
    return {r["instance_id"]: [(t["action"], t["valid"], t["success"]) for t in r["turns"]] for r in records}


def test_a_backend_that_stops_at_the_answer_is_given_the_tasks_rule_and_scores_the_same():
    """One task a call: its ``answer_end`` goes to the backend; the turns score as the whole text does."""
    sokoban = [i for s in resolve_splits(["sokoban/id", "sokoban/numerical"], 8) for i in s.instances()]
    backend = RamblingBackend()
    records, _ = run_rollouts(backend, sokoban, GREEDY)
    assert backend.rules and all(rule == get_task("sokoban").answer_end for rule in backend.rules)
    whole, _ = run_rollouts(HashAgent(), sokoban, GREEDY)  # the same answers, never cut
    assert _scores(records) == _scores(whole)
    assert any(t["finish_reason"] == "stop" for r in records for t in r["turns"])
    mixed = RamblingBackend()
    run_rollouts(mixed, [*sokoban[:2], *resolve_splits(["points/id"], 2)[0].instances()], GREEDY)
    assert mixed.rules[0] is None  # the first call spans two tasks: no single rule, nothing cut
