"""Prompt rendering: the study's text verbatim (docs/study.md), paraphrase pools, and nothing lost or stray."""

from __future__ import annotations

import json
import re

import pytest

from sftgen.prompts import (
    RESPONSE_FORMATS,
    PromptStyle,
    action_answer,
    action_section,
    paraphrase_count,
    paraphrase_pool,
    read_declared_words,
)
from sftgen.tasks.grid import ALPHABETICAL, BASE, CARDINAL, EMOJI, NUMERICAL, RANDOM, ActionVocab
from sftgen.tasks.points import FaceMap, Hand
from sftgen.tasks.points.prompts import points_answer, points_messages, read_hand
from sftgen.tasks.sokoban import Board
from sftgen.tasks.sokoban.prompts import read_board, sokoban_messages
from sftgen.tasks.sokoban.variants import SOKOBAN_VARIANTS

# ---------------------------------------------------------------------------------------------- spec text

# Spec §1.3, verbatim ({ACTION_SECTION} and {grid} are the spec's own placeholders).
SPEC_SOKOBAN = """You are a Sokoban solver.

Sokoban Quick Guide
Goal: Push all boxes (X) onto targets (O).

Symbols:
# Wall | _ Floor | O Target | X Box | P You | √ = Box on Target | S = You on Target

Rules:
1. Push boxes (can't pull).
2. Avoid walls (#).

{ACTION_SECTION}

Rewards:
Move: -0.1
Box on target: +1.0
All boxes placed: +10.0


[Current Observation]:
{grid}
Decide the next action:
Always output: <think> [Your thoughts] </think> <answer> [your answer] </answer> with no extra text. Strictly follow this format."""  # noqa: E501
SPEC_THINK_END = (
    "Always output: <think> [Your thoughts] </think> <answer> [your answer] </answer> with no extra text. "
    "Strictly follow this format."
)
SPEC_ANSWER_END = "Always output: <answer> [your answer] </answer> with no extra text. Strictly follow this format."

ANSWERS = "Answers:\n"
SPEC_SECTIONS = {
    "base": ANSWERS + "<answer> Up </answer> | <answer> Down </answer> | <answer> Left </answer> | "
    "<answer> Right </answer>",
    "numerical": ANSWERS + "<answer> 1 </answer> | <answer> 2 </answer> | <answer> 3 </answer> | "
    "<answer> 4 </answer>\nwhere 1 is Up, 2 is Down, 3 is Left, 4 is Right.",
    "cardinal": ANSWERS + "<answer> North </answer> | <answer> South </answer> | <answer> West </answer> | "
    "<answer> East </answer>",
    "emoji": ANSWERS + "<answer> ⬆️ </answer> | <answer> ⬇️ </answer> | <answer> ⬅️ </answer> | <answer> ➡️ </answer>",
    "alphabetical": ANSWERS + "<answer> A </answer> | <answer> B </answer> | <answer> C </answer> | "
    "<answer> D </answer>\nwhere A is Up, B is Down, C is Left, D is Right.",
    "random": ANSWERS + "<answer> * </answer> | <answer> & </answer> | <answer> 1 </answer> | "
    "<answer> M </answer>\nwhere * is Up, & is Down, 1 is Left, M is Right.",
}

# Spec §2.2, verbatim.
SPEC_POINTS = """[Task Description]
You are an expert 24 points card game player. You will receive a set of {num_cards} cards.
Note that {face_card_msg}, and each card must be used once.
Your goal is to output a formula that evaluates to 24 using numbers from the cards and operators such as '+', '-', '*', '/', '(', ')', and '='.

[Input]
Cards: {cards}

[Output]
{
  "cards": [x, y, z, w], where {face_card_msg},
  "number": [a, b, c, d], where a, b, c, and d are the numbers on the cards,
  "formula": 'an equation that equals 24',
}"""  # noqa: E501

BOARD = Board.from_rows(["######", "#_P__#", "#_X#_#", "#_O__#", "#____#", "######"])
GRID = (
    " # \t # \t # \t # \t # \t # \t\n"
    " # \t _ \t P \t _ \t _ \t # \t\n"
    " # \t _ \t X \t # \t _ \t # \t\n"
    " # \t _ \t O \t _ \t _ \t # \t\n"
    " # \t _ \t _ \t _ \t _ \t # \t\n"
    " # \t # \t # \t # \t # \t # \t"
)
HAND = Hand((1, 7, 12, 3))  # ['A', '7', 'Q', '3']
PLACEHOLDER = re.compile(r"\{[A-Za-z_]+\}")


