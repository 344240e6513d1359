"""OpenEnv adapter: openenv-core's app served by uvicorn on loopback, played with OpenEnv's own client class;
multi-turn episodes, fake and custom splits, and 1,000 episodes per registered task equal to sftgen's own
environments."""

from __future__ import annotations

import asyncio

import httpx
import pytest

pytest.importorskip("openenv.core", reason="openenv-core is not installed (pip install 'sftgen[openenv]')")

from integration_helpers import agreement_splits
from stack_policies import mixed_answer, play_locally

from sftgen.agents import ReferenceAgent
from sftgen.integrations import openenv as adapter
from sftgen.integrations.items import make_items, score, turn_budget
from sftgen.models.serve import BackgroundServer
from sftgen.splits import get_split
from sftgen.tasks.protocol import task_names


@pytest.fixture(scope="module")
def server():
    with BackgroundServer(adapter.create_sftgen_app(max_concurrent_envs=32, split="sokoban/id")) as running:
        yield running


def oracle(observation: adapter.SftgenObservation) -> adapter.SftgenAction:
    return adapter.SftgenAction(text=ReferenceAgent("oracle").answer(observation.messages[-1]["content"]))


def test_multi_turn_sokoban_session_through_the_openenv_client(server) -> None:
    with adapter.SftgenEnv(base_url=server.url).sync() as env:
        result = env.reset(index=2)
        local = get_split("sokoban/id").instance(2).make_env()
        assert result.observation.messages == local.observation() and not result.done
        assert result.observation.instance_id == "sokoban/id#2" and result.reward is None
        turns = 0
        while not result.done:
            result = env.step(oracle(result.observation))
            turns += 1
        assert result.observation.success and result.observation.valid and turns > 1  # solved over several moves
        state = env.state()
        assert (state.turn, state.step_count, state.done, state.success) == (turns, turns, True, True)
        with pytest.raises(RuntimeError, match="no episode running"):
            env.step(adapter.SftgenAction(text="<answer>Up</answer>"))
        assert env.reset().observation.instance_id == "sokoban/id#3"  # the next instance of the session's split


def test_fake_and_custom_splits_are_selected_at_reset(server) -> None:
    with adapter.SftgenEnv(base_url=server.url).sync() as env:
        fake = env.reset(split="sokoban/fake_numerical", index=0, max_turns=2)
        assert fake.observation.split == "sokoban/fake_numerical" and fake.observation.max_turns == 2
        declared = env.step(adapter.SftgenAction(text="<answer>1</answer>"))  # a declared word, never checked
        assert declared.observation.valid is False and not declared.done
        assert env.step(adapter.SftgenAction(text="<answer>Up</answer>")).done  # truncated after 2 turns
        custom = env.reset(split="points/id", variant="all_5", difficulty="five", index=0)
        assert (
            custom.observation.split == "points/all_5@five"
            and "count as '5'" in custom.observation.messages[0]["content"]
        )
        seeded = env.reset(split="points/id", index=0, seed=7)
        assert seeded.observation.instance_id == "points/id#0@seed7"
        assert seeded.observation.messages != env.reset(split="points/id", index=0).observation.messages
        with pytest.raises(RuntimeError, match="unknown points variant"):
            env.reset(split="points/id", variant="all_99")


def test_openenv_http_routes_describe_the_environment(server) -> None:
    assert httpx.get(server.url + "/health").json()["status"] == "healthy"
    schema = httpx.get(server.url + "/schema").json()
    assert "text" in schema["action"]["properties"] and "messages" in schema["observation"]["properties"]
    stateless = httpx.post(server.url + "/reset", json={"split": "points/fake", "index": 1}).json()
    assert stateless["observation"]["instance_id"] == "points/fake#1"


async def play_through_openenv(url: str, split_name: str, n: int, max_turns: int, sessions: int = 16) -> dict:
    """The same episodes over OpenEnv's client, ``sessions`` WebSocket sessions at once."""
    results: dict[str, tuple[bool, float, int, list[float]]] = {}

    async def worker(indices: range) -> None:
        async with adapter.SftgenEnv(base_url=url, message_timeout_s=120) as env:
            for index in indices:
                result = await env.reset(split=split_name, index=index, max_turns=max_turns)
                rewards = []
                while not result.done:
                    text = mixed_answer(result.observation.messages[-1]["content"])
                    result = await env.step(adapter.SftgenAction(text=text))
                    rewards.append(result.reward)
                state = await env.state()
                assert state.total_reward == pytest.approx(sum(rewards))
                outcome = (result.observation.success, sum(rewards), len(rewards), rewards)
                results[result.observation.instance_id] = outcome

    await asyncio.gather(*(worker(range(k, n, sessions)) for k in range(sessions)))
    return results


MAX_TURNS = 12
"""A turn cap below the multi-turn tasks' own budgets: most oracle episodes end solved within it, others do not."""


@pytest.mark.parametrize("task", task_names())
def test_openenv_episodes_equal_sftgens_environment_on_1000_episodes(server, task: str) -> None:
    served, expected = {}, {}
    for split_name, n in agreement_splits(task):
        expected |= play_locally(split_name, n, MAX_TURNS)  # first: it makes every prompt of these episodes known
        served |= asyncio.run(play_through_openenv(server.url, split_name, n, MAX_TURNS))
    assert len(served) >= 1000 and served == expected
    assert 0 < sum(success for success, *_ in expected.values()) < len(expected)  # both outcomes occur
    assert len({total for _, total, _, _ in expected.values()}) >= 3  # several kinds of reward occur
    for split_name, n in agreement_splits(task):
        if turn_budget(get_split(split_name)) == 1:  # one step, rewarded by the verifier on the checked side
            for item in make_items(split_name, n):
                assert served[item.id][1] == score(mixed_answer(item.prompt[-1]["content"]), item.ground_truth).reward
