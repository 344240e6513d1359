"""The keys task on the Task protocol: solver optimality, determinism, rule and fake variants, the parser under
hostile input, split disjointness, reference agents and the registry (entry points included)."""

from __future__ import annotations

import json
import time
from collections import deque

import numpy as np
import pytest

from sftgen.prompts import PromptStyle
from sftgen.seeding import rng_for
from sftgen.splits import REGISTRY_VERSION
from sftgen.tasks import protocol
from sftgen.tasks.keys import TASK
from sftgen.tasks.keys.checking import MAX_TEXT_CHARS, parse_answer
from sftgen.tasks.keys.data import TRAINING_DIFFICULTY, training_levels
from sftgen.tasks.keys.generator import DIFFICULTIES, generate_level
from sftgen.tasks.keys.solver import optimal_first_actions, solve
from sftgen.tasks.keys.world import ACTIONS, NEXT_COLOUR, ONE_KEY, STANDARD, KeysState, Rules
from sftgen.tasks.protocol import RowRequest, Task, get_task

ALL_RULES = (STANDARD, NEXT_COLOUR, ONE_KEY)
ID = DIFFICULTIES[TRAINING_DIFFICULTY]


def brute_force_length(state: KeysState, rules: Rules) -> int | None:
    """Plain BFS over whole states through ``KeysState.step`` (the env's rules, not the solver's int encoding)."""
    seen, queue = {state}, deque([(state, 0)])
    while queue:
        current, depth = queue.popleft()
        if current.is_solved():
            return depth
        for action in ACTIONS:
            move = current.step(action, rules)
            if move.moved and move.state not in seen:
                seen.add(move.state)
                queue.append((move.state, depth + 1))
    return None


def levels(rules: Rules, count: int, name: str = "test") -> list[KeysState]:
    return [generate_level(rng_for("keys-test", name, i), ID, rules).state for i in range(count)]


def play(state: KeysState, plan: list[str], rules: Rules) -> KeysState:
    for action in plan:
        move = state.step(action, rules)
        assert move.moved, f"{action} does not move in\n{state.to_rows()}"
        state = move.state
    return state


# ---------------------------------------------------------------------------------------------- solver


HAND_MADE = [
    (["#########", "#r_P_R_E#", "#########"], STANDARD, 8),  # fetch the key behind you first
    (["#########", "#r_P_G_E#", "#########"], STANDARD, None),  # no key opens the green door...
    (["#########", "#r_P_G_E#", "#########"], NEXT_COLOUR, 8),  # ...unless keys open the next colour
    (["###########", "#gr__P_RGE#", "###########"], STANDARD, 12),
    (["###########", "#gr__P_RGE#", "###########"], ONE_KEY, 22),  # one key in hand: come back for the green
]


@pytest.mark.parametrize(("rows", "rules", "length"), HAND_MADE)
def test_solver_on_hand_made_levels(rows: list[str], rules: Rules, length: int | None) -> None:
    state = KeysState.from_rows(rows)
    plan = solve(state, rules)
    assert brute_force_length(state, rules) == length == (None if plan is None else len(plan))
    if plan is not None:
        assert play(state, plan, rules).is_solved()


@pytest.mark.parametrize("rules", ALL_RULES, ids=["standard", "next_colour", "one_key"])
def test_solver_is_optimal_against_brute_force(rules: Rules) -> None:
    for state in levels(rules, 12):
        plan = solve(state, rules)
        assert plan is not None and play(state, plan, rules).is_solved()
        assert len(plan) == brute_force_length(state, rules)
        firsts = optimal_first_actions(state, rules)
        for action in ACTIONS:
            move = state.step(action, rules)
            rest = brute_force_length(move.state, rules) if move.moved else None
            assert (action in firsts) == (rest is not None and rest == len(plan) - 1)


def test_solver_on_solved_and_unsolvable_states() -> None:
    walled = KeysState.from_rows(["######", "#P#_E#", "######"])
    assert solve(walled, STANDARD) is None and optimal_first_actions(walled, STANDARD) == frozenset()
    done = play(KeysState.from_rows(["#####", "#PE_#", "#####"]), ["right"], STANDARD)
    assert solve(done, STANDARD) == [] and optimal_first_actions(done, STANDARD) == frozenset()


@pytest.mark.parametrize("difficulty", sorted(DIFFICULTIES))
def test_generated_levels_are_solvable_need_a_door_and_fit_the_budget(difficulty: str) -> None:
    spec = DIFFICULTIES[difficulty]
    for i in range(10):
        level = generate_level(rng_for("keys-test", difficulty, i), spec, STANDARD)
        state = level.state
        assert len(state.doors) == len(state.keys) == spec.pairs
        assert 1 <= len(level.solution) <= spec.max_steps
        keyless = [row.translate(str.maketrans("rgby", "____")) for row in state.to_rows()]
        no_doors = KeysState.from_rows(keyless, state.colours)
        assert solve(no_doors, STANDARD) is None, "the exit must lie behind a door"


# ---------------------------------------------------------------------------------------------- states

