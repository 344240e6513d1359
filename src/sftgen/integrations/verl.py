"""sftgen splits as verl RL data, and the verifier as verl's ``compute_score`` (extra ``verl``).

``sftgen export verl --split <task>/<split>,<task> --out train.parquet`` writes verl's RL parquet layout:
``data_source`` (``sftgen_<task>_<split>``), ``prompt`` (chat messages), ``ability`` (the task),
``reward_model`` (``style`` "rule", ``ground_truth`` as a JSON string, so that every task's rows share one
parquet schema) and ``extra_info`` (split, index, id, variant, difficulty, category). Point verl at the scorer
with ``reward.custom_reward_function.path=<this file> reward.custom_reward_function.name=compute_score``.

Scored this way, a multi-turn task's row (Sokoban, keys) is the start state's first move, scored by the task's
verifier (1 for an optimal move): verl's default ``single_turn_agent``. The same rows play whole episodes through
the agent loop in ``sftgen.integrations.verl_agent_loop`` (``sftgen_episode``: the task's environment dealt from
``ground_truth``, one move per turn, reward 1 when the episode ends solved); select it with
``actor_rollout_ref.rollout.agent.agent_loop_config_path`` and ``...agent.default_agent_loop=sftgen_episode``
(docs/integrations.md has the recipe). The rows are the same for both.

This module imports nothing from verl: the parquet is plain pyarrow and ``compute_score`` a plain function, so
exporting needs no verl install, and verl loads the function by file path in its own workers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sftgen.integrations.items import Item, make_items, score, stack_name
from sftgen.splits import Split, resolve_splits

REWARD_STYLE = "rule"


def verl_row(item: Item) -> dict[str, Any]:
    """One item in verl's RL layout."""
    return {
        "data_source": stack_name(item.split),
        "prompt": item.prompt,
        "ability": item.task,
        "reward_model": {"style": REWARD_STYLE, "ground_truth": json.dumps(item.ground_truth, ensure_ascii=False)},
        "extra_info": item.info(),
    }


def export_verl(
    split_names: Sequence[str] | str,
    out: Path,
    size: int | None = None,
    seed: int | None = None,
    template: str = "study",
    response_format: str = "answer",
) -> list[Split]:
    """Write the items of the named splits/groups (each its first ``size``) to ``out`` as one parquet file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    splits = resolve_splits(split_names, size)
    rows = [verl_row(item) for s in splits for item in make_items(s, None, seed, template, response_format)]
    out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), out)
    return splits


def compute_score(
    data_source: str,
    solution_str: str,
    ground_truth: str | Mapping[str, Any],
    extra_info: Mapping[str, Any] | None = None,
    **_kwargs: Any,
) -> dict[str, float]:
    """verl's reward signature: ``score`` is the study's reward (the task's ``Outcome.reward``), ``acc`` 1/0."""
    truth = json.loads(ground_truth) if isinstance(ground_truth, str) else ground_truth
    verdict = score(solution_str, truth)
    return {"score": verdict.reward, "acc": float(verdict.success)}
