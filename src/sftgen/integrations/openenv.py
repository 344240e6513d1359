"""sftgen splits as an OpenEnv environment (extra ``openenv``): a server built with openenv-core's ``create_app``
and a typed ``EnvClient``.

Why a wrapper and not a re-implementation: every episode is the task's own environment (``Task.make_env``, through
``sftgen.integrations.items.start_episode``), so a session scores exactly as ``sftgen eval`` does. One server
serves every split of every registered task: ``reset`` picks the episode (``split=``, ``index=``, and optionally
``variant=`` / ``difficulty=`` for a custom split, ``seed=`` for a fresh puzzle of the same kind instead of the
frozen instance), and each ``step`` takes the model's full response. The reward is the environment's:

* a multi-turn task (Sokoban, keys) takes one move per step, the observation is the fresh prompt of the new state
  (the study's protocol), and the episode ends solved or after ``max_turns`` (default and ceiling: the task's own
  turn budget); ``success`` says whether it ended solved;
* a single-turn task (General Points) is one step, rewarded by its verifier under the *checked* side of the
  variant, so fake splits score what the study scores.

Sessions live on OpenEnv's WebSocket route (``/ws``), which :class:`SftgenEnv` uses; its stateless HTTP ``/reset``
and ``/step`` routes build a new environment per request, so they cannot carry an episode past one call. Run it::

    python -m sftgen.integrations.openenv --port 8000 --split <task>/<split>
"""

from __future__ import annotations

import argparse
import uuid
from collections.abc import Callable
from typing import Any

from openenv.core.client_types import StepResult
from openenv.core.env_client import EnvClient
from openenv.core.env_server import Action, Environment, Observation, State, create_app
from openenv.core.env_server.types import EnvironmentMetadata
from pydantic import Field

from sftgen.integrations.items import DEFAULT_SPLIT, Episode, resolve_split, stack_name, start_episode
from sftgen.splits import Split


class SftgenAction(Action):
    """The model's whole response for one turn, parsed by the task's environment."""

    text: str = Field(description="the model's response, e.g. '<answer> Up </answer>'")


class SftgenObservation(Observation):
    """The prompt for the next turn (the study's chat messages) and the verdict on the last response."""

    messages: list[dict[str, str]] = Field(default_factory=list, description="chat prompt of the current state")
    split: str = ""
    instance_id: str = ""
    turn: int = 0
    max_turns: int = 1
    valid: bool | None = Field(default=None, description="whether the last response parsed (None after reset)")
    reason: str = ""
    outcome: str = Field(default="", description="the turn's outcome kind (one of the task's turn_outcomes)")
    success: bool = False


class SftgenState(State):
    """Where the session's episode stands."""

    split: str = ""
    instance_id: str = ""
    index: int = 0
    turn: int = 0
    total_reward: float = 0.0
    success: bool = False
    done: bool = False


