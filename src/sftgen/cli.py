"""The ``sftgen`` command line: each command parses arguments and calls one library function.

Every error a user can cause ends in one line on stderr (``Error: ...``, exit 1; usage errors exit 2) naming the
file, field or value and what would be valid; ``sftgen --debug ...`` shows the traceback instead.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from sftgen.train.config import TINY_MODELS

console = Console()


def log_event(message: str) -> None:
    """One event, stamped with its time; the message's further lines (the stage-time table) printed as they are:
    under the stamp and the source column they would wrap to one cell per line in a log file or a narrow terminal."""
    first, _, rest = message.partition("\n")
    console.log(first, _stack_offset=2)  # the source column names the caller (runner.py:N), not this line
    if rest:
        console.print(rest, markup=False, highlight=False, soft_wrap=True)


def _fail(message: str) -> None:
    raise click.ClickException(message)


class TaskName(click.ParamType):
    """A registered task name, checked against the registry when the argument is parsed (keeps startup lazy)."""

    name = "task"

    def convert(self, value: str, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from sftgen.tasks.protocol import task_names

        if value not in task_names():
            self.fail(f"{value!r} is not a registered task; choose from {', '.join(task_names())}", param, ctx)
        return value


_OS_HINTS: dict[type[OSError], str] = {
    PermissionError: "choose a path you can write to",
    FileNotFoundError: "check the path: it, or the folder it should go in, does not exist or cannot be created",
    NotADirectoryError: "a part of the path is a file, not a folder",
    IsADirectoryError: "give a file, not a folder",
    FileExistsError: "it is in the way (a file where a folder should be?): choose another path or remove it",
}


def describe_error(err: BaseException) -> str:
    """One line for ``err``: the file or value it is about, and what to do. Why: a traceback tells a user
    neither what was wrong with their input nor what would be valid (issue 20)."""
    if isinstance(err, OSError) and err.filename is not None:
        hint = next((h for kind, h in _OS_HINTS.items() if isinstance(err, kind)), "check the path")
        return f"{err.filename}: {err.strerror or type(err).__name__}; {hint}"
    text = str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)
    line = " ".join(text.split()) or type(err).__name__
    if not isinstance(err, (ValueError, OSError, LookupError, RuntimeError)):
        line = f"{type(err).__name__}: {line} (unexpected; rerun with --debug for the traceback)"
    return line


class _Main(click.Group):
    """The command group, turning any exception a command lets through into one line (``--debug``: re-raise)."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except click.ClickException as err:
            if ctx.params.get("debug") and err.__context__ is not None:  # a command's own one-line error
                traceback.print_exception(err.__context__)
            raise
        except (click.exceptions.Exit, click.Abort):
            raise
        except Exception as err:
            if ctx.params.get("debug"):
                raise
            raise click.ClickException(describe_error(err)) from None


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sftgen")
@click.option("--debug", is_flag=True, help="Show the Python traceback of an error instead of one line.")
def main(debug: bool) -> None:
    """Does SFT generalize? Tasks with instruction and difficulty shifts, data, training and evaluation."""
    if not sys.stderr.isatty():
        quiet_library_progress_bars()


# Read by datasets and huggingface_hub (and through it transformers) when they are first imported; the
# commands import them lazily, after this.
LIBRARY_PROGRESS_SWITCHES = ("HF_DATASETS_DISABLE_PROGRESS_BARS", "HF_HUB_DISABLE_PROGRESS_BARS")


def quiet_library_progress_bars() -> None:
    """No carriage-return bars when output goes to a file (nohup, CI, a recipe's job logs): there they make one
    line of megabytes. A user's own setting of the variables wins; the recipe's jobs inherit them."""
    for name in LIBRARY_PROGRESS_SWITCHES:
        os.environ.setdefault(name, "1")


