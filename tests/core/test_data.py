"""Training data: files and formats, byte-identical rebuilds, zero leakage, and rows that replay correctly."""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import subprocess
import textwrap
from collections import defaultdict
from fractions import Fraction
from pathlib import Path

import datasets
import pytest
from core_helpers import PYTHON, REPO

from sftgen.data.build import KINDS, BuildConfig, build_dataset, iter_rows
from sftgen.data.leakage import assert_disjoint, evaluation_keys
from sftgen.data.study import build_study_datasets, study_sizes
from sftgen.prompts import PromptStyle, paraphrase_pool, read_declared_words
from sftgen.splits import SPLITS
from sftgen.tasks.points import FaceMap, Hand, verify
from sftgen.tasks.points.data import training_hands
from sftgen.tasks.points.identity import points_key
from sftgen.tasks.points.prompts import points_messages, read_hand
from sftgen.tasks.points.variants import HELD_OUT_FACE_MAPS
from sftgen.tasks.sokoban import ACTIONS, Level, optimal_first_actions, solve
from sftgen.tasks.sokoban.data import training_levels
from sftgen.tasks.sokoban.env import parse_action
from sftgen.tasks.sokoban.identity import board_key, sokoban_key
from sftgen.tasks.sokoban.prompts import read_board, sokoban_messages
from sftgen.tasks.sokoban.variants import sokoban_difficulty
from sftgen.variants import BASE, diverse_word_pool

N = {"sokoban": 4, "points": 8}
SEED = 7
SFT_KINDS = [k for k in KINDS if k != "rl"]
_RANKS = {"A": 1, "J": 11, "Q": 12, "K": 13}


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _rows(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "data.jsonl").read_text(encoding="utf-8").splitlines()]


def _hand(labels: list[str]) -> Hand:
    return Hand(tuple(_RANKS.get(label) or int(label) for label in labels))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    root = tmp_path_factory.mktemp("data")
    out = {}
    for task in ("sokoban", "points"):
        for kind in KINDS:
            folder = root / task / kind
            build_dataset(BuildConfig(kind, task, N[task], SEED), folder, progress=False)
            out[(task, kind)] = folder
    return out


# ---------------------------------------------------------------------------------------------- files and formats


@pytest.mark.parametrize("task", ["sokoban", "points"])
@pytest.mark.parametrize("kind", KINDS)
def test_build_writes_jsonl_dataset_and_manifest(built, task: str, kind: str) -> None:
    folder = built[(task, kind)]
    assert sorted(p.name for p in folder.iterdir()) == ["data.jsonl", "dataset", "manifest.json"]
    jsonl = (folder / "data.jsonl").read_text(encoding="utf-8")
    rows = _rows(folder)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["rows"] == len(rows) > 0
    assert manifest["sha256"] == hashlib.sha256(jsonl.encode("utf-8")).hexdigest()
    assert manifest["config"] == {
        "kind": kind,
        "task": task,
        "n": N[task],
        "seed": SEED,
        "template": "study",
        "paraphrases": False,
        "diverse_rl": False,
        "rl_think": False,
        "pool": "words",
    }
    assert manifest["disjoint_from_evaluation"] is True
    assert manifest["distinct_instances"] == len({r["instance_key"] for r in rows})
    assert manifest["columns"] == sorted(rows[0])
    if task == "sokoban":
        assert manifest["distinct_instances"] == N[task]  # training levels are distinct
        assert len(rows) > N[task]  # one row per state
    else:
        assert len(rows) == N[task]

    ds = datasets.load_from_disk(str(folder / "dataset"))
    assert len(ds) == len(rows)
    assert ds[0]["prompt"] == rows[0]["prompt"]
    for row in ds:
        (user,) = row["prompt"]
        assert user["role"] == "user" and user["content"]
        if kind == "rl":
            assert "completion" not in ds.column_names
        else:
            (assistant,) = row["completion"]
            assert assistant["role"] == "assistant" and assistant["content"]
    assert set(ds.column_names) == set(rows[0])


