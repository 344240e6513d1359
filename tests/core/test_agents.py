"""Reference agents in full episodes: the oracle reads the instruction, the shortcut keeps the training words.

This is the study's fake-environment logic end to end: a frozen-prompt answer (Up/Down/Left/Right, J=Q=K=10)
scores on the fake splits and is invalid on honest instruction variants; the declared-vocabulary answer is the
opposite.
"""

from __future__ import annotations

import pytest
from core_helpers import GarbageBackend, run_episode

from sftgen.agents import ReferenceAgent, oracle_answer
from sftgen.prompts import read_declared_words
from sftgen.splits import SPLITS, get_split
from sftgen.tasks.grid import BASE, NUMERICAL
from sftgen.tasks.points import FaceMap
from sftgen.tasks.points.env import PointsEnv
from sftgen.tasks.points.prompts import read_hand
from sftgen.tasks.protocol import AGENTS
from sftgen.tasks.sokoban import solve
from sftgen.tasks.sokoban.env import SokobanEnv, parse_action
from sftgen.tasks.sokoban.prompts import read_board
from sftgen.tasks.sokoban.variants import SOKOBAN_VARIANTS

N = 10
# The study's verdicts, on its two tasks; every task's agents are checked from the state, and its text-reading agents
# against those, in tests/tasks/test_task_protocol_suite.py.
TEXT_SPLITS = {n: s for n, s in SPLITS.items() if s.task in ("sokoban", "points")}
FAKE = sorted(n for n, s in TEXT_SPLITS.items() if s.category == "fake")
HONEST = sorted(n for n, s in TEXT_SPLITS.items() if s.category != "fake")
# Splits whose declared instruction differs from the training one (Empty declares nothing: the base words work).
SHORTCUT_FAILS = [
    *sorted(n for n, s in TEXT_SPLITS.items() if s.category == "instruction" and s.variant != "empty"),
    "points/all_12",
    "points/regular",
]


def _rates(split_name: str, backend, template: str = "study") -> tuple[float, float]:
    episodes = [run_episode(i.make_env(template), backend) for i in get_split(split_name).with_size(N).instances()]
    return sum(e.success for e in episodes) / N, sum(e.validity for e in episodes) / N


def test_split_lists_cover_the_issue() -> None:
    assert FAKE == [
        "points/fake",
        "points/fake_all_5",
        "sokoban/fake_cardinal",
        "sokoban/fake_emoji",
        "sokoban/fake_numerical",
    ]
    assert {"sokoban/paraphrase", "points/paraphrase", "points/six", "sokoban/validation"} <= set(HONEST)
    assert {"sokoban/numerical", "sokoban/cardinal", "sokoban/emoji", "points/all_5", "points/all_7"} <= set(
        SHORTCUT_FAILS
    )


@pytest.mark.parametrize("split", HONEST)
def test_oracle_solves_every_honest_split(split: str) -> None:
    assert _rates(split, ReferenceAgent("oracle")) == (1.0, 1.0)


@pytest.mark.parametrize("split", FAKE)
def test_oracle_fails_every_fake_split(split: str) -> None:
    assert _rates(split, ReferenceAgent("oracle")) == (0.0, 0.0)


@pytest.mark.parametrize("split", FAKE)
def test_shortcut_solves_every_fake_split(split: str) -> None:
    assert _rates(split, ReferenceAgent("shortcut")) == (1.0, 1.0)


@pytest.mark.parametrize("split", SHORTCUT_FAILS)
def test_shortcut_fails_changed_instructions(split: str) -> None:
    assert _rates(split, ReferenceAgent("shortcut")) == (0.0, 0.0)


@pytest.mark.parametrize(
    "split",
    [
        "sokoban/id",
        "sokoban/empty",
        "sokoban/larger",
        "sokoban/complex",
        "points/id",
        "points/large",
        "points/five",
        "points/six",
    ],
)
def test_shortcut_equals_oracle_where_the_instruction_is_the_training_one(split: str) -> None:
    assert _rates(split, ReferenceAgent("shortcut")) == (1.0, 1.0)


@pytest.mark.parametrize("split", ["sokoban/numerical", "sokoban/fake_emoji", "points/regular", "points/fake"])
def test_compact_template_gives_the_same_verdicts(split: str) -> None:
    oracle, shortcut = (
        _rates(split, ReferenceAgent("oracle"), "compact"),
        _rates(split, ReferenceAgent("shortcut"), "compact"),
    )
    fake = SPLITS[split].category == "fake"
    assert oracle == ((0.0, 0.0) if fake else (1.0, 1.0))
    assert shortcut == ((1.0, 1.0) if fake else (0.0, 0.0))


