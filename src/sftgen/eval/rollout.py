"""Batched multi-turn rollouts: every live episode of every split advances together, one generate call a turn.

Why batched across splits: a model decodes a batch of 64 many times faster per row than 64 single prompts
(on a GPU, or a server, far more than on one CPU core, where long prompts make prefill the cost), and the
stateless protocol (each turn's prompt is just the current state) makes all episodes independent, so turn
``t`` of every live episode can share one call. General Points is a one-turn episode of the same engine.

Why a greedy memo: an invalid answer or a push into a wall leaves the board, hence the prompt, unchanged;
under greedy decoding the model would answer it the same way again, so a stuck episode (e.g. a
frozen-prompt model on the Numerical split: 30 invalid turns) costs one generation instead of 30.

Why per-episode seeds: when the backend accepts ``seeds=`` (``HFBackend.complete``), each chat samples from
a seed hashed from (run seed, episode id, turn), so a resumed, re-chunked or re-ordered run draws the same
samples. Other backends get one seed per call (their per-row seeds then depend on the row's position).

Why the task's ``answer_end`` goes to the backend: a model that goes on writing after its scored answer would
decode to ``max_new_tokens`` for text no score reads; a backend that accepts ``answer_end=`` (``HFBackend``)
stops the row there. The task says where its answer is settled exactly, so no score changes.
"""

from __future__ import annotations

import inspect
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sftgen.agents import Situation
from sftgen.eval.records import stored_response, turn_outcome
from sftgen.models.sampling import Backend, Chat, Sampling
from sftgen.seeding import derive_seed
from sftgen.splits import Instance
from sftgen.tasks.protocol import TaskEnv, get_task

_INT31 = 2**31 - 1


class EvalInterrupted(RuntimeError):
    """The backend failed mid-run: finished episodes are saved, the rest are not scored (never as zeros)."""

    def __init__(self, message: str, finished: int, unfinished: int) -> None:
        super().__init__(message)
        self.finished = finished
        self.unfinished = unfinished


def sample_seed(run_seed: int, instance_id: str, turn: int) -> int:
    """The sampling seed of one episode's turn: independent of batching, order and resumption."""
    return derive_seed("sftgen.eval.sample", run_seed, instance_id, turn) & _INT31


def accepts_seeds(backend: object) -> bool:
    """True when the backend has ``complete(chats, sampling, seeds=...)``."""
    return _complete_takes(backend, "seeds")


def _complete_takes(backend: object, parameter: str) -> bool:
    complete = getattr(backend, "complete", None)
    if not callable(complete):
        return False
    try:
        return parameter in inspect.signature(complete).parameters
    except (TypeError, ValueError):
        return False


def _answer_end(backend: object, chunk: list[Episode]) -> dict[str, Any]:
    """``{"answer_end": ...}`` for a backend that stops at a settled answer, when the chunk is of one task."""
    tasks = {e.instance.task for e in chunk}
    if len(tasks) != 1 or not _complete_takes(backend, "answer_end"):
        return {}
    rule = get_task(tasks.pop()).answer_end
    return {} if rule is None else {"answer_end": rule}


@dataclass
class Episode:
    """One episode in flight: its env, the prompt it is waiting on and the turns played so far."""

    instance: Instance
    env: TaskEnv[Any]
    chat: Chat
    template: str
    response_format: str
    turns: list[dict[str, Any]] = field(default_factory=list)
    done: bool = False
    memo: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict, repr=False)

    @classmethod
    def start(cls, instance: Instance, template: str, response_format: str) -> Episode:
        env = instance.make_env(template, response_format)
        return cls(instance, env, env.observation(), template, response_format)

    def situation(self) -> Situation:
        """The current prompt with the state behind it, for backends that read states (reference agents)."""
        inst = self.instance
        style = inst.style(self.template, self.response_format)
        return Situation(inst.task, inst.variant, self.env.state, style, self.chat[-1]["content"])

    def key(self) -> str:
        """The current prompt, exactly (memo key: under greedy decoding the answer is a function of it)."""
        return json.dumps(self.chat, ensure_ascii=False)

    def advance(self, text: str, extra: dict[str, Any]) -> None:
        """Score ``text`` for the current prompt and move on to the next one."""
        observation, reward, terminated, truncated, info = self.env.step(text)
        prompt = self.chat[-1]["content"]
        turn: dict[str, Any] = {"turn": len(self.turns) + 1, "prompt": prompt, **stored_response(text)}
        if len(self.chat) > 1:
            turn["context"] = self.chat[:-1]
        turn.update(
            action=info.get("action"),
            answer=info.get("answer"),
            valid=bool(info.get("valid")),
            reason=info.get("reason"),
            outcome=turn_outcome(info),
            reward=float(reward),
            success=bool(info.get("success")),
            state=info.get("state"),
            **extra,
        )
        self.turns.append(turn)
        self.chat = observation
        self.done = bool(terminated or truncated)
        if self.done:
            self.memo.clear()

    def record(self) -> dict[str, Any]:
        """The finished episode as one JSON-ready record."""
        inst = self.instance
        valid = sum(t["valid"] for t in self.turns)
        n_turns = len(self.turns)
        return {
            "split": inst.split,
            "instance_id": inst.id,
            "index": inst.index,
            "seed": inst.seed,
            "task": inst.task,
            "variant": inst.variant,
            "difficulty": inst.difficulty,
            "paraphrase": inst.paraphrase,
            "state": inst.state_data(),
            "template": self.template,
            "response_format": self.response_format,
            "turns": self.turns,
            "n_turns": n_turns,
            "valid_turns": valid,
            "validity": valid / n_turns if n_turns else 0.0,
            "success": bool(self.turns and self.turns[-1]["success"]),
            "return": sum(t["reward"] for t in self.turns),
            "final_outcome": self.turns[-1]["outcome"] if self.turns else "no_answer",
        }