def test_output_files_have_ordinary_permissions(built) -> None:
    folder = built[("points", "answer-only")]
    ordinary = stat.S_IMODE((folder / "data.jsonl").stat().st_mode)
    assert stat.S_IMODE((folder / "manifest.json").stat().st_mode) == ordinary
    assert stat.S_IMODE(folder.stat().st_mode) == stat.S_IMODE((folder / "dataset").stat().st_mode)


# ---------------------------------------------------------------------------------------------- determinism


def test_same_config_is_byte_identical_and_seeds_differ(built, tmp_path: Path) -> None:
    for task, kind in (("sokoban", "diverse-cot"), ("points", "diverse")):
        again = tmp_path / f"{task}-{kind}"
        build_dataset(BuildConfig(kind, task, N[task], SEED), again, progress=False)
        assert _digest(again) == _digest(built[(task, kind)])
        other = tmp_path / f"{task}-{kind}-seed8"
        build_dataset(BuildConfig(kind, task, N[task], SEED + 1), other, progress=False)
        assert (other / "data.jsonl").read_bytes() != (again / "data.jsonl").read_bytes()
        if task == "sokoban":  # seeds are hashed: seed 7 and seed 8 share no level
            keys = {r["instance_key"] for r in _rows(again)}
            assert not keys & {r["instance_key"] for r in _rows(other)}


