"""The episode-level GRPO reward: each row's task deals the row's state from its columns (``Task.check_env``), the
first answer is that env's first step and the policy plays on.

The continuation's "model" stands in for the HF backend, so each case has a known outcome: ``ReferenceAgent`` on
Sokoban (the oracle solves, the shortcut answers in words the prompt does not declare), and on every multi-turn
task a :class:`StatePolicy` that answers each prompt with an optimal move of the state it shows, found by a search
through the env rather than by reading the text. The end-to-end run with the tiny model is in test_train_grpo.py.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

import sftgen.train.episode_reward as episode_reward
from sftgen.agents import ReferenceAgent
from sftgen.prompts import PromptStyle, action_answer
from sftgen.tasks.protocol import RowRequest, Task, get_task
from sftgen.train.episode_reward import EpisodeReward, rl_row_checks
from sftgen.train.rewards import checked

COMPACT = PromptStyle("compact")
MULTI_TURN = ("sokoban", "keys")
START = {"sokoban": lambda row: row, "keys": lambda row: row["state"]}
"""Where each task's RL row keeps the start state's data (the reward never needs to know: ``check_env`` does)."""


class CountingAgent(ReferenceAgent):
    """A reference agent that records every prompt it was asked."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.asked: list[str] = []

    def generate(self, chats, sampling=None):
        self.asked.extend(chat[-1]["content"] for chat in chats)
        return super().generate(chats, sampling)


class StatePolicy:
    """A backend answering each prompt with the solver's first move (in the row's words) from the state the prompt
    shows, or an unknown word where there is none. The states come from a breadth-first search through the task's
    env from each row's state, so the policy never reads the text."""

    def __init__(self, task: Task[Any], rows: list[dict[str, Any]], style: PromptStyle) -> None:
        self.task, self.asked = task, []
        self.states: dict[str, tuple[Any, list[str]]] = {}
        for row in rows:
            env = task.check_env({c: row[c] for c in task.rl_columns}, style, 1)
            frontier, seen = [env.state], set()
            while frontier:
                state = frontier.pop()
                key = json.dumps(task.state_data(state), sort_keys=True)
                if key in seen:
                    continue
                seen.add(key)
                self.states[env.reset(state=state)[-1]["content"]] = (state, row["words"])
                for word in row["words"]:
                    env.reset(state=state)
                    *_, info = env.step(action_answer(word))
                    if not info["success"]:
                        frontier.append(task.state_from_data(info["state"]))

    def generate(self, chats, sampling=None) -> list[str]:
        answers = []
        for chat in chats:
            self.asked.append(chat[-1]["content"])
            state, words = self.states[chat[-1]["content"]]
            plan = self.task.solve(state, "base")
            answers.append(action_answer(words[self.task.actions.index(plan[0])] if plan else "xyzzy"))
        return answers


class FakeModel:
    training = True

    def eval(self):
        self.training = False

    def train(self, mode=True):
        self.training = mode


def reward_with(monkeypatch, backend: Any, turns: int = 30, **kwargs: Any) -> tuple[EpisodeReward, FakeModel]:
    model = FakeModel()
    monkeypatch.setattr(episode_reward, "HFBackend", lambda m, tokenizer, batch_size: backend)
    reward = EpisodeReward(COMPACT, turns=turns, max_new_tokens=8, **kwargs)
    accelerator = SimpleNamespace(unwrap_model=lambda m: m)
    reward.attach(SimpleNamespace(model=model, processing_class=None, accelerator=accelerator))
    return reward, model


def rl_rows(name: str, n: int, diverse: bool = True) -> list[dict[str, Any]]:
    """RL rows of a few training levels whose plans take at least three moves."""
    task = get_task(name)
    rows = task.rows(RowRequest("rl", n, template="compact", diverse_rl=diverse), frozenset())
    return [r for r in rows if len(task.solve(start(name, r), "base")) >= 3][:4]


