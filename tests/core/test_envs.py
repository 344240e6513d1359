"""Text environments: the study's answer parser, invalid turns, truncation, rewards, and never raising on text."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sftgen.agents import oracle_answer
from sftgen.prompts import PromptStyle
from sftgen.splits import get_split
from sftgen.tasks.grid import BASE, CARDINAL, EMOJI, NUMERICAL, RANDOM
from sftgen.tasks.points import FaceMap, Hand, verify
from sftgen.tasks.points.env import PointsEnv
from sftgen.tasks.points.variants import POINTS_DIFFICULTIES, POINTS_VARIANTS
from sftgen.tasks.sokoban import Board, Level, solve
from sftgen.tasks.sokoban.env import MAX_TURNS, SokobanEnv, parse_action
from sftgen.tasks.sokoban.variants import SOKOBAN_VARIANTS, sokoban_difficulty

# ---------------------------------------------------------------------------------------------- parse_action


@pytest.mark.parametrize(
    ("text", "vocab", "action"),
    [
        ("<answer> Up </answer>", BASE, "up"),
        ("<answer>up</answer>", BASE, "up"),
        ("<answer>  RIGHT\n</answer>", BASE, "right"),
        ("<answer>\nLeft\n</answer>", BASE, "left"),
        ("<answer>\tdOwN </answer>", BASE, "down"),
        ("<think> the box is left of me, so I go Left </think> <answer> Left </answer>", BASE, "left"),
        ("<think>\nline one\nline two: Up?\n</think>\n<answer>\nDown\n</answer>", BASE, "down"),
        ("blah <answer> Up </answer> then <answer> Down </answer>", BASE, "up"),  # the first match wins
        ("<answer> 3 </answer>", NUMERICAL, "left"),
        ("<answer> south </answer>", CARDINAL, "down"),
        ("<answer> ➡️ </answer>", EMOJI, "right"),
        ("<answer> ➡ </answer>", EMOJI, "right"),
        ("<answer> m </answer>", RANDOM, "right"),
        ("<answer> & </answer>", RANDOM, "down"),
        ("<answer> 1 </answer>", RANDOM, "left"),
    ],
)
def test_parse_action_valid(text: str, vocab, action: str) -> None:
    parsed = parse_action(text, vocab)
    assert parsed.valid and parsed.action == action and parsed.reason == "ok"


@pytest.mark.parametrize(
    ("text", "vocab", "answer"),
    [
        ("Up", BASE, None),  # no tag
        ("", BASE, None),
        ("<answer> Up", BASE, None),  # unclosed
        ("<ANSWER> Up </ANSWER>", BASE, None),  # the study's regex is case-sensitive on the tag
        ("<answer> Up Down </answer>", BASE, "Up Down"),  # two actions
        ("<answer> Up, Down </answer>", BASE, "Up, Down"),
        ("<answer> Up. </answer>", BASE, "Up."),
        ("<answer></answer>", BASE, ""),
        ("<answer> North </answer>", BASE, "North"),  # another vocabulary
        ("<answer> Up </answer>", NUMERICAL, "Up"),
        ("<answer> 1 </answer>", BASE, "1"),
        ("<answer> Upward </answer>", BASE, "Upward"),
        ("<answer> <answer> Up </answer>", BASE, "<answer> Up"),
    ],
)
def test_parse_action_invalid(text: str, vocab, answer: str | None) -> None:
    parsed = parse_action(text, vocab)
    assert not parsed.valid and parsed.action is None
    assert parsed.answer == answer
    assert parsed.reason != "ok"


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_parse_action_never_raises(text: str) -> None:
    parsed = parse_action(text, BASE)
    if parsed.valid:
        assert parsed.action in ("up", "down", "left", "right")
        assert "<answer>" in text


# ---------------------------------------------------------------------------------------------- Sokoban env

# Player left of a box, the target two cells right of it: Right, Right solves it.
CORRIDOR = Board.from_rows(["#######", "#P_X_O#", "#######"])


def _env(variant: str = "base", board: Board = CORRIDOR, max_turns: int = MAX_TURNS) -> SokobanEnv:
    env = SokobanEnv(SOKOBAN_VARIANTS[variant], sokoban_difficulty("6x6-1"), PromptStyle(), max_turns=max_turns)
    env.reset(level=Level(board, tuple(solve(board) or ())))
    return env


def test_reset_returns_the_prompt_and_needs_seed_or_level() -> None:
    env = SokobanEnv(SOKOBAN_VARIANTS["base"], sokoban_difficulty("6x6-1"))
    with pytest.raises(RuntimeError):
        env.observation()
    with pytest.raises(ValueError):
        env.reset()
    first = env.reset(seed=123)
    assert first == env.observation()
    assert env.board == env.level.board and env.turn == 0
    again = SokobanEnv(SOKOBAN_VARIANTS["base"], sokoban_difficulty("6x6-1"))
    assert again.reset(seed=123) == first  # same seed, same level
    assert again.reset(seed=124) != first


def test_invalid_turn_keeps_board_and_spends_the_turn() -> None:
    env = _env()
    before = env.board
    obs, reward, terminated, truncated, info = env.step("<answer> North </answer>")
    assert env.board == before and env.turn == 1
    assert reward == 0.0 and not terminated and not truncated
    assert info["valid"] is False and info["moved"] is False and info["success"] is False
    assert info["answer"] == "North" and info["turn"] == 1
    assert obs == env.observation()


def test_rewards_walk_push_and_solve() -> None:
    env = _env()
    _, r1, t1, _, i1 = env.step("<answer> Right </answer>")  # walk
    assert r1 == pytest.approx(-0.1) and i1["moved"] and i1["valid"] and not t1
    _, r2, t2, _, _ = env.step("<answer> right </answer>")  # push the box next to the target
    assert r2 == pytest.approx(-0.1) and env.board.boxes == frozenset({(1, 4)}) and not t2
    _, r3, t3, tr3, i3 = env.step("<answer>RIGHT</answer>")  # push onto the target: solved
    assert r3 == pytest.approx(-0.1 + 1.0 + 10.0)
    assert t3 and not tr3 and i3["success"] and i3["turn"] == 3
    with pytest.raises(RuntimeError, match="over"):
        env.step("<answer> Left </answer>")


def test_reward_box_off_target_and_blocked_move() -> None:
    board = Board.from_rows(["########", "#P√__XO#", "########"])
    env = _env(board=board)
    _, r, _, _, info = env.step("<answer> Left </answer>")  # into the wall: valid, no move, still -0.1
    assert r == pytest.approx(-0.1) and info["valid"] and not info["moved"]
    _, r, _, _, info = env.step("<answer> Right </answer>")  # pushes the box off its target
    assert r == pytest.approx(-1.1) and info["moved"]
    assert env.board.boxes == frozenset({(1, 3), (1, 5)})


def test_truncation_after_max_turns() -> None:
    env = _env()
    for turn in range(1, MAX_TURNS + 1):
        _, _, terminated, truncated, info = env.step("<answer> Left </answer>" if turn % 2 else "nonsense")
        assert not terminated
        assert truncated == (turn == MAX_TURNS)
        assert info["turn"] == turn
    assert env.turn == 30
    with pytest.raises(RuntimeError):
        env.step("<answer> Right </answer>")


def test_short_budget_truncates_even_on_valid_moves() -> None:
    env = _env(max_turns=2)
    env.step("<answer> Right </answer>")
    _, _, terminated, truncated, info = env.step("<answer> Right </answer>")
    assert truncated and not terminated and not info["success"]


def test_success_on_the_last_allowed_turn_is_not_truncation() -> None:
    env = _env(max_turns=3)
    for _ in range(2):
        env.step("<answer> Right </answer>")
    _, _, terminated, truncated, info = env.step("<answer> Right </answer>")
    assert terminated and not truncated and info["success"]


def test_fake_env_checks_base_words() -> None:
    env = _env("fake_numerical")
    assert "<answer> 1 </answer>" in env.observation()[0]["content"]
    _, _, _, _, info = env.step("<answer> 4 </answer>")  # the declared word for Right
    assert not info["valid"] and env.board == CORRIDOR
    _, _, _, _, info = env.step("<answer> Right </answer>")  # the base word is what it checks
    assert info["valid"] and info["moved"]


def test_honest_env_checks_declared_words() -> None:
    env = _env("numerical")
    _, _, _, _, info = env.step("<answer> Right </answer>")
    assert not info["valid"]
    _, _, _, _, info = env.step("<answer> 4 </answer>")
    assert info["valid"] and info["action"] == "right"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.lists(st.text(), min_size=1, max_size=4), variant=st.sampled_from(sorted(SOKOBAN_VARIANTS)))
def test_sokoban_env_never_raises_on_text(texts: list[str], variant: str) -> None:
    env = _env(variant)
    for text in texts:
        _, reward, terminated, truncated, info = env.step(text)
        assert isinstance(reward, float) and isinstance(info["valid"], bool)
        if not info["valid"]:
            assert reward == 0.0 and not info["moved"]
        if terminated or truncated:
            break


# ---------------------------------------------------------------------------------------------- Points env


J_2_3_9 = Hand((11, 2, 3, 9))


def _points_env(variant: str = "all_10", hand: Hand = J_2_3_9) -> PointsEnv:
    env = PointsEnv(POINTS_VARIANTS[variant], POINTS_DIFFICULTIES["four"])
    env.reset(hand=hand)
    return env


@pytest.mark.parametrize(
    ("text", "reward", "outcome"),
    [
        ('{"cards": ["J", "2", "3", "9"], "number": [10, 2, 3, 9], "formula": "10+9+3+2"}', 5.0, "correct"),
        ('{"formula": "10*2+3+9"}', -1.0, "wrong_value"),
        ('{"formula": "11+2+3+9"}', -2.0, "wrong_numbers"),
        ('{"formula": "10+2+3+9+x"}', -3.0, "illegal_formula"),
        ("I give up", -3.0, "no_answer"),
    ],
)
def test_points_reward_is_the_verifier_reward(text: str, reward: float, outcome: str) -> None:
    env = _points_env()
    obs, r, terminated, truncated, info = env.step(text)
    assert r == reward == verify(text, env.hand.values(FaceMap.uniform(10))).reward
    assert terminated and not truncated
    assert info["outcome"] == outcome and info["success"] == (outcome == "correct")
    assert info["valid"] == (outcome in ("correct", "wrong_value"))
    assert obs == env.observation()
    with pytest.raises(RuntimeError):
        env.step(text)


def test_points_fake_scores_under_the_scored_map() -> None:
    env = _points_env("fake")
    assert "'J' counts as '11'" in env.observation()[0]["content"]
    _, r, _, _, info = env.step('{"formula": "11+9+2+3"}')  # declared J=11: wrong numbers under J=10
    assert r == -2.0 and not info["valid"]
    env = _points_env("fake")
    _, r, _, _, info = env.step('{"formula": "(10+9+3+2)"}')
    assert r == 5.0 and info["success"]


def test_points_oracle_answer_is_correct_on_seeded_hands() -> None:
    for index in range(10):
        env = get_split("points/regular").instance(index).make_env()
        _, r, _, _, info = env.step(oracle_answer(env))
        assert r == 5.0 and info["success"], info


@settings(max_examples=150, deadline=None)
@given(text=st.text(), variant=st.sampled_from(sorted(POINTS_VARIANTS)))
def test_points_env_never_raises_on_text(text: str, variant: str) -> None:
    env = _points_env(variant)
    _, reward, terminated, truncated, info = env.step(text)
    assert terminated and not truncated and info["turn"] == 1
    assert reward == verify(text, env.hand.values(POINTS_VARIANTS[variant].scored)).reward
    assert reward in (5.0, -1.0, -2.0, -3.0)