def test_frozen_answers_on_single_prompts() -> None:
    """The first answer of each agent, checked by hand on one fake and one honest instance per task."""
    fake = get_split("sokoban/fake_numerical").instance(0).make_env()
    honest = get_split("sokoban/numerical").instance(0).make_env()
    plan = solve(fake.board)
    shortcut_text = ReferenceAgent("shortcut").answer(fake.observation()[0]["content"])
    oracle_text = ReferenceAgent("oracle").answer(fake.observation()[0]["content"])
    assert shortcut_text == f"<answer> {BASE.word_for(plan[0])} </answer>"
    assert oracle_text == f"<answer> {NUMERICAL.word_for(plan[0])} </answer>"
    assert parse_action(shortcut_text, SOKOBAN_VARIANTS["fake_numerical"].checked).valid
    assert not parse_action(oracle_text, SOKOBAN_VARIANTS["fake_numerical"].checked).valid
    assert parse_action(ReferenceAgent("oracle").answer(honest.observation()[0]["content"]), NUMERICAL).valid

    env = get_split("points/fake_all_5").instance(0).make_env()
    assert isinstance(env, PointsEnv)
    labels, declared = read_hand(env.observation()[0]["content"])
    assert declared == FaceMap.uniform(5) and labels == env.hand.labels()
    assert '"number": ' + str(list(env.hand.values(FaceMap.uniform(10)))) in ReferenceAgent("shortcut").answer(
        env.observation()[0]["content"]
    )


@pytest.mark.parametrize("split", ["sokoban/id", "sokoban/random", "sokoban/paraphrase", "points/id", "points/five"])
def test_random_agent_is_always_valid_on_honest_splits(split: str) -> None:
    success, validity = _rates(split, ReferenceAgent("random", seed=3))
    assert validity == 1.0
    assert success < 1.0


@pytest.mark.parametrize(
    "split",
    [
        "sokoban/id",
        "sokoban/numerical",
        "sokoban/fake_numerical",
        "sokoban/complex",
        "points/id",
        "points/fake",
        "points/six",
    ],
)
def test_garbage_backend_scores_zero_without_crashing(split: str) -> None:
    backend = GarbageBackend()
    episodes = [run_episode(i.make_env(), backend) for i in get_split(split).with_size(N).instances()]
    assert all(not e.success and e.validity == 0.0 for e in episodes)
    if split.startswith("sokoban"):
        assert all(e.turns == 30 and set(e.rewards) == {0.0} for e in episodes)
    else:
        assert all(e.turns == 1 and e.rewards[0] in (-2.0, -3.0) for e in episodes)
    assert backend.calls == sum(e.turns for e in episodes)


def test_agents_are_backends() -> None:
    env = get_split("sokoban/id").instance(1).make_env()
    assert isinstance(env, SokobanEnv)
    chats = [env.observation(), get_split("points/id").instance(1).make_env().observation()]
    texts = ReferenceAgent("oracle").generate(chats, sampling=None)
    assert len(texts) == 2 and texts[0].startswith("<answer> ") and '"formula": ' in texts[1]
    assert oracle_answer(env) == texts[0]
    with pytest.raises(ValueError, match="unknown agent"):
        ReferenceAgent("genius")
    assert AGENTS == ("oracle", "shortcut", "random")


def test_readers_reject_prompts_without_content() -> None:
    with pytest.raises(ValueError, match="no board"):
        read_board("You are a Sokoban solver.\nno grid here")
    with pytest.raises(ValueError, match="no cards"):
        read_hand("Cards: none")
    with pytest.raises(ValueError, match="face-card"):
        read_hand("Cards: ['A', '2', '3', '4']")
    assert read_declared_words("Always output: <answer> [your answer] </answer>") is None
    with pytest.raises(ValueError, match="none of the tasks reads this prompt"):
        ReferenceAgent("oracle").answer("Cards: none")


@pytest.mark.slow
def test_verdicts_hold_on_every_study_sized_split() -> None:
    """The same verdicts on every instance of every registered split at its full size (~1,500 + 5,300 episodes)."""
    oracle, shortcut = ReferenceAgent("oracle"), ReferenceAgent("shortcut")
    for name, split in TEXT_SPLITS.items():
        envs = [inst.make_env() for inst in split.instances()]
        oracle_ok = [run_episode(env, oracle).success for env in envs]
        envs = [inst.make_env() for inst in split.instances()]
        shortcut_ok = [run_episode(env, shortcut).success for env in envs]
        fake = split.category == "fake"
        assert set(oracle_ok) == {not fake}, name
        assert set(shortcut_ok) == {name not in SHORTCUT_FAILS}, name
