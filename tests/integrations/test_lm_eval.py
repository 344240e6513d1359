"""lm-eval adapter: the written task YAMLs load through lm-eval's TaskManager (group, tags, ``!function`` hooks),
``simple_evaluate`` runs them with a registered LM answering from sftgen's reference agents, and every sample's
metrics equal sftgen's verifier on 1,000 answers per task."""

from __future__ import annotations

import json
from statistics import mean

import pytest

lm_eval = pytest.importorskip("lm_eval", reason="lm-eval is not installed (pip install 'sftgen[lm-eval]')")

from integration_helpers import agreement_splits  # noqa: E402
from lm_eval.api.model import LM  # noqa: E402
from lm_eval.api.registry import get_model, register_model  # noqa: E402
from lm_eval.tasks import TaskManager  # noqa: E402
from stack_policies import know_items, mixed_answer  # noqa: E402

from sftgen.integrations import lm_eval as adapter  # noqa: E402
from sftgen.integrations.items import make_items, score, stack_name  # noqa: E402
from sftgen.splits import SPLITS  # noqa: E402
from sftgen.tasks.protocol import task_names  # noqa: E402


@register_model("sftgen-reference")
class ReferenceLM(LM):
    """An lm-eval model that answers each prompt with ``mixed_answer`` (oracle, shortcut, random, adversarial)."""

    def __init__(self, **_: object) -> None:
        super().__init__()
        self.contexts: list[str] = []

    def generate_until(self, requests, disable_tqdm: bool = False) -> list[str]:
        self.contexts += [r.args[0] for r in requests]
        return [mixed_answer(r.args[0]) for r in requests]

    def loglikelihood(self, requests, disable_tqdm: bool = False):
        raise NotImplementedError("sftgen tasks are generate_until only")

    def loglikelihood_rolling(self, requests, disable_tqdm: bool = False):
        raise NotImplementedError("sftgen tasks are generate_until only")


def check_samples(results: dict, expected_tasks: set[str]) -> int:
    """Every logged sample's metrics equal sftgen's verifier on the generation; the means are lm-eval's."""
    assert set(results["samples"]) == expected_tasks
    checked = 0
    for task, samples in results["samples"].items():
        for sample in samples:
            response = sample["filtered_resps"][0]
            verdict = score(response, json.loads(sample["doc"]["ground_truth"]))
            assert (sample["solved"], sample["reward"]) == (float(verdict.success), float(verdict.reward))
            assert response == mixed_answer(sample["doc"]["prompt"])
            checked += 1
        metrics = results["results"][task]
        assert metrics["solved,none"] == pytest.approx(mean(s["solved"] for s in samples))
        assert metrics["reward,none"] == pytest.approx(mean(s["reward"] for s in samples))
    return checked


def test_task_yamls_load_and_run_through_simple_evaluate(tmp_path) -> None:
    written = adapter.write_task_yamls(tmp_path)
    assert len(written) == len(SPLITS) + 1
    manager = TaskManager(include_path=str(tmp_path), include_defaults=False)
    assert {"sftgen", "sftgen_points_fake_all_5", *(f"sftgen_{t}" for t in task_names())} <= set(manager.all_tasks)
    items = [item for split in SPLITS for item in make_items(split, 3)]
    know_items(items)
    model = get_model("sftgen-reference")()
    results = lm_eval.simple_evaluate(
        model=model, tasks=["sftgen"], task_manager=manager, limit=3, bootstrap_iters=0, log_samples=True
    )
    assert check_samples(results, {stack_name(s) for s in SPLITS}) == 3 * len(SPLITS)
    assert results["results"]["sftgen"]["sample_len"] == 3 * len(SPLITS)
    # the context lm-eval sends is sftgen's prompt, unchanged
    assert set(model.contexts) == {item.prompt[-1]["content"] for item in items}


def test_custom_and_seeded_splits_as_config_dicts() -> None:
    configs = [adapter.task_config("points/id", size=4, variant="all_5", difficulty="five", seed=3)]
    know_items(make_items(adapter.resolve_split("points/id", "all_5", "five"), 4, seed=3))
    results = lm_eval.simple_evaluate(model=ReferenceLM(), tasks=configs, bootstrap_iters=0, log_samples=True)
    assert set(results["samples"]) == {"sftgen_points_all_5_at_five_seed3"}
    docs = [s["doc"] for s in results["samples"]["sftgen_points_all_5_at_five_seed3"]]
    assert [d["id"] for d in docs] == [f"points/all_5@five#{i}@seed3" for i in range(4)]
    assert all(len(json.loads(d["ground_truth"])["card_values"]) == 5 for d in docs)


@pytest.mark.parametrize("task", task_names())
def test_scores_equal_sftgens_verifier_on_1000_answers_per_task(task: str) -> None:
    """1,000 answers per task (100 per split, a multi-turn task's first moves), fake and instruction variants
    among them."""
    plan = agreement_splits(task)
    for name, n in plan:
        know_items(make_items(name, n))
    configs = [adapter.task_config(name, size=n) for name, n in plan]
    results = lm_eval.simple_evaluate(model=ReferenceLM(), tasks=configs, bootstrap_iters=0, log_samples=True)
    assert check_samples(results, {stack_name(name) for name, _ in plan}) >= 1000
    solved = [s["solved"] for samples in results["samples"].values() for s in samples]
    assert 0 < sum(solved) < len(solved)  # right and wrong answers both occur
