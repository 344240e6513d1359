"""verifiers adapter: the taskset loads through verifiers' own plugin loaders, and real rollouts (Env.serving,
run_episode, interception, EvalClient) against a local OpenAI-compatible server that answers from sftgen's
reference agents are scored by the task's rubric exactly as sftgen's verifier scores them, 1,000 per task, and
multi-turn episodes equal sftgen's own environments, for every registered task."""

from __future__ import annotations

import asyncio

import pytest

vf = pytest.importorskip("verifiers.v1", reason="verifiers is not installed (see docs/integrations.md)")

from fastapi import FastAPI, Request  # noqa: E402
from fastapi.responses import JSONResponse  # noqa: E402
from integration_helpers import agreement_splits  # noqa: E402
from stack_policies import know_items, mixed_answer, play_locally  # noqa: E402
from verifiers.v1.utils.loaders import (  # noqa: E402
    environment_class,
    harness_class,
    taskset_class,
)

from sftgen.integrations import verifiers as adapter  # noqa: E402
from sftgen.integrations.items import make_items, score  # noqa: E402
from sftgen.models.serve import BackgroundServer  # noqa: E402
from sftgen.tasks.protocol import task_names  # noqa: E402

KEY_VAR = "SFTGEN_REFERENCE_API_KEY"


def reference_app(fail_first_calls: bool = False) -> FastAPI:
    """An OpenAI chat-completions endpoint whose model answers the last user message with ``mixed_answer``;
    with ``fail_first_calls`` an overloaded provider answers each prompt's first request with 503."""
    app = FastAPI()
    app.state.prompts, app.state.sizes, app.state.calls = [], [], 0

    @app.post("/v1/chat/completions", response_model=None)
    async def chat(request: Request) -> dict | JSONResponse:
        body = await request.json()
        prompt = body["messages"][-1]["content"]
        app.state.calls += 1
        if fail_first_calls and prompt not in app.state.prompts:
            app.state.prompts.append(prompt)
            return JSONResponse({"error": {"message": "overloaded"}}, status_code=503)
        app.state.prompts.append(prompt)
        app.state.sizes.append(len(body["messages"]))
        message = {"role": "assistant", "content": mixed_answer(prompt)}
        return {
            "id": "sftgen-reference",
            "object": "chat.completion",
            "created": 0,
            "model": body["model"],
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }

    return app


@pytest.fixture(scope="module")
def model_server():
    app = reference_app()
    with BackgroundServer(app) as server:
        server.prompts, server.sizes = app.state.prompts, app.state.sizes
        yield server


def run_rollouts(env, url: str, concurrency: int = 8) -> list:
    """One episode per task of ``env``'s taskset inside ``env.serving()``, ``concurrency`` at a time.

    Few in flight and a long connect timeout: on a loaded 2-core machine, 32 at a time with verifiers' default
    30 s connect timeout failed two 1,000-rollout runs with an empty ``ProviderError``."""
    from verifiers.v1.configs.client import ClientTimeoutConfig

    client = vf.EvalClientConfig(
        base_url=url + "/v1", api_key_var=KEY_VAR, timeout=ClientTimeoutConfig(connect=300.0, read=300.0)
    )
    ctx = vf.ModelContext(model="reference", client=client)

    async def main() -> list:
        gate = asyncio.Semaphore(concurrency)

        async def one(task) -> object:
            async with gate:
                return await env.run_episode(task, ctx)

        async with env.serving():
            return await asyncio.gather(*(one(task) for task in env.taskset))

    return asyncio.run(main())


def test_taskset_loads_through_verifiers_plugin_loaders() -> None:
    assert taskset_class(adapter.TASKSET_ID) is adapter.SftgenTaskset
    assert environment_class(adapter.TASKSET_ID) is adapter.SftgenEnv
    assert harness_class(adapter.TASKSET_ID) is adapter.SftgenReplyHarness  # the taskset's default harness
    taskset = adapter.load_taskset("sokoban/fake_numerical", size=5)
    tasks = list(taskset)
    assert [t.key for t in tasks] == [f"sokoban/fake_numerical#{i}" for i in range(5)]
    assert [t.data.idx for t in tasks] == list(range(5))
    item = make_items("sokoban/fake_numerical", 1)[0]
    assert tasks[0].data.prompt == item.prompt[-1]["content"] and tasks[0].data.ground_truth == item.ground_truth
    assert [t.key for t in taskset.include(ids=["sokoban/fake_numerical#3"])] == ["sokoban/fake_numerical#3"]
    custom = list(adapter.load_taskset("points/id", size=2, variant="all_5", difficulty="five", seed=1))
    assert [t.key for t in custom] == [f"points/all_5@five#{i}@seed1" for i in range(2)]
    assert len(custom[0].data.ground_truth["card_values"]) == 5
    with pytest.raises(ValueError, match="unknown points variant"):
        list(adapter.load_taskset("points/id", variant="all_99"))


