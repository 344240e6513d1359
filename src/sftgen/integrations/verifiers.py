"""sftgen's splits as a taskset of PrimeIntellect's ``verifiers`` (v1 API, extra ``verifiers``).

This module is a verifiers taskset plugin: it exports exactly one ``vf.Taskset`` subclass in ``__all__``.
verifiers imports a taskset by a top-level module name (``--env.taskset.id <name>``), so importing this module
also registers it as ``sftgen_verifiers``; :func:`load_environment` and :func:`load_taskset` go through
verifiers' own loaders with that id. Each task is one
single-turn item (General Points, or Sokoban's first move) with sftgen's prompt; its rubric is sftgen's verifier:

* reward ``sftgen_reward``: the study's reward of the model's last reply (``sftgen.integrations.items.score``:
  Points 5 / -1 / -2 / -3 under the *scored* face values, Sokoban 1 for an optimal first move in the *checked*
  words, so fake splits score what the study scores), weight 1;
* metric ``solved``: 1 for a correct formula / optimal first move, else 0.

Choose the split with ``--env.taskset.split points/fake`` and optionally ``variant``, ``difficulty``, ``size``
and ``seed`` (fresh puzzles of the same kind). Whole Sokoban episodes are served by the OpenEnv adapter, which
verifiers' own ``openenv`` taskset plays with ``--env.taskset.base_url`` (docs/integrations.md).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import httpx
import verifiers.v1 as vf
from verifiers.v1.dialects.chat import message_to_wire

from sftgen.integrations.items import make_items, resolve_split, score

TASKSET_ID = "sftgen_verifiers"
"""What ``--env.taskset.id`` names to load this taskset: verifiers resolves an id to a top-level module (or one
of its own), never to a dotted path, so the module is registered under this name when it is imported."""
sys.modules.setdefault(TASKSET_ID, sys.modules[__name__])

__all__ = ["SftgenReplyHarness", "SftgenTaskset"]


class SftgenTasksetConfig(vf.TasksetConfig):
    """Which sftgen items the taskset yields (``--env.taskset.<field>``)."""

    split: str = "points/id"
    size: int | None = None
    """First ``size`` items (default: the split's own size)."""
    seed: int | None = None
    """Fresh puzzles of the split's kind drawn from this seed instead of the frozen split."""
    variant: str | None = None
    difficulty: str | None = None
    template: str = "study"
    response_format: str = "answer"


class SftgenData(vf.TaskData):
    """One item: sftgen's prompt (``prompt``) plus what its verifier checks."""

    split: str
    index: int
    ground_truth: dict[str, Any]
    reference: str


class SftgenTask(vf.Task[SftgenData, vf.State, vf.TaskConfig]):
    """One item, scored by sftgen's own verifier on the model's last reply."""

    @property
    def key(self) -> str:
        """The item id (``points/fake#3``): durable across runs, unlike the content hash with ``idx``."""
        return self.data.id or self.hash

    @vf.reward
    async def sftgen_reward(self, task: SftgenData, trace: vf.Trace) -> float:
        """The study's reward of the reply."""
        return float(score(trace.last_reply, task.ground_truth).reward)

    @vf.metric
    async def solved(self, task: SftgenData, trace: vf.Trace) -> float:
        """1 when the reply solves the item (a correct formula, an optimal first move)."""
        return float(score(trace.last_reply, task.ground_truth).success)


class SftgenTaskset(vf.Taskset[SftgenTask, SftgenTasksetConfig]):
    """The items of one split (or a variant/difficulty override of it)."""

    def load(self) -> Iterator[SftgenTask]:
        config = self.config
        split = resolve_split(config.split, config.variant, config.difficulty)
        for item in make_items(split, config.size, config.seed, config.template, config.response_format):
            data = SftgenData(
                id=item.id,
                name=item.id,
                prompt=item.prompt[-1]["content"],
                split=item.split,
                index=item.index,
                ground_truth=item.ground_truth,
                reference=item.reference,
            )
            yield SftgenTask(data, config.task)


class SftgenReplyHarnessConfig(vf.HarnessConfig):
    """Settings of :class:`SftgenReplyHarness`."""

    request_timeout_s: float = 600.0


class SftgenReplyHarness(vf.Harness[SftgenReplyHarnessConfig]):
    """The taskset's default harness: one chat request with sftgen's prompt, sent in process.

    Why not verifiers' ``null`` chat program: it runs as a uv script in a runtime, which builds its own
    environment from the network on first use; a single-turn item needs one model call and no tools. verifiers
    allows an in-process loop as long as every model call goes through the rollout's interception ``endpoint``,
    which records it on the trace.
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
            messages += [message_to_wire(m) for m in prompt or []]
        async with httpx.AsyncClient(timeout=self.config.request_timeout_s) as http:
            response = await http.post(
                f"{endpoint.rstrip('/')}/chat/completions",
                headers={"Authorization": f"Bearer {secret}"},
                json={"model": ctx.model, "messages": messages},
            )
        ok = response.status_code == 200
        return vf.ProgramResult(exit_code=0 if ok else 1, stdout="", stderr="" if ok else response.text[-2000:])


def taskset_config(split: str = "points/id", **fields: Any) -> SftgenTasksetConfig:
    """The taskset config for ``split`` (fields: ``size``, ``seed``, ``variant``, ``difficulty``, ...)."""
    return SftgenTasksetConfig(id=TASKSET_ID, split=split, **fields)


def load_taskset(split: str = "points/id", **fields: Any) -> SftgenTaskset:
    """The taskset through verifiers' own loader (``vf.load_taskset``), as ``--env.taskset.id`` loads it."""
    return vf.load_taskset(taskset_config(split, **fields))  # type: ignore[return-value]


def load_environment(split: str = "points/id", agent: vf.AgentConfig | None = None, **fields: Any) -> vf.Env:
    """A single-agent verifiers environment over ``split`` (the ``load_environment`` convention).

    The agent runs locally by default (a subprocess runtime, which the in-process harness leaves idle): verifiers'
    own default is a remote Prime sandbox reached through a tunnel.
    """
    agent = agent or vf.AgentConfig(runtime=vf.SubprocessConfig())
    return vf.load_environment(vf.SingleAgentEnvConfig(taskset=taskset_config(split, **fields), agent=agent))