def start(name: str, row: dict[str, Any]) -> Any:
    return get_task(name).state_from_data(START[name](row))


def score(reward, rows, texts) -> list[float]:
    """The reward as TRL calls it: every column of the dataset, one item per completion."""
    columns = {k: [r[k] for r in rows] for k in rows[0] if k != "prompt"}
    return checked(reward, reward.__name__)(prompts=[r["prompt"] for r in rows], completions=texts, **columns)


def first_answer(name: str, row: dict[str, Any]) -> str:
    plan = get_task(name).solve(start(name, row), "base")
    return action_answer(row["words"][get_task(name).actions.index(plan[0])])


@pytest.fixture(scope="module")
def rows():
    """Diverse-word Sokoban RL rows."""
    return rl_rows("sokoban", 6)


def test_an_optimal_first_move_played_on_by_the_oracle_solves(monkeypatch, rows):
    agent = CountingAgent("oracle")
    reward, model = reward_with(monkeypatch, agent)
    assert score(reward, rows, [first_answer("sokoban", r) for r in rows]) == [1.0] * len(rows)
    assert agent.asked and model.training  # the continuation ran, and the model is back in training mode


def test_invalid_first_answers_score_zero_without_playing_on(monkeypatch, rows):
    agent = CountingAgent("oracle")
    reward, _ = reward_with(monkeypatch, agent)
    texts = ["<answer> Up </answer>", "no tag at all", "<answer></answer>", "!!!!!!!!"]  # Up is not declared
    assert score(reward, rows, texts[: len(rows)]) == [0.0] * len(rows)
    assert agent.asked == []


def test_a_policy_that_answers_undeclared_words_never_solves(monkeypatch, rows):
    agent = CountingAgent("shortcut")
    reward, _ = reward_with(monkeypatch, agent, turns=5)
    assert score(reward, rows, [first_answer("sokoban", r) for r in rows]) == [0.0] * len(rows)
    assert len(set(agent.asked)) == len(rows)  # stuck boards are answered once each, not once per turn


def test_the_turn_budget_counts_the_first_move(monkeypatch, rows):
    row = rows[0]
    plan = get_task("sokoban").solve(start("sokoban", row), "base")
    for turns, expected in ((len(plan), 1.0), (len(plan) - 1, 0.0)):
        reward = reward_with(monkeypatch, CountingAgent("oracle"), turns=turns)[0]
        assert score(reward, [row], [first_answer("sokoban", row)]) == [expected]


def test_rollouts_that_agree_share_their_continuation(monkeypatch, rows):
    agent = CountingAgent("oracle")
    reward, _ = reward_with(monkeypatch, agent)
    assert score(reward, [rows[0]] * 8, [first_answer("sokoban", rows[0])] * 8) == [1.0] * 8
    assert len(agent.asked) == len(set(agent.asked))  # each board of the shared episode asked once


def played(name: str, row: dict[str, Any], first: str, policy: StatePolicy, turns: int) -> float:
    """The same first answer and the same continuation, played through the task's own env of its base variant
    (the variant of rows without diverse words)."""
    task = get_task(name)
    difficulty = next(d for d, info in task.difficulties.items() if info.max_turns >= turns)
    env = task.make_env("base", difficulty, COMPACT)
    assert env.reset(state=start(name, row)) == row["prompt"]
    *_, terminated, truncated, info = env.step(first)
    if not info["valid"]:
        return 0.0
    for _ in range(turns - 1):
        if terminated or truncated or info["success"]:
            break
        *_, terminated, truncated, info = env.step(policy.generate([env.observation()])[0])
    return float(info["success"])


def completions(name: str, row: dict[str, Any]) -> list[str]:
    """Every declared word as the first move (optimal or not), an unknown word and no answer."""
    return [*(action_answer(w) for w in row["words"]), "<answer> xyzzy </answer>", "no answer"]


