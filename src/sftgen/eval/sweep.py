"""Evaluate every checkpoint of a training run and write learning curves (step -> success, validity).

Why a sweep: the study picks its epoch by test scores; sftgen chooses on a validation split, and the
curves show when the shortcut appears (fake success rising while instruction variants fall). Each
checkpoint is evaluated into its own folder, so an interrupted sweep resumes where it stopped and a
finished checkpoint is never re-run.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sftgen.eval.backend import CHECKPOINT_DIR, resolve_prompt_style
from sftgen.eval.evaluate import choose_splits, evaluate, model_id, sampling_settings
from sftgen.io import atomic_write_json, atomic_write_text, read_json
from sftgen.models.sampling import Sampling

FINAL_DIRS = ("final", "model")
START = "start"  # the curve point of the model training started from
CURVE_POINTS = "points"  # not-a-task: curves.json's list of points, one per checkpoint


@dataclass(frozen=True)
class Checkpoint:
    """A model folder of a run, its label (its output folder name) and training step (None if unknown)."""

    name: str
    path: Path
    step: int | None


def _is_model_dir(path: Path) -> bool:
    """A full model, or a LoRA checkpoint (``load_model`` merges it into its base)."""
    from sftgen.models.loading import is_adapter_dir  # lazy: ``import sftgen.eval`` stays free of torch

    return (path / "config.json").is_file() or is_adapter_dir(path)


def _final_step(folder: Path) -> int | None:
    state = folder / "trainer_state.json"
    if state.is_file():
        step = json.loads(state.read_text(encoding="utf-8")).get("global_step")
        return int(step) if isinstance(step, int) else None
    return None


def find_checkpoints(run_dir: Path) -> list[Checkpoint]:
    """``checkpoint-N`` folders sorted by N, then the final model (the run folder itself, or final/ or model/).

    A checkpoint saved at the final model's own step holds the same weights, so the final model stands for it:
    evaluating both would cost a curve point and draw the same step twice.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"no run folder at {run_dir}")
    found = []
    for child in run_dir.iterdir():
        match = CHECKPOINT_DIR.match(child.name)
        if match and child.is_dir() and _is_model_dir(child):
            found.append(Checkpoint(child.name, child, int(match.group(1))))
    found.sort(key=lambda c: c.step or 0)
    finals = [run_dir] + [run_dir / name for name in FINAL_DIRS]
    final = next((f for f in finals if f.is_dir() and _is_model_dir(f)), None)
    if final is not None:
        step = _final_step(final) or _final_step(run_dir)
        if step is None and found:
            step = found[-1].step
        if found and step is not None and found[-1].step == step:
            found.pop()
        found.append(Checkpoint("final", final, step))
    if not found:
        raise FileNotFoundError(f"{run_dir} holds no checkpoint-N folder and no final model (config.json)")
    return found


def _finished(folder: Path, model: str, splits: dict[str, int], sampling: Sampling, style: tuple[str, str]) -> bool:
    """True when ``folder/metrics.json`` covers these splits, sizes and settings for this model."""
    file = folder / "metrics.json"
    if not file.is_file():
        return False
    metrics = read_json(file)
    config = metrics.get("config", {})
    wanted = {"model": model_id(model), "sampling": sampling_settings(sampling)}
    wanted.update(template=style[0], response_format=style[1])
    if any(config.get(key) != value for key, value in wanted.items()):
        return False
    have = metrics.get("splits", {})
    return all(name in have and have[name].get("n") == size for name, size in splits.items())


def curves_csv(points: list[dict[str, Any]]) -> str:
    """Long format: one row per (checkpoint, split), easy to plot or pivot."""
    buffer = io.StringIO()
    columns = ["checkpoint", "step", "split", "n", "success", "success_lo", "success_hi", "validity"]
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for point in points:
        for split, m in point["splits"].items():
            lo, hi = m["success_ci"]
            writer.writerow(
                {
                    "checkpoint": point["checkpoint"],
                    "step": point["step"],
                    "split": split,
                    "n": m["n"],
                    "success": m["success"],
                    "success_lo": lo,
                    "success_hi": hi,
                    "validity": m["validity"],
                }
            )
    return buffer.getvalue()


def sweep(
    run_dir: Path,
    splits: str | Sequence[str],
    out: Path,
    n: int | None = None,
    sampling: Sampling = Sampling(),  # noqa: B008 - frozen dataclass
    on_checkpoint: Callable[[Checkpoint, dict[str, Any], bool], None] | None = None,
    start: str | None = None,
    **evaluate_kwargs: Any,
) -> dict[str, Any]:
    """Evaluate each checkpoint of ``run_dir`` into ``out/<checkpoint>/`` and write ``out/curves.{json,csv}``.

    ``start`` (a model folder or name: the model training began from) is evaluated first as step 0, so a
    curve shows where fine-tuning started (the study's validity-collapse figure starts there).

    Finished checkpoints (their ``metrics.json`` covers the same splits, sizes and sampling) are skipped;
    ``on_checkpoint(checkpoint, metrics, skipped)`` reports each one. ``evaluate_kwargs`` go to ``evaluate``.
    """
    chosen = choose_splits(splits, n)  # unknown split names fail before any model is loaded
    sizes = {s.name: s.size for s in chosen}
    checkpoints = find_checkpoints(Path(run_dir))
    if start is not None:
        checkpoints.insert(0, Checkpoint(START, Path(start), 0))
    out = Path(out)
    points = []
    for checkpoint in checkpoints:
        folder = out / checkpoint.name
        model = str(checkpoint.path.resolve()) if checkpoint.path.exists() else str(checkpoint.path)  # or a name
        style = resolve_prompt_style(
            model, evaluate_kwargs.get("template", "auto"), evaluate_kwargs.get("response_format", "answer")
        )
        skipped = _finished(folder, model, sizes, sampling, style)
        if skipped:
            metrics = read_json(folder / "metrics.json")
        else:
            metrics = evaluate(model, [s.name for s in chosen], folder, n=n, sampling=sampling, **evaluate_kwargs)
        if on_checkpoint is not None:
            on_checkpoint(checkpoint, metrics, skipped)
        points.append(
            {
                "checkpoint": checkpoint.name,
                "step": checkpoint.step,
                "path": str(checkpoint.path),
                "splits": {  # in the requested order: a skipped checkpoint's metrics.json has its keys sorted
                    name: {
                        k: metrics["splits"][name][k] for k in ("n", "success", "success_ci", "validity", "validity_ci")
                    }
                    for name in sizes
                    if name in metrics["splits"]
                },
            }
        )
    curves = {
        "run_dir": str(Path(run_dir).resolve()),
        "splits": list(sizes),
        "sampling": sampling_settings(sampling),
        CURVE_POINTS: points,
    }
    atomic_write_text(out / "curves.csv", curves_csv(points))
    atomic_write_json(out / "curves.json", curves)
    return curves
