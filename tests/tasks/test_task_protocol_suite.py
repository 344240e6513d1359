"""One suite for every registered task: what the machinery relies on, checked only through the Task protocol.

Determinism across processes, state data round trips, split disjointness by hash (and training rows disjoint from
evaluation), the solver against an independent search (breadth-first search through the env itself), a verifier
and parser that never raise and stay fast on hostile text, and the reference agents: the oracle solves honest
splits, the shortcut (training words and rules) solves fake ones and fails where the declared words or values
changed. A new task gets all of this by registering.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
import time
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sftgen.data.leakage import evaluation_keys
from sftgen.prompts import PromptStyle
from sftgen.splits import SPLITS, WITH_REPLACEMENT, Instance, split_keys
from sftgen.tasks import protocol
from sftgen.tasks.protocol import AGENTS, Outcome, RowRequest, Task, get_task, task_names

TASKS = task_names()
N = 6
"""Instances per split for the agent checks (episodes are cheap; the study-sized runs are in the slow tests)."""


def _splits(task: str, category: str | None = None) -> list[str]:
    return [n for n, s in SPLITS.items() if s.task == task and (category is None or s.category == category)]


def _style(task: Task[Any]) -> PromptStyle:
    return PromptStyle("compact" if "compact" in task.templates else task.templates[0])


# ---------------------------------------------------------------------------------------------- registry


@pytest.mark.parametrize("name", TASKS)
def test_task_implements_the_protocol_and_describes_itself(name: str) -> None:
    task = get_task(name)
    assert isinstance(task, Task) and task.name == name and get_task(name) is task
    assert task.title and task.turn_outcomes and set(task.templates) <= {"study", "compact"}
    assert all(info.name == v for v, info in task.variants.items())
    assert all(info.max_turns >= 1 for info in task.difficulties.values())
    for spec in task.splits:
        assert spec.name.startswith(f"{name}/") and spec.name in SPLITS
        assert spec.variant in task.variants and spec.difficulty in task.difficulties
    assert {s.category for s in task.splits} >= {"id", "validation"}


def test_split_namespace_is_the_registry_version() -> None:
    from sftgen.splits import REGISTRY_VERSION

    assert protocol.SPLIT_NAMESPACE == REGISTRY_VERSION


# ---------------------------------------------------------------------------------------------- determinism


def fingerprint(name: str) -> str:
    """States of the first instances of every split and the first rows of every kind, as JSON."""
    task = get_task(name)
    states = [SPLITS[s].instance(i).state_data() for s in _splits(name) for i in range(2)]
    template = _style(task).template
    rows = [list(task.rows(RowRequest(kind, 2, seed=7, template=template), frozenset())) for kind in protocol.ROW_KINDS]
    return json.dumps([states, rows], sort_keys=True, ensure_ascii=False)


@pytest.mark.parametrize("name", TASKS)
def test_same_seed_gives_byte_identical_states_and_rows_across_processes(name: str) -> None:
    here = fingerprint(name)
    assert here == fingerprint(name)
    code = textwrap.dedent(
        """
        import sys
        sys.path.insert(0, sys.argv[1])
        from test_task_protocol_suite import fingerprint
        sys.stdout.write(fingerprint(sys.argv[2]))
        """
    )
    env = dict(os.environ, PYTHONHASHSEED="12345")
    folder = str(Path(__file__).parent)
    out = subprocess.run(
        [sys.executable, "-c", code, folder, name], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout == here


@pytest.mark.parametrize("name", TASKS)
def test_state_data_round_trips_through_json_and_env_info(name: str) -> None:
    task = get_task(name)
    for split in _splits(name, "id"):
        for inst in SPLITS[split].with_size(3).instances():
            state = inst.state()
            back = task.state_from_data(json.loads(json.dumps(task.state_data(state))))
            assert back == state and task.instance_key(back, inst.variant) == inst.key()
            env = inst.make_env()
            answer = task.reference_answer("oracle", state, inst.variant, _style(task), np.random.default_rng(0))
            *_, info = env.step(answer)
            assert task.state_from_data(info["state"]) == env.state
            assert info["outcome"] in task.turn_outcomes


@pytest.mark.parametrize("name", TASKS)
def test_episode_records_carry_the_states(name: str, tmp_path: Path) -> None:
    """An evaluation record holds its start state and each turn the state after it, as the task's data."""
    from sftgen.eval.evaluate import evaluate
    from sftgen.eval.records import episodes_path, read_records
    from sftgen.models.sampling import Sampling

    task, split = get_task(name), f"{name}/id"
    evaluate("oracle", [split], tmp_path, n=2, sampling=Sampling(greedy=True))
    for record in read_records(episodes_path(tmp_path, split)):
        inst = SPLITS[split].instance(record["index"])
        assert task.state_from_data(record["state"]) == inst.state()
        assert all(task.state_from_data(t["state"]) is not None for t in record["turns"])
        assert record["success"]


