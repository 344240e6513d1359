"""Teacher CoT data (docs/study.md): sample a teacher model, keep each prompt's first answer the verifier accepts.

Why the verifier is the GRPO reward (``sftgen.train.rewards``): design rule 4, one code path for the eval
metric, the RL reward and rejection sampling, so a kept sample is exactly one RL would have rewarded fully
(the task's ``full_marks``: an optimal move in the declared words for the grid tasks, a correct formula for
General Points). Garbage output simply scores below full marks.

Prompts are the RL rows of ``BuildConfig("rl", ..., rl_think=True)`` (think response format, the same
disjoint-from-evaluation instances). Generation goes through the one backend interface,
``generate(chats, sampling)``: prompts are taken ``PROMPTS_PER_CALL`` at a time and each call holds every
sample of those prompts (prompt-major, samples in order), seeded by the data seed and the call's index. Row
seeds are ``row_seed(call_seed, row)``, so every (prompt, sample) has its own seed, a prompt's samples do not
depend on ``n`` or ``batch_size``, and an in-process HF teacher and the same model served over HTTP give the
same texts.

An empty result (no prompt passed, e.g. a random model) is written, not raised: the manifest records the
acceptance rate, the dataset folder loads with zero rows, and ``sftgen train sft`` refuses it ("no rows").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from datasets import Dataset
from tqdm import tqdm

from sftgen import __version__
from sftgen.data.build import DATA_FORMAT, BuildConfig, iter_rows, write_dataset
from sftgen.data.leakage import assert_disjoint, evaluation_keys
from sftgen.io import atomic_dir, atomic_write_json
from sftgen.models.sampling import Backend, Sampling
from sftgen.seeding import content_hash, derive_seed
from sftgen.tasks.protocol import get_task
from sftgen.train.rewards import task_rewards

PROMPTS_PER_CALL = 64
"""Prompts per ``generate`` call (x ``samples`` rows). Fixed, so seeds never depend on ``batch_size``."""
_TOP_P = 1.0


def call_sampling(seed: int, call: int, temperature: float, max_new_tokens: int) -> Sampling:
    """Decoding settings of call ``call``: its own hashed seed, so rows of different calls never share one."""
    call_seed = derive_seed("sftgen-teacher-cot", seed, call) & (2**31 - 1)
    return Sampling(temperature=temperature, top_p=_TOP_P, max_new_tokens=max_new_tokens, seed=call_seed)


def _text(value: Any) -> str:
    """A backend answer as text: anything that is not a string (None, bytes, ...) counts as no answer."""
    return value if isinstance(value, str) else ""


def score_rows(task: str, rows: list[dict], texts: list[str]) -> list[float]:
    """Verifier reward of ``texts[i]`` as an answer to ``rows[i]`` (the checked GRPO reward function)."""
    reward = task_rewards(task)[0]
    columns = {key: [row[key] for row in rows] for key in rows[0] if key != "prompt"} if rows else {}
    return reward(prompts=[row["prompt"] for row in rows], completions=texts, **columns)


def _first_pass(scores: list[float], full_marks: float) -> int | None:
    return next((k for k, score in enumerate(scores) if score >= full_marks), None)


def _sample_prompts(
    backend: Backend,
    rows: list[dict],
    task: str,
    sampling_for: Callable[[int], Sampling],
    samples: int,
    progress: bool,
) -> list[list[tuple[str, float]]]:
    """Every prompt's ``samples`` (text, reward) pairs, in sample order."""
    results: list[list[tuple[str, float]]] = []
    kept = 0
    bar = tqdm(total=len(rows), desc=f"teacher cot {task}", unit="prompt", disable=not progress)
    for call, start in enumerate(range(0, len(rows), PROMPTS_PER_CALL)):
        chunk = rows[start : start + PROMPTS_PER_CALL]
        expanded = [row for row in chunk for _ in range(samples)]
        answers = backend.generate([row["prompt"] for row in expanded], sampling_for(call))
        if not isinstance(answers, list) or len(answers) != len(expanded):
            count = len(answers) if isinstance(answers, list) else type(answers).__name__
            raise RuntimeError(f"the teacher backend returned {count} answers for {len(expanded)} chats")
        texts = [_text(a) for a in answers]
        scores = score_rows(task, expanded, texts)
        for p in range(len(chunk)):
            span = slice(p * samples, (p + 1) * samples)
            pairs = list(zip(texts[span], scores[span], strict=True))
            results.append(pairs)
            kept += _first_pass([s for _, s in pairs], get_task(task).full_marks) is not None
        bar.update(len(chunk))
        bar.set_postfix(kept=kept)
    bar.close()
    return results