@dataclass
class RolloutStats:
    """What a rollout did: calls made, turns and episodes played, time spent."""

    calls: int = 0
    turn_steps: int = 0
    episodes: int = 0
    reused: int = 0
    seconds: float = 0.0
    call_sizes: list[int] = field(default_factory=list)


def _generate(
    backend: Backend,
    chunk: list[Episode],
    sampling: Sampling,
    use_complete: bool,
    seeds: list[int] | None,
    call_seed: int,
) -> list[tuple[str, dict[str, Any]]]:
    """One backend call (``answer_situations`` for a backend that reads states, ``complete`` when it exists: it
    also reports finish reasons, else ``generate``); answers checked."""
    chats = [e.chat for e in chunk]
    reads_states = getattr(backend, "answer_situations", None)
    if callable(reads_states):
        answers = [(text, {}) for text in reads_states([e.situation() for e in chunk])]
    elif use_complete:
        stop = _answer_end(backend, chunk)
        completions = backend.complete(chats, sampling, seeds=seeds, **stop)  # type: ignore[attr-defined]
        answers = [
            (c.text, {"finish_reason": c.finish_reason, "completion_tokens": c.completion_tokens}) for c in completions
        ]
    else:
        per_call = sampling if sampling.is_greedy else replace(sampling, seed=call_seed)
        answers = [(text, {}) for text in backend.generate(chats, per_call)]
    if len(answers) != len(chats):
        raise ValueError(f"{type(backend).__name__} returned {len(answers)} answers for {len(chats)} chats")
    for text, _ in answers:
        if not isinstance(text, str):
            raise TypeError(f"{type(backend).__name__} returned a {type(text).__name__}, not a str")
    return answers


def run_rollouts(
    backend: Backend,
    instances: Sequence[Instance],
    sampling: Sampling,
    *,
    template: str = "study",
    response_format: str = "answer",
    max_batch: int | None = None,
    memoize: bool = False,
    on_finish: Callable[[list[dict[str, Any]]], None] | None = None,
    on_turn: Callable[[int, int, int], None] | None = None,
) -> tuple[list[dict[str, Any]], RolloutStats]:
    """Play every instance to the end; returns the finished records (in finishing order) and stats.

    Each turn makes one ``generate`` (or ``complete``) call over all live episodes, or one per
    ``max_batch`` chunk. With ``memoize`` (greedy decoding of a backend that is a pure function of the chat),
    an episode whose prompt repeats one it already answered (an invalid move or a push into a wall leaves the
    board unchanged) reuses that answer instead of asking again; such turns are marked ``reused``.
    ``on_finish`` receives the records finished by each call (before the next call starts);
    ``on_turn(turn, live, finished)`` reports progress. A failing backend call raises ``EvalInterrupted``
    after the episodes finished so far have been handed to ``on_finish``.
    """
    if max_batch is not None and max_batch < 1:
        raise ValueError(f"max_batch must be >= 1, got {max_batch}")
    if memoize and not sampling.is_greedy:
        raise ValueError("memoize only holds for greedy decoding: a sampled answer is not a function of the prompt")
    stats = RolloutStats()
    start = time.perf_counter()
    live = [Episode.start(inst, template, response_format) for inst in instances]
    use_complete = accepts_seeds(backend)
    seeded = use_complete and not sampling.is_greedy
    finished: list[dict[str, Any]] = []

    def play(episode: Episode, text: str, extra: dict[str, Any], done_now: list[dict[str, Any]]) -> None:
        episode.advance(text, extra)
        stats.turn_steps += 1
        if episode.done:
            done_now.append(episode.record())

    def hand_over(done_now: list[dict[str, Any]]) -> None:
        finished.extend(done_now)
        if on_finish is not None and done_now:
            on_finish(done_now)

    turn = 0
    while live:
        turn += 1
        waiting, done_now = [], []
        for episode in live:
            hit = episode.memo.get(episode.key()) if memoize else None
            if hit is None:
                waiting.append(episode)
            else:
                stats.reused += 1
                play(episode, hit[0], {**hit[1], "reused": True}, done_now)
        hand_over(done_now)
        size = max_batch or max(len(waiting), 1)
        for chunk_index, offset in enumerate(range(0, len(waiting), size)):
            chunk = waiting[offset : offset + size]
            seeds = [sample_seed(sampling.seed, e.instance.id, turn) for e in chunk] if seeded else None
            call_seed = derive_seed("sftgen.eval.call", sampling.seed, turn, chunk_index) & _INT31
            try:
                answers = _generate(backend, chunk, sampling, use_complete, seeds, call_seed)
            except Exception as err:
                unfinished = sum(not e.done for e in live)
                raise EvalInterrupted(
                    f"the backend failed on turn {turn} ({type(err).__name__}: {err}); {len(finished)} finished "
                    f"episodes are saved, {unfinished} are not scored: run again to resume",
                    len(finished),
                    unfinished,
                ) from err
            stats.calls += 1
            stats.call_sizes.append(len(chunk))
            done_now = []
            for row, (episode, (text, extra)) in enumerate(zip(chunk, answers, strict=True)):
                if memoize:
                    episode.memo[episode.key()] = (text, extra)
                if seeds is not None:
                    extra = {**extra, "sample_seed": seeds[row]}
                play(episode, text, extra, done_now)
            hand_over(done_now)
        live = [e for e in live if not e.done]
        if on_turn is not None:
            on_turn(turn, len(live), len(finished))
    stats.episodes = len(finished)
    stats.seconds = time.perf_counter() - start
    return finished, stats