# Determinism across processes, the verifier on arbitrary text, split disjointness by hash, the solver against a
# search through the env and the reference agents are checked for every task in test_task_protocol_suite.py.


def test_state_data_round_trips() -> None:
    for state in levels(STANDARD, 5):
        moved = play(state, solve(state, STANDARD)[:3], STANDARD)  # type: ignore[index]
        assert KeysState.from_data(json.loads(json.dumps(moved.as_data()))) == moved


# ---------------------------------------------------------------------------------------------- variants


@pytest.mark.parametrize("rules", [NEXT_COLOUR, ONE_KEY], ids=["next_colour", "one_key"])
def test_rule_variants_change_optimal_plans(rules: Rules) -> None:
    changed = 0
    for state in levels(STANDARD, 40, "rules"):
        standard, other = solve(state, STANDARD), solve(state, rules)
        assert standard is not None
        changed += other is not None and len(other) != len(standard)
    assert changed >= 3, f"the rule changed only {changed} of 40 optimal plan lengths (among solvable levels)"


def test_rule_variant_levels_are_solvable_under_their_checked_rules() -> None:
    for name in ("next_colour", "one_key", "fake_next_colour"):
        for i in range(5):
            state = TASK.generate(rng_for("keys-test", name, i), name, TRAINING_DIFFICULTY)
            assert TASK.solve(state, name)


def _episode(variant: str, agent: str, index: int) -> bool:
    spec = next(s for s in TASK.splits if s.variant == variant)
    state = TASK.generate(np.random.default_rng(spec.seed(index)), variant, spec.difficulty)
    env = TASK.make_env(variant, spec.difficulty, PromptStyle())
    env.reset(state=state)
    rng = np.random.default_rng(index)
    while True:
        answer = TASK.reference_answer(
            agent, TASK.state_from_data(TASK.state_data(env.state)), variant, PromptStyle(), rng
        )
        _, _, terminated, truncated, info = env.step(answer)
        assert TASK.state_from_data(info["state"]) == env.state
        if terminated or truncated:
            return bool(info["success"])


@pytest.mark.parametrize("variant", ["base", "numerical", "alphabetical", "random", "next_colour", "one_key"])
def test_oracle_solves_every_honest_variant(variant: str) -> None:
    assert all(_episode(variant, "oracle", i) for i in range(5))


def test_fake_variants_accept_the_checked_side_not_the_declared_one() -> None:
    state = levels(STANDARD, 1)[0]
    env = TASK.make_env("fake_numerical", TRAINING_DIFFICULTY, PromptStyle("compact"))
    prompt = env.reset(state=state)[-1]["content"]
    assert "actions:up=1,down=2,left=3,right=4" in prompt
    _, _, _, _, declared = env.step("<answer> 1 </answer>")
    assert not declared["valid"] and declared["outcome"] == "unknown_word"
    _, _, _, _, checked = env.step("<answer> Up </answer>")
    assert checked["valid"]
    # the shortcut (training words and rules) succeeds on both fakes; the oracle (declared side) does not
    assert all(_episode("fake_numerical", "shortcut", i) for i in range(5))
    assert not any(_episode("fake_numerical", "oracle", i) for i in range(5))
    assert all(_episode("fake_next_colour", "shortcut", i) for i in range(5))
    prompt = TASK.messages(state, "fake_next_colour", PromptStyle())[-1]["content"]
    assert "door of the next colour" in prompt
    assert TASK.check_data(state, "fake_next_colour")["rules"] == STANDARD.as_data()


def test_fake_next_colour_oracle_follows_the_declared_rule_and_fails_sometimes() -> None:
    assert not all(_episode("fake_next_colour", "oracle", i) for i in range(10))


# ---------------------------------------------------------------------------------------------- parser and verifier


@pytest.mark.parametrize(
    "prompt",
    [
        "keys\nopens:x=Y",  # not a key
        "keys\nopens:r=\ncarry:any",  # no door
        "keys\nopens:r=G\ncarry:any",  # a map that is no colour shift
        "keys\nopens:r=R\ncarry:any\nhold:\nboard:\n#P#",  # no exit
        "You are solving a key-and-door maze.\nnothing else",  # no rules
    ],
)
def test_the_text_reader_refuses_a_malformed_keys_prompt(prompt: str) -> None:
    """A ValueError, which a served agent turns into a 400 answer, never another exception."""
    with pytest.raises(ValueError):
        TASK.answer_from_text("oracle", prompt, np.random.default_rng(0))


