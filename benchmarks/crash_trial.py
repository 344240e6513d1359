"""Crash trial for `sftgen reproduce` (issue 20): SIGKILL a run at random moments, resume it, compare with a clean run.

    python benchmarks/crash_trial.py                       # smoke recipe, 20 kills, seed 0
    python benchmarks/crash_trial.py --trials 5 --seed 3 --keep /tmp/trials

What it does:

1. An uninterrupted reference run (``sftgen reproduce --recipe RECIPE --out WORK/run``), moved to ``WORK/ref``. All
   runs share one ``SFTGEN_CACHE`` (``WORK/cache``), so the recipe's base model is built at most once (by the first
   run) and the trials never kill a base build: that cache has its own per-stage resume, not tested here. When the
   first run built the base, a second uninterrupted run gives the duration the kill moments are spread over; it is
   compared with the first as a control (two clean runs must agree before a difference can be blamed on a kill).
2. Each trial starts a fresh run in the same folder ``WORK/run`` (same absolute paths as the reference, so paths
   recorded in the artefacts compare equal), kills its whole process group with SIGKILL at moment
   ``T * (i + u) / N`` (``T`` the reference duration, ``u`` seeded uniform: the moments are spread over the run),
   records the stage the killed run's own log reached, then runs ``--resume`` to completion.
   The process group, not only the parent, is killed: the job workers are separate processes, and a crash of the
   machine or the terminal takes them all; killing only the parent would leave workers writing into the folder
   while the resume runs.
3. Checks, each a failure:
   - right after the kill: every ``*.json`` in the run folder parses (they are all written by rename, so a kill
     can leave a stray ``.NAME.*.tmp`` but never a torn file under its real name);
   - after the resume: exit 0; no ``*.tmp`` file or folder left anywhere in the run folder; every ``*.json`` and every
     ``*.jsonl`` line parses;
   - every artefact is identical to the reference (same set of files, same content after the normalisation below).

What must be identical, and why:

- Compared byte for byte: model weights (``*.safetensors``), tokenizer and config files, the datasets
  (``data.jsonl``, arrow files), episode records (``episodes/*.jsonl``), ``metrics.csv``, figures (``*.png``),
  checkpoint optimizer/RNG states: given the same seeds, the same base and greedy decoding, everything learned or
  measured is a pure function of the recipe, so a resume that redoes a step must redo it bit for bit (two clean runs
  are bit-identical here, which the control checks).
- Compared after dropping keys that time the work or count how it was done, never what it produced:
  ``*.json`` and ``*.jsonl`` (metrics.json, curves.json, results.json, report.json, run.json, trainer_state.json,
  log.jsonl, manifests) without ``VOLATILE_KEYS`` (wall seconds, runtimes, throughputs, the report's ``generated``
  stamp and ``timings`` table, and evaluation's ``episodes_resumed``/``episodes_run``/``generate_calls``/
  ``reused_turns`` which say how much a resumed evaluation reused; for a training session resumed from a
  checkpoint ``resumed_from``, ``num_tokens``/``tokens_seen`` (TRL restarts its token counter on resume) and the
  summary ``train_loss`` (the Trainer averages only the resumed session's steps): known, not fixed here). Metrics,
  success, outcomes, chosen checkpoints, per-step losses, learning rates and grad norms stay in the comparison.
- ``report.md`` without its ``Generated ...`` line, its ``## Time per stage`` section and wall-time cells
  (``N s``, ``N min N s``, ``N h N min``); ``metrics.md`` without its seconds/resume-count lines; the Hugging Face
  model card ``README.md`` as sorted lines (its tag list comes from a set, whose order varies between two clean runs).
- Not compared: ``logs/`` (each job's human log, appended by every attempt), ``timings.json`` (wall times only),
  ``report.html`` (rendered from report.json plus timings, both already covered).

Prints one row per trial (kill moment, stage killed in, resume ok, identical) and exits 1 on any failure.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

VOLATILE_KEYS = frozenset(
    {
        "seconds",
        "wall_seconds",
        "stage_seconds",
        "train_runtime",
        "train_samples_per_second",
        "train_steps_per_second",
        "episodes_resumed",
        "episodes_run",
        "generate_calls",
        "reused_turns",
        "generated",
        "timings",
        "wall",
        # How a resumed training session counts, not what it learned (the weights are compared byte for byte):
        # TRL does not restore its token counter from a checkpoint (``num_tokens`` per step, ``tokens_seen``), and
        # the Trainer's summary ``train_loss`` averages only the steps the resumed session ran.
        "resumed_from",
        "num_tokens",
        "tokens_seen",
        "train_loss",
    }
)
NOT_COMPARED = ("logs/", "timings.json", "report.html")
# every form report.tables.fmt_seconds writes: "4.0 s", "2 min 16 s", "1 h 3 min" (a slower CPU reaches the longer ones)
_WALL_TIME = re.compile(r"\b(?:\d+ h \d+ min|(?:\d+ min )?\d+(?:\.\d+)? s)\b")
_METRICS_MD_VOLATILE = re.compile(r"^- (seconds|episodes_resumed|episodes_run|generate_calls|reused_turns):")


def strip_volatile(value: Any) -> Any:
    """``value`` without ``VOLATILE_KEYS`` at any depth."""
    if isinstance(value, dict):
        return {k: strip_volatile(v) for k, v in value.items() if k not in VOLATILE_KEYS}
    if isinstance(value, list):
        return [strip_volatile(v) for v in value]
    return value


def _report_md(text: str) -> str:
    lines, skipping = [], False
    for line in text.splitlines():
        if line.startswith("## "):
            skipping = line.strip() == "## Time per stage"
        if skipping or line.startswith("Generated "):
            continue
        lines.append(_WALL_TIME.sub("<t> s", line))
    return "\n".join(lines)


def fingerprint(path: Path, relative: str) -> str:
    """What of ``path`` must match the reference (see the module docstring), as a short string."""
    name = path.name
    if name.endswith(".json"):
        text = json.dumps(strip_volatile(json.loads(path.read_text(encoding="utf-8"))), sort_keys=True)
    elif name.endswith(".jsonl"):
        rows = [strip_volatile(json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line]
        text = json.dumps(rows, sort_keys=True)
    elif relative == "report.md":
        text = _report_md(path.read_text(encoding="utf-8"))
    elif name == "metrics.md":
        lines = path.read_text(encoding="utf-8").splitlines()
        text = "\n".join(line for line in lines if not _METRICS_MD_VOLATILE.match(line))
    elif name == "README.md":
        text = "\n".join(sorted(path.read_text(encoding="utf-8").splitlines()))
    else:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    return hashlib.sha256(text.encode()).hexdigest()


def artefacts(run: Path) -> dict[str, str]:
    """Every compared file under ``run`` (following no symlinks: ``base`` points into the shared cache)."""
    found = {}
    for root, dirs, files in os.walk(run):
        dirs[:] = [d for d in dirs if not (Path(root) / d).is_symlink()]
        for file in files:
            path = Path(root) / file
            relative = path.relative_to(run).as_posix()
            if path.is_symlink() or relative.startswith(NOT_COMPARED):
                continue
            found[relative] = fingerprint(path, relative)
    return found


def compare(reference: dict[str, str], run: dict[str, str]) -> list[str]:
    """Files missing, extra or different, one line each."""
    lines = [f"missing {f}" for f in sorted(reference.keys() - run.keys())]
    lines += [f"extra {f}" for f in sorted(run.keys() - reference.keys())]
    lines += [f"differs {f}" for f in sorted(reference.keys() & run.keys()) if reference[f] != run[f]]
    return lines


def torn_files(run: Path, jsonl: bool = True) -> list[str]:
    """Files that do not parse (``*.json``; with ``jsonl`` every ``*.jsonl`` line too) and leftover temp files."""
    problems = []
    for root, dirs, files in os.walk(run):
        dirs[:] = [d for d in dirs if not (Path(root) / d).is_symlink()]
        for entry in [*dirs, *files]:
            path = Path(root) / entry
            relative = path.relative_to(run).as_posix()
            if entry.endswith(".tmp") or entry.startswith("tmp-checkpoint"):
                problems.append(f"temp {relative}")
            elif entry.endswith(".json") or (jsonl and entry.endswith(".jsonl")):
                try:
                    text = path.read_text(encoding="utf-8")
                    if entry.endswith(".json"):
                        json.loads(text)
                    else:
                        for line in text.splitlines():
                            json.loads(line)
                except (ValueError, UnicodeDecodeError) as err:
                    problems.append(f"torn {relative} ({err})")
    return problems


# Markers of `sftgen reproduce`'s own log, in order: the stage a killed run had reached.
def stage_reached(log: str, jobs: int) -> str:
    if "done in " in log and "report:" in log:
        return "finished"
    done = log.count(": done in ")
    if "jobs, " in log and "at a time" in log:
        return f"jobs ({done}/{jobs} done)" if done < jobs else "report"
    if "data " in log and "building" in log:
        return "data build"
    if "base:" in log:
        return "base + zero-shot eval"
    return "startup"


def run_reproduce(
    command: list[str], env: dict[str, str], log: Path, kill_at: float | None = None
) -> tuple[int, float]:
    """Run ``command`` (its own process group); with ``kill_at``, SIGKILL the group after that many seconds."""
    started = time.monotonic()
    with open(log, "w", encoding="utf-8") as handle:
        process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        try:
            process.wait(timeout=kill_at)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            time.sleep(0.2)  # let the killed workers' exits land before the folder is read
    return process.returncode, time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipe", default="smoke")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, default=None, help="Work folder to keep (default: a temp folder).")
    parser.add_argument("--sftgen", default=None, help="The sftgen command (default: this Python's sftgen.cli).")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="sftgen-crash-"))
    work.mkdir(parents=True, exist_ok=True)
    run, ref = work / "run", work / "ref"
    env = {**os.environ, "SFTGEN_CACHE": str(work / "cache"), "COLUMNS": "250", "PYTHONUNBUFFERED": "1"}
    sftgen = args.sftgen.split() if args.sftgen else [sys.executable, "-m", "sftgen.cli"]
    command = [*sftgen, "reproduce", "--recipe", args.recipe, "--out", str(run)]
    failures = 0
    try:
        for folder in (run, ref):
            shutil.rmtree(folder, ignore_errors=True)
        cold = not (work / "cache" / "bases").is_dir()
        rc, duration = run_reproduce(command, env, work / "ref.log")
        if rc != 0:
            print(f"reference run failed (exit {rc}); see {work / 'ref.log'}", file=sys.stderr)
            return 1
        run.rename(ref)
        reference = artefacts(ref)
        jobs = len(list((ref / "train").glob("*/*/seed*")))
        print(
            f"reference: {duration:.1f} s, {len(reference)} compared files, {jobs} jobs, "
            f"cache {'cold' if cold else 'warm'}",
            flush=True,
        )
        if cold:  # the first run built the base: time a warm one, and check two clean runs agree
            rc, duration = run_reproduce(command, env, work / "control.log")
            differences = compare(reference, artefacts(run)) if rc == 0 else [f"control run exit {rc}"]
            print(
                f"control (warm cache): {duration:.1f} s, {'identical' if not differences else differences[:5]}",
                flush=True,
            )
            failures += bool(differences)
            shutil.rmtree(run)
        identical = 0
        rng = random.Random(args.seed)
        moments = [duration * (i + rng.random()) / args.trials for i in range(args.trials)]
        print(
            f"\n{'trial':>5} {'kill_s':>7} {'stage killed in':<22} {'torn':>4} {'resume':>7} {'resume_s':>8} identical"
        )
        for trial, moment in enumerate(moments, 1):
            killed_rc, _ = run_reproduce(command, env, work / "killed.log", kill_at=moment)
            stage = stage_reached((work / "killed.log").read_text(encoding="utf-8", errors="replace"), jobs)
            if killed_rc == 0:
                stage = "finished"
            torn = [p for p in torn_files(run, jsonl=False) if p.startswith("torn")] if run.exists() else []
            resume_rc, resume_s = run_reproduce([*command, "--resume"], env, work / "resume.log")
            problems = [f"resume exit {resume_rc}"] if resume_rc != 0 else []
            problems += torn + (torn_files(run) + compare(reference, artefacts(run)) if resume_rc == 0 else [])
            ok = not problems
            failures += not ok
            identical += ok
            print(
                f"{trial:5d} {moment:7.1f} {stage:<22} {len(torn):4d} {'ok' if resume_rc == 0 else 'FAIL':>7} "
                f"{resume_s:8.1f} {'yes' if ok else 'NO'}",
                flush=True,
            )
            if ok:
                shutil.rmtree(run)
            else:
                for line in problems[:10]:
                    print(f"        {line}")
                kept = work / f"failed-trial-{trial}"
                shutil.rmtree(kept, ignore_errors=True)
                run.rename(kept)
                for name in ("killed.log", "resume.log"):
                    shutil.copy(work / name, kept.with_name(f"{kept.name}-{name}"))
        print(f"\n{identical}/{args.trials} trials: resumed and identical to the reference")
    finally:
        if args.keep is None and not failures:
            shutil.rmtree(work, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