@pytest.mark.parametrize("name", MULTI_TURN)
def test_the_reward_is_the_episode_the_tasks_own_env_plays(monkeypatch, name):
    rows = rl_rows(name, 4, diverse=False)
    cases = [(row, text) for row in rows for text in completions(name, row)]
    turns = 8
    policy = StatePolicy(get_task(name), rows, COMPACT)
    expected = [played(name, row, text, policy, turns) for row, text in cases]
    assert 0.0 in expected and 1.0 in expected  # both outcomes occur, so agreement means something

    reward, _ = reward_with(monkeypatch, StatePolicy(get_task(name), rows, COMPACT), turns=turns)
    assert score(reward, [row for row, _ in cases], [text for _, text in cases]) == expected


@pytest.mark.parametrize("name", MULTI_TURN)
def test_the_state_comes_from_the_columns_not_the_prompt(monkeypatch, name):
    """Diverse rows whose prompts were swapped (each shows another row's state and words) score as before, and
    the policy is asked the same prompts: the reward never reads the row's prompt."""
    rows = rl_rows(name, 4)
    texts = [text for row in rows for text in completions(name, row)]
    honest = [row for row in rows for _ in completions(name, row)]
    swapped = [{**row, "prompt": rows[(rows.index(row) + 1) % len(rows)]["prompt"]} for row in honest]
    runs = []
    for batch in (honest, swapped):
        policy = StatePolicy(get_task(name), rows, COMPACT)
        reward, _ = reward_with(monkeypatch, policy, turns=8)
        runs.append((score(reward, batch, texts), policy.asked))
    assert runs[0] == runs[1] and 1.0 in runs[0][0]


def test_a_single_turn_task_scores_the_verifiers_success(monkeypatch):
    """A single-turn task's episode is its one answer: 1 exactly when the verifier calls it a success, and the
    model is never asked."""
    task = get_task("points")
    rows = list(task.rows(RowRequest("rl", 4, template="compact"), frozenset()))
    hand = task.state_from_data(rows[0])
    right = task.reference_answer("oracle", hand, "all_10", COMPACT, np.random.default_rng(0))  # the training map
    texts = [right, "no answer", right, right]  # rows 2 and 3 are other hands: the answer is wrong there
    agent = CountingAgent("oracle")
    reward, _ = reward_with(monkeypatch, agent)
    checks = [{c: r[c] for c in task.rl_columns} for r in rows]
    expected = [float(task.verify(t, check).success) for check, t in zip(checks, texts, strict=True)]
    assert score(reward, rows, texts) == expected and expected[:2] == [1.0, 0.0] and agent.asked == []


def test_rows_need_their_check_columns_and_a_task(monkeypatch, rows):
    reward, _ = reward_with(monkeypatch, CountingAgent("oracle"))
    answer = [first_answer("sokoban", rows[0])]
    with pytest.raises(TypeError, match="missing \\['board'\\]"):
        reward([rows[0]["prompt"]], answer, task=["sokoban"], words=[rows[0]["words"]], optimal_actions=[[]])
    with pytest.raises(TypeError, match="'task' column"):
        reward([rows[0]["prompt"]], answer, board=[rows[0]["board"]], words=[rows[0]["words"]])
    named, _ = reward_with(monkeypatch, CountingAgent("oracle"), read_checks=rl_row_checks("sokoban"))
    columns = {c: [rows[0][c]] for c in get_task("sokoban").rl_columns}  # what GRPO keeps: no `task` column
    assert named([rows[0]["prompt"]], answer, **columns) == [1.0]


def test_the_reward_needs_attaching_and_a_turn():
    with pytest.raises(RuntimeError, match="attach"):
        EpisodeReward(COMPACT, 3, 8)(["p"], ["<answer> x </answer>"], task=["sokoban"])
    with pytest.raises(ValueError, match="turns"):
        EpisodeReward(COMPACT, 0, 8)
    assert EpisodeReward(COMPACT, 3, 8).__name__ == "episode_reward"