def _write_empty(columns: list[str], out: Path, meta: dict, overwrite: bool) -> dict:
    """``write_dataset``'s layout for zero rows, with one (empty) shard so ``load_from_disk`` can read it."""
    manifest = {
        "format": DATA_FORMAT,
        "sftgen_version": __version__,
        **meta,
        "rows": 0,
        "columns": sorted(columns),
        "sha256": content_hash(""),
    }
    with atomic_dir(out, overwrite=overwrite) as tmp:
        (tmp / "data.jsonl").write_text("", encoding="utf-8")
        Dataset.from_dict({c: [] for c in sorted(columns)}).save_to_disk(str(tmp / "dataset"), num_shards=1)
        atomic_write_json(tmp / "manifest.json", manifest)
    return manifest


def teacher_cot(
    teacher: str,
    task: str,
    n: int,
    seed: int,
    out: str | Path,
    samples: int = 16,
    temperature: float = 1.0,
    max_new_tokens: int = 1024,
    diverse: bool = False,
    template: str = "study",
    batch_size: int = 64,
    overwrite: bool = False,
    *,
    backend: Backend | None = None,
    progress: bool = True,
) -> dict:
    """Write an SFT CoT dataset from ``teacher`` by rejection sampling; returns the manifest.

    ``teacher``: a model folder, preset, hub name or ``http(s)://`` server (``open_backend``); ``backend``
    injects an open backend instead (``teacher`` is then only the recorded name). ``batch_size`` is the HF
    decoding batch or the number of HTTP requests in flight; it does not change which seeds are used.
    """
    config = BuildConfig("rl", task, n, seed, template, diverse_rl=diverse, rl_think=True)
    config.validate()
    if samples < 1:
        raise ValueError(f"samples must be >= 1, got {samples}")
    if samples > 1 and temperature == 0:
        raise ValueError("temperature 0 is greedy: every sample would be the same; use temperature > 0")

    def sampling_for(call: int) -> Sampling:
        return call_sampling(seed, call, temperature, max_new_tokens)

    sampling_for(0)  # validate temperature / max_new_tokens before any work
    out = Path(out)
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} already exists (pass overwrite=True / --overwrite to replace it)")

    exclude = evaluation_keys()
    rows = list(iter_rows(config, exclude))
    assert_disjoint({row["instance_key"] for row in rows}, exclude)
    owned = backend is None
    if backend is None:
        from sftgen.eval.backend import open_backend

        backend = open_backend(teacher, batch_size=batch_size, seed=seed)
    try:
        results = _sample_prompts(backend, rows, task, sampling_for, samples, progress)
    finally:
        close = getattr(backend, "close", None)
        if owned and callable(close):
            close()

    kept: list[dict] = []
    for row, pairs in zip(rows, results, strict=True):
        scores = [score for _, score in pairs]
        first = _first_pass(scores, get_task(task).full_marks)
        if first is None:
            continue
        kept.append(
            {
                **row,
                "completion": [{"role": "assistant", "content": pairs[first][0]}],
                "teacher": teacher,
                "accepted_sample": first,
                "passed_samples": sum(s >= get_task(task).full_marks for s in scores),
            }
        )
    passes_by_sample = [sum(pairs[k][1] >= get_task(task).full_marks for pairs in results) for k in range(samples)]
    kept_keys = {row["instance_key"] for row in kept}
    meta = {
        "config": {
            **{k: v for k, v in asdict(config).items() if k not in ("kind", "diverse_rl", "rl_think")},
            "kind": "cot",
            "source": "teacher",
            "diverse": diverse,
            "teacher": teacher,
            "samples": samples,
            "temperature": temperature,
            "top_p": _TOP_P,
            "max_new_tokens": max_new_tokens,
            "prompts_per_call": PROMPTS_PER_CALL,
        },
        "instances": n,
        "prompts": len(rows),
        "kept": len(kept),
        "acceptance_rate": len(kept) / len(rows),
        "sample_pass_rate": sum(passes_by_sample) / (len(rows) * samples),
        "pass_rate_by_sample": [p / len(rows) for p in passes_by_sample],
        "distinct_instances": len(kept_keys),
        "instance_keys_sha256": content_hash("\n".join(sorted(kept_keys))),
        "disjoint_from_evaluation": True,
        "evaluation_keys": len(exclude),
    }
    if not kept:
        columns = [*rows[0], "completion", "teacher", "accepted_sample", "passed_samples"]
        return _write_empty(columns, out, meta, overwrite)
    return write_dataset(kept, out, meta, overwrite=overwrite)
