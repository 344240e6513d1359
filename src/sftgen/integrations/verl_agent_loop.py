"""Whole episodes in verl: an agent loop that plays a ``sftgen export verl`` row in the task's own environment.

verl 0.9.1 plays multi-turn rollouts only through its agent loop (``verl.experimental.agent_loop``): each dataset
row goes to the ``AgentLoopBase`` subclass its ``agent_name`` names (``rollout.agent.default_agent_loop`` when the
row has none), which talks to the rollout server through ``server_manager.generate`` and returns one token
sequence with a response mask. :class:`SftgenEpisodeAgentLoop` (registered as ``sftgen_episode``):

* deals the row's environment from its ``reward_model.ground_truth`` (the task's check data, as the export writes
  it) with ``Task.check_env``: the prompt text is never parsed. The row's ``raw_prompt`` must be the prompt that
  environment opens with; it is not when the export's ``--template``/``--response-format`` differ from the loop's
  ``template``/``response_format``, and rows of a fake split (declared words or rules ≠ checked ones, which an
  honest environment would declare from the second turn on) are refused, as the TRL episode reward refuses them;
* each turn sends the conversation so far (verl's Continuous Token builder), appends the model's tokens
  (``response_mask`` 1), plays the decoded reply as the environment's step, and appends the environment's next
  prompt as a user message (``response_mask`` 0). The conversation grows: verl trains on one token sequence per
  episode, unlike the study's evaluation, which sends only the fresh prompt each turn;
* ends when the environment ends the episode (solved, or its own truncation), after ``max_turns`` moves (the
  task's turn budget for the row's difficulty, lowered by the loop's ``max_turns`` and
  ``rollout.multi_turn.max_assistant_turns``), or when the next move no longer fits in ``rollout.response_length``
  (a reply cut by that limit is not played);
* sets ``reward_score`` 1.0 when the episode ends solved, else 0.0 (verl then skips its reward manager for the
  row), with ``reward_extra_info`` ``acc`` (the same), ``turns`` and ``env_reward`` (the environment's summed step
  rewards) and the step rewards as ``turn_scores``. A single-turn task's episode is its one answer.

verl runs agent loops in its own Ray workers, so register the loop there by config, not by import::

    # sftgen_agent_loop.yaml
    - name: sftgen_episode
      _target_: sftgen.integrations.verl_agent_loop.SftgenEpisodeAgentLoop

and pass ``actor_rollout_ref.rollout.agent.agent_loop_config_path=sftgen_agent_loop.yaml
actor_rollout_ref.rollout.agent.default_agent_loop=sftgen_episode`` (rows of ``sftgen export verl`` carry no
``agent_name``). Extra keys in that YAML entry (``template``, ``response_format``, ``max_turns``) reach the
constructor. This module imports verl; ``sftgen.integrations.verl`` (the export and ``compute_score``) does not.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import uuid4

from verl.experimental.agent_loop.agent_loop import AgentLoopBase, AgentLoopOutput, register
from verl.utils.profiler import simple_timer

from sftgen.integrations.items import task_and_check
from sftgen.prompts import Chat, PromptStyle
from sftgen.splits import SPLITS
from sftgen.tasks.protocol import Task, TaskEnv

AGENT_NAME = "sftgen_episode"
"""The ``agent_name`` (and ``default_agent_loop``) that routes a row to :class:`SftgenEpisodeAgentLoop`."""
SOLVED, UNSOLVED = 1.0, 0.0


def _chat(messages: Sequence[Mapping[str, Any]]) -> Chat:
    """Messages as plain role/content dicts (verl hands rows over as parquet structs or numpy arrays of them)."""
    return [{"role": str(m["role"]), "content": str(m["content"])} for m in messages]


def episode_env(
    ground_truth: str | Mapping[str, Any], extra_info: Mapping[str, Any], style: PromptStyle, max_turns: int | None
) -> tuple[TaskEnv[Any], int]:
    """The row's environment, dealt from its ground truth, and the turns it gets (the task's budget for the row's
    ``extra_info["difficulty"]``, at most ``max_turns``); a row of a fake split is a ``ValueError``."""
    truth = json.loads(ground_truth) if isinstance(ground_truth, str) else ground_truth
    task, check = task_and_check(truth)
    _refuse_fake(task, extra_info)
    budget = task.difficulties[str(extra_info["difficulty"])].max_turns
    turns = budget if max_turns is None else min(budget, max_turns)
    if turns < 1:
        raise ValueError(f"max_turns must be >= 1, got {max_turns}")
    return task.check_env(check, style, turns), turns


def row_style(extra_info: Mapping[str, Any], template: str, response_format: str) -> PromptStyle:
    """How the row's prompts are written: a registered split's instance keeps its paraphrase (as the export wrote
    its prompt, ``Instance.style``); other rows get the template's first wording."""
    split = SPLITS.get(str(extra_info.get("split")))
    if split is None:
        return PromptStyle(template, 0, response_format)
    return split.instance(int(extra_info["index"])).style(template, response_format)