def _sokoban(variant: str, paraphrase: int = 0, response_format: str = "answer", template: str = "study") -> str:
    declared = SOKOBAN_VARIANTS[variant].declared
    (message,) = sokoban_messages(BOARD, declared, PromptStyle(template, paraphrase, response_format))
    assert message["role"] == "user"
    return message["content"]


def _spec_sokoban(section: str | None, response_format: str) -> str:
    text = SPEC_SOKOBAN.replace("{grid}", GRID)
    text = text.replace("{ACTION_SECTION}\n\n", "") if section is None else text.replace("{ACTION_SECTION}", section)
    if response_format == "answer":
        text = text.replace(SPEC_THINK_END, SPEC_ANSWER_END)
    return text


# ---------------------------------------------------------------------------------------------- Sokoban, study text


def test_grid_is_the_study_cell_format() -> None:
    assert BOARD.to_text() == GRID


@pytest.mark.parametrize("variant", ["base", "numerical", "cardinal", "emoji", "alphabetical", "random"])
@pytest.mark.parametrize("response_format", RESPONSE_FORMATS)
def test_sokoban_paraphrase0_is_the_study_template(variant: str, response_format: str) -> None:
    assert _sokoban(variant, 0, response_format) == _spec_sokoban(SPEC_SECTIONS[variant], response_format)


def test_sokoban_numerical_golden_string() -> None:
    """Written out in full once, so that a change to both the spec helper and the code cannot hide."""
    expected = (
        "You are a Sokoban solver.\n\nSokoban Quick Guide\nGoal: Push all boxes (X) onto targets (O).\n\n"
        "Symbols:\n# Wall | _ Floor | O Target | X Box | P You | √ = Box on Target | S = You on Target\n\n"
        "Rules:\n1. Push boxes (can't pull).\n2. Avoid walls (#).\n\n"
        "Answers:\n<answer> 1 </answer> | <answer> 2 </answer> | <answer> 3 </answer> | <answer> 4 </answer>\n"
        "where 1 is Up, 2 is Down, 3 is Left, 4 is Right.\n\n"
        "Rewards:\nMove: -0.1\nBox on target: +1.0\nAll boxes placed: +10.0\n\n\n"
        f"[Current Observation]:\n{GRID}\nDecide the next action:\n{SPEC_ANSWER_END}"
    )
    assert _sokoban("numerical") == expected


@pytest.mark.parametrize("response_format", RESPONSE_FORMATS)
def test_sokoban_empty_has_no_section_and_no_extra_blank_lines(response_format: str) -> None:
    text = _sokoban("empty", 0, response_format)
    assert text == _spec_sokoban(None, response_format)
    assert "Answers:" not in text and "<answer> Up </answer>" not in text
    assert "2. Avoid walls (#).\n\nRewards:\n" in text
    # the only doubled blank line is the study's own one before the observation
    assert text.count("\n\n\n") == 1 == _sokoban("base", 0, response_format).count("\n\n\n")
    assert read_declared_words(text) is None


def test_sokoban_empty_drops_the_paragraph_in_every_paraphrase() -> None:
    for p in range(paraphrase_count("sokoban")):
        base, empty = _sokoban("base", p), _sokoban("empty", p)
        section = action_section(BASE)
        assert base.replace(section + "\n\n", "") == empty, p
        assert empty.count("\n\n\n") == base.count("\n\n\n"), p


def test_response_format_endings() -> None:
    answer, think = _sokoban("base", 0, "answer"), _sokoban("base", 0, "think")
    assert answer.endswith("\n" + SPEC_ANSWER_END)
    assert think.endswith("\n" + SPEC_THINK_END)
    assert "<think>" not in answer
    assert answer.replace(SPEC_ANSWER_END, SPEC_THINK_END) == think


def test_action_section_by_vocabulary() -> None:
    assert action_section(None) == ""
    for vocab, name in ((BASE, "base"), (NUMERICAL, "numerical"), (CARDINAL, "cardinal"), (EMOJI, "emoji")):
        assert action_section(vocab) == SPEC_SECTIONS[name]
    for vocab, name in ((ALPHABETICAL, "alphabetical"), (RANDOM, "random")):
        assert action_section(vocab) == SPEC_SECTIONS[name]
    diverse = ActionVocab("diverse", ("apple", "river", "tiger", "lamp"), explained=True)
    assert action_section(diverse) == (
        "Answers:\n<answer> apple </answer> | <answer> river </answer> | <answer> tiger </answer> | "
        "<answer> lamp </answer>\nwhere apple is Up, river is Down, tiger is Left, lamp is Right."
    )


