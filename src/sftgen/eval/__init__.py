"""Evaluation: batched multi-turn rollouts, per-episode JSONL records, metrics with CIs, checkpoint sweeps.

* ``evaluate(model, splits, out, ...)``: one model on named splits -> ``out/episodes/*.jsonl`` + ``out/metrics.*``
* ``sweep(run_dir, splits, out, ...)``: every checkpoint of a run -> ``out/<checkpoint>/`` + ``out/curves.*``
* ``run_rollouts(backend, instances, sampling, ...)``: the engine (one generate call per turn)
* ``compute_metrics`` / ``split_metrics``: numbers from records only

The functions ``evaluate`` and ``sweep`` shadow their modules' names here; import the modules as
``sftgen.eval.evaluate`` / ``sftgen.eval.sweep`` with ``from ... import`` when you need their other names.
"""

from sftgen.eval.evaluate import evaluate
from sftgen.eval.metrics import compute_metrics, split_metrics
from sftgen.eval.rollout import EvalInterrupted, run_rollouts
from sftgen.eval.sweep import sweep

__all__ = ["EvalInterrupted", "compute_metrics", "evaluate", "run_rollouts", "split_metrics", "sweep"]