def _refuse_fake(task: Task[Any], extra_info: Mapping[str, Any]) -> None:
    variant = str(extra_info["variant"])
    if task.variants[variant].fake:
        raise ValueError(
            f"{extra_info.get('split', variant)} is a fake split (declared ≠ checked): its episodes cannot be "
            "replayed honestly, so the sftgen_episode agent loop refuses it; score its first moves with "
            "sftgen.integrations.verl.compute_score (verl's single_turn_agent)"
        )


@register(AGENT_NAME)
class SftgenEpisodeAgentLoop(AgentLoopBase):
    """verl agent loop that plays a row's episode in the task's own environment (see the module docstring)."""

    def __init__(
        self,
        *args: Any,
        template: str = "study",
        response_format: str = "answer",
        max_turns: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        PromptStyle(template, 0, response_format)  # fails early on an unknown template or format
        self.template, self.response_format = template, response_format
        self.response_length = self.rollout_config.response_length
        multi_turn = self.rollout_config.get("multi_turn") or {}
        caps = [c for c in (max_turns, multi_turn.get("max_assistant_turns")) if c]
        self.max_turns = min(caps) if caps else None

    async def run(self, sampling_params: dict[str, Any], **kwargs: Any) -> AgentLoopOutput:
        extra_info = kwargs.get("extra_info") or {}
        style = row_style(extra_info, self.template, self.response_format)
        env, max_turns = episode_env(kwargs["reward_model"]["ground_truth"], extra_info, style, self.max_turns)
        messages = _chat(kwargs["raw_prompt"])
        if messages != env.observation():
            raise ValueError(
                f"row {extra_info.get('id')}: its prompt is not the one its environment opens with. Either it was "
                f"exported with another template or response format than the loop's ({self.template!r}, "
                f"{self.response_format!r}), or its variant declares other words or rules than it checks (as a "
                "variant that declares no words does), which an honest replay would declare from the second turn on"
            )
        metrics: dict[str, Any] = {}
        request_id = uuid4().hex
        token_ids = await self.ct_build_initial_tokens(messages)
        response_mask: list[int] = []
        logprobs: list[float] | None = None
        rewards: list[float] = []
        solved = False
        while True:
            with simple_timer("generate_sequences", metrics):
                output = await self.server_manager.generate(
                    request_id=request_id, prompt_ids=token_ids, sampling_params=sampling_params
                )
            preempted = output.num_preempted if output.num_preempted is not None else 0
            metrics["num_preempted"] = metrics.get("num_preempted", 0) + preempted
            merged, response_mask, logprobs = await self.ct_merge_assistant_token(
                token_ids,
                output.token_ids,
                response_mask,
                logprobs if (logprobs or output.log_probs) else None,
                assistant_logprobs=output.log_probs or None,
            )
            token_ids = merged.token_ids
            if len(response_mask) > self.response_length:
                break  # the reply is cut off in training: the environment does not see it either
            reply = self.tokenizer.decode(output.token_ids, skip_special_tokens=True)
            observation, reward, terminated, truncated, info = env.step(reply)
            rewards.append(float(reward))
            solved = bool(info["success"])
            if terminated or truncated or solved or len(rewards) >= max_turns:
                break
            messages.append({"role": "assistant", "content": reply})
            previous = list(messages)
            messages.append({"role": "user", "content": observation[-1]["content"]})
            merged, mask, merged_logprobs = await self.ct_merge_context_msg(
                previous, messages, token_ids, response_mask, logprobs or None
            )
            if len(mask) >= self.response_length:
                break  # no room left for another move
            token_ids, response_mask = merged.token_ids, mask
            if logprobs:
                logprobs = merged_logprobs or []

        n = len(response_mask)
        extra = {"acc": SOLVED if solved else UNSOLVED, "turns": len(rewards), "env_reward": sum(rewards)}
        response_ids = token_ids[len(token_ids) - n :]
        return AgentLoopOutput(
            prompt_ids=token_ids[: len(token_ids) - n],
            response_ids=response_ids[: self.response_length],
            response_mask=response_mask[: self.response_length],
            response_logprobs=logprobs[: self.response_length] if logprobs else None,
            reward_score=SOLVED if solved else UNSOLVED,
            num_turns=2 * len(rewards) if rewards else 2,
            metrics=metrics,
            extra_fields={"reward_extra_info": extra, "turn_scores": rewards, "tool_rewards": []},
        )
