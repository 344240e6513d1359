"""Evaluate one model on named splits: resumable rollouts into ``OUT/episodes``, then ``OUT/metrics.*``.

Why resumable by episode id: a long evaluation (an 8B model on 6,300 episodes) may be killed at any time;
rerunning the same command skips the episodes already on disk and gives the metrics of an uninterrupted
run. ``OUT/run.json`` pins the settings that change results (model, sampling, prompt style), so a resume
with different settings is refused instead of silently mixing two runs.
"""

from __future__ import annotations

import importlib.metadata
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sftgen.agents import ReferenceAgent
from sftgen.eval.backend import model_kind, open_backend, resolve_prompt_style
from sftgen.eval.metrics import compute_metrics, write_metrics
from sftgen.eval.records import EPISODES_DIR, EpisodeLog, episodes_path, finished_by_id, read_records
from sftgen.eval.rollout import run_rollouts
from sftgen.io import atomic_write_json, read_json
from sftgen.models.sampling import Backend, Sampling
from sftgen.splits import SPLITS, Split, resolve_splits

RUN_FILE = "run.json"
OUTPUT_FILES = ("metrics.json", "metrics.csv", "metrics.md", RUN_FILE)


def choose_splits(splits: str | Sequence[str], n: int | None = None) -> list[Split]:
    """Resolve group/split names (unknown names raise ``KeyError`` listing close ones); ``n`` keeps a prefix."""
    if n is not None and n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    chosen = resolve_splits(splits)
    if not chosen:
        example = next(iter(SPLITS))
        raise KeyError(f"no splits given; name a group (quick, study, all, ...) or splits like {example}")
    return [s.with_size(min(n, s.size)) if n else s for s in chosen]


def sampling_settings(sampling: Sampling) -> dict[str, Any]:
    """The decoding settings that change results (temperature, top-p and seed are moot when greedy)."""
    if sampling.is_greedy:
        return {"greedy": True, "max_new_tokens": sampling.max_new_tokens}
    return {
        "greedy": False,
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
        "seed": sampling.seed,
        "max_new_tokens": sampling.max_new_tokens,
    }


def model_id(model: str) -> str:
    """The model as recorded: local folders by absolute path, so a resume from another cwd still matches."""
    path = Path(model).expanduser()
    return str(path.resolve()) if model_kind(model) == "hf" and path.exists() else model


def _check_run_file(out: Path, fingerprint: dict[str, Any]) -> None:
    file = out / RUN_FILE
    if file.exists():
        old = read_json(file)
        changed = [f"{k}: {old.get(k)!r} -> {v!r}" for k, v in fingerprint.items() if old.get(k) != v]
        if changed:
            raise ValueError(
                f"{out} holds episodes from a run with other settings ({'; '.join(changed)}); "
                "pass resume=False (--no-resume) to start over, or choose another output folder"
            )
    atomic_write_json(file, fingerprint)


def _reset(out: Path) -> None:
    """Forget a previous run in ``out``: only the files evaluation itself writes."""
    for name in OUTPUT_FILES:
        (out / name).unlink(missing_ok=True)
    folder = out / EPISODES_DIR
    if folder.is_dir():
        for file in folder.glob("*.jsonl"):
            file.unlink()


def load_records(out: Path, chosen: Sequence[Split], repair: bool = False) -> dict[str, list[dict[str, Any]]]:
    """Each split's finished records for its requested instances, in index order."""
    result = {}
    for split in chosen:
        by_id = finished_by_id(read_records(episodes_path(out, split.name), repair=repair))
        wanted = (by_id.get(f"{split.name}#{i}") for i in range(split.size))
        result[split.name] = [r for r in wanted if r is not None]
    return result


def evaluate(
    model: str,
    splits: str | list[str],
    out: Path,
    n: int | None = None,
    sampling: Sampling = Sampling(),  # noqa: B008 - frozen dataclass
    template: str = "auto",
    response_format: str = "answer",
    batch_size: int = 64,
    resume: bool = True,
    *,
    max_batch: int | None = None,
    memoize: bool | None = None,
    backend: Backend | None = None,
    device: str | None = None,
    dtype: str | None = None,
    on_turn: Callable[[int, int, int], None] | None = None,
) -> dict[str, Any]:
    """Evaluate ``model`` on ``splits`` into ``out`` and return the metrics written to ``out/metrics.json``.

    ``model``: a reference agent (``oracle``, ``shortcut``, ``random``), an ``http(s)://`` OpenAI-compatible
    server or an HF model folder / preset / hub name; ``backend`` overrides it with a ready backend (then
    ``model`` is only a label). ``template``/``response_format`` ``auto`` read the model's
    ``sftgen_model.json`` (else ``study``/``answer``). ``batch_size`` is the HF decoding batch (requests in
    flight for a URL); ``max_batch`` splits each turn's single generate call into chunks. ``n`` keeps the
    first ``n`` instances of each split. With ``resume`` the episodes already in ``out`` are kept.
    ``memoize`` (default: on for greedy decoding of a model, off for the reference agents, which may be
    stateful) reuses an episode's earlier answer when its prompt repeats (see ``run_rollouts``).
    Raises ``EvalInterrupted`` if the backend fails (finished episodes stay saved; rerun to resume).
    """
    started = time.perf_counter()
    chosen = choose_splits(splits, n)  # unknown names fail here, before any work
    template, response_format = resolve_prompt_style(model, template, response_format)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if not resume:
        _reset(out)
    fingerprint = {
        "model": model_id(model),
        "template": template,
        "response_format": response_format,
        "sampling": sampling_settings(sampling),
    }
    _check_run_file(out, fingerprint)
    (out / "metrics.json").unlink(missing_ok=True)  # present only once this run's metrics are complete

    done = load_records(out, chosen, repair=True)
    finished = {r["instance_id"] for recs in done.values() for r in recs}
    pending = [inst for split in chosen for inst in split.instances() if inst.id not in finished]
    stats = None
    if memoize is None:  # settled before any work: a resume with nothing left records the setting its episodes had
        agent = isinstance(backend, ReferenceAgent) if backend is not None else model_kind(model) == "agent"
        memoize = sampling.is_greedy and not agent
    if pending:
        owned = backend is None
        engine = backend or open_backend(model, batch_size=batch_size, seed=sampling.seed, device=device, dtype=dtype)
        try:
            with EpisodeLog(out) as log:

                def save(records: list[dict[str, Any]]) -> None:
                    for record in records:
                        log.append(record)
                    log.sync()

                _, stats = run_rollouts(
                    engine,
                    pending,
                    sampling,
                    template=template,
                    response_format=response_format,
                    max_batch=max_batch,
                    memoize=memoize,
                    on_finish=save,
                    on_turn=on_turn,
                )
        finally:
            close = getattr(engine, "close", None)
            if owned and callable(close):
                close()

    records = load_records(out, chosen)
    config = {
        **fingerprint,
        "model_kind": model_kind(model) if backend is None else type(backend).__name__,
        "splits": [s.name for s in chosen],
        "n": n,
        "batch_size": batch_size,
        "max_batch": max_batch,
        "episodes": sum(len(r) for r in records.values()),
        "episodes_resumed": sum(len(r) for r in done.values()),
        "episodes_run": len(pending),
        "generate_calls": stats.calls if stats else 0,
        "memoize": bool(memoize),
        "reused_turns": stats.reused if stats else 0,
        "seconds": round(time.perf_counter() - started, 3),
        "sftgen_version": importlib.metadata.version("sftgen"),
    }
    metrics = compute_metrics(records, config, {s.name: s.size for s in chosen})
    write_metrics(out, metrics)
    return metrics
