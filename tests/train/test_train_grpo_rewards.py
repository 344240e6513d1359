"""GRPO rewards are the evaluation verifiers: golden and negative cases, chat and plain completions, and the
length/type check that names the function (TRL issue 6533)."""

from __future__ import annotations

import math

import pytest

from sftgen.data.build import BuildConfig, iter_rows
from sftgen.tasks.points import verify
from sftgen.tasks.sokoban import ACTIONS
from sftgen.tasks.sokoban.env import parse_action
from sftgen.train.rewards import (
    RewardError,
    check_rewards,
    checked,
    completion_text,
    points_reward,
    repeat_char_rate,
    sokoban_reward,
    task_rewards,
)
from sftgen.variants import ActionVocab

DIVERSE = ["apple", "river", "stone", "cloud"]  # apple = up, river = down, stone = left, cloud = right
BASE = ["Up", "Down", "Left", "Right"]


def sok(text, words=DIVERSE, optimal=("left",)) -> float:
    (reward,) = sokoban_reward(prompts=[None], completions=[text], words=[words], optimal_actions=[list(optimal)])
    return reward


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<answer> stone </answer>", 1.0),  # optimal action in the declared words
        ("<answer>STONE</answer>", 1.0),  # case-insensitive, no spaces needed
        ("<think>\nthe box is to my left,\nso push it\n</think>\n<answer>\n  Stone \n</answer>", 1.0),
        ("<answer> apple </answer>", 0.0),  # a valid but non-optimal action
        ("<answer> Left </answer>", 0.0),  # the training (base) word under a diverse row
        ("<answer> apple </answer> <answer> stone </answer>", 0.0),  # only the first answer counts
        ("<answer> stone cloud </answer>", 0.0),  # two actions in one answer
        ("stone", 0.0),  # no tag
        ("", 0.0),
        ("<answer></answer>", 0.0),
        ("!!!!!!!!!!!!!!!!", 0.0),
    ],
)
def test_sokoban_golden_and_negative(text, expected):
    assert sok(text) == expected


def test_sokoban_base_words_and_several_optimal_actions():
    assert sok("<answer> Left </answer>", words=BASE) == 1.0
    assert sok("<answer> Down </answer>", words=BASE, optimal=("down", "left")) == 1.0
    assert sok("<answer> Up </answer>", words=BASE, optimal=("down", "left")) == 0.0


def test_sokoban_chat_completions_and_real_rl_rows():
    rows = list(iter_rows(BuildConfig("rl", "sokoban", 3, template="compact", diverse_rl=True), frozenset()))
    words = [r["words"] for r in rows]
    optimal = [r["optimal_actions"] for r in rows]
    right = [
        [{"role": "assistant", "content": f"<answer> {w[ACTIONS.index(o[0])]} </answer>"}]
        for w, o in zip(words, optimal, strict=True)
    ]
    wrong = [
        [{"role": "assistant", "content": f"<answer> {w[ACTIONS.index(a)]} </answer>"}]
        for w, o in zip(words, optimal, strict=True)
        for a in ACTIONS
        if a not in o
    ][: len(rows)]
    prompts = [r["prompt"] for r in rows]
    assert sokoban_reward(prompts, right, words=words, optimal_actions=optimal) == [1.0] * len(rows)
    assert set(sokoban_reward(prompts[: len(wrong)], wrong, words=words, optimal_actions=optimal)) == {0.0}
    # the reward agrees with the evaluation parser on every row
    for text, w, o in zip(right, words, optimal, strict=True):
        action = parse_action(completion_text(text), ActionVocab("row", tuple(w), explained=True)).action
        assert action in o


CARDS = [4, 3, 2, 10]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"cards": ["4", "3", "2", "K"], "number": [4, 3, 2, 10], "formula": "4*3+2+10"}', 5.0),
        ('<think>\n4*3 = 12, 12+2+10 = 24\n</think>\n{"formula": "(4*3)+2+10=24"}', 5.0),
        ('{"formula": "4+3+2+10"}', -1.0),  # legal, right numbers, 19
        ('{"formula": "4*3*2"}', -2.0),  # 24 but the 10 is missing: wrong numbers
        ('{"formula": "4*3+2+11"}', -2.0),
        ('{"formula": "4*3+2+10x"}', -3.0),  # illegal
        ("I give up", -3.0),  # no formula
    ],
)
def test_points_golden_and_negative(text, expected):
    assert points_reward([None], [text], card_values=[CARDS]) == [expected]
    assert points_reward([None], [[{"role": "assistant", "content": text}]], card_values=[CARDS]) == [expected]
    assert verify(text, CARDS).reward == expected  # the same verifier as evaluation


def test_completion_text_shapes():
    assert completion_text("x") == "x"
    assert completion_text([{"role": "assistant", "content": "a"}, {"role": "assistant", "content": "b"}]) == "a\nb"
    assert completion_text([{"role": "assistant", "content": [{"type": "text", "text": "hi"}]}]) == "hi"
    assert completion_text([]) == ""


def test_check_names_the_function():
    def short(prompts, completions, **kw):
        return [1.0]

    def not_a_list(prompts, completions, **kw):
        return 1.0

    def strings(prompts, completions, **kw):
        return ["1.0" for _ in completions]

    def nan(prompts, completions, **kw):
        return [math.nan for _ in completions]

    for func, fragment in [
        (short, "returned 1 rewards for 2"),
        (not_a_list, "returned float"),
        (strings, "'1.0' at index 0"),
        (nan, "nan at index 0"),
    ]:
        with pytest.raises(RewardError, match=rf"'{func.__name__}'.*{fragment}"):
            checked(func)(prompts=[None, None], completions=["a", "b"])
    assert check_rewards("ok", [1, 0.5], 2) == [1.0, 0.5]
    with pytest.raises(RewardError, match="'flag'"):
        check_rewards("flag", [True, False], 2)


def test_task_rewards_are_checked_and_named():
    (func,) = task_rewards("sokoban")
    assert func.__name__ == "sokoban_reward"  # TRL logs rewards/<name>/mean
    assert func.__wrapped__ is sokoban_reward  # the checked wrapper
    assert func(prompts=[None], completions=["<answer> up </answer>"], words=[BASE], optimal_actions=[["up"]]) == [1.0]
    with pytest.raises(ValueError, match="no reward for task"):
        task_rewards("chess")
    with pytest.raises(TypeError, match="missing \\['board', 'optimal_actions'\\]"):  # verify needs one of them
        func(prompts=[None], completions=["<answer> up </answer>"], words=[BASE])


def test_repeat_char_rate():
    assert repeat_char_rate(["<answer> Up </answer>", "!!!!!!!!", "a" * 7, "x !!!!!!!!!! y"]) == 0.5
    assert repeat_char_rate([]) == 0.0