# ---------------------------------------------------------------------------------------------- disjointness


@pytest.mark.parametrize("name", TASKS)
def test_validation_test_and_training_are_disjoint_by_hash(name: str) -> None:
    validation = split_keys(f"{name}/validation")
    tests = [split_keys(s) for s in _splits(name) if SPLITS[s].category != "validation"]
    assert tests and not validation & set().union(*tests)
    for split in _splits(name):
        if split not in WITH_REPLACEMENT:
            assert len(split_keys(split)) == SPLITS[split].size, f"{split} repeats a puzzle"
    exclude = evaluation_keys()
    rows = list(get_task(name).rows(RowRequest("answer-only", 20), exclude))
    assert rows and not {r["instance_key"] for r in rows} & exclude


# ---------------------------------------------------------------------------------------------- solver


def _action_texts(task: Task[Any], state: Any, variant: str) -> dict[str, str]:
    """One response per canonical action, found by asking the random agent and reading back what the verifier
    says each response means (so the search below needs no task-specific vocabulary)."""
    check = task.check_data(state, variant)
    texts: dict[str, str] = {}
    for seed in range(200):
        text = task.reference_answer("random", state, variant, _style(task), np.random.default_rng(seed))
        action = task.verify(text, check).action
        if action is not None:
            texts.setdefault(action, text)
        if len(texts) == len(task.actions):
            return texts
    raise AssertionError(f"the random agent never wrote {set(task.actions) - set(texts)}")


def _search(task: Task[Any], inst: Instance) -> int | None:
    """Breadth-first search through the env's own transitions (the checked rules): the shortest plan's length."""
    start = inst.state()
    texts = _action_texts(task, start, inst.variant)
    env = task.make_env(inst.variant, inst.difficulty, _style(task))
    start_key = json.dumps(task.state_data(start), sort_keys=True)
    seen, queue = {start_key}, deque([(start, 0)])
    while queue:
        state, depth = queue.popleft()
        for text in texts.values():
            env.reset(state=state)
            *_, info = env.step(text)
            if info["success"]:
                return depth + 1
            key = json.dumps(info["state"], sort_keys=True)
            if key not in seen:
                seen.add(key)
                queue.append((task.state_from_data(info["state"]), depth + 1))
    return None


@pytest.mark.parametrize("name", TASKS)
def test_solver_is_optimal_against_an_independent_search(name: str) -> None:
    task = get_task(name)
    for inst in SPLITS[f"{name}/id"].with_size(3).instances():
        state = inst.state()
        plan = task.solve(state, inst.variant)
        assert plan, f"{inst.id} is not solvable"
        check = task.check_data(state, inst.variant)
        oracle = task.reference_answer("oracle", state, inst.variant, _style(task), np.random.default_rng(0))
        assert task.verify(oracle, check).success and task.verify(oracle, check).reward == task.full_marks
        if task.actions:  # multi-turn: the plan is as short as the search's; one-answer tasks: it verifies
            assert len(plan) == _search(task, inst), inst.id