class SftgenEnvironment(Environment[SftgenAction, SftgenObservation, SftgenState]):
    """One session's episodes; the constructor's arguments are the defaults each ``reset`` may override."""

    SUPPORTS_CONCURRENT_SESSIONS = True  # each session owns its own sftgen environment, nothing is shared

    def __init__(
        self,
        split: str = DEFAULT_SPLIT,
        variant: str | None = None,
        difficulty: str | None = None,
        template: str = "study",
        response_format: str = "answer",
        max_turns: int | None = None,
    ) -> None:
        super().__init__()
        self.defaults: dict[str, Any] = {
            "split": split,
            "variant": variant,
            "difficulty": difficulty,
            "template": template,
            "response_format": response_format,
            "max_turns": max_turns,
        }
        resolve_split(split, variant, difficulty)  # fail at construction, not at the first reset
        self._episode: Episode | None = None
        self._split: Split | None = None
        self._next_index = 0
        self._state = SftgenState()

    def reset(
        self,
        seed: int | None = None,
        episode_id: str | None = None,
        split: str | None = None,
        index: int | None = None,
        variant: str | None = None,
        difficulty: str | None = None,
        template: str | None = None,
        response_format: str | None = None,
        max_turns: int | None = None,
        **_: Any,
    ) -> SftgenObservation:
        """Start the episode of ``split``'s instance ``index`` (default: the one after the last reset)."""
        given = {"split": split, "variant": variant, "difficulty": difficulty, "template": template}
        given |= {"response_format": response_format, "max_turns": max_turns}
        opts = {k: v if v is not None else self.defaults[k] for k, v in given.items()}
        if split is not None and (variant, difficulty) == (None, None):
            opts["variant"] = opts["difficulty"] = None  # a named split given alone is that split, not a custom one
        self._split = resolve_split(opts["split"], opts["variant"], opts["difficulty"])
        index = self._next_index if index is None else index
        self._next_index = index + 1
        self._episode = start_episode(
            self._split, index, seed, opts["template"], opts["response_format"], opts["max_turns"]
        )
        self._state = SftgenState(
            episode_id=episode_id or str(uuid.uuid4()),
            split=self._split.name,
            instance_id=self._episode.id,
            index=index,
        )
        return self._observation(None, done=False)

    def step(self, action: SftgenAction, timeout_s: float | None = None, **_: Any) -> SftgenObservation:
        """One turn: the task's environment parses and scores ``action.text``."""
        if self._episode is None or self._state.done:
            raise RuntimeError("no episode running: call reset()")
        _, reward, terminated, truncated, info = self._episode.step(action.text)
        state = self._state
        state.step_count += 1
        state.turn = self._episode.turn
        state.total_reward += reward
        state.success = bool(info["success"])
        state.done = terminated or truncated
        return self._observation(
            reward,
            done=state.done,
            valid=info["valid"],
            reason=info["reason"],
            outcome=info["outcome"],
        )

    def _observation(self, reward: float | None, done: bool, **verdict: Any) -> SftgenObservation:
        assert self._episode is not None and self._split is not None
        return SftgenObservation(
            messages=[dict(m) for m in self._episode.observation()],
            split=self._split.name,
            instance_id=self._state.instance_id,
            turn=self._state.turn,
            max_turns=self._episode.max_turns,
            success=self._state.success,
            reward=reward,
            done=done,
            **verdict,
        )

    @property
    def state(self) -> SftgenState:
        return self._state

    def get_metadata(self) -> EnvironmentMetadata:
        return EnvironmentMetadata(
            name=stack_name(self.defaults["split"]),
            description="sftgen split as an OpenEnv environment: reset(split=, index=, variant=, difficulty=, "
            "seed=), step(text=model response); one step per move, up to max_turns.",
            version="1",
        )


def environment_factory(**defaults: Any) -> Callable[[], SftgenEnvironment]:
    """A factory OpenEnv calls once per session; ``defaults`` are :class:`SftgenEnvironment`'s arguments."""
    SftgenEnvironment(**defaults)  # check the arguments once, here

    def make() -> SftgenEnvironment:
        return SftgenEnvironment(**defaults)

    return make


def create_sftgen_app(max_concurrent_envs: int = 64, **defaults: Any) -> Any:
    """openenv-core's FastAPI app (``/ws`` sessions, ``/reset``, ``/step``, ``/state``, ``/schema``, ``/health``)."""
    return create_app(
        environment_factory(**defaults),
        SftgenAction,
        SftgenObservation,
        env_name="sftgen",
        max_concurrent_envs=max_concurrent_envs,
    )


class SftgenEnv(EnvClient[SftgenAction, SftgenObservation, SftgenState]):
    """OpenEnv client of a sftgen server: ``async with SftgenEnv(base_url=url) as env`` or ``.sync()``."""

    def _step_payload(self, action: SftgenAction) -> dict[str, Any]:
        return action.model_dump(exclude={"metadata"})

    def _parse_result(self, payload: dict[str, Any]) -> StepResult[SftgenObservation]:
        observation = SftgenObservation(
            **payload.get("observation", {}), reward=payload.get("reward"), done=payload.get("done", False)
        )
        return StepResult(observation=observation, reward=payload.get("reward"), done=payload.get("done", False))

    def _parse_state(self, payload: dict[str, Any]) -> SftgenState:
        return SftgenState(**payload)


def main(argv: list[str] | None = None) -> None:
    """Serve the environment with uvicorn (``python -m sftgen.integrations.openenv``)."""
    import uvicorn

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--split", default=DEFAULT_SPLIT, help="default split of a reset that names none")
    parser.add_argument("--variant")
    parser.add_argument("--difficulty")
    parser.add_argument("--max-turns", type=int, help="turn cap per episode (default: the task's own budget)")
    parser.add_argument("--max-sessions", type=int, default=64)
    args = parser.parse_args(argv)
    app = create_sftgen_app(
        args.max_sessions,
        split=args.split,
        variant=args.variant,
        difficulty=args.difficulty,
        max_turns=args.max_turns,
    )
    uvicorn.run(app, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