def test_byte_identical_in_another_process(built, tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        from sftgen.data.build import BuildConfig, build_dataset
        build_dataset(BuildConfig("diverse-cot", "sokoban", {N["sokoban"]}, {SEED}), {str(tmp_path / "s")!r},
                      progress=False)
        build_dataset(BuildConfig("cot", "points", {N["points"]}, {SEED}), {str(tmp_path / "p")!r}, progress=False)
        """
    )
    env = {**os.environ, "PYTHONHASHSEED": "4242"}
    subprocess.run([str(PYTHON), "-c", script], check=True, cwd=REPO, env=env, capture_output=True)
    assert _digest(tmp_path / "s") == _digest(built[("sokoban", "diverse-cot")])
    assert _digest(tmp_path / "p") == _digest(built[("points", "cot")])


def test_refuses_to_overwrite_without_permission(built, tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    config = BuildConfig("answer-only", "points", 2, 1)
    with pytest.raises(FileExistsError, match="already exists"):
        build_dataset(config, folder, progress=False)
    assert [p.name for p in folder.iterdir()] == ["keep.txt"] and (folder / "keep.txt").read_text() == "mine"
    build_dataset(config, folder, overwrite=True, progress=False)
    assert sorted(p.name for p in folder.iterdir()) == ["data.jsonl", "dataset", "manifest.json"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder left behind


def test_config_validation() -> None:
    for bad, message in (
        (BuildConfig("sft", "sokoban", 1), "kind"),
        (BuildConfig("cot", "chess", 1), "task"),
        (BuildConfig("cot", "points", 0), "n must"),
        (BuildConfig("cot", "points", 1, template="fancy"), "template"),
        (BuildConfig("cot", "points", 1, template="compact", paraphrases=True), "paraphrases"),
    ):
        with pytest.raises(ValueError, match=message):
            bad.validate()


# ---------------------------------------------------------------------------------------------- leakage


def test_no_training_instance_is_an_evaluation_instance(built) -> None:
    keys = evaluation_keys()
    expected = {split.name: split.size for split in SPLITS.values()}
    assert len(keys) > 0.5 * sum(expected.values())
    for folder in built.values():
        assert not {r["instance_key"] for r in _rows(folder)} & keys


def test_assert_disjoint() -> None:
    assert_disjoint({"a", "b"}, {"c"})
    with pytest.raises(RuntimeError, match="1 training instances"):
        assert_disjoint({"a", "b"}, {"b", "c"})


def test_excluded_instances_are_skipped() -> None:
    difficulty = sokoban_difficulty("6x6-1")
    first = [t.key for t in training_levels(3, SEED, difficulty, frozenset())]
    skipping = [t.key for t in training_levels(3, SEED, difficulty, frozenset(first[:1]))]
    assert skipping[:2] == first[1:] and skipping[2] not in first
    hands = [t.key for t in training_hands(3, SEED, False, frozenset())]
    skipping = [t.key for t in training_hands(3, SEED, False, frozenset(hands[:1]))]
    assert hands[0] not in skipping and skipping[0] == hands[1]


def test_evaluation_keys_match_what_splits_materialize() -> None:
    keys = evaluation_keys()
    for name in ("sokoban/id", "sokoban/validation", "points/fake", "points/validation"):
        split = SPLITS[name]
        assert split.instance(0).key() in keys and split.instance(split.size - 1).key() in keys


# ---------------------------------------------------------------------------------------------- Sokoban rows


def _by_level(rows: list[dict]) -> dict[int, list[dict]]:
    levels: dict[int, list[dict]] = defaultdict(list)
    for row in rows:
        levels[row["level_index"]].append(row)
    return levels


@pytest.mark.parametrize("kind", SFT_KINDS)
def test_sokoban_rows_follow_an_optimal_trajectory(built, kind: str) -> None:
    levels = _by_level(_rows(built[("sokoban", kind)]))
    assert sorted(levels) == list(range(N["sokoban"]))
    exclude = evaluation_keys()
    for level_rows in levels.values():
        kept = [r["state_index"] for r in level_rows]
        assert kept[0] == 0 and kept == sorted(set(kept))
        board = read_board(level_rows[0]["prompt"][0]["content"])
        assert level_rows[0]["instance_key"] == sokoban_key(Level(board, ()))
        # one row per state of an optimal trajectory, less the states that are evaluation start boards
        assert kept[-1] < len(solve(board))
        for row in level_rows:
            prompt = row["prompt"][0]["content"]
            if read_board(prompt) != board:  # a state was dropped here: it must be an evaluation start board
                assert board_key(board) in exclude
                board = read_board(prompt)
            assert row["action"] in optimal_first_actions(board)
            vocab = read_declared_words(prompt)
            assert vocab is not None and list(vocab.words) == row["words"]
            parsed = parse_action(row["completion"][0]["content"], vocab)
            assert parsed.valid and parsed.action == row["action"]
            assert parsed.answer == vocab.word_for(row["action"])
            assert row["instance_key"] == level_rows[0]["instance_key"]
            board = board.step(row["action"]).board
        assert board.is_solved() or board_key(board) in exclude


@pytest.mark.parametrize("kind", ["diverse", "diverse-cot"])
def test_sokoban_diverse_rows_declare_their_own_words(built, kind: str) -> None:
    rows = _rows(built[("sokoban", kind)])
    pool = set(diverse_word_pool())
    mappings = set()
    for row in rows:
        prompt = row["prompt"][0]["content"]
        vocab = read_declared_words(prompt)
        assert vocab is not None and list(vocab.words) == row["words"]
        assert set(row["words"]) <= pool and len(set(row["words"])) == 4
        assert f"where {row['words'][0]} is Up, {row['words'][1]} is Down," in prompt
        target = row["words"][ACTIONS.index(row["action"])]
        assert row["completion"][0]["content"].endswith(f"<answer> {target} </answer>")
        mappings.add(tuple(row["words"]))
    assert len(mappings) == len(rows)  # every row its own mapping


@pytest.mark.parametrize("kind", ["answer-only", "cot"])
def test_sokoban_base_rows_use_the_training_words(built, kind: str) -> None:
    for row in _rows(built[("sokoban", kind)]):
        assert row["words"] == list(BASE.words)
        assert "<answer> Up </answer> | <answer> Down </answer>" in row["prompt"][0]["content"]


_SOKOBAN_COT = re.compile(
    r"^<think> I am at \((\d+),(\d+)\)\. Boxes: (.+?)\. Targets: (.+?)\. "
    r"Shortest plan \((\d+) moves\): ([A-Za-z ]+)\. Next move: (Up|Down|Left|Right), because (.+)\. "
    r"(Up|Down|Left|Right) is written as (\S+)\. </think> (<answer> \S+ </answer>)$"
)


@pytest.mark.parametrize(("cot", "plain"), [("cot", "answer-only"), ("diverse-cot", "diverse")])
def test_sokoban_cot_rows(built, cot: str, plain: str) -> None:
    cot_rows, plain_rows = _rows(built[("sokoban", cot)]), _rows(built[("sokoban", plain)])
    assert len(cot_rows) == len(plain_rows)
    for c, p in zip(cot_rows, plain_rows, strict=True):
        c_text, p_text = c["completion"][0]["content"], p["completion"][0]["content"]
        assert c_text.endswith(" " + p_text)  # same final answer as the answer-only target
        assert c["action"] == p["action"] and c["words"] == p["words"]
        prompt = c["prompt"][0]["content"]
        assert "Always output: <think> [Your thoughts] </think> <answer>" in prompt
        assert "Always output: <answer> [your answer] </answer>" in p["prompt"][0]["content"]
        m = _SOKOBAN_COT.match(c_text)
        assert m, c_text
        board = read_board(prompt)
        assert (int(m[1]), int(m[2])) == board.player
        assert m[3] == " ".join(f"({r},{q})" for r, q in sorted(board.boxes))
        assert m[4] == " ".join(f"({r},{q})" for r, q in sorted(board.targets))
        plan = [w.lower() for w in m[6].split()]
        assert int(m[5]) == len(plan) == len(solve(board))
        replay = board
        for action in plan:
            replay = replay.step(action).board
        assert replay.is_solved()
        assert m[7].lower() == plan[0] == c["action"] and m[9] == m[7]
        assert m[10] == c["words"][ACTIONS.index(c["action"])]
        assert m[11] == p_text


def test_compact_cot_is_the_plan_then_the_declared_word(tmp_path: Path) -> None:
    """The compact trace is the optimal plan in the actions line's direction names, then the look-up written as the
    prompt declares it (``left=fox``), and the answer is that word."""
    build_dataset(BuildConfig("diverse-cot", "sokoban", 3, SEED, template="compact"), tmp_path / "d", progress=False)
    rows = _rows(tmp_path / "d")
    assert rows
    for row in rows:
        m = re.fullmatch(
            r"<think> plan:([a-z,]+) ([a-z]+)=(\S+) </think> <answer> (\S+) </answer>", row["completion"][0]["content"]
        )
        assert m, row["completion"][0]["content"]
        plan, name, word, answer = m[1].split(","), m[2], m[3], m[4]
        prompt = row["prompt"][0]["content"]
        board = read_board(prompt)
        assert len(plan) == len(solve(board))
        replay = board
        for action in plan:
            replay = replay.step(action).board
        assert replay.is_solved()
        actions = re.search(r"^actions:(.*)$", prompt, re.MULTILINE).group(1)
        assert name == plan[0] == row["action"] and f"{name}={word}" in actions.split(",") and answer == word


def test_compact_points_cot_is_the_numbers_then_a_plan_of_steps_to_24(tmp_path: Path) -> None:
    build_dataset(BuildConfig("diverse-cot", "points", 5, SEED, template="compact"), tmp_path / "d", progress=False)
    rows = _rows(tmp_path / "d")
    assert rows
    for row in rows:
        m = re.fullmatch(r"<think> numbers:(\S+) plan:(\S+) </think> (\{.+\})", row["completion"][0]["content"])
        assert m, row["completion"][0]["content"]
        assert [int(v) for v in m[1].split(",")] == row["card_values"] == json.loads(m[3])["number"]
        steps = [_STEP.match(step) for step in m[2].split(";")]
        assert all(steps) and Fraction(steps[-1][4]) == 24
        for step in steps:
            assert _apply(step[2], Fraction(step[1]), Fraction(step[3])) == Fraction(step[4])


# ---------------------------------------------------------------------------------------------- Points rows


@pytest.mark.parametrize("kind", SFT_KINDS)
def test_points_targets_verify_under_the_row_values(built, kind: str) -> None:
    for row in _rows(built[("points", kind)]):
        prompt = row["prompt"][0]["content"]
        labels, face_map = read_hand(prompt)
        assert face_map.name == row["face_map"]
        hand = _hand(labels)
        assert row["card_values"] == list(hand.values(face_map))
        assert row["instance_key"] == points_key(hand, face_map, face_map)
        assert len(labels) == 4 and hand.has_face
        target = row["completion"][0]["content"]
        outcome = verify(target, row["card_values"])
        assert outcome.success, (target, outcome.reason)
        answer = json.loads(target.rsplit("</think> ", 1)[-1])
        assert answer["cards"] == labels and answer["number"] == row["card_values"]
        assert "=" not in answer["formula"]
        if kind.startswith("diverse"):
            assert face_map not in HELD_OUT_FACE_MAPS and max(face_map.jack, face_map.queen, face_map.king) <= 10
        else:
            assert face_map == FaceMap.uniform(10)


_STEP = re.compile(r"^(-?\d+(?:/\d+)?)([+\-*/])(-?\d+(?:/\d+)?)=(-?\d+(?:/\d+)?)$")
_POINTS_COT = re.compile(
    r"^<think> Here (.+?)\. Cards (.+?) are the numbers (.+?)\. Steps: (.+?)\. Formula: (\S+)\. </think> (\{.+\})$"
)


def _apply(op: str, a: Fraction, b: Fraction) -> Fraction:
    return {"+": a + b, "-": a - b, "*": a * b, "/": a / b if b else None}[op]


@pytest.mark.parametrize(("cot", "plain"), [("cot", "answer-only"), ("diverse-cot", "diverse")])
def test_points_cot_steps_end_in_24(built, cot: str, plain: str) -> None:
    cot_rows, plain_rows = _rows(built[("points", cot)]), _rows(built[("points", plain)])
    for c, p in zip(cot_rows, plain_rows, strict=True):
        text = c["completion"][0]["content"]
        assert text.endswith(" " + p["completion"][0]["content"])
        m = _POINTS_COT.match(text)
        assert m, text
        labels, face_map = read_hand(c["prompt"][0]["content"])
        assert m[1] == face_map.message()
        assert m[2] == " ".join(labels) and m[3] == " ".join(map(str, c["card_values"]))
        steps = m[4].split("; ")
        assert len(steps) == len(labels) - 1
        for step in steps:
            s = _STEP.match(step)
            assert s, step
            assert _apply(s[2], Fraction(s[1]), Fraction(s[3])) == Fraction(s[4]), step
        assert Fraction(_STEP.match(steps[-1])[4]) == 24
        assert m[5] == json.loads(m[6])["formula"]
        assert verify(text, c["card_values"]).success
        think_line = "First think step by step inside <think> </think>, then write the output."
        assert c["prompt"][0]["content"].endswith("\n" + think_line)


# ---------------------------------------------------------------------------------------------- RL rows


def test_sokoban_rl_rows_carry_what_the_verifier_needs(built) -> None:
    rows = _rows(built[("sokoban", "rl")])
    assert len(rows) == len(_rows(built[("sokoban", "answer-only")]))
    for row in rows:
        board = read_board(row["prompt"][0]["content"])
        assert row["board"] == board.to_rows()
        assert row["optimal_actions"] == [a for a in ACTIONS if a in optimal_first_actions(board)]
        assert row["words"] == list(BASE.words)
        assert "completion" not in row


def test_diverse_rl_prompts(tmp_path: Path) -> None:
    rows = list(iter_rows(BuildConfig("rl", "sokoban", 2, SEED, diverse_rl=True), frozenset()))
    for row in rows:
        vocab = read_declared_words(row["prompt"][0]["content"])
        assert vocab is not None and list(vocab.words) == row["words"] and row["words"] != list(BASE.words)
    points = list(iter_rows(BuildConfig("rl", "points", 4, SEED, diverse_rl=True), frozenset()))
    assert any(r["face_map"] != "all_10" for r in points)
    for row in points:
        labels, face_map = read_hand(row["prompt"][0]["content"])
        assert row["card_values"] == list(_hand(labels).values(face_map))


# ---------------------------------------------------------------------------------------------- styles, study set


def _paraphrase_of(row: dict, task: str) -> int:
    prompt = row["prompt"][0]["content"]
    for p in range(9):
        style = PromptStyle("study", p, "answer")
        if task == "sokoban":
            rendered = sokoban_messages(read_board(prompt), read_declared_words(prompt), style)
        else:
            labels, face_map = read_hand(prompt)
            rendered = points_messages(_hand(labels), face_map, style)
        if rendered[0]["content"] == prompt:
            return p
    raise AssertionError("prompt matches no paraphrase")


@pytest.mark.parametrize("task", ["sokoban", "points"])
def test_paraphrase_rows_use_only_the_training_pool(task: str) -> None:
    rows = list(iter_rows(BuildConfig("diverse", task, 12, SEED, paraphrases=True), frozenset()))
    used = {_paraphrase_of(r, task) for r in rows}
    assert used <= set(paraphrase_pool(task, held_out=False))
    assert len(used) >= 3


def test_compact_template_rows() -> None:
    for row in iter_rows(BuildConfig("diverse-cot", "sokoban", 1, SEED, template="compact"), frozenset()):
        prompt = row["prompt"][0]["content"]
        assert prompt.startswith("sokoban\nboard:\n") and "\nactions:up=" in prompt
        assert list(read_declared_words(prompt).words) == row["words"]
    for row in iter_rows(BuildConfig("cot", "points", 2, SEED, template="compact"), frozenset()):
        assert row["prompt"][0]["content"].startswith("24 game\nvalues:J=10,Q=10,K=10\ncards:")
        assert verify(row["completion"][0]["content"], row["card_values"]).success


def test_build_study_datasets_layout(tmp_path: Path) -> None:
    assert study_sizes() == {"sokoban": 1000, "points": 10_000}  # the study's (docs/study.md); keys is not in it
    manifests = build_study_datasets(tmp_path, seed=1, sizes={"sokoban": 1, "points": 2})
    assert sorted(manifests) == sorted(f"{t}/{k}" for t in ("sokoban", "points") for k in KINDS)
    for name, manifest in manifests.items():
        folder = tmp_path / name
        assert json.loads((folder / "manifest.json").read_text()) == manifest
        assert manifest["config"]["kind"] == name.split("/")[1]
    with pytest.raises(FileExistsError):
        build_study_datasets(tmp_path, seed=1, sizes={"sokoban": 1, "points": 2})


@pytest.mark.slow
def test_study_sized_training_sets_are_disjoint_and_well_formed(tmp_path: Path) -> None:
    """The study's sizes (1,000 levels, 10,000 hands): zero leakage, every row correct."""
    keys = evaluation_keys()
    sokoban = build_dataset(BuildConfig("diverse", "sokoban", 1000, 0), tmp_path / "s", progress=False)
    points = build_dataset(BuildConfig("answer-only", "points", 10_000, 0), tmp_path / "p", progress=False)
    assert sokoban["distinct_instances"] == 1000 and sokoban["rows"] > 3000
    assert points["rows"] == 10_000
    for folder in (tmp_path / "s", tmp_path / "p"):
        rows = _rows(folder)
        assert not {r["instance_key"] for r in rows} & keys
    for row in _rows(tmp_path / "s"):
        vocab = read_declared_words(row["prompt"][0]["content"])
        assert parse_action(row["completion"][0]["content"], vocab).action == row["action"]
    for row in _rows(tmp_path / "p"):
        assert verify(row["completion"][0]["content"], row["card_values"]).success


def test_rl_prompts_can_ask_for_a_think_block() -> None:
    """GRPO warm-started from CoT needs RL prompts in the think format; the default stays answer-only."""
    think = list(iter_rows(BuildConfig("rl", "sokoban", 2, SEED, rl_think=True), frozenset()))
    plain = list(iter_rows(BuildConfig("rl", "sokoban", 2, SEED), frozenset()))
    assert all("<think> [Your thoughts] </think>" in r["prompt"][0]["content"] for r in think)
    assert not any("<think>" in r["prompt"][0]["content"] for r in plain)
    points = list(iter_rows(BuildConfig("rl", "points", 3, SEED, rl_think=True), frozenset()))
    assert all("<think> </think>" in r["prompt"][0]["content"] for r in points)