@main.command("splits")
@click.option("--group", default=None, help="Only the splits of this group (study, quick, all, or a task's name).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
def splits_command(group: str | None, as_json: bool) -> None:
    """List the named evaluation splits."""
    from sftgen.splits import GROUPS, SPLITS, resolve_splits

    try:
        chosen = resolve_splits([group]) if group else list(SPLITS.values())
    except KeyError as err:
        _fail(describe_error(err))
    rows = [
        {
            "name": s.name,
            "task": s.task,
            "variant": s.variant,
            "difficulty": s.difficulty,
            "category": s.category,
            "size": s.size,
            "groups": [g for g, members in GROUPS.items() if any(m.name == s.name for m in members)],
        }
        for s in chosen
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    table = Table(title="sftgen evaluation splits")
    columns = ("name", "task", "variant", "difficulty", "category", "size")
    for column in columns:
        table.add_column(column, justify="right" if column == "size" else "left", no_wrap=True)
    for row in rows:
        table.add_row(*(str(row[c]) for c in columns))
    console.print(table)


@main.command("show")
@click.argument("split")
@click.option("--index", default=0, show_default=True, help="Which instance of the split.")
@click.option("--template", default="study", show_default=True, type=click.Choice(["study", "compact"]))
def show_command(split: str, index: int, template: str) -> None:
    """Print one instance's prompt and its optimal answer."""
    import numpy as np

    from sftgen.splits import GROUPS, get_split
    from sftgen.tasks.protocol import get_task

    if split in GROUPS:
        members = ", ".join(s.name for s in GROUPS[split][:3])
        raise click.BadParameter(
            f"{split!r} is a group of {len(GROUPS[split])} splits; show takes one split, e.g. {members}",
            param_hint="SPLIT",
        )
    try:
        spec = get_split(split)
    except KeyError as err:
        _fail(describe_error(err))
    if not 0 <= index < spec.size:
        _fail(f"--index must be in 0..{spec.size - 1} for {split}")
    instance = spec.instance(index)
    env = instance.make_env(template)
    prompt = env.observation()[0]["content"]
    console.rule(f"{instance.id}  (variant {spec.variant}, difficulty {spec.difficulty})")
    click.echo(prompt)  # verbatim: rich would expand the grid's tabs and wrap long lines
    console.rule("optimal answer")
    style, rng = instance.style(template), np.random.default_rng(0)
    click.echo(get_task(spec.task).reference_answer("oracle", env.state, spec.variant, style, rng))


@main.command("generate")
@click.argument("kind", type=click.Choice(["answer-only", "diverse", "cot", "diverse-cot", "rl"]))
@click.option("--task", required=True, type=TaskName(), help="A registered task (sftgen splits lists them).")
@click.option(
    "--n", "n", required=True, type=int, help="Instances: levels of a multi-turn task (each state a row), or puzzles."
)
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--out", required=True, type=click.Path(path_type=Path))
@click.option("--template", default="study", show_default=True, type=click.Choice(["study", "compact"]))
@click.option("--paraphrases", is_flag=True, help="Sample each row's wording from the training paraphrases.")
@click.option("--diverse-rl", is_flag=True, help="RL prompts with random action words / face-card maps.")
@click.option("--think", "rl_think", is_flag=True, help="RL prompts asking for <think> ... </think> first.")
@click.option("--overwrite", is_flag=True, help="Replace OUT if it exists.")
def generate_command(
    kind: str,
    task: str,
    n: int,
    seed: int,
    out: Path,
    template: str,
    paraphrases: bool,
    diverse_rl: bool,
    rl_think: bool,
    overwrite: bool,
) -> None:
    """Build an SFT or RL dataset (byte-identical for the same arguments)."""
    from sftgen.data.build import BuildConfig, build_dataset

    config = BuildConfig(kind, task, n, seed, template, paraphrases, diverse_rl, rl_think)
    try:
        config.validate()
        manifest = build_dataset(config, out, overwrite=overwrite, progress=sys.stderr.isatty())
    except (ValueError, FileExistsError) as err:
        _fail(describe_error(err))
    console.print(
        f"[green]wrote[/] {out}: {manifest['rows']} rows from {manifest['distinct_instances']} "
        f"instances, sha256 {manifest['sha256'][:16]}…"
    )


@main.command("datasets")
@click.option("--out", default="runs/datasets", show_default=True, type=click.Path(path_type=Path))
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--overwrite", is_flag=True)
def datasets_command(out: Path, seed: int, overwrite: bool) -> None:
    """Build the study's training sets for both tasks (every kind) and print the split table."""
    from sftgen.data.study import build_study_datasets

    try:
        summary = build_study_datasets(out, seed=seed, overwrite=overwrite)
    except (ValueError, FileExistsError) as err:
        _fail(describe_error(err))
    table = Table(title=f"training data in {out}")
    for column in ("dataset", "rows", "instances", "sha256"):
        table.add_column(column)
    for name, manifest in summary.items():
        table.add_row(name, str(manifest["rows"]), str(manifest["distinct_instances"]), manifest["sha256"][:16])
    console.print(table)
    splits_command.callback(group="study", as_json=False)  # type: ignore[misc]


@main.command("play")
@click.argument("task", type=TaskName())
@click.option("--variant", default=None, help="Instruction variant (default: the task's id split's).")
@click.option("--difficulty", default=None, help="Difficulty preset (default: the task's id split's).")
@click.option("--seed", default=0, show_default=True, type=int)
def play_command(task: str, variant: str | None, difficulty: str | None, seed: int) -> None:
    """Play a task in the terminal; the board redraws after each move."""
    from sftgen.play import play

    try:
        play(task, variant=variant, difficulty=difficulty, seed=seed, console=console)
    except (KeyError, ValueError) as err:
        _fail(describe_error(err))


@main.command("bench")
@click.argument("name", type=click.Choice(["generation", "eval", "train", "method_steps", "sft_tokenize"]))
@click.option("--json", "json_path", default=None, type=click.Path(path_type=Path), help="Also write rows as JSON.")
@click.option("--quick", is_flag=True, help="Fewer repetitions (for a smoke check, not for numbers).")
def bench_command(name: str, json_path: Path | None, quick: bool) -> None:
    """Run a benchmark in benchmarks/ and print its table (ratios measured side by side)."""
    from sftgen.bench import run_benchmark

    try:
        run_benchmark(name, json_path=json_path, quick=quick, console=console)
    except FileNotFoundError as err:
        _fail(describe_error(err))


@main.command("serve")
@click.option(
    "--model", required=True, help="An agent (oracle, shortcut, random), a model folder or preset (smollm2-135m)."
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--batch-size", default=64, show_default=True, type=click.IntRange(min=1))
@click.option("--max-body-bytes", default=1 << 20, show_default=True, type=click.IntRange(min=1), help="Else 413.")
@click.option("--max-tokens", default=2048, show_default=True, type=click.IntRange(min=1), help="Clamp per request.")
@click.option("--max-pending", default=256, show_default=True, type=click.IntRange(min=1), help="Else 503.")
@click.option("--context", default=None, type=click.IntRange(min=2), help="Prompt limit (default: the model's).")
def serve_command(
    model: str,
    host: str,
    port: int,
    batch_size: int,
    max_body_bytes: int,
    max_tokens: int,
    max_pending: int,
    context: int | None,
) -> None:
    """Serve a model or reference agent as an OpenAI-compatible /v1/chat/completions endpoint, with limits:
    bodies over --max-body-bytes get 413, prompts over the context 400, more than --max-pending requests 503."""
    from sftgen.models.serve import ServeLimits, serve

    limits = ServeLimits(max_body_bytes, max_tokens, max_pending, context)
    serve(model, host=host, port=port, batch_size=batch_size, limits=limits)


@main.command("eval")
@click.option("--model", required=True, help="Agent (oracle, shortcut, random), http(s):// server, model dir/preset.")
@click.option("--splits", required=True, help="Groups or split names, comma-separated (quick, study, TASK/SPLIT, ...).")
@click.option("--n", "n", default=None, type=int, help="Keep the first N instances of each split.")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Output folder (metrics.json, episodes/).")
@click.option("--greedy", is_flag=True, help="Argmax decoding instead of the study's sampling.")
@click.option("--temperature", default=0.5, show_default=True, type=float, help="Sampling temperature (study: 0.5).")
@click.option("--top-p", default=1.0, show_default=True, type=float)
@click.option("--seed", default=0, show_default=True, type=int, help="Sampling seed (per episode and turn).")
@click.option("--template", default="auto", show_default=True, type=click.Choice(["auto", "study", "compact"]))
@click.option("--response-format", default="auto", show_default=True, type=click.Choice(["auto", "answer", "think"]))
@click.option("--max-new-tokens", default=256, show_default=True, type=int)
@click.option("--batch-size", default=64, show_default=True, type=int, help="HF decoding batch / requests in flight.")
@click.option("--max-batch", default=None, type=int, help="Split each turn's generate call into chunks of this size.")
@click.option("--device", default=None, help="HF models: cpu, cuda, cuda:1 (default: cuda when present).")
@click.option("--no-resume", is_flag=True, help="Start over instead of keeping the episodes already in OUT.")
@click.option("--no-memo", is_flag=True, help="Greedy: ask again even when an episode's prompt repeats.")
@click.option("--sweep", "as_sweep", is_flag=True, help="MODEL is a run folder: evaluate each checkpoint-N + final.")
def eval_command(
    model: str,
    splits: str,
    n: int | None,
    out: Path,
    greedy: bool,
    temperature: float,
    top_p: float,
    seed: int,
    template: str,
    response_format: str,
    max_new_tokens: int,
    batch_size: int,
    max_batch: int | None,
    device: str | None,
    no_resume: bool,
    no_memo: bool,
    as_sweep: bool,
) -> None:
    """Evaluate a model on named splits: batched multi-turn rollouts, then metrics with 95% CIs.

    Writes OUT/metrics.json (+ .csv, .md) and one JSONL record per episode under OUT/episodes/; rerunning
    the same command resumes after an interruption. With --sweep, OUT/checkpoint-N/ per checkpoint plus
    OUT/curves.json. Examples:

    \b
      sftgen eval --model oracle --splits quick --out runs/eval/oracle
      sftgen eval --model runs/sft/answer-only --splits study --out runs/eval/ao
      sftgen eval --model http://localhost:8000 --splits quick --n 50 --out o
      sftgen eval --model runs/sft/answer-only --sweep --splits validation --greedy --out runs/curves/ao
    """
    from sftgen.eval.evaluate import choose_splits, evaluate
    from sftgen.eval.metrics import summary_table
    from sftgen.eval.rollout import EvalInterrupted
    from sftgen.eval.sweep import CURVE_POINTS, Checkpoint, sweep
    from sftgen.models.sampling import BackendError, Sampling

    try:
        choose_splits(splits, n)  # unknown names fail before a model is loaded
        sampling = Sampling(temperature, top_p, max_new_tokens, seed, greedy)
        kwargs: dict = dict(template=template, response_format=response_format, batch_size=batch_size)
        kwargs.update(resume=not no_resume, max_batch=max_batch, device=device, memoize=False if no_memo else None)
        if as_sweep:

            def report(checkpoint: Checkpoint, metrics: dict, skipped: bool) -> None:
                note = " (already done)" if skipped else ""
                console.print(summary_table(metrics, f"{checkpoint.name} (step {checkpoint.step}){note}"))

            curves = sweep(Path(model), splits, out, n=n, sampling=sampling, on_checkpoint=report, **kwargs)
            console.print(f"[green]wrote[/] {out / 'curves.json'} ({len(curves[CURVE_POINTS])} checkpoints)")
            return
        with console.status("evaluating…") as status:

            def progress(turn: int, live: int, finished: int) -> None:
                status.update(f"turn {turn}: {finished} episodes finished, {live} still playing")

            metrics = evaluate(model, splits, out, n=n, sampling=sampling, on_turn=progress, **kwargs)
    except (KeyError, ValueError, OSError, EvalInterrupted, BackendError) as err:
        _fail(describe_error(err))
    console.print(summary_table(metrics, f"sftgen eval {model}"))
    config = metrics["config"]
    console.print(
        f"[green]wrote[/] {out / 'metrics.json'}: {config['episodes']} episodes "
        f"({config['episodes_resumed']} resumed) in {config['seconds']:.1f} s"
    )


def _add_train_commands() -> None:
    """``sftgen train ...`` lives in sftgen.train.commands (no torch import until a run starts)."""
    from sftgen.train.commands import train_group

    main.add_command(train_group)


_add_train_commands()


@main.command("report")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(path_type=Path, file_okay=False))
@click.option("--out", default=None, type=click.Path(path_type=Path), help="Output folder (default: first RUN_DIR).")
@click.option("--episodes", default=20, show_default=True, type=int, help="Episodes per split in the HTML viewer.")
def report_command(run_dirs: tuple[Path, ...], out: Path | None, episodes: int) -> None:
    """Write report.md, report.html (self-contained) and figures/ from experiment run folders.

    Several RUN_DIRs are merged (e.g. a tiny run and a pretrained one); each is labelled by its model.

    \b
      sftgen report runs/quick
      sftgen report runs/tiny runs/smollm --out runs/report
    """
    from sftgen.report import build_report

    try:
        report = build_report(list(run_dirs), out, episodes_per_split=episodes)
    except (ValueError, FileNotFoundError, OSError) as err:
        _fail(describe_error(err))
    for finding in report.findings:
        click.echo(f"{finding.status:>7}  {finding.number}. {finding.title} [{finding.source}]")
    console.print(f"[green]wrote[/] {report.markdown}, {report.html} and {len(report.figures)} figures")


@main.command("cot")
@click.option("--teacher", required=True, help="Teacher: a model folder, preset, hub name or http(s):// server URL.")
@click.option("--task", required=True, type=TaskName(), help="A registered task (sftgen splits lists them).")
@click.option("--n", "n", required=True, type=int, help="Instances (levels: every state is a prompt, or puzzles).")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--out", required=True, type=click.Path(path_type=Path))
@click.option("--samples", default=16, show_default=True, type=click.IntRange(min=1), help="Samples per prompt.")
@click.option("--temperature", default=1.0, show_default=True, type=float)
@click.option("--max-new-tokens", default=1024, show_default=True, type=click.IntRange(min=1))
@click.option("--batch-size", default=64, show_default=True, type=click.IntRange(min=1), help="HF batch / requests.")
@click.option("--diverse", is_flag=True, help="Prompts with random action words / face-card maps.")
@click.option("--template", default="study", show_default=True, type=click.Choice(["study", "compact"]))
@click.option("--overwrite", is_flag=True, help="Replace OUT if it exists.")
def cot_command(
    teacher: str,
    task: str,
    n: int,
    seed: int,
    out: Path,
    samples: int,
    temperature: float,
    max_new_tokens: int,
    batch_size: int,
    diverse: bool,
    template: str,
    overwrite: bool,
) -> None:
    """Teacher CoT data: sample the teacher, keep each prompt's first answer the verifier gives full marks."""
    from sftgen.data.teacher import teacher_cot
    from sftgen.models.sampling import BackendError

    try:
        manifest = teacher_cot(
            teacher,
            task,
            n,
            seed,
            out,
            samples,
            temperature,
            max_new_tokens,
            diverse,
            template,
            batch_size,
            overwrite,
            progress=sys.stderr.isatty(),
        )
    except (ValueError, FileExistsError, BackendError) as err:
        _fail(describe_error(err))
    console.print(
        f"[green]wrote[/] {out}: kept {manifest['kept']}/{manifest['prompts']} prompts "
        f"(acceptance {manifest['acceptance_rate']:.1%}, sample pass rate {manifest['sample_pass_rate']:.1%})"
    )
    if not manifest["kept"]:
        console.print("[yellow]no prompt passed: the dataset is empty and `sftgen train sft` will refuse it[/]")


def _machine() -> str:
    import platform

    import torch

    device = torch.cuda.get_device_name() if torch.cuda.is_available() else f"CPU ({os.cpu_count()} cores)"
    return f"{device}, torch {torch.__version__}, {platform.platform()}"


def _check_shipped_base(preset: str, out: Path | None, progress: bool) -> None:
    """Rebuild ``preset``'s shipped base from its manifest's config and compare the probes; exit 1 when one is off."""
    import tempfile

    from sftgen.base.pretrain import BASE_INFO, BaseConfig, pretrain_base
    from sftgen.base.shipped import PROBE_TOLERANCE, compare_probes, shipped_manifest, shipped_presets
    from sftgen.experiment.jobs import limit_threads
    from sftgen.io import read_json

    manifest = shipped_manifest(preset)
    if manifest is None:
        shipped = ", ".join(shipped_presets()) or "none"
        _fail(f"this installation ships no {preset!r} base to check (shipped: {shipped})")
    limit_threads()
    folder = out or Path(tempfile.mkdtemp(prefix="sftgen-base-check-"))
    rebuilt = pretrain_base(BaseConfig(**manifest["config"]), out=folder, progress=progress, use_shipped=False)
    rows = compare_probes(read_json(rebuilt / BASE_INFO), manifest)
    for probe, shipped, new, ok in rows:
        console.print(f"{probe}: shipped {shipped:.2f}, rebuilt {new:.2f}: {'ok' if ok else 'OFF'}")
    if not rows or not all(ok for *_, ok in rows):
        _fail(f"the rebuilt base's probes differ from the shipped ones by more than {PROBE_TOLERANCE} ({rebuilt})")
    console.print(f"[green]the rebuilt base matches the shipped one[/] within {PROBE_TOLERANCE} ({rebuilt})")


@main.command("pretrain-base")
@click.option("--preset", default="tiny", show_default=True, type=click.Choice(TINY_MODELS))
@click.option("--out", default=None, type=click.Path(path_type=Path), help="Folder (default: the cache, by hash).")
@click.option("--lookup-rows", default=None, type=int, help="Stage 1 (dense look-up) rows; default: BaseConfig's.")
@click.option("--rows", default=None, type=int, help="Stage 2 (whole curriculum) rows; default: BaseConfig's.")
@click.option("--navigate-rows", default=None, type=int, help="Stage 3 (navigation + look-up) rows; default 0.")
@click.option(
    "--skill-rows", default=None, type=int, help="Stage 4 (tasks' presumed skills) rows; default: BaseConfig's."
)
@click.option(
    "--compose-rows", default=None, type=int, help="Stage 5 (skills on worked-out inputs) rows; default: BaseConfig's."
)
@click.option("--seed", default=0, show_default=True, type=int)
@click.option(
    "--pool",
    default="words",
    show_default=True,
    type=click.Choice(["words", "codes", "codes3"]),
    help="Diverse pool its declared maps draw from (docs/recipes.md).",
)
@click.option("--check", is_flag=True, help="Rebuild the preset's shipped base from scratch and compare its probes.")
@click.option(
    "--ship",
    is_flag=True,
    help="Copy the built base into the package with its manifest (tiny-copy: a fresh head on the shipped plain base).",
)
def pretrain_base_command(
    preset: str,
    out: Path | None,
    lookup_rows: int | None,
    rows: int | None,
    navigate_rows: int | None,
    skill_rows: int | None,
    compose_rows: int | None,
    seed: int,
    pool: str,
    check: bool,
    ship: bool,
) -> None:
    """Train a tiny base model that reads declared mappings (cached by content hash) and probe it."""
    from sftgen.base.pretrain import BASE_INFO, COPY_HEAD_PRESETS, BaseConfig, pretrain_base
    from sftgen.experiment.jobs import limit_threads
    from sftgen.io import read_json

    given = {
        "rows": rows,
        "lookup_rows": lookup_rows,
        "navigate_rows": navigate_rows,
        "skill_rows": skill_rows,
        "compose_rows": compose_rows,
    }
    sizes = {k: v for k, v in given.items() if v is not None}
    if check:
        _check_shipped_base(preset, out, progress=sys.stderr.isatty())
        return
    config = BaseConfig(preset=preset, seed=seed, pool=pool, **sizes)
    try:
        config.validate()
    except ValueError as err:
        _fail(describe_error(err))
    limit_threads()
    # shipping builds from scratch, except a copy-head preset's plain base: the head is its only new part
    use_shipped = not ship or preset in COPY_HEAD_PRESETS
    final = pretrain_base(config, out=out, progress=sys.stderr.isatty(), use_shipped=use_shipped)
    info = read_json(final / BASE_INFO)
    if ship:
        from sftgen.base.shipped import ship as ship_base

        ship_base(final, {"command": " ".join(["sftgen", *sys.argv[1:]]), "machine": _machine()})
    console.print(f"[green]base model[/] {final}")
    console.print(f"look-up probe on held-out mappings: {json.dumps(info['lookup_probe'])}")
    console.print(f"far look-up probe (a grid between map and query): {json.dumps(info.get('far_lookup_probe'))}")
    console.print(f"navigation probe on held-out mappings: {json.dumps(info.get('navigate_probe'))}")
    console.print(f"skill probe (tasks' presumed skills, fresh draws): {json.dumps(info.get('skill_probe'))}")


@main.command("reproduce")
@click.option(
    "--recipe",
    "recipe_name",
    default="quick",
    show_default=True,
    help="A shipped recipe (quick, tiny, tiny-frozen, tiny-navigate, smoke, pretrained-cpu, qwen2.5-7b, "
    "llama-3.1-8b) or a YAML file.",
)
@click.option("--out", default=None, type=click.Path(path_type=Path), help="Run folder (default runs/RECIPE).")
@click.option("--resume", is_flag=True, help="Continue a run in --out, skipping finished work.")
@click.option("--no-report", is_flag=True, help="Skip writing report.md/report.html.")
@click.option("--rebuild-base", is_flag=True, help="Train the recipe's base model instead of using the shipped one.")
@click.option(
    "--set",
    "settings",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a recipe key (YAML value; lists by name): model=DIR, train.max_steps=4, tasks.points.n=8.",
)
def reproduce_command(
    recipe_name: str, out: Path | None, resume: bool, no_report: bool, rebuild_base: bool, settings: tuple[str, ...]
) -> None:
    """Run a recipe end to end: base model, data, training, evaluation, report."""
    from sftgen.experiment.recipe import load_recipe
    from sftgen.experiment.runner import refuse_per_rank_launch, reproduce
    from sftgen.train.typed import ConfigError

    try:
        refuse_per_rank_launch()
        recipe = load_recipe(recipe_name, settings=settings)
    except RuntimeError as err:
        _fail(describe_error(err))
    except ConfigError as err:
        _fail(f"recipe {err}")
    out = out or Path("runs") / recipe.name
    try:
        results = reproduce(recipe, out, resume=resume, report=not no_report, log=log_event, rebuild_base=rebuild_base)
    except (FileExistsError, ValueError, RuntimeError) as err:
        _fail(describe_error(err))
    console.print(f"[green]done[/] in {results['wall_seconds']:.0f} s; report: {out / 'report.md'}")
    report_file = out / "report.md"
    if report_file.is_file():
        findings = [ln for ln in report_file.read_text(encoding="utf-8").splitlines() if "PASS" in ln or "FAIL" in ln]
        for line in findings[:10]:
            console.print(line, markup=False, highlight=False)


@main.group("export")
def export_group() -> None:
    """Write splits in another stack's data format (docs/integrations.md)."""


@export_group.command("verl")
@click.option("--split", "split_names", required=True, help="Groups or split names, comma-separated.")
@click.option("--out", required=True, type=click.Path(path_type=Path, dir_okay=False), help="Parquet file to write.")
@click.option("--n", "n", default=None, type=click.IntRange(min=1), help="Keep the first N instances of each split.")
@click.option("--seed", default=None, type=int, help="Fresh puzzles of each split's kind instead of the frozen split.")
@click.option("--template", default="study", show_default=True, type=click.Choice(["study", "compact"]))
@click.option("--response-format", default="answer", show_default=True, type=click.Choice(["answer", "think"]))
def export_verl_command(
    split_names: str, out: Path, n: int | None, seed: int | None, template: str, response_format: str
) -> None:
    """verl's RL parquet (data_source, prompt, ability, reward_model, extra_info), scored by
    sftgen.integrations.verl.compute_score."""
    from sftgen.integrations.verl import export_verl

    try:
        splits = export_verl(split_names, out, n, seed, template, response_format)
    except KeyError as err:
        _fail(describe_error(err))
    console.print(f"[green]wrote[/] {out}: {sum(s.size for s in splits)} rows from {len(splits)} splits")


if __name__ == "__main__":
    sys.exit(main())