def test_fake_variants_show_the_declared_section() -> None:
    assert _sokoban("fake_numerical") == _sokoban("numerical")
    assert _sokoban("fake_cardinal") == _sokoban("cardinal")
    assert _sokoban("fake_emoji") == _sokoban("emoji")


# ---------------------------------------------------------------------------------------------- Points, study text


def _spec_points(cards: str, message: str, num_cards: int = 4) -> str:
    return (
        SPEC_POINTS.replace("{num_cards}", str(num_cards)).replace("{face_card_msg}", message).replace("{cards}", cards)
    )


def _points(hand: Hand, face_map: FaceMap, paraphrase: int = 0, response_format: str = "answer") -> str:
    (message,) = points_messages(hand, face_map, PromptStyle("study", paraphrase, response_format))
    assert message["role"] == "user"
    return message["content"]


def test_points_paraphrase0_uniform_is_the_study_template() -> None:
    message = "'J', 'Q', and 'K' all count as '10'"
    assert FaceMap.uniform(10).message() == message
    assert _points(HAND, FaceMap.uniform(10)) == _spec_points("['A', '7', 'Q', '3']", message)


def test_points_paraphrase0_mixed_is_the_study_template() -> None:
    message = "'J' counts as '11', 'Q' counts as '12', and 'K' counts as '13'"
    assert FaceMap(11, 12, 13).message() == message
    assert _points(HAND, FaceMap(11, 12, 13)) == _spec_points("['A', '7', 'Q', '3']", message)


def test_points_think_format_adds_one_line_only() -> None:
    answer, think = _points(HAND, FaceMap.uniform(10)), _points(HAND, FaceMap.uniform(10), 0, "think")
    assert think.startswith(answer + "\n")
    extra = think[len(answer) + 1 :]
    assert "\n" not in extra and "<think>" in extra


def test_points_five_and_six_card_slots() -> None:
    five = _points(Hand((1, 2, 3, 4, 13)), FaceMap.uniform(10))
    assert "You will receive a set of 5 cards." in five
    assert '"cards": [x, y, z, w, v], where' in five
    assert '"number": [a, b, c, d, e], where a, b, c, d, and e are the numbers on the cards,' in five
    six = _points(Hand((1, 2, 3, 4, 13, 19)), FaceMap.uniform(10))
    assert "Cards: ['A', '2', '3', '4', 'K', '19']" in six
    assert '"number": [a, b, c, d, e, f], where a, b, c, d, e, and f are' in six
    with pytest.raises(ValueError, match="at most 6"):
        _points(Hand((1, 2, 3, 4, 5, 6, 7)), FaceMap.uniform(10))


# ---------------------------------------------------------------------------------------------- answers


def test_sokoban_answer_targets() -> None:
    assert action_answer("Up") == "<answer> Up </answer>"
    assert action_answer("2", reasoning="go down") == "<think> go down </think> <answer> 2 </answer>"


def test_points_answer_is_the_study_json() -> None:
    text = points_answer(["4", "3", "2", "K"], [4, 3, 2, 10], "4*3+2+10")
    assert text == '{"cards": ["4", "3", "2", "K"], "number": [4, 3, 2, 10], "formula": "4*3+2+10"}'
    cot = points_answer(["4", "3", "2", "K"], [4, 3, 2, 10], "4*3+2+10", reasoning="r")
    assert cot == "<think> r </think> " + text
    assert json.loads(cot.split("</think> ", 1)[1])["number"] == [4, 3, 2, 10]


# ---------------------------------------------------------------------------------------------- paraphrase pools


@pytest.mark.parametrize("task", ["sokoban", "points"])
def test_paraphrase_pools(task: str) -> None:
    total = paraphrase_count(task)
    assert total >= 9
    train, held = paraphrase_pool(task, held_out=False), paraphrase_pool(task, held_out=True)
    assert train[0] == 0
    assert held and train
    assert not set(train) & set(held)
    assert sorted(train + held) == list(range(total))


def test_paraphrases_are_distinct_texts() -> None:
    sok = {_sokoban("base", p) for p in range(paraphrase_count("sokoban"))}
    pts = {_points(HAND, FaceMap.uniform(10), p) for p in range(paraphrase_count("points"))}
    assert len(sok) == paraphrase_count("sokoban")
    assert len(pts) == paraphrase_count("points")