def test_rollouts_reach_the_model_with_sftgens_prompt(model_server, monkeypatch) -> None:
    monkeypatch.setenv(KEY_VAR, "local")
    env = adapter.load_environment("points/fake_all_5", size=4)
    assert isinstance(env, adapter.SftgenEnv)
    items = make_items("points/fake_all_5", 4)
    know_items(items)
    before = len(model_server.prompts)
    episodes = run_rollouts(env, model_server.url)
    assert all(e.ok for e in episodes)
    assert set(model_server.prompts[before:]) == {i.prompt[-1]["content"] for i in items}
    trace = episodes[0].traces[0]
    assert set(trace.rewards) == {"sftgen_reward"} and set(trace.metrics) >= {"solved"}


@pytest.mark.parametrize("retries", [0, 1])
def test_the_harness_retries_a_relayed_provider_failure(monkeypatch, retries: int) -> None:
    """verifiers relays an upstream 5xx to the harness for the harness to retry: with one retry every episode
    whose first call failed scores as sftgen scores it; with none, each fails."""
    monkeypatch.setenv(KEY_VAR, "local")
    items = make_items("points/id", 4)
    know_items(items)
    harness = {"id": adapter.TASKSET_ID, "max_retries": retries, "retry_backoff_s": 0.01}
    agent = vf.AgentConfig(runtime=vf.SubprocessConfig(), harness=harness)
    app = reference_app(fail_first_calls=True)
    with BackgroundServer(app) as server:
        episodes = run_rollouts(adapter.load_environment("points/id", agent=agent, size=4), server.url, 1)
    assert [e.ok for e in episodes] == [bool(retries)] * 4
    assert app.state.calls == 4 * (1 + retries)
    if retries:
        assert [e.traces[0].reward for e in episodes] == [
            score(mixed_answer(i.prompt[-1]["content"]), i.ground_truth).reward for i in items
        ]


@pytest.mark.parametrize("task", task_names())
def test_rubric_equals_sftgens_verifier_on_1000_rollouts_per_task(model_server, monkeypatch, task: str) -> None:
    monkeypatch.setenv(KEY_VAR, "local")
    checked, solved = 0, 0
    for split, n in agreement_splits(task):
        items = make_items(split, n)
        know_items(items)
        env = adapter.load_environment(split, size=n)
        episodes = run_rollouts(env, model_server.url)
        for item, episode in zip(items, episodes, strict=True):
            assert episode.ok, episode.errors
            (trace,) = episode.traces
            assert trace.task.data.id == item.id
            verdict = score(mixed_answer(item.prompt[-1]["content"]), item.ground_truth)
            assert trace.rewards["sftgen_reward"].score == verdict.reward
            assert trace.reward == verdict.reward  # the only reward, weight 1
            assert trace.metrics["solved"] == float(verdict.success)
            checked += 1
            solved += verdict.success
    assert checked >= 1000 and 0 < solved < checked


MULTI_TURN = {"sokoban": ("sokoban/id", "sokoban/fake_cardinal"), "keys": ("keys/id", "keys/fake_numerical")}
"""An honest and a fake split of each multi-turn task."""


@pytest.mark.parametrize("task", sorted(MULTI_TURN))
def test_multi_turn_episodes_equal_sftgens_environment(model_server, monkeypatch, task: str) -> None:
    """Each turn is one request holding only the study's fresh prompt of the current state; the rubric's verdict,
    the moves and the environment's rewards equal the same answers played straight through sftgen's environment."""
    monkeypatch.setenv(KEY_VAR, "local")
    n, max_turns, outcomes = 50, 12, []
    for split in MULTI_TURN[task]:
        expected = play_locally(split, n, max_turns)  # first: it makes every prompt of these episodes known
        before = len(model_server.prompts)
        episodes = run_rollouts(adapter.load_environment(split, size=n, max_turns=max_turns), model_server.url)
        for episode in episodes:
            (trace,) = episode.traces
            assert episode.ok, [e.message for e in trace.errors]
            success, total, turns, _ = expected[trace.task.data.id]
            assert trace.rewards["sftgen_reward"].score == trace.metrics["solved"] == float(success)
            assert trace.metrics["turns"] == turns and trace.num_turns == turns
            assert trace.metrics["env_reward"] == pytest.approx(total)
        sent = model_server.prompts[before:]
        assert len(sent) == sum(turns for _, _, turns, _ in expected.values())
        assert set(model_server.sizes[before:]) == {1}  # one message per request: the fresh prompt, not a history
        outcomes += expected.values()
    solved = sum(success for success, *_ in outcomes)
    assert 0 < solved < len(outcomes) and any(turns > 1 for _, _, turns, _ in outcomes)
