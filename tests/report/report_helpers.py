"""Build real run folders for report tests: the reference agents stand in for trained checkpoints.

Each (task, method, seed) gets ``eval/<task>/<method>/seed<k>/checkpoint-{1,2}/`` written by the real
``sftgen.eval.evaluate``, a ``curves.json`` in the format of ``sftgen.eval.sweep`` and (mostly) a train log,
and the run folder a ``results.json`` in the experiment runner's schema.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sftgen.eval import evaluate
from sftgen.eval.records import episodes_path, read_records, record_line
from sftgen.io import atomic_write_json
from sftgen.models.sampling import Sampling

SOKOBAN_SPLITS = [
    "sokoban/id",
    "sokoban/alphabetical",
    "sokoban/numerical",
    "sokoban/fake_numerical",
    "sokoban/larger",
    "sokoban/validation",
]
POINTS_SPLITS = ["points/id", "points/all_5", "points/fake", "points/large", "points/validation"]
KEYS_SPLITS = ["keys/id", "keys/numerical", "keys/next_colour", "keys/fake_numerical", "keys/larger", "keys/validation"]
TASK_SPLITS = {"sokoban": SOKOBAN_SPLITS, "points": POINTS_SPLITS, "keys": KEYS_SPLITS}
N = 10  # enough discordant episodes for a paired McNemar p < 0.01 (10 of 10: p = 0.002)
# method -> (agent at checkpoint-1, agent at checkpoint-2 = the chosen one), seeds
MAIN_METHODS: dict[str, tuple[tuple[str, str], list[int]]] = {
    "answer-only": (("oracle", "shortcut"), [0]),
    "diverse": (("shortcut", "oracle"), [0]),
    "cot": (("random", "random"), [0, 1]),
}
SECOND_METHODS: dict[str, tuple[tuple[str, str], list[int]]] = {
    "answer-only": (("oracle", "shortcut"), [0]),
    "diverse-cot": (("oracle", "oracle"), [0]),
    "grpo": (("random", "random"), [0]),
}
INJECTED = "<answer> Up </answer></script><script>window.__pwned = 1</script><!--"


def _curve_point(name: str, step: int, folder: Path, metrics: dict[str, Any]) -> dict[str, Any]:
    keys = ("n", "success", "success_ci", "validity", "validity_ci")
    splits = {s: {k: m[k] for k in keys} for s, m in metrics["splits"].items()}
    return {"checkpoint": name, "step": step, "path": str(folder), "splits": splits}


def _train_log(path: Path, steps: int = 20) -> None:
    lines = [json.dumps({"step": s, "loss": 3.0 / (1 + s), "learning_rate": 1e-5}) for s in range(1, steps + 1)]
    lines.append(json.dumps({"step": steps, "train_loss": 0.5}))  # TRL's closing summary: no "loss"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _run_record(path: Path, model: str, method: str) -> None:
    """``run.json`` as the trainers write it (their real config classes): the diverse run freezes and expands."""
    from sftgen.train.config import SFTRunConfig
    from sftgen.train.grpo_config import GRPORunConfig

    if method == "grpo":
        config = GRPORunConfig(model=model, data="d", out=str(path), max_steps=20).to_dict()
    else:
        changes: dict[str, Any] = {"freeze": ["lm_head", r"layers\.7\."], "expand": {"blocks": 4, "after": 2}}
        settings = {"model": model, "data": ["d"], "out": str(path), "max_steps": 20, "lr": 2e-3}
        config = SFTRunConfig.from_dict({**settings, **(changes if method == "diverse" else {})}).to_dict()
    record = {"config": config, "model": {"parameters": 2000, "trainable_parameters": 500}, "steps": 20}
    atomic_write_json(path / "run.json", {**record, "epochs_done": 1.25})


def make_run(
    root: Path,
    model: str,
    methods: dict[str, tuple[tuple[str, str], list[int]]],
    tasks: tuple[str, ...] = ("sokoban", "points"),
    base: bool = False,
) -> Path:
    """A run folder at ``root`` in the experiment runner's layout, with ``results.json``."""
    runs = []
    for task in tasks:
        splits = TASK_SPLITS[task]
        for method, (agents, seeds) in methods.items():
            for seed in seeds:
                rel = Path("eval") / task / method / f"seed{seed}"
                eval_dir = root / rel
                points, chosen_metrics = [], {}
                for step, agent in enumerate(agents, start=1):
                    folder = eval_dir / f"checkpoint-{step}"
                    metrics = evaluate(agent, splits, folder, n=N, sampling=Sampling(seed=seed))
                    points.append(_curve_point(folder.name, step * 10, folder, metrics))
                    chosen_metrics = metrics["splits"]
                atomic_write_json(
                    eval_dir / "curves.json",
                    {"run_dir": str(root / "train" / task / method), "splits": splits, "points": points},
                )
                train_rel = Path("train") / task / method / f"seed{seed}"
                if seed == 0:
                    _train_log(root / train_rel / "log.jsonl")
                    _run_record(root / train_rel, model, method)
                runs.append(
                    {
                        "task": task,
                        "method": method,
                        "seed": seed,
                        "train_dir": str(train_rel),
                        "eval_dir": str(eval_dir) if method == "diverse" else str(rel),  # absolute and relative paths
                        "chosen": "checkpoint-2",
                        "choice_rule": "validation",
                        "study_rule_choice": "checkpoint-1",
                        "metrics": chosen_metrics,
                        "train_log": str(train_rel / "log.jsonl"),
                        "wall_seconds": 12.5,
                    }
                )
    results: dict[str, Any] = {
        "recipe": {"name": "quick", "n_train": 100, "epochs": 2},
        "model": model,
        "template": "compact",
        "wall_seconds": 812.4,
        "base": None,
        "runs": runs,
    }
    if base:
        evaluate("random", [s for t in tasks for s in TASK_SPLITS[t]], root / "eval" / "base", n=N)
        results["base"] = {
            "dir": str(root / "base-model"),
            "eval_dir": "eval/base",
            "lookup_probe": {"numerical": 0.98, "alphabetical": 0.9, "overall": 0.94},
            "navigate_probe": {"numerical": 0.71, "alphabetical": 0.69, "overall": 0.7},
        }
    atomic_write_json(root / "results.json", results)
    if base:  # a run folder as ``sftgen reproduce`` leaves it, with its per-stage times
        stages = [{"stage": "data build", "seconds": 4.2}, {"stage": "train sokoban/diverse/seed0", "seconds": 61.0}]
        atomic_write_json(root / "timings.json", {"wall_seconds": 812.4, "stages": stages})
    return root


def inject_response(eval_dir: Path, split: str, text: str = INJECTED) -> None:
    """Replace episode 0's first response with ``text`` (a model may write anything, markup included)."""
    path = episodes_path(eval_dir / "checkpoint-2", split)
    records = read_records(path)
    records[0]["turns"][0]["response"] = text
    path.write_text("".join(record_line(r) for r in records), encoding="utf-8")