@pytest.mark.parametrize("name", TASKS)
def test_rl_rows_are_their_own_check_data(name: str) -> None:
    """The GRPO reward is verify(completion, row): every RL row holds the columns verify reads."""
    task = get_task(name)
    for row in task.rows(RowRequest("rl", 2, template=_style(task).template), frozenset()):
        check = {c: row[c] for c in task.rl_columns}
        assert task.verify("no answer", check).reward < task.full_marks


DECLARE_NOTHING = {"sokoban/empty"}
"""Honest splits whose prompt declares no words: ``check_env`` declares the checked ones, so only its prompts
differ."""


def _play(env: Any, task: Task[Any], inst: Instance, style: PromptStyle) -> list[tuple[Any, ...]]:
    """The oracle's episode in ``env``: every step's five-tuple, the observation left out."""
    state, steps, rng = inst.state(), [], np.random.default_rng(0)
    while True:
        step = env.step(task.reference_answer("oracle", state, inst.variant, style, rng))
        steps.append(step[1:])
        state = task.state_from_data(step[4]["state"])
        if step[2] or step[3]:
            return steps


@pytest.mark.parametrize("name", TASKS)
def test_check_env_deals_the_state_its_check_holds(name: str) -> None:
    """``check_env`` stands on the check's state and declares what it checks: an RL row's env shows the row's own
    prompt (diverse words included), and on an honest split it plays exactly as the split's env does."""
    task, style = get_task(name), _style(get_task(name))
    for diverse in (False, True):
        request = RowRequest("rl", 2, template=style.template, diverse_rl=diverse)
        for row in task.rows(request, frozenset()):
            check = json.loads(json.dumps({c: row[c] for c in task.rl_columns}))
            assert task.check_env(check, style, 5).observation() == row["prompt"]
    for split in _splits(name):
        if task.variants[SPLITS[split].variant].fake:
            continue
        inst = SPLITS[split].instance(0)
        check = task.check_data(inst.state(), inst.variant)
        budget = task.difficulties[inst.difficulty].max_turns
        env, own = task.check_env(check, inst.style(), budget), inst.make_env()
        assert (env.observation() == own.observation()) == (split not in DECLARE_NOTHING), split
        assert _play(env, task, inst, inst.style()) == _play(own, task, inst, inst.style()), split
        *_, terminated, truncated, _info = task.check_env(check, inst.style(), 1).step("no answer")
        assert terminated or truncated  # the turn budget holds


# ---------------------------------------------------------------------------------------------- verifier


