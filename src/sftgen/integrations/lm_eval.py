"""sftgen's splits as an lm-evaluation-harness task group (extra ``lm-eval``), single-turn.

Every split of every registered task becomes a ``generate_until`` task, ``sftgen_<task>_<split>``: a single-turn
task's one answer, or a multi-turn task's *first move* from the start state (lm-eval tasks are one prompt, one
generation, so whole episodes are left to the OpenEnv, inspect and verifiers adapters). ``process_results``
scores each generation with the task's own verifier (``sftgen.integrations.items.score``), so the metrics are what
``sftgen eval`` counts:

* ``solved``: 1 when the verifier calls the answer a success (a correct formula, an optimal move in the
  *checked* words and rules: fake splits check other words, rules or values than the prompt declares), else 0;
* ``reward``: the study's reward (the task's ``Outcome.reward``).

Groups: ``sftgen`` (every split) and ``sftgen_<task>`` per task (tags). The documents are built in process
(``custom_dataset``), so nothing is downloaded. Two ways in::

    python -m sftgen.integrations.lm_eval tasks/sftgen            # writes the YAML files
    lm_eval --model hf --model_args pretrained=runs/sft/final --include_path tasks/sftgen --tasks sftgen_points \\
        --apply_chat_template

    lm_eval.simple_evaluate(model=lm, tasks=[task_config("<task>/<split>", size=100)])   # config dicts, no files

The prompt is sftgen's single user message; pass ``--apply_chat_template`` (``apply_chat_template=True``) for
a chat model, as ``sftgen eval`` sends it as a chat.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

from sftgen.integrations.items import DEFAULT_SPLIT, PREFIX, make_items, resolve_split, score, stack_name
from sftgen.splits import SPLITS, get_split

METRICS = ("solved", "reward")
MAX_GEN_TOKS = 512
HOOKS = "sftgen.integrations.lm_eval"


def load_docs(
    split: str = DEFAULT_SPLIT,
    size: int | None = None,
    seed: int | None = None,
    variant: str | None = None,
    difficulty: str | None = None,
    template: str = "study",
    response_format: str = "answer",
    **_metadata: Any,
) -> Any:
    """lm-eval's ``custom_dataset``: a ``DatasetDict`` whose ``test`` split holds the items as documents."""
    from datasets import Dataset, DatasetDict

    resolved = resolve_split(split, variant, difficulty)
    docs = [
        {
            "id": item.id,
            "split": item.split,
            "prompt": item.prompt[-1]["content"],
            "reference": item.reference,
            "ground_truth": json.dumps(item.ground_truth, ensure_ascii=False),
        }
        for item in make_items(resolved, size, seed, template, response_format)
    ]
    return DatasetDict({"test": Dataset.from_list(docs)})


def doc_to_text(doc: dict[str, Any]) -> str:
    """The prompt ``sftgen eval`` sends (one user message)."""
    return doc["prompt"]


def doc_to_target(doc: dict[str, Any]) -> str:
    """The reference answer (used only for few-shot examples)."""
    return doc["reference"]


def process_results(doc: dict[str, Any], results: Sequence[str]) -> dict[str, float]:
    """Score the generation with sftgen's verifier: ``solved`` (0/1) and the study's ``reward``."""
    verdict = score(results[0], json.loads(doc["ground_truth"]))
    return {"solved": float(verdict.success), "reward": float(verdict.reward)}


def _metric_list() -> list[dict[str, Any]]:
    return [{"metric": m, "aggregation": "mean", "higher_is_better": True} for m in METRICS]


def _base_config(name: str, dataset_kwargs: dict[str, Any], tags: list[str]) -> dict[str, Any]:
    return {
        "task": name,
        "tag": tags,
        "dataset_kwargs": dataset_kwargs,
        "test_split": "test",
        "output_type": "generate_until",
        "target_delimiter": "",
        "generation_kwargs": {"until": [], "max_gen_toks": MAX_GEN_TOKS, "do_sample": False},
        "metric_list": _metric_list(),
        "metadata": {"version": 1.0},
    }


def task_config(
    split: str,
    size: int | None = None,
    seed: int | None = None,
    variant: str | None = None,
    difficulty: str | None = None,
    template: str = "study",
    response_format: str = "answer",
) -> dict[str, Any]:
    """One split as an lm-eval task config dict (pass it in ``simple_evaluate(tasks=[...])``)."""
    resolved = resolve_split(split, variant, difficulty)
    kwargs = {"split": split, "size": size, "seed": seed, "variant": variant, "difficulty": difficulty}
    kwargs |= {"template": template, "response_format": response_format}
    name = stack_name(resolved).replace("@", "_at_").replace("-", "_") + ("" if seed is None else f"_seed{seed}")
    config = _base_config(name, {k: v for k, v in kwargs.items() if v is not None}, [f"{PREFIX}{resolved.task}"])
    return config | {
        "custom_dataset": load_docs,
        "doc_to_text": doc_to_text,
        "doc_to_target": doc_to_target,
        "process_results": process_results,
    }


def _yaml_config(split: str) -> dict[str, Any]:
    config = _base_config(stack_name(split), {"split": split}, [f"{PREFIX}{get_split(split).task}"])
    hooks = ("custom_dataset", "load_docs"), ("doc_to_text", "doc_to_text"), ("doc_to_target", "doc_to_target")
    hooks += (("process_results", "process_results"),)
    return config | {key: _Function(f"{HOOKS}.{fn}") for key, fn in hooks}


class _Function(str):
    """A ``!function`` reference in a task YAML."""


def _function_representer(dumper: yaml.Dumper, value: _Function) -> yaml.Node:
    return dumper.represent_scalar("!function", str(value))


def write_task_yamls(directory: str | Path, splits: Iterable[str] | None = None) -> list[Path]:
    """Write one task YAML per split and the ``sftgen`` group, for ``lm_eval --include_path``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    names = list(splits) if splits is not None else list(SPLITS)
    dumper = type("SftgenDumper", (yaml.SafeDumper,), {})
    dumper.add_representer(_Function, _function_representer)
    written = []
    for split in names:
        path = directory / f"{stack_name(split)}.yaml"
        path.write_text(yaml.dump(_yaml_config(split), Dumper=dumper, sort_keys=False))
        written.append(path)
    group = {
        "group": "sftgen",
        "task": [stack_name(s) for s in names],
        "aggregate_metric_list": [{"metric": m, "aggregation": "mean", "weight_by_size": True} for m in METRICS],
        "metadata": {"version": 1.0},
    }
    path = directory / "_sftgen.yaml"
    path.write_text(yaml.dump(group, sort_keys=False))
    return [*written, path]


def main(argv: list[str] | None = None) -> None:
    """Write sftgen's lm-eval task YAMLs into a folder for ``--include_path``."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("directory")
    parser.add_argument("--splits", help="comma-separated split names (default: every split)")
    args = parser.parse_args(argv)
    paths = write_task_yamls(args.directory, args.splits.split(",") if args.splits else None)
    print(f"wrote {len(paths)} files to {args.directory}")


if __name__ == "__main__":
    main()