def test_compact_sokoban_draws_the_room_inside_its_wall_before_the_declared_words() -> None:
    assert _sokoban("numerical", template="compact") == (
        "sokoban\nboard:\n_P__\n_X#_\n_O__\n____\nactions:up=1,down=2,left=3,right=4\nformat:answer"
    )
    assert _sokoban("empty", template="compact") == "sokoban\nboard:\n_P__\n_X#_\n_O__\n____\nformat:answer"
    assert read_board(_sokoban("base", template="compact")) == BOARD


def test_compact_sokoban_refuses_a_board_without_its_wall() -> None:
    open_room = Board.from_rows(["_P_", "_X_", "_O_"])
    with pytest.raises(ValueError, match="outer wall"):
        sokoban_messages(open_room, None, PromptStyle("compact"))


def test_prompt_style_validation() -> None:
    with pytest.raises(ValueError, match="template"):
        PromptStyle("fancy")
    with pytest.raises(ValueError, match="response_format"):
        PromptStyle("study", 0, "essay")
    with pytest.raises(ValueError, match="paraphrase"):
        PromptStyle("compact", 1)
    with pytest.raises(ValueError, match="paraphrase"):
        PromptStyle("study", -1)


# ---------------------------------------------------------------------------------------------- content + hygiene


def _check_hygiene(text: str, grid_lines: set[str]) -> None:
    assert "\r" not in text
    assert not PLACEHOLDER.search(text), PLACEHOLDER.search(text)
    assert text == text.strip()
    for line in text.split("\n"):
        if line != line.rstrip():
            assert line in grid_lines, repr(line)  # only the study grid's own " # \t" cells end in whitespace
        elif line:
            assert "  " not in line.lstrip(" "), repr(line)  # no doubled spaces (indentation aside)


SOKOBAN_CASES = [("study", p, rf) for p in range(9) for rf in RESPONSE_FORMATS] + [
    ("compact", 0, rf) for rf in RESPONSE_FORMATS
]


@pytest.mark.parametrize(("template", "paraphrase", "response_format"), SOKOBAN_CASES)
def test_every_sokoban_prompt_carries_board_and_words(template: str, paraphrase: int, response_format: str) -> None:
    assert paraphrase_count("sokoban") >= 9
    boards = [BOARD, Board.from_rows(["#######", "#S_X__#", "#_#√__#", "#___X_#", "#O____#", "#######"])]
    for board in boards:
        grid_lines = set(board.to_text().split("\n"))
        for name, variant in SOKOBAN_VARIANTS.items():
            style = PromptStyle(template, paraphrase, response_format)
            text = sokoban_messages(board, variant.declared, style)[0]["content"]
            assert read_board(text) == board, (name, paraphrase)
            declared = read_declared_words(text)
            if variant.declared is None:
                assert declared is None
            else:
                assert declared is not None and declared.words == variant.declared.words, (name, paraphrase)
            if template == "study":
                assert board.to_text() in text
                assert ("<think>" in text) == (response_format == "think")
            _check_hygiene(text, grid_lines)


POINTS_MAPS = [FaceMap.uniform(10), FaceMap.uniform(5), FaceMap(11, 12, 13), FaceMap(3, 9, 1)]
POINTS_HANDS = [HAND, Hand((13, 11, 2, 9)), Hand((1, 2, 3, 4, 12)), Hand((19, 10, 5, 11, 6, 1))]
POINTS_CASES = [("study", p, rf) for p in range(9) for rf in RESPONSE_FORMATS] + [
    ("compact", 0, rf) for rf in RESPONSE_FORMATS
]


@pytest.mark.parametrize(("template", "paraphrase", "response_format"), POINTS_CASES)
def test_every_points_prompt_carries_cards_and_face_values(
    template: str, paraphrase: int, response_format: str
) -> None:
    assert paraphrase_count("points") >= 9
    for hand in POINTS_HANDS:
        for face_map in POINTS_MAPS:
            style = PromptStyle(template, paraphrase, response_format)
            text = points_messages(hand, face_map, style)[0]["content"]
            labels, declared = read_hand(text)
            assert labels == hand.labels()
            assert declared == face_map
            if template == "study":
                assert repr(hand.labels()) in text
                assert text.count(face_map.message()) >= 2  # the note and the output template's "where"
                n = hand.num_cards
                assert re.search(rf"\b{n} (?:playing )?cards|\({n}\)|\({n} in total\)", text), paraphrase
            _check_hygiene(text, set())
