"""The split registry: names, groups, presets, order-independent seeds and determinism across processes."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import textwrap

import pytest
from core_helpers import PYTHON, REPO

from sftgen.prompts import paraphrase_pool
from sftgen.splits import (
    GROUPS,
    QUICK_SIZES,
    SPLITS,
    Instance,
    get_split,
    resolve_splits,
)
from sftgen.tasks.points import Hand
from sftgen.tasks.protocol import get_task
from sftgen.tasks.sokoban import Level, solve

SOKOBAN_NAMES = [
    "id",
    "cardinal",
    "emoji",
    "empty",
    "numerical",
    "alphabetical",
    "random",
    "fake_numerical",
    "fake_cardinal",
    "fake_emoji",
    "larger",
    "two_boxes",
    "complex",
    "paraphrase",
    "validation",
]
POINTS_NAMES = [
    "id",
    "all_5",
    "all_7",
    "all_12",
    "regular",
    "large",
    "five",
    "six",
    "fake",
    "fake_all_5",
    "paraphrase",
    "validation",
]
KEYS_NAMES = [
    "id",
    "numerical",
    "alphabetical",
    "random",
    "next_colour",
    "one_key",
    "fake_numerical",
    "fake_next_colour",
    "larger",
    "validation",
]
ISSUE_NAMES = (
    [f"sokoban/{n}" for n in SOKOBAN_NAMES] + [f"points/{n}" for n in POINTS_NAMES] + [f"keys/{n}" for n in KEYS_NAMES]
)


def test_registry_names_are_exactly_the_issue_names() -> None:
    assert sorted(SPLITS) == sorted(ISSUE_NAMES)
    for name, split in SPLITS.items():
        assert split.name == name and name == f"{split.task}/{split.short_name}"


def test_split_metadata() -> None:
    assert get_split("sokoban/id").size == 100
    assert get_split("points/id").size == 500 and get_split("keys/id").size == 100
    assert (get_split("sokoban/larger").difficulty, get_split("sokoban/two_boxes").difficulty) == ("10x10-1", "6x6-2")
    assert get_split("sokoban/complex").difficulty == "10x10-2"
    assert get_split("sokoban/fake_numerical").variant == "fake_numerical"
    assert get_split("points/fake").category == "fake" and get_split("points/all_5").category == "instruction"
    assert get_split("points/large").difficulty == "large" and get_split("points/six").difficulty == "six"
    assert get_split("points/regular").variant == "regular"
    cats = {s.category for s in SPLITS.values()}
    assert cats == {"id", "instruction", "difficulty", "fake", "paraphrase", "validation"}


def test_groups() -> None:
    study = {s.name for s in GROUPS["study"]}
    assert study == {n for n, s in SPLITS.items() if s.in_study}
    assert {
        "sokoban/id",
        "sokoban/numerical",
        "sokoban/fake_numerical",
        "sokoban/complex",
        "points/id",
        "points/fake",
        "points/five",
        "points/large",
    } <= study
    assert not study & {"sokoban/paraphrase", "sokoban/validation", "points/six", "points/validation"}
    assert [s.name for s in GROUPS["quick"]] == [s.name for s in GROUPS["study"]]
    assert all(s.size == QUICK_SIZES[s.name] == {"sokoban": 20, "points": 50}[s.task] for s in GROUPS["quick"])
    all_names = {s.name for s in GROUPS["all"]}
    assert all_names == {n for n in SPLITS if not n.endswith("/validation")}
    assert {s.name for s in GROUPS["sokoban"]} == {n for n in all_names if n.startswith("sokoban/")}
    assert {s.name for s in GROUPS["validation"]} == {"sokoban/validation", "points/validation", "keys/validation"}


def test_resolve_groups_and_names_without_repeats() -> None:
    resolved = resolve_splits("sokoban/id, study ,points/six")
    names = [s.name for s in resolved]
    assert names[0] == "sokoban/id" and names[-1] == "points/six"
    assert len(names) == len(set(names)) == len(GROUPS["study"]) + 1
    sized = resolve_splits(["quick", "points/paraphrase"], size=3)
    assert all(s.size == 3 for s in sized)


@pytest.mark.parametrize(
    ("wrong", "suggestion"),
    [
        ("sokoban/numeric", "sokoban/numerical"),
        ("points/fake_all5", "points/fake_all_5"),
        ("sokoban/2boxes", None),
        ("studdy", "study"),
    ],
)
def test_unknown_name_lists_close_names(wrong: str, suggestion: str | None) -> None:
    with pytest.raises(KeyError) as info:
        resolve_splits([wrong])
    message = info.value.args[0]
    assert repr(wrong) in message and "sftgen splits" in message
    if suggestion:
        assert "Did you mean" in message and suggestion in message
    with pytest.raises(KeyError):
        get_split(wrong)


@pytest.mark.parametrize("name", ISSUE_NAMES)
def test_every_split_materializes(name: str) -> None:
    split = get_split(name)
    instances = split.with_size(3).instances()
    assert [i.index for i in instances] == [0, 1, 2]
    assert len({i.seed for i in instances}) == 3
    for inst in instances:
        payload = inst.materialize()
        assert isinstance(payload, {"sokoban": Level, "points": Hand}.get(split.task, type(inst.state())))
        task = get_task(split.task)
        assert task.instance_key(task.state_from_data(inst.state_data()), split.variant) == inst.key()
        assert inst.id == f"{name}#{inst.index}"
        assert len(inst.key()) == 64
        if split.category == "paraphrase":
            assert inst.paraphrase in paraphrase_pool(split.task, held_out=True)
        else:
            assert inst.paraphrase == 0
        env = inst.make_env()
        assert env.observation()[0]["role"] == "user"


def test_paraphrase_split_uses_several_held_out_paraphrases() -> None:
    for task in ("sokoban", "points"):
        used = {i.paraphrase for i in get_split(f"{task}/paraphrase").with_size(40).instances()}
        assert used == set(paraphrase_pool(task, held_out=True))


def test_seeds_do_not_depend_on_listing_order_and_smaller_is_a_prefix() -> None:
    names = ["points/fake", "sokoban/id", "sokoban/complex", "points/six"]
    forward = {s.name: s.instances() for s in resolve_splits(names, size=4)}
    backward = {s.name: s.instances() for s in resolve_splits(list(reversed(names)), size=4)}
    assert forward == backward
    with_group = {s.name: s.instances() for s in resolve_splits(["all", *names], size=4)}
    assert all(with_group[n] == forward[n] for n in names)
    for name in names:
        small, big = get_split(name).with_size(2).instances(), get_split(name).instances()
        assert small == big[:2]
        assert [i.key() for i in small] == [i.key() for i in forward[name][:2]]


def test_splits_with_the_same_setting_get_different_instances() -> None:
    """sokoban/id and sokoban/numerical share a difficulty but not their levels (seeds hash the split name)."""
    a = [i.key() for i in get_split("sokoban/id").with_size(10).instances()]
    b = [i.key() for i in get_split("sokoban/numerical").with_size(10).instances()]
    assert not set(a) & set(b)


def test_with_size_rejects_nonpositive() -> None:
    with pytest.raises(ValueError):
        get_split("sokoban/id").with_size(0)


# ---------------------------------------------------------------------------------------------- presets

SOKOBAN_PRESETS = {"id": (6, 6, 1), "larger": (10, 10, 1), "two_boxes": (6, 6, 2), "complex": (10, 10, 2)}


@pytest.mark.parametrize("short", sorted(SOKOBAN_PRESETS))
def test_sokoban_difficulty_presets(short: str) -> None:
    height, width, boxes = SOKOBAN_PRESETS[short]
    for inst in get_split(f"sokoban/{short}").with_size(8).instances():
        level = inst.materialize()
        board = level.board
        assert (board.height, board.width, len(board.boxes), len(board.targets)) == (height, width, boxes, boxes)
        assert not board.is_solved()
        assert 1 <= len(level.solution) <= 30
        assert len(solve(board)) == len(level.solution)


@pytest.mark.parametrize(
    ("short", "num_cards", "face", "large"),
    [
        ("id", 4, True, False),
        ("all_5", 4, True, False),
        ("regular", 4, True, False),
        ("fake", 4, True, False),
        ("large", 4, None, True),
        ("five", 5, None, False),
        ("six", 6, None, False),
    ],
)
def test_points_hand_presets(short: str, num_cards: int, face: bool | None, large: bool) -> None:
    for inst in get_split(f"points/{short}").with_size(20).instances():
        hand = inst.materialize()
        assert hand.num_cards == num_cards
        assert hand.has_large == large
        if large:
            assert sum(r >= 14 for r in hand.ranks) == 1 and max(hand.ranks) <= 19
        if face:
            assert hand.has_face


# ---------------------------------------------------------------------------------------------- across processes

DETERMINISM_SPLITS = [
    "sokoban/id",
    "sokoban/complex",
    "sokoban/paraphrase",
    "points/fake",
    "points/large",
    "points/six",
]


def _keys_here(n: int) -> dict[str, list[list]]:
    return {
        name: [[i.seed, i.paraphrase, i.key()] for i in get_split(name).with_size(n).instances()]
        for name in DETERMINISM_SPLITS
    }


def test_instances_are_identical_in_another_process() -> None:
    n = 5
    script = textwrap.dedent(
        f"""
        import json
        from sftgen.splits import get_split
        names = {DETERMINISM_SPLITS!r}
        print(json.dumps({{name: [[i.seed, i.paraphrase, i.key()] for i in get_split(name).with_size({n}).instances()]
                          for name in reversed(names)}}))
        """
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([str(PYTHON), "-c", script], capture_output=True, text=True, env=env, cwd=REPO, check=True)
    assert json.loads(out.stdout) == _keys_here(n)


def test_instance_seed_is_a_hash_of_the_address() -> None:
    """Pinned to blake2b of (registry version, split name, index): never ``seed + index`` or Python's hash()."""
    inst = get_split("sokoban/id").instance(7)
    assert isinstance(inst, Instance)
    digest = hashlib.blake2b(b"sftgen-splits-v1\x1fsokoban/id\x1f7", digest_size=8).digest()
    assert inst.seed == int.from_bytes(digest, "big") >> 1
    assert get_split("sokoban/id").instance(8).seed - inst.seed != 1