def test_parser_is_linear_on_hostile_input() -> None:
    for text in (
        "<answer>" * (128 * 1024 // 8),
        "<answer>" * (MAX_TEXT_CHARS // 8 - 2) + "</answer>",
        "<answer>" * (MAX_TEXT_CHARS // 8 - 1),
        "<" * MAX_TEXT_CHARS,
    ):
        start = time.perf_counter()
        TASK.verify(text, TASK.check_data(levels(STANDARD, 1)[0], "base"))
        parse_answer(text)
        assert time.perf_counter() - start < 0.05, f"{len(text)} characters took too long"


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("<answer> Up </answer>", "Up"),
        ("<think> x </think>\n<answer>\nLeft\n</answer>", "Left"),
        ("<answer> a </answer> <answer> b </answer>", "a"),
        ("<answer> Up", None),
        ("no tags", None),
        ("x" * (MAX_TEXT_CHARS + 1) + "<answer> Up </answer>", None),
    ],
)
def test_parse_answer(text: str, answer: str | None) -> None:
    assert parse_answer(text) == answer


def test_verifier_outcomes() -> None:
    state = levels(STANDARD, 1)[0]
    check = TASK.check_data(state, "numerical")
    best = optimal_first_actions(state, STANDARD)
    word = dict(zip(ACTIONS, check["words"], strict=True))
    good = TASK.verify(f"<answer> {word[min(best)]} </answer>", check)
    assert good.kind == "optimal" and good.reward == 1.0
    worse = next(a for a in ACTIONS if a not in best)
    assert TASK.verify(f"<answer> {word[worse]} </answer>", check).kind == "suboptimal"
    assert TASK.verify("<answer> Up </answer>", check).kind == "unknown_word"
    assert TASK.verify("Up", check).kind == "no_answer"


# ---------------------------------------------------------------------------------------------- splits and data


def test_train_validation_and_test_instance_keys_are_disjoint() -> None:
    keys: dict[str, set[str]] = {}
    for spec in TASK.splits:
        instances = [
            TASK.generate(np.random.default_rng(spec.seed(i)), spec.variant, spec.difficulty) for i in range(spec.size)
        ]
        keys[spec.name] = {TASK.instance_key(s, spec.variant) for s in instances}
        assert len(keys[spec.name]) == spec.size, f"{spec.name} repeats a level"
    validation = keys.pop("keys/validation")
    test = set().union(*keys.values())
    assert not validation & test
    evaluation = frozenset(validation | test)
    train = {item.key for item in training_levels(300, 0, ID, evaluation)}
    assert len(train) == 300 and not train & evaluation
    rows = list(TASK.rows(RowRequest("answer-only", 20), evaluation))
    assert {r["instance_key"] for r in rows}.isdisjoint(evaluation)


def test_split_names_and_seed_namespace() -> None:
    names = {s.name for s in TASK.splits}
    wanted = {
        "id",
        "numerical",
        "alphabetical",
        "random",
        "fake_numerical",
        "next_colour",
        "one_key",
        "larger",
        "validation",
    }
    assert {f"keys/{n}" for n in wanted} <= names
    assert protocol.SPLIT_NAMESPACE == REGISTRY_VERSION
    for spec in TASK.splits:
        assert spec.variant in TASK.variants and spec.difficulty in TASK.difficulties


@pytest.mark.parametrize("kind", protocol.ROW_KINDS)
def test_rows_carry_state_and_their_answers_verify(kind: str) -> None:
    for row in TASK.rows(RowRequest(kind, 3, template="study"), frozenset()):
        state = TASK.state_from_data(row["state"])
        assert TASK.messages(state, "base", PromptStyle(response_format="think" if "cot" in kind else "answer"))
        if kind == "rl":
            assert row["optimal_actions"]
            continue
        completion = row["completion"][0]["content"]
        assert TASK.verify(completion, row).success
        assert ("<think>" in completion) == ("cot" in kind)
        assert (row["words"] != ["Up", "Down", "Left", "Right"]) == kind.startswith("diverse")


# ---------------------------------------------------------------------------------------------- protocol


def test_keys_implements_the_protocol_and_is_registered() -> None:
    assert isinstance(TASK, Task)
    assert get_task("keys") is TASK
    assert "keys" in protocol.task_names()
    with pytest.raises(protocol.TaskNotFound, match="registered"):
        get_task("kyes")


def test_a_package_outside_sftgen_registers_a_task_by_entry_point(tmp_path, monkeypatch) -> None:
    (tmp_path / "toy_task.py").write_text(
        "import dataclasses\nfrom sftgen.tasks.keys import TASK as KEYS\nTASK = dataclasses.replace(KEYS, name='toy')\n"
    )
    info = tmp_path / "toy_task-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-task\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[sftgen.tasks]\ntoy = toy_task:TASK\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    get_task.cache_clear()
    try:
        assert "toy" in protocol.task_names()
        toy = get_task("toy")
        assert toy.name == "toy" and isinstance(toy, Task)
    finally:
        get_task.cache_clear()


def test_play_text_and_figures() -> None:
    state = levels(STANDARD, 1)[0]
    assert "holding: nothing" in TASK.play_text(state) and "P" in TASK.play_text(state)
    spec = TASK.splits[0]
    records = [
        {
            "split": spec.name,
            "success": i % 2 == 0,
            "state": TASK.state_data(TASK.generate(np.random.default_rng(spec.seed(i)), spec.variant, spec.difficulty)),
        }
        for i in range(10)
    ]
    (figure,) = TASK.figures(records)
    assert set(figure.series) == {spec.name}
    assert len(figure.series[spec.name]) == len(figure.categories)
