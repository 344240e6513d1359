"""``sftgen reproduce``: base model → data → every (task, method, seed) job → results.json → report.

One folder per run::

    RUN/recipe.yaml            the resolved recipe (a resume must use the same one)
    RUN/base -> the cached base model, when the recipe trains one (plus RUN/eval/base/ zero-shot metrics)
    RUN/data/TASK/METHOD/      the SFT datasets (manifest + datasets folder)
    RUN/train/TASK/METHOD/seedS/   checkpoints, final/, log.jsonl, run.json
    RUN/eval/TASK/METHOD/seedS/    checkpoint-N/ metrics + episodes, curves.json
    RUN/results.json           what the report reads
    RUN/timings.json           wall time per stage (also printed at the end and shown in the report)
    RUN/report.md, report.html, figures/

Every step skips what is already done, so ``--resume`` after a crash or kill redoes nothing finished.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict
from pathlib import Path
from typing import Any

import yaml

from sftgen.data.build import BuildConfig, build_dataset
from sftgen.experiment.jobs import Job, exit_with_parent, limit_threads, longest_first, run_job
from sftgen.experiment.recipe import DATA_KIND, Recipe, response_format
from sftgen.experiment.timing import StageTimes
from sftgen.io import atomic_write_json, atomic_write_text, read_json

Log = Callable[[str], None]


def _check_recipe_file(out: Path, recipe: Recipe, resume: bool) -> None:
    file = out / "recipe.yaml"
    text = yaml.safe_dump(recipe.to_dict(), sort_keys=True, allow_unicode=True)
    if file.exists():
        if not resume:
            raise FileExistsError(f"{out} already holds a run; pass --resume to continue it or choose another --out")
        if file.read_text(encoding="utf-8") != text:
            raise ValueError(f"{out} was started with a different recipe; choose another --out")
    atomic_write_text(file, text)


def _remove_leftovers(out: Path, log: Log) -> None:
    """Temporary files a killed run left in its own folder: ``.NAME.*.tmp`` from sftgen's atomic writes, and the
    ``tmp*`` files ``datasets`` writes next to a dataset before renaming them to ``cache-*.arrow``. Nothing else
    writes into a run folder while ``reproduce`` starts; links (``base`` -> the shared cache) are not followed."""
    import os
    import shutil

    found = []
    for root, dirs, files in os.walk(out):  # does not follow links
        here = Path(root)
        dataset = here.name == "dataset" and here.relative_to(out).parts[:1] == ("data",)
        for name in [*dirs, *files]:
            if (name.startswith(".") and name.endswith(".tmp")) or (dataset and name.startswith("tmp")):
                found.append(here / name)
        dirs[:] = [d for d in dirs if here / d not in found]
    for path in found:
        shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
    if found:
        names = ", ".join(str(p.relative_to(out)) for p in found[:3])
        log(f"removed {len(found)} temporary file(s) a killed run left: {names}")


TEACHER_KINDS = ("cot", "diverse-cot")


def _teacher_data(recipe: Recipe, task: Any, kind: str, folder: Path, log: Log) -> None:
    """CoT rows of ``kind`` sampled from the recipe's teacher and kept by the verifier (rejection sampling), unless
    a dataset of the same teacher settings is already there. An empty result stops the run here, naming the
    acceptance, rather than as "no rows" inside a training job."""
    from sftgen.data.teacher import teacher_cot

    teacher = recipe.teacher
    assert teacher is not None
    wanted = {
        "teacher": teacher.model,
        "samples": teacher.samples,
        "temperature": teacher.temperature,
        "max_new_tokens": teacher.max_new_tokens,
        "diverse": kind == "diverse-cot",
        "template": recipe.template,
        "seed": task.data_seed,
        "n": task.n,
    }
    manifest = folder / "manifest.json"
    if manifest.is_file():
        config = read_json(manifest)["config"]
        if {key: config.get(key) for key in wanted} == wanted:
            return
    log(f"data {task.task}/{kind}: sampling teacher {teacher.model} on {task.n} instances x {teacher.samples}")
    result = teacher_cot(
        teacher.model,
        task.task,
        task.n,
        task.data_seed,
        folder,
        teacher.samples,
        teacher.temperature,
        teacher.max_new_tokens,
        kind == "diverse-cot",
        recipe.template,
        teacher.batch_size,
        overwrite=True,
        progress=False,
    )
    log(f"data {task.task}/{kind}: kept {result['kept']}/{result['prompts']} prompts")
    if not result["kept"]:
        raise RuntimeError(f"teacher {teacher.model}: no {task.task} prompt passed the verifier ({folder})")


def build_data(recipe: Recipe, out: Path, log: Log) -> dict[tuple[str, str], Path]:
    """Every dataset the recipe's methods read, by (task, data kind); CoT from the teacher when the recipe has one.

    Datasets not yet built are built ``recipe.parallel`` at a time: each is independent and bound to one core
    (level generation and solving), and the main job waits for all of them before training starts.
    """
    folders, todo = {}, []
    for task in recipe.tasks:
        for kind in recipe.data_kinds():
            folder = out / "data" / task.task / kind
            if recipe.teacher is not None and kind in TEACHER_KINDS:
                _teacher_data(recipe, task, kind, folder, log)
                folders[(task.task, kind)] = folder
                continue
            config = BuildConfig(
                kind,
                task.task,
                task.n,
                task.data_seed,
                recipe.template,
                task.paraphrases,
                rl_think=kind == "rl",
                pool=recipe.diverse_pool,
            )
            if not (folder / "manifest.json").is_file() or read_json(folder / "manifest.json")["config"] != asdict(
                config
            ):
                log(f"data {task.task}/{kind}: building {task.n} instances")
                todo.append((config, folder))
            folders[(task.task, kind)] = folder
    _build_all(todo, recipe.parallel)
    return folders


def worker_pool(size: int) -> ProcessPoolExecutor:
    """``size`` fresh (spawned) processes that end when this one does (``exit_with_parent``)."""
    context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(size, mp_context=context, initializer=exit_with_parent, initargs=(os.getpid(),))


def _build_all(todo: list[tuple[BuildConfig, Path]], parallel: int) -> None:
    if parallel < 2 or len(todo) < 2:
        for config, folder in todo:
            build_dataset(config, folder, overwrite=True, progress=False)
        return
    with worker_pool(min(parallel, len(todo))) as pool:
        builds = [pool.submit(build_dataset, config, folder, overwrite=True, progress=False) for config, folder in todo]
        for build in builds:
            build.result()  # a failed build fails the run here, before any training


def _sampling(recipe: Recipe) -> dict[str, Any]:
    e = recipe.eval
    return {
        "temperature": e.temperature,
        "top_p": e.top_p,
        "max_new_tokens": e.max_new_tokens,
        "seed": e.seed,
        "greedy": e.greedy,
    }


def plan_jobs(
    recipe: Recipe, out: Path, data: dict[tuple[str, str], Path], model: str, replay: str | None = None
) -> list[Job]:
    jobs = []
    for task in recipe.tasks:
        for method in recipe.methods:
            for seed in recipe.seeds:
                train_dir = out / "train" / task.task / method / f"seed{seed}"
                grpo = None
                if method == "grpo":
                    warm_dir = train_dir.with_name(f"seed{seed}-warm")
                    sft = recipe.sft_config(
                        method,
                        seed,
                        str(data[(task.task, "cot")]),
                        str(warm_dir),
                        model=model,
                        replay=replay,
                        task=task.task,
                    )
                    grpo = recipe.grpo_config(
                        seed, str(warm_dir / "final"), str(data[(task.task, "rl")]), str(train_dir)
                    )
                    grpo = grpo.to_dict()
                else:
                    sft = recipe.sft_config(
                        method,
                        seed,
                        str(data[(task.task, DATA_KIND[method])]),
                        str(train_dir),
                        model=model,
                        replay=replay,
                        task=task.task,
                    )
                jobs.append(
                    Job(
                        task=task.task,
                        method=method,
                        seed=seed,
                        sft=sft.to_dict(),
                        train_dir=str(train_dir),
                        eval_dir=str(out / "eval" / task.task / method / f"seed{seed}"),
                        validation_split=recipe.validation_split(task.task),
                        curve_splits=recipe.splits_for(task.task, recipe.eval.curve_splits, None),
                        curve_n=recipe.eval.curve_n,
                        final_splits=recipe.splits_for(task.task, recipe.eval.splits, None),
                        final_n=recipe.eval.n,
                        sampling=_sampling(recipe),
                        batch_size=recipe.eval.batch_size,
                        template=recipe.template,
                        response_format=response_format(method),
                        grpo=grpo,
                        launcher=recipe.launcher,
                        backend=recipe.eval.backend,
                        server=recipe.eval.server,
                        server_timeout=recipe.eval.server_timeout,
                    )
                )
    return jobs


def _base(recipe: Recipe, out: Path, log: Log, times: StageTimes, rebuild: bool = False) -> dict[str, Any] | None:
    """Use the shipped base (or train / reuse a cached one) and measure it zero-shot, before any SFT."""
    if recipe.base is None:
        return None
    from sftgen.base.pretrain import BASE_INFO, pretrain_base, replay_rows
    from sftgen.eval.evaluate import evaluate
    from sftgen.models.sampling import Sampling

    log(f"base: {recipe.base.preset}, fingerprint {recipe.base.fingerprint()} (shipped or cached when built before)")
    limit_threads()
    with times.stage("base model (shipped or cached when built before)"):
        base_dir = pretrain_base(recipe.base, progress=False, use_shipped=not rebuild)
    link = out / "base"
    if not link.exists():
        link.symlink_to(base_dir.resolve(), target_is_directory=True)
    splits = [s for t in recipe.tasks for s in recipe.splits_for(t.task, recipe.eval.splits, None)]
    with times.stage("base model zero-shot evaluation"):
        evaluate(
            str(base_dir),
            splits,
            out / "eval" / "base",
            n=recipe.eval.curve_n or recipe.eval.n,
            sampling=Sampling(**_sampling(recipe)),
            batch_size=recipe.eval.batch_size,
        )
    info = read_json(base_dir / BASE_INFO)
    return {
        "dir": str(base_dir),
        "lookup_probe": info.get("lookup_probe"),
        "far_lookup_probe": info.get("far_lookup_probe"),
        "navigate_probe": info.get("navigate_probe"),
        "replay_data": str(replay_rows(base_dir, out / "data" / "base-replay")) if recipe.base_replay else None,
        "eval_dir": str(out / "eval" / "base"),
        "wall_seconds": info.get("wall_seconds"),
    }


def run_jobs(
    jobs: list[Job],
    parallel: int,
    log: Log,
    logs_dir: Path,
    on_done: Callable[[list[dict[str, Any]]], None] | None = None,
) -> list[dict[str, Any]]:
    """Run jobs ``parallel`` at a time in fresh processes, largest first; a failed job fails the run after the
    others end.

    ``on_done(finished)`` is called after each job with every finished job's result, in plan order.
    """
    results: dict[str, dict[str, Any]] = {}
    errors = []
    with worker_pool(min(parallel, len(jobs))) as pool:
        pending: dict[Future, Job] = {
            pool.submit(run_job, job, str(logs_dir / (job.label.replace("/", "__") + ".log"))): job
            for job in longest_first(jobs)
        }
        log(f"{len(jobs)} jobs, {min(parallel, len(jobs))} at a time; their logs are in {logs_dir}")
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                job = pending.pop(future)
                try:
                    results[job.label] = future.result()
                    log(
                        f"job {job.label}: done in {results[job.label]['wall_seconds']:.0f} s, "
                        f"chose {results[job.label]['chosen']}"
                    )
                except Exception as err:
                    errors.append(f"{job.label}: {type(err).__name__}: {err}")
                    log(f"job {job.label}: FAILED ({err})")
                    continue
                if on_done is not None:
                    on_done([results[j.label] for j in jobs if j.label in results])
    if errors:
        raise RuntimeError("some jobs failed (rerun with --resume to continue):\n" + "\n".join(errors))
    return [results[job.label] for job in jobs]


def refuse_per_rank_launch() -> None:
    """Stop when started as one of several processes (``accelerate launch sftgen reproduce``): every rank would
    build the data, evaluate and report into the same folder. Only training is distributed, through the recipe's
    ``launcher:``, and everything after it runs once, here."""
    import os

    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise RuntimeError(
            f"sftgen reproduce was started as one of {os.environ['WORLD_SIZE']} processes; run it as one process "
            "and put the accelerate command in the recipe's launcher: (e.g. --set launcher='accelerate launch "
            "--config_file configs/accelerate/fsdp.yaml'), which distributes the training jobs only"
        )


def reproduce(
    recipe: Recipe,
    out: str | Path,
    resume: bool = False,
    report: bool = True,
    log: Log = print,
    rebuild_base: bool = False,
) -> dict:
    """Run a whole recipe into ``out`` and return results.json's content; ``rebuild_base`` trains the recipe's base
    (or reuses one in the cache) even where the package ships it."""
    refuse_per_rank_launch()
    start = time.perf_counter()
    times = StageTimes(started=start)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _check_recipe_file(out, recipe, resume)
    if resume:
        _remove_leftovers(out, log)
    base = _base(recipe, out, log, times, rebuild_base)
    model = base["dir"] if base else recipe.model
    with times.stage("data build"):
        data = build_data(recipe, out, log)
    replay = base["replay_data"] if base else None
    jobs = plan_jobs(recipe, out, data, model, replay)

    def write_results(runs: list[dict[str, Any]]) -> dict[str, Any]:
        """results.json after every job: a long run can be reported (``sftgen report``) before it ends."""
        results = {
            "recipe": recipe.to_dict(),
            "model": recipe.model,
            "template": recipe.template,
            "base": base,
            "runs": runs,
            "jobs_planned": len(jobs),
            "complete": len(runs) == len(jobs),
            "wall_seconds": round(time.perf_counter() - start, 1),
        }
        atomic_write_json(out / "results.json", results)
        return results

    results = write_results(run_jobs(jobs, recipe.parallel, log, out / "logs", on_done=write_results))
    for run in results["runs"]:
        times.add_job(run)
    times.write(out)  # before the report, which shows the table (all but its own row)
    if report:
        from sftgen.report import build_report

        with times.stage("report"):
            build_report([out])
        times.write(out)
    log(f"wall time per stage (also in {out / 'timings.json'}):\n{times.table()}")
    return results
