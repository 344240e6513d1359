"""Sokoban's episode-level GRPO reward: the first move is applied to the row's board and the policy plays on.

The continuation's "model" here is a reference agent standing in for the HF backend (the oracle solves, the
shortcut answers in words the prompt does not declare), so each case has a known outcome; the end-to-end run
with the tiny model is in test_train_grpo.py.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

import sftgen.train.episode_reward as episode_reward
from sftgen.agents import ReferenceAgent
from sftgen.data.build import BuildConfig, iter_rows
from sftgen.prompts import PromptStyle, action_answer
from sftgen.tasks.sokoban import ACTIONS, solve
from sftgen.tasks.sokoban.prompts import read_board
from sftgen.train.episode_reward import EpisodeReward, prompt_text, state_env
from sftgen.train.rewards import checked

COMPACT = PromptStyle("compact")


class CountingAgent(ReferenceAgent):
    """A reference agent that records every prompt it was asked."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.asked: list[str] = []

    def generate(self, chats, sampling=None):
        self.asked.extend(chat[-1]["content"] for chat in chats)
        return super().generate(chats, sampling)


class FakeModel:
    training = True

    def eval(self):
        self.training = False

    def train(self, mode=True):
        self.training = mode


def reward_with(monkeypatch, kind: str, turns: int = 30) -> tuple[EpisodeReward, CountingAgent, FakeModel]:
    agent, model = CountingAgent(kind), FakeModel()
    monkeypatch.setattr(episode_reward, "HFBackend", lambda m, tokenizer, batch_size: agent)
    reward = EpisodeReward(COMPACT, turns=turns, max_new_tokens=8)
    accelerator = SimpleNamespace(unwrap_model=lambda m: m)
    reward.attach(SimpleNamespace(model=model, processing_class=None, accelerator=accelerator))
    return reward, agent, model


@pytest.fixture(scope="module")
def rows():
    """Diverse-word RL rows: the first state of a few levels (each needs several moves)."""
    config = BuildConfig(kind="rl", task="sokoban", n=6, template="compact", diverse_rl=True)
    items = list(iter_rows(config, frozenset()))
    return [r for r in items if len(solve(read_board(prompt_text(r["prompt"])))) >= 3][:4]


def answer(row, action: str) -> str:
    return action_answer(row["words"][ACTIONS.index(action)])


def score(reward, rows, texts) -> list[float]:
    prompts = [r["prompt"] for r in rows]
    return checked(reward, reward.__name__)(prompts=prompts, completions=texts, words=[r["words"] for r in rows])


def test_an_optimal_first_move_played_on_by_the_oracle_solves(monkeypatch, rows):
    reward, agent, model = reward_with(monkeypatch, "oracle")
    firsts = [answer(r, solve(read_board(prompt_text(r["prompt"])))[0]) for r in rows]
    assert score(reward, rows, firsts) == [1.0] * len(rows)
    assert agent.asked and model.training  # the continuation ran, and the model is back in training mode


def test_invalid_first_answers_score_zero_without_playing_on(monkeypatch, rows):
    reward, agent, _ = reward_with(monkeypatch, "oracle")
    texts = ["<answer> Up </answer>", "no tag at all", "<answer></answer>", "!!!!!!!!"]  # Up is not declared
    assert score(reward, rows, texts[: len(rows)]) == [0.0] * len(rows)
    assert agent.asked == []


def test_a_policy_that_answers_undeclared_words_never_solves(monkeypatch, rows):
    reward, agent, _ = reward_with(monkeypatch, "shortcut", turns=5)
    firsts = [answer(r, solve(read_board(prompt_text(r["prompt"])))[0]) for r in rows]
    assert score(reward, rows, firsts) == [0.0] * len(rows)
    assert len(set(agent.asked)) == len(rows)  # stuck boards are answered once each, not once per turn


def test_the_turn_budget_counts_the_first_move(monkeypatch, rows):
    row = rows[0]
    plan = solve(read_board(prompt_text(row["prompt"])))
    for turns, expected in ((len(plan), 1.0), (len(plan) - 1, 0.0)):
        reward = reward_with(monkeypatch, "oracle", turns=turns)[0]
        assert score(reward, [row], [answer(row, plan[0])]) == [expected]


def test_rollouts_that_agree_share_their_continuation(monkeypatch, rows):
    reward, agent, _ = reward_with(monkeypatch, "oracle")
    row = rows[0]
    first = answer(row, solve(read_board(prompt_text(row["prompt"])))[0])
    assert score(reward, [row] * 8, [first] * 8) == [1.0] * 8
    assert len(agent.asked) == len(set(agent.asked))  # each board of the shared episode asked once


def test_state_env_checks_the_row_and_the_attach():
    config = BuildConfig(kind="rl", task="sokoban", n=1, template="compact", diverse_rl=True)
    row = next(iter(iter_rows(config, frozenset())))
    env = state_env(prompt_text(row["prompt"]), row["words"], COMPACT, turns=4)
    assert env.observation() == row["prompt"] and env.max_turns == 4
    with pytest.raises(ValueError, match="does not declare"):
        state_env(prompt_text(row["prompt"]), ["a", "b", "c", "d"], COMPACT, turns=4)
    with pytest.raises(RuntimeError, match="attach"):
        EpisodeReward(COMPACT, 3, 8)([row["prompt"]], ["<answer> x </answer>"], [row["words"]])
    with pytest.raises(ValueError, match="turns"):
        EpisodeReward(COMPACT, 0, 8)
