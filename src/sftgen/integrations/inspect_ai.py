"""sftgen splits as inspect_ai tasks (extra ``inspect``), played as in ``sftgen eval``.

Installed with sftgen, the ``inspect_ai`` entry point registers one task per split of every registered sftgen
task, named after it (``sftgen/<task>_<split>``), plus ``sftgen/split`` for any split, variant and difficulty::

    inspect eval sftgen/sokoban_numerical --model openai/sftgen -M base_url=http://127.0.0.1:8000/v1
    inspect eval sftgen/split -T split=<task>/<split> -T variant=<variant> -T difficulty=<difficulty> --model ...

Each sample is one episode played through the task's own environment (``Task.make_env``, through
``sftgen.integrations.items.start_episode``): every turn a fresh stateless prompt of the current state (the
study's protocol, so the conversation is not grown), up to ``max_turns`` (default and ceiling: the task's own
budget; a single-turn task plays one turn). The scorer reads the environment's verdict, so a sample is solved
exactly when ``sftgen eval`` would call the same answers a success. The per-turn answers, whether each was valid
and the study's reward are kept in the sample's metadata (``sftgen``) for inspect's log viewer, beside the start
state (``state``, the task's ``state_data``).
"""

from __future__ import annotations

from typing import Any

from inspect_ai import Task, task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import ChatMessageUser
from inspect_ai.scorer import Score, Target, accuracy, scorer, stderr
from inspect_ai.solver import Generate, TaskState, solver

from sftgen.integrations.items import DEFAULT_SPLIT, PREFIX, make_item, resolve_split, stack_name, start_episode
from sftgen.splits import SPLITS, Split

METADATA_KEY = "sftgen"


@solver
def play_episode(
    split: Split, seed: int | None, template: str, response_format: str, max_turns: int | None = None
) -> Any:
    """Play the sample's episode: prompt the model with the current state, step the environment, repeat."""

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        env = start_episode(split, state.metadata["index"], seed, template, response_format, max_turns)
        observation, turns, total, done = env.observation(), [], 0.0, False
        info: dict[str, Any] = {}
        while not done:
            state.messages = [ChatMessageUser(content=m["content"]) for m in observation]
            state = await generate(state)
            observation, reward, terminated, truncated, info = env.step(state.output.completion)
            total += reward
            done = terminated or truncated
            turns.append({"answer": state.output.completion, "valid": info["valid"], "reason": info["reason"]})
        state.metadata[METADATA_KEY] = {"success": info["success"], "reward": total, "turns": turns}
        return state

    return solve


@scorer(metrics=[accuracy(), stderr()])
def episode_success() -> Any:
    """1 when the environment ended the episode solved, as ``sftgen eval`` counts success."""

    async def score(state: TaskState, target: Target) -> Score:
        episode = state.metadata.get(METADATA_KEY)
        if episode is None:
            return Score(value=0.0, explanation="the episode was not played")
        last = episode["turns"][-1]
        return Score(
            value=1.0 if episode["success"] else 0.0,
            answer=last["answer"],
            explanation=f"{len(episode['turns'])} turn(s); last: {last['reason']}",
            metadata={"reward": episode["reward"], "turns": len(episode["turns"])},
        )

    return score


def split_task(
    split: str = DEFAULT_SPLIT,
    n: int | None = None,
    seed: int | None = None,
    variant: str | None = None,
    difficulty: str | None = None,
    template: str = "study",
    response_format: str = "answer",
    max_turns: int | None = None,
) -> Task:
    """A split (optionally with another variant/difficulty, or fresh puzzles from ``seed``) as an inspect Task."""
    resolved = resolve_split(split, variant, difficulty)
    samples = []
    for index in range(n or resolved.size):
        item = make_item(resolved, index, seed, template, response_format)
        meta = {**item.info(), "ground_truth": item.ground_truth, "state": item.state}
        samples.append(Sample(id=item.id, input=item.question, target=item.reference, metadata=meta))
    return Task(
        dataset=MemoryDataset(samples, name=stack_name(resolved)),
        solver=play_episode(resolved, seed, template, response_format, max_turns),
        scorer=episode_success(),
        name=stack_name(resolved),
    )


task(name="split")(split_task)


def _named_split_task(name: str) -> Any:
    def named(
        n: int | None = None,
        seed: int | None = None,
        template: str = "study",
        response_format: str = "answer",
        max_turns: int | None = None,
    ) -> Task:
        return split_task(name, n, seed, None, None, template, response_format, max_turns)

    named.__name__ = stack_name(name).removeprefix(PREFIX)
    named.__doc__ = f"The sftgen split {name} (n: first N instances; seed: fresh puzzles of its kind)."
    return task(name=named.__name__)(named)


TASKS: dict[str, Any] = {name: _named_split_task(name) for name in SPLITS}