_PIECES = st.sampled_from(
    ["<answer>", "</answer>", "<think>", "</think>", "Up", "1", "{", "}", '"formula":', "24", "(", "/0", " ", "\n"]
)
HOSTILE = (
    "<answer>" * (128 * 1024 // 8),
    "<answer>" * 8190 + "</answer>",
    "<" * 65_536,
    "{" * 65_536,
    '{"formula": "' + "(" * 5000 + "1" + ")" * 5000 + '"}',
    "\x00\ud800" * 1000,
)


@pytest.mark.parametrize("name", TASKS)
def test_verifier_and_parser_never_raise_and_stay_fast(name: str) -> None:
    task = get_task(name)
    inst = SPLITS[f"{name}/id"].instance(0)
    check = task.check_data(inst.state(), inst.variant)

    @settings(max_examples=150, deadline=None)
    @given(st.lists(_PIECES | st.text(max_size=6), max_size=30).map("".join))
    def never_raises(text: str) -> None:
        outcome = task.verify(text, check)
        assert isinstance(outcome, Outcome) and outcome.success <= outcome.valid and math.isfinite(outcome.reward)
        task.parse_answer(text)

    never_raises()
    for text in HOSTILE:
        start = time.perf_counter()
        task.verify(text, check)
        task.parse_answer(text)
        assert time.perf_counter() - start < 0.5, f"{len(text)} hostile characters took too long"


@pytest.mark.parametrize("name", TASKS)
def test_nothing_after_a_settled_answer_changes_the_score(name: str) -> None:
    """Decoding stops where ``answer_end`` says the answer is settled, so no continuation may change ``verify``."""
    task = get_task(name)
    if task.answer_end is None:
        pytest.skip(f"{name} never settles an answer early")
    inst = SPLITS[f"{name}/id"].instance(0)
    check = task.check_data(inst.state(), inst.variant)
    texts = st.lists(_PIECES | st.text(max_size=6), max_size=30).map("".join)

    @settings(max_examples=200, deadline=None)
    @given(texts, texts)
    def settled_means_settled(text: str, more: str) -> None:
        end = task.answer_end(text)
        if end is not None:
            assert 0 < end <= len(text)
            assert task.verify(text[:end] + more, check) == task.verify(text, check)

    settled_means_settled()
    for text in HOSTILE:
        start = time.perf_counter()
        task.answer_end(text)
        assert time.perf_counter() - start < 0.5, f"{len(text)} hostile characters took too long"


def test_a_sokoban_answer_is_settled_at_its_first_closing_tag() -> None:
    task = get_task("sokoban")
    assert task.answer_end("<answer> Up </answer> Left Left </answer>") == len("<answer> Up </answer>")
    assert task.answer_end("<think> plan:up </think> <answer> Up") is None
    assert task.answer_end("</answer> <answer> Up </answer>") == len("</answer> <answer> Up </answer>")
    assert task.answer_end("x" * 70_000) == 65_536  # nothing past the parser's window is read
    assert get_task("points").answer_end is None  # its formula is read after the *last* </think>


# ---------------------------------------------------------------------------------------------- agents


def _success_rate(name: str, split: str, agent: str) -> float:
    """Episodes played by a reference agent that reads each state from the env (``info["state"]``)."""
    task = get_task(name)
    wins = 0
    for inst in SPLITS[split].with_size(N).instances():
        env, state = inst.make_env(), inst.state()
        style = PromptStyle("study", inst.paraphrase)
        rng = np.random.default_rng(inst.seed)
        while True:
            *_, terminated, truncated, info = env.step(task.reference_answer(agent, state, inst.variant, style, rng))
            state = task.state_from_data(info["state"])
            if terminated or truncated:
                wins += bool(info["success"])
                break
    return wins / N


def _agent_cases() -> list[tuple[str, str]]:
    return [(name, split) for name in TASKS for split in _splits(name)]


@pytest.mark.parametrize(("name", "split"), _agent_cases())
def test_reference_agents_on_every_split(name: str, split: str) -> None:
    variant = get_task(name).variants[SPLITS[split].variant]
    oracle = _success_rate(name, split, "oracle")
    shortcut = _success_rate(name, split, "shortcut")
    if variant.fake:  # declared != checked: the training words/rules score, reading the prompt does not always
        assert shortcut == 1.0 and oracle < 1.0
    else:
        assert oracle == 1.0
        if variant.kind in ("action_words", "values"):  # the answer vocabulary or values changed
            assert shortcut == 0.0
        elif variant.kind == "base":
            assert shortcut == 1.0


@pytest.mark.parametrize("name", TASKS)
def test_an_unknown_agent_is_an_error(name: str) -> None:
    assert AGENTS == ("oracle", "shortcut", "random")
    inst = SPLITS[f"{name}/id"].instance(0)
    with pytest.raises(ValueError, match="unknown agent"):
        get_task(name).reference_answer("genius", inst.state(), inst.variant, PromptStyle(), np.random.default_rng(0))
    prompt = inst.make_env().observation()[-1]["content"]
    with pytest.raises(ValueError, match="unknown agent"):
        get_task(name).answer_from_text("genius", prompt, np.random.default_rng(0))


@pytest.mark.parametrize("name", TASKS)
def test_text_reading_agents_answer_as_from_the_state_and_read_only_their_own_prompts(name: str) -> None:
    """A served agent sees only the prompt text: ``answer_from_text`` gives ``reference_answer``'s answer for the same
    rng on every split (held-out paraphrases included), template and response format, and every other task declines
    the prompt without drawing from the rng (the agents ask each task in turn)."""
    task = get_task(name)
    others = [get_task(other) for other in TASKS if other != name]
    for split in _splits(name):
        for inst in SPLITS[split].with_size(2).instances():
            state = inst.state()
            for template in task.templates:
                for response_format in ("answer", "think"):
                    style = inst.style(template, response_format)
                    prompt = task.messages(state, inst.variant, style)[-1]["content"]
                    for agent in AGENTS:
                        expected = task.reference_answer(agent, state, inst.variant, style, np.random.default_rng(7))
                        text = task.answer_from_text(agent, prompt, np.random.default_rng(7))
                        assert text == expected, (split, template, response_format, agent)
                    rng = np.random.default_rng(7)
                    assert all(other.answer_from_text("random", prompt, rng) is None for other in others), split
                    assert rng.random() == np.random.default_rng(7).random()


@pytest.mark.parametrize("name", TASKS)
def test_a_skill_row_is_seeded_solved_by_its_completion_and_never_a_task_prompt(name: str) -> None:
    task = get_task(name)
    rows = [task.skill(np.random.default_rng(seed)) for seed in range(30)]
    composed = [task.skill(np.random.default_rng(seed), composed=True) for seed in range(30)]
    if rows[0] is None:
        assert all(row is None for row in rows + composed)
        return
    assert all(row is not None and row.correct(row.completion) for row in composed)
    assert [row.prompt for row in composed] == [
        row.prompt for row in (task.skill(np.random.default_rng(seed), composed=True) for seed in range(30))
    ]
    again = task.skill(np.random.default_rng(0))
    assert again is not None and (again.prompt, again.completion) == (rows[0].prompt, rows[0].completion)
    assert len({row.prompt for row in rows}) > 20
    variant, difficulty = next(iter(task.variants)), next(iter(task.difficulties))
    state = task.generate(np.random.default_rng(0), variant, difficulty)
    task_heading = task.messages(state, variant, _style(task))[-1]["content"].split("\n", 1)[0]
    for row in rows:
        assert row.correct(row.completion)
        assert not row.correct("") and not row.correct("<answer> 24 </answer>")
        assert row.prompt.split("\n", 1)[0] != task_heading  # the skill, never the task's own prompt


# ---------------------------------------------------------------------------------------------- report


@pytest.mark.parametrize("name", TASKS)
def test_every_variant_has_a_view_that_draws_its_states(name: str) -> None:
    """The report's viewer draws any variant's states from their data: a known kind, a grid fully in its legend."""
    task = get_task(name)
    for variant in task.variants:
        view = task.view(variant)
        assert view.kind in protocol.VIEW_KINDS
        assert all(len(ch) == 1 and role in protocol.GRID_ROLES for ch, (role, _) in view.legend.items())
    for split in _splits(name):
        inst = SPLITS[split].instance(0)
        text, view = task.view_state(inst.state()), task.view(inst.variant)
        assert isinstance(text, str) and text.strip()
        if view.kind == "grid":
            rows = text.split("\n")
            assert len({len(r) for r in rows}) == 1 and set("".join(rows)) <= set(view.legend)


@pytest.mark.parametrize("name", TASKS)
def test_the_study_refers_to_the_tasks_own_splits(name: str) -> None:
    """Published numbers fill every Table-1 column; the findings read columns of the category they stand for."""
    study = get_task(name).study
    if study is None:
        return
    categories = {s.name: s.category for s in get_task(name).splits}
    assert set(study.columns) <= set(categories)
    for by_method in study.results.values():
        assert all(list(row) == list(study.columns) for row in by_method.values())
    findings = study.findings
    if findings is not None:
        assert categories[findings.id_split] == "id"
        assert {categories[s] for s in findings.instruction_splits} == {"instruction"}
        assert {categories[s] for s in findings.fake_splits} == {"fake"}
        assert {findings.id_split, findings.collapse_split, *findings.instruction_splits} <= set(study.columns)
    check = study.answer_check
    if check is not None:
        assert not check.rejects("") and not check.rejects("<answer> not an answer")
