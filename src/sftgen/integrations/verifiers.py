"""sftgen's splits as a taskset of PrimeIntellect's ``verifiers`` (v1 API, extra ``verifiers``).

This module is a verifiers taskset plugin: it exports one ``vf.Taskset``, one ``vf.Env`` and one ``vf.Harness``
subclass in ``__all__``. verifiers imports a plugin by a top-level module name (``--env.taskset.id <name>``), so
importing this module also registers it as ``sftgen_verifiers``; :func:`load_environment` and
:func:`load_taskset` go through verifiers' own loaders with that id. Each task is one item of a split of any
registered sftgen task, with sftgen's prompt; its rubric is the task's own verifier:

* single-turn (``max_turns=1``, the default; a multi-turn task's first move): reward ``sftgen_reward`` is the
  study's reward of the model's reply (``sftgen.integrations.items.score``, ``Task.verify`` on the *checked*
  side of the variant, so fake splits score what the study scores), weight 1; metric ``solved`` is 1 when the
  verifier calls the reply a success (a correct formula, an optimal move);
* multi-turn (``max_turns`` > 1, for tasks whose episodes last more than one turn): :class:`SftgenEnv` plays the
  episode through the task's own environment, one move per turn, each turn sending the study's fresh prompt of
  the current state (the harness sends only the latest user message, so the conversation is not grown);
  ``sftgen_reward`` and ``solved`` are 1 when the episode ends solved, and metrics ``turns`` and ``env_reward``
  (the environment's summed step rewards) are kept.

Choose the split with ``--env.taskset.split <task>/<split>`` and optionally ``variant``, ``difficulty``, ``size``,
``seed`` (fresh puzzles of the same kind) and ``max_turns``.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import verifiers.v1 as vf
from pydantic import Field
from verifiers.v1.dialects.chat import message_to_wire

from sftgen.integrations.items import DEFAULT_SPLIT, make_items, resolve_split, score, start_episode, turn_budget

TASKSET_ID = "sftgen_verifiers"
"""What ``--env.taskset.id`` names to load this taskset: verifiers resolves an id to a top-level module (or one
of its own), never to a dotted path, so the module is registered under this name when it is imported."""
sys.modules.setdefault(TASKSET_ID, sys.modules[__name__])
EPISODE_KEY = "sftgen_episode"
"""``trace.info`` key of a played episode (success, the environment's summed reward, each move)."""

__all__ = ["SftgenEnv", "SftgenReplyHarness", "SftgenTaskset"]


class SftgenTasksetConfig(vf.TasksetConfig):
    """Which sftgen items the taskset yields (``--env.taskset.<field>``)."""

    split: str = DEFAULT_SPLIT
    size: int | None = None
    """First ``size`` items (default: the split's own size)."""
    seed: int | None = None
    """Fresh puzzles of the split's kind drawn from this seed instead of the frozen split."""
    variant: str | None = None
    difficulty: str | None = None
    template: str = "study"
    response_format: str = "answer"
    max_turns: int = 1
    """1 scores the first reply; more plays the episode, up to this many moves (at most the task's own budget; a
    single-turn task always gets 1)."""


class SftgenData(vf.TaskData):
    """One item: sftgen's prompt (``prompt``), what its verifier checks, and how to rebuild its environment."""

    split: str
    index: int
    ground_truth: dict[str, Any]
    reference: str
    source: dict[str, Any]
    """The taskset fields the item came from (split, variant, difficulty, seed, template, response_format)."""
    max_turns: int = 1


class SftgenTask(vf.Task[SftgenData, vf.State, vf.TaskConfig]):
    """One item, scored by sftgen's own verifier on the model's last reply."""

    @property
    def key(self) -> str:
        """The item id (``<task>/<split>#3``): durable across runs, unlike the content hash with ``idx``."""
        return self.data.id or self.hash

    @vf.reward
    async def sftgen_reward(self, task: SftgenData, trace: vf.Trace) -> float:
        """The study's reward of the reply; for a played episode, 1 when it ends solved."""
        if EPISODE_KEY in trace.info:
            return float(trace.info[EPISODE_KEY]["success"])
        return float(score(trace.last_reply, task.ground_truth).reward)

    @vf.metric
    async def solved(self, task: SftgenData, trace: vf.Trace) -> float:
        """1 when the reply solves the item (the verifier's success), or the played episode ends solved."""
        if EPISODE_KEY in trace.info:
            return float(trace.info[EPISODE_KEY]["success"])
        return float(score(trace.last_reply, task.ground_truth).success)

    @vf.metric
    async def turns(self, trace: vf.Trace) -> dict[str, float]:
        """A played episode's moves and the environment's summed step rewards."""
        episode = trace.info.get(EPISODE_KEY)
        if episode is None:
            return {"turns": 1.0, "env_reward": 0.0}
        return {"turns": float(len(episode["moves"])), "env_reward": float(episode["env_reward"])}


class SftgenTaskset(vf.Taskset[SftgenTask, SftgenTasksetConfig]):
    """The items of one split (or a variant/difficulty override of it)."""

    def load(self) -> Iterator[SftgenTask]:
        config = self.config
        split = resolve_split(config.split, config.variant, config.difficulty)
        source = {"split": config.split, "variant": config.variant, "difficulty": config.difficulty}
        source |= {"seed": config.seed, "template": config.template, "response_format": config.response_format}
        max_turns = min(config.max_turns, turn_budget(split))
        for item in make_items(split, config.size, config.seed, config.template, config.response_format):
            data = SftgenData(
                id=item.id,
                name=item.id,
                prompt=item.prompt[-1]["content"],
                split=item.split,
                index=item.index,
                ground_truth=item.ground_truth,
                reference=item.reference,
                source=source,
                max_turns=max_turns,
            )
            yield SftgenTask(data, config.task)


class SftgenEnvConfig(vf.EnvConfig):
    """:class:`SftgenEnv`'s one seat, ``agent`` (``--env.agent.*``), as in verifiers' single-agent env."""

    agent: vf.AgentConfig = vf.AgentConfig()


class SftgenEnv(vf.Env[SftgenEnvConfig]):
    """One item per episode: a single reply, or (``max_turns`` > 1) the episode played move by move."""

    async def run(self, task: vf.Task, agents: vf.Agents) -> None:
        data = task.data
        if data.max_turns <= 1:
            await agents.agent.run(task)
            return
        source = data.source
        split = resolve_split(source["split"], source["variant"], source["difficulty"])
        env = start_episode(
            split, data.index, source["seed"], source["template"], source["response_format"], data.max_turns
        )
        moves: list[dict[str, Any]] = []
        env_reward, info = 0.0, {"success": False}
        async with agents.agent.interaction(task) as interaction:
            segment = await interaction.turn()  # the task's prompt (the start state) opens the exchange
            while not segment.terminated:
                _, reward, terminated, truncated, info = env.step(segment.last_reply)
                env_reward += reward
                moves.append({"answer": segment.last_reply, "valid": info["valid"], "reason": info["reason"]})
                if terminated or truncated:
                    break
                segment = await interaction.turn(env.observation()[-1]["content"])
            episode = {"success": bool(info["success"]), "env_reward": env_reward, "moves": moves}
            interaction.trace.info[EPISODE_KEY] = episode  # read by the task's rubric when the exchange closes


class SftgenReplyHarnessConfig(vf.HarnessConfig):
    """Settings of :class:`SftgenReplyHarness`."""

    request_timeout_s: float = 600.0
    max_retries: int = Field(2, ge=0)
    """Retries of a model call the interception server answers with 429 or 5xx (a provider failure it relays so
    the harness retries it, as the OpenAI SDK does) or that fails in transport."""
    retry_backoff_s: float = Field(0.5, ge=0.0)
    """The first retry's wait; each further one waits twice as long."""


class SftgenReplyHarness(vf.Harness[SftgenReplyHarnessConfig]):
    """The taskset's default harness: one chat request with sftgen's prompt, sent in process.

    Why not verifiers' ``null`` chat program: it runs as a uv script in a runtime, which builds its own
    environment from the network on first use; an sftgen turn needs one model call and no tools. verifiers
    allows an in-process loop as long as every model call goes through the rollout's interception ``endpoint``,
    which records it on the trace. A resumed exchange (the next move) sends only the latest user message: the
    study's protocol is a fresh prompt of the current state each turn, not a growing conversation.
    """

    APPENDS_SYSTEM_PROMPT = True
    SUPPORTS_RESUME = True
    EXECUTES_CODE = False
    NEEDS_CONTAINER = False

    async def launch(
        self,
        ctx: vf.ModelContext,
        trace: vf.Trace,
        runtime: vf.Runtime,
        endpoint: str,
        secret: str,
        mcp_urls: dict[str, str],
        data: vf.TaskData,
        **_: Any,
    ) -> vf.ProgramResult:
        system, prompt = self.resolve_prompt(data)
        messages: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
        if isinstance(prompt, str):
            messages.append({"role": "user", "content": prompt})
        else:
            users = [m for m in prompt or [] if m.role == "user"]
            messages += [message_to_wire(m) for m in users[-1:]]
        request = {
            "url": f"{endpoint.rstrip('/')}/chat/completions",
            "headers": {"Authorization": f"Bearer {secret}"},
            "json": {"model": ctx.model, "messages": messages},
        }
        async with httpx.AsyncClient(timeout=self.config.request_timeout_s) as http:
            status, text = await self._post_with_retries(http, request)
        ok = status == 200
        return vf.ProgramResult(exit_code=0 if ok else 1, stdout="", stderr="" if ok else text[-2000:])

    async def _post_with_retries(self, http: httpx.AsyncClient, request: dict[str, Any]) -> tuple[int, str]:
        """The call's final status and body. Why retry here: verifiers relays a provider's 5xx/429 (a dropped
        keep-alive connection, an overloaded server) to the harness for the harness to retry; the interception
        server clears the call's error when the retry arrives, so one lost connection does not fail an episode."""
        wait, retries_left = self.config.retry_backoff_s, self.config.max_retries
        while True:
            try:
                response = await http.post(**request)
                status, text = response.status_code, response.text
            except httpx.TransportError as error:
                status, text = 599, f"{type(error).__name__}: {error}"
            if retries_left == 0 or not (status == 429 or status >= 500):
                return status, text
            await asyncio.sleep(wait)
            wait, retries_left = wait * 2, retries_left - 1


def taskset_config(split: str = DEFAULT_SPLIT, **fields: Any) -> SftgenTasksetConfig:
    """The taskset config for ``split`` (fields: ``size``, ``seed``, ``variant``, ``difficulty``, ...)."""
    return SftgenTasksetConfig(id=TASKSET_ID, split=split, **fields)


def load_taskset(split: str = DEFAULT_SPLIT, **fields: Any) -> SftgenTaskset:
    """The taskset through verifiers' own loader (``vf.load_taskset``), as ``--env.taskset.id`` loads it."""
    return vf.load_taskset(taskset_config(split, **fields))  # type: ignore[return-value]


def load_environment(split: str = DEFAULT_SPLIT, agent: vf.AgentConfig | None = None, **fields: Any) -> vf.Env:
    """A verifiers environment (:class:`SftgenEnv`) over ``split`` (the ``load_environment`` convention).

    The agent runs locally by default (a subprocess runtime, which the in-process harness leaves idle): verifiers'
    own default is a remote Prime sandbox reached through a tunnel.
    """
    agent = agent or vf.AgentConfig(runtime=vf.SubprocessConfig())
    return vf.load_environment(SftgenEnvConfig(taskset=taskset_config(split, **fields), agent=agent))
