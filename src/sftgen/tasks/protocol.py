"""The ``Task`` protocol: everything the rest of sftgen may know about a task, and the registry of tasks.

Why a protocol: variants, prompts, envs, splits, agents, data builders, rewards and the report each kept a table
keyed by task name, so a new task meant touching ~25 files. A task is instead one object that answers a fixed set
of questions (generate, solve, verify, render, parse, explain, play, view, report), and the machinery around it asks
only those. States cross the boundary as JSON-ready data (:meth:`Task.state_data`), never as prompt text to be
parsed back. docs/architecture-task-protocol.md maps today's modules onto this interface.

A task registers under a name; :func:`get_task` finds built-in tasks and any Python entry point in the group
``sftgen.tasks`` (``[project.entry-points."sftgen.tasks"] mytask = "mypkg.mytask:TASK"``), so a package outside
sftgen can add one without editing sftgen.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata
import sys
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Protocol, TypeVar, runtime_checkable

import numpy as np

from sftgen.prompts import Chat, PromptStyle
from sftgen.seeding import derive_seed

StateT = TypeVar("StateT")

SPLIT_NAMESPACE = "sftgen-splits-v1"
"""Hashed into every evaluation instance's seed; equal to ``sftgen.splits.REGISTRY_VERSION`` so a task's splits
resolve to the same instances once ``splits.py`` reads them from the task (a test checks the two agree)."""

AGENTS = ("oracle", "shortcut", "random")
"""Reference agents: the solver in the declared words/rules, the solver in the training ones, random words."""


def require_agent(agent: str) -> None:
    """Refuse a name that is not one of :data:`AGENTS`, with the one message every caller gives."""
    if agent not in AGENTS:
        raise ValueError(f"unknown agent {agent!r}; choose one of {', '.join(AGENTS)}")


ROW_KINDS = ("answer-only", "diverse", "cot", "diverse-cot", "rl")
ENTRY_POINT_GROUP = "sftgen.tasks"
BUILTIN_TASKS: dict[str, str] = {
    "sokoban": "sftgen.tasks.sokoban.task:TASK",
    "points": "sftgen.tasks.points.task:TASK",
    "keys": "sftgen.tasks.keys:TASK",
}
"""Tasks shipped with sftgen, as ``module:attribute`` (imported on first use, like an entry point). The order is
the order splits, groups and reports list them in (the study's two tasks first, as before the protocol)."""


@dataclass(frozen=True)
class VariantInfo:
    """What the machinery needs to know about an instruction variant; the task keeps the details.

    ``kind`` is ``action_words`` (the answer vocabulary changes), ``rules`` (the declared rules change the
    optimal plan), ``values`` (General Points' face-card values) or ``base``; ``fake`` means the prompt declares
    something other than what the verifier checks.
    """

    name: str
    kind: str
    fake: bool
    description: str


@dataclass(frozen=True)
class DifficultyInfo:
    """A difficulty preset by name, with the turn budget an episode at that difficulty gets."""

    name: str
    max_turns: int
    description: str


@dataclass(frozen=True)
class SplitSpec:
    """One named evaluation split of a task, as data (``splits.py`` expands it into instances)."""

    name: str
    variant: str
    difficulty: str
    category: str
    size: int
    in_study: bool = False
    quick_size: int | None = None
    """The size in the ``quick`` group (None: the full size)."""
    with_replacement: bool = False
    """Keep repeated puzzles on purpose (a space too small for distinct instances; ``splits.split_report`` counts
    them)."""

    def seed(self, index: int) -> int:
        """The instance seed of item ``index``: a hash of (namespace, split, index), never ``seed + index``."""
        return derive_seed(SPLIT_NAMESPACE, self.name, index)


@dataclass(frozen=True)
class Outcome:
    """The verdict on one answer: the task's outcome ``kind``, and the reason a person can read.

    ``valid`` says the answer parsed into something the task accepts (the study's validity), ``success`` that it
    is right; ``reward`` is the task's reward for it, the same number for evaluation and RL.
    """

    kind: str
    valid: bool
    success: bool
    reward: float
    reason: str
    answer: str | None = None
    action: str | None = None


@dataclass(frozen=True)
class RowRequest:
    """Which training rows to write: the kind (``ROW_KINDS``), how many instances, the seed and prompt style.

    ``diverse_rl`` and ``rl_think`` only matter for ``rl`` rows (diverse action words, a think block first).
    """

    kind: str
    n: int
    seed: int = 0
    template: str = "study"
    pool: str = "words"
    diverse_rl: bool = False
    rl_think: bool = False
    paraphrases: bool = False
    """Sample each row's wording from the task's training paraphrases (a task without any ignores it)."""

    def __post_init__(self) -> None:
        if self.kind not in ROW_KINDS:
            raise ValueError(f"kind must be one of {ROW_KINDS}, got {self.kind!r}")
        if self.n < 1:
            raise ValueError(f"n must be ≥ 1, got {self.n}")

    @property
    def diverse(self) -> bool:
        return self.kind in ("diverse", "diverse-cot") or (self.kind == "rl" and self.diverse_rl)

    @property
    def cot(self) -> bool:
        return self.kind in ("cot", "diverse-cot") or (self.kind == "rl" and self.rl_think)


@dataclass(frozen=True)
class FigureData:
    """A bar chart a task asks the report to draw: one bar per category for each named series.

    Data, not pixels: the report owns drawing (one style, one backend), the task owns what is worth plotting.
    """

    name: str
    caption: str
    x_label: str
    y_label: str
    categories: tuple[str, ...]
    series: Mapping[str, tuple[float, ...]]


@dataclass(frozen=True)
class SkillExample:
    """One pre-training row of a skill a task presumes its model already has, and the check of an answer to it.

    Why tasks say this: the study starts from pretrained models that bring general skills to each task (General
    Points: making 24 from four numbers); a tiny model trained from scratch has none, so its base learns them
    from these rows (``sftgen.base``). ``prompt`` and ``completion`` use the compact layout and never a task's
    own prompt; ``correct(text)`` says whether a model's completion solves the row.
    """

    prompt: str
    completion: str
    correct: Callable[[str], bool]


@dataclass(frozen=True)
class VocabularySample:
    """What a task adds to the tiny tokenizer's corpus (``sftgen.vocabulary``): its splits' prompts with the oracle's
    answers, the rows of ``instances`` training instances of each CoT kind and template, and ``words`` that must each
    be one token (General Points' card labels).

    Why a task opts in: the tiny tokenizer is word level, so one new word renumbers every token, and with it every
    tiny model and the shipped bases; a task joins the corpus deliberately, with its tiny results re-run.
    """

    instances: int
    words: tuple[str, ...] = ()


GRID_ROLES = ("floor", "wall", "target", "box", "box-on-target", "player", "player-on-target")
"""The cell roles the report's episode viewer styles in a ``grid`` view (``floor`` is the plain cell)."""
VIEW_KINDS = ("grid", "tiles", "text")


@dataclass(frozen=True)
class StateView:
    """How the report's episode viewer draws one variant's states: data the page's script draws, never markup.

    ``kind`` says how to read :meth:`Task.view_state`: ``grid`` (rows of one character per cell; ``legend`` maps a
    character to its role in :data:`GRID_ROLES` and the glyph drawn in it), ``tiles`` (space-separated labels,
    one tile each: a hand of cards) or ``text`` (shown as it is). ``declared`` is the line above the drawing (what
    the prompt declares), ``note`` the line under it.
    """

    kind: str
    declared: str | None = None
    note: str | None = None
    legend: Mapping[str, tuple[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class StudyFindings:
    """Which of a task's splits the study's five findings read, and the levels a run must reach on them.

    Why per task: the study's numbers differ by task, so "high" answer-only ID success means 0.8 on Sokoban and 0.5
    on General Points; ``report/findings.py`` keeps the task-independent levels and the judging. A level left
    ``None`` is not judged on this task.
    """

    id_split: str
    instruction_splits: tuple[str, ...]
    """The instruction variants the answer-only and diverse findings check (columns of the study's Table 1)."""
    fake_splits: tuple[str, ...]
    collapse_split: str
    """Where answer-only validity must collapse over checkpoints (finding 5)."""
    answer_only_id_min: float
    diverse_fake_max: float
    collapse_drop_min: float
    """How far validity on ``collapse_split`` must fall from its peak to the last checkpoint."""
    diverse_id_min: float | None = None
    diverse_instruction_min: float | None = None
    """On each instruction split."""
    diverse_instruction_mean_min: float | None = None
    """On the instruction splits' mean."""
    diverse_instruction_gain: float | None = None
    """Over answer-only, on each instruction split."""


@dataclass(frozen=True)
class StudyAnswerCheck:
    """A check the study scored answers with that rejects some answers this task scores as correct (General
    Points: Python's float ``eval``, for which ``8/(3-8/3)`` is not 24); the report counts such successes.

    ``rejects(action)`` reads the last recorded action of a successful episode. The rest are the report's words:
    ``heading`` titles its section (after the task's title), ``answers`` names what is counted, ``check`` the
    study's check and ``column`` the count's column.
    """

    heading: str
    answers: str
    check: str
    column: str
    rejects: Callable[[str], bool]


@dataclass(frozen=True)
class StudyReference:
    """What the study published on a task, addressed by our split and method names, for the report to put beside
    ours. Every number is transcribed from the paper's PDF (the report's † mark; docs/study.md).

    ``columns`` maps each split with a column in the paper's Table 1 to that column's label, in the paper's order;
    ``results`` is model -> method -> split -> success rate.
    """

    columns: Mapping[str, str]
    results: Mapping[str, Mapping[str, Mapping[str, float]]]
    findings: StudyFindings | None = None
    answer_check: StudyAnswerCheck | None = None

    @classmethod
    def from_rows(
        cls,
        columns: Mapping[str, str],
        rows: Mapping[tuple[str, str], Sequence[float]],
        findings: StudyFindings | None = None,
        answer_check: StudyAnswerCheck | None = None,
    ) -> StudyReference:
        """``rows``: (model, method) -> the row's values in ``columns`` order, as docs/study.md prints them."""
        results: dict[str, dict[str, dict[str, float]]] = {}
        for (model, method), values in rows.items():
            if len(values) != len(columns):
                raise ValueError(f"study row {model}/{method} has {len(values)} values, not {len(columns)}")
            results.setdefault(model, {})[method] = dict(zip(columns, (float(v) for v in values), strict=True))
        return cls(columns, results, findings, answer_check)

    def value(self, split: str, method: str, model: str) -> float | None:
        """The published success of ``method`` on ``split`` for ``model`` (None where the paper has none)."""
        return self.results.get(model, {}).get(method, {}).get(split)


@dataclass
class StateFilter:
    """Training rows whose *state* (not just the level it started from) is an evaluation puzzle are dropped.

    Why a separate set from ``rows``' ``exclude``: a test can switch the state filter off (an empty set) while
    levels stay disjoint, and the data manifest reports ``dropped``.
    """

    exclude: Collection[str]
    dropped: int = 0


StepReturn = tuple[Chat, float, bool, bool, dict[str, Any]]


@runtime_checkable
class TaskEnv(Protocol[StateT]):
    """A Gymnasium-style text episode: ``reset`` gives the prompt, ``step(text)`` the usual five-tuple.

    ``info`` always carries ``state`` (the state after the step, as :meth:`Task.state_data`), ``valid``,
    ``success``, ``outcome`` and ``reason``: rewards, viewers and agents read the state from there.
    """

    state: StateT | None

    def reset(self, seed: int | None = None, *, state: StateT | None = None) -> Chat: ...

    def observation(self) -> Chat: ...

    def step(self, text: str) -> StepReturn: ...


@runtime_checkable
class Task(Protocol[StateT]):
    """One task, end to end. ``variant`` and ``difficulty`` arguments are names from :attr:`variants` and
    :attr:`difficulties`; canonical action ids (:attr:`actions`) are what solvers and traces speak."""

    name: str
    title: str
    """The task's name in report headings (``General Points`` for ``points``)."""
    actions: tuple[str, ...]
    templates: tuple[str, ...]
    variants: Mapping[str, VariantInfo]
    difficulties: Mapping[str, DifficultyInfo]
    splits: Sequence[SplitSpec]
    turn_outcomes: tuple[str, ...]
    """Every ``info["outcome"]`` an env turn can report, in the order metrics tables list them."""
    full_marks: float
    """The reward of a correct answer: CoT rejection sampling keeps the first sample that reaches it."""
    rl_columns: tuple[str, ...]
    """The columns of an ``rl`` row that :meth:`verify` and :meth:`check_env` read: an RL row is its own check data
    (the state included), so the GRPO reward is ``verify(completion, row).reward``, the episode reward replays the
    row through ``check_env(row, ...)``, and training keeps only ``prompt`` and these."""
    study: StudyReference | None
    """The study's published numbers and findings for this task (None: the study has none, as for keys)."""

    # instances ------------------------------------------------------------------------------------------
    def generate(self, rng: np.random.Generator, variant: str, difficulty: str) -> StateT:
        """A solvable start state, a pure function of ``rng`` (solvable under the *checked* side)."""
        ...

    def instance_key(self, state: StateT, variant: str) -> str:
        """Canonical identity of the puzzle (content hash) for train/evaluation disjointness."""
        ...

    def state_data(self, state: StateT) -> dict[str, Any]:
        """The state as JSON-ready data: what travels in env info, episode records and RL rows."""
        ...

    def state_from_data(self, payload: Mapping[str, Any]) -> StateT:
        """Inverse of :meth:`state_data`."""
        ...

    # solving and checking -------------------------------------------------------------------------------
    def solve(self, state: StateT, variant: str) -> Sequence[str] | None:
        """An optimal plan under the checked rules (action ids, or one answer for single-turn tasks)."""
        ...

    def parse_answer(self, text: str) -> str | None:
        """The answer a response commits to; bounded input, linear time, never raises."""
        ...

    answer_end: Callable[[str], int | None] | None
    """Where the scored answer in a text is settled: a length ``n`` such that :meth:`verify` scores
    ``text[:n] + anything`` as it scores ``text``, or None while later text could still change the score. Decoding
    may stop there (the in-process backend does), so it must be exact. A task whose score can move with any later
    text sets it to None, and its decoding never stops early."""

    def check_data(self, state: StateT, variant: str) -> dict[str, Any]:
        """Everything :meth:`verify` needs, as data (state plus the checked words or rules)."""
        ...

    def verify(self, text: str, check: Mapping[str, Any]) -> Outcome:
        """Score one response against :meth:`check_data`; one outcome class, never raises on any text."""
        ...

    # prompts and targets --------------------------------------------------------------------------------
    def messages(self, state: StateT, variant: str, style: PromptStyle) -> Chat:
        """The stateless prompt for ``state`` as the variant declares it, in ``style``'s template and format."""
        ...

    def reasoning(self, state: StateT, variant: str, template: str) -> str:
        """A solver-written chain of thought ending in the answer's look-up."""
        ...

    def reference_answer(
        self, agent: str, state: StateT, variant: str, style: PromptStyle, rng: np.random.Generator
    ) -> str:
        """What reference ``agent`` (:data:`AGENTS`) writes for this state, read from the state, not the text."""
        ...

    # episodes, data, people and reports -----------------------------------------------------------------
    def make_env(self, variant: str, difficulty: str, style: PromptStyle) -> TaskEnv[StateT]: ...

    def check_env(self, check: Mapping[str, Any], style: PromptStyle, max_turns: int) -> TaskEnv[StateT]:
        """An env already reset on the state ``check`` holds (:meth:`check_data`, or an RL row's
        :attr:`rl_columns`), whose prompts declare exactly the words, rules or values ``check`` says are checked and
        whose steps check them; the episode ends after ``max_turns`` turns (a single-turn task's after its one).

        Why: whatever carries a check (an RL row, an integration's ground truth) can replay its instance as an
        episode from data, never from prompt text. The env is honest by construction, so where the carrier's own
        prompt was fake (declared ≠ checked) its later prompts differ from that one: replaying it is the caller's
        call (the episode reward refuses fake splits)."""
        ...

    def rows(
        self, request: RowRequest, exclude: Collection[str], states: StateFilter | None = None
    ) -> Iterator[dict[str, Any]]:
        """Training rows in TRL's conversational format; no row's ``instance_key`` is in ``exclude``.

        ``states`` drops rows whose mid-episode state is an evaluation puzzle (default: ``StateFilter(exclude)``)
        and counts them; a task whose rows are start states only never drops any.
        """
        ...

    def play_text(self, state: StateT) -> str:
        """The state drawn for a person at a terminal (``sftgen play``)."""
        ...

    def play_response(self, typed: str) -> str:
        """The response a person's typed answer stands for (``Up`` -> ``<answer> Up </answer>``)."""
        ...

    def view(self, variant: str) -> StateView:
        """How the report's episode viewer draws states of ``variant`` (and what its prompt declares)."""
        ...

    def view_state(self, state: StateT) -> str:
        """One state as the text its :meth:`view` kind draws (grid rows, tile labels or plain text)."""
        ...

    def figures(self, records: Sequence[Mapping[str, Any]]) -> list[FigureData]:
        """Task-specific report figures from episode records (each with ``split``, ``success``, ``state``)."""
        ...

    def skill(self, rng: np.random.Generator, composed: bool = False) -> SkillExample | None:
        """A row of the general skill this task presumes a pretrained model has (None: it presumes none beyond
        the base curriculum's look-up and grid navigation); a pure function of ``rng``. ``composed``: the row's
        inputs are written so they must first be worked out (General Points: a number as a sum), as the task's
        answer first reads its inputs from declared words and then applies the skill; a task whose skill has no
        such form returns its plain row."""
        ...

    # prompts read as text, the tiny tokenizer, the study's data sizes ------------------------------------
    vocabulary: VocabularySample | None
    """What the task adds to the tiny tokenizer's corpus (None: nothing; its unknown words are spelled in pieces)."""
    study_train_size: int | None
    """Instances in each of the study's training sets (``sftgen.data.study``; None: not one of the study's tasks)."""

    def answer_from_text(self, agent: str, prompt: str, rng: np.random.Generator) -> str | None:
        """What reference ``agent`` writes for a prompt it sees only as text (a served reference model), read back
        from the task's own prompt text in any template; None when ``prompt`` is not this task's, and then ``rng``
        is left untouched (the agents ask every registered task in turn). For the same ``rng`` it is the answer
        :meth:`reference_answer` gives from the state."""
        ...


class TaskNotFound(KeyError):
    """An unknown task name; the message lists the registered ones."""


def _entry_points() -> dict[str, importlib.metadata.EntryPoint]:
    return _entry_points_on(tuple(sys.path))


@cache
def _entry_points_on(path: tuple[str, ...]) -> dict[str, importlib.metadata.EntryPoint]:
    """The ``sftgen.tasks`` entry points installed on ``path``. Cached per ``sys.path``: a scan reads every
    installed package's metadata (~20 ms), and the report asks for the task names hundreds of times (11 of its
    13 s on the tiny recipe's run before this cache)."""
    return {ep.name: ep for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}


def task_names() -> tuple[str, ...]:
    """Every registered task name: built-in ones in :data:`BUILTIN_TASKS` order, then other entry points, sorted."""
    return (*BUILTIN_TASKS, *sorted(set(_entry_points()) - set(BUILTIN_TASKS)))


def presumes_skill(name: str) -> bool:
    """Whether task ``name`` has a :meth:`Task.skill` (a task without one would never yield a skills row)."""
    return get_task(name).skill(np.random.default_rng(0)) is not None


def builtin_skill_tasks() -> tuple[str, ...]:
    """The built-in tasks that presume a skill: the tiny base's default skills stage. Built-in only, so installing
    a task package does not change the default base."""
    return tuple(name for name in BUILTIN_TASKS if presumes_skill(name))


def _load(target: str) -> object:
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


@cache
def get_task(name: str) -> Task[Any]:
    """The task registered as ``name`` (built-in first, then the ``sftgen.tasks`` entry points)."""
    if name in BUILTIN_TASKS:
        task = _load(BUILTIN_TASKS[name])
    else:
        points = _entry_points()
        if name not in points:
            close = difflib.get_close_matches(name, task_names(), n=3, cutoff=0.4)
            hint = f" Did you mean: {', '.join(close)}?" if close else ""
            raise TaskNotFound(f"unknown task {name!r}; registered: {', '.join(task_names())}.{hint}")
        task = points[name].load()
    if not isinstance(task, Task):
        raise TypeError(f"task {name!r} does not implement sftgen.tasks.protocol.Task: {task!r}")
    if task.name != name:
        raise ValueError(f"task registered as {name!r} calls itself {task.name!r}")
    return task
