"""Run a benchmark from the repository's ``benchmarks/`` folder and print its table.

Benchmarks measure ours and a peer side by side in one run and report the ratio; they are not tests.
Each ``benchmarks/NAME.py`` defines ``run(quick: bool) -> list[dict]`` returning rows with ``name``,
``ours_per_s``, ``peer``, ``peer_per_s`` and ``ratio`` (the last three None where no peer applies),
plus an optional free-text ``note``.
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from sftgen.io import atomic_write_json

ROW_KEYS = ("name", "ours_per_s", "peer", "peer_per_s", "ratio")


def benchmarks_dir() -> Path:
    """``benchmarks/`` next to the source checkout (editable install) or above the working directory."""
    candidates = [Path(__file__).resolve().parents[2], *Path.cwd().resolve().parents, Path.cwd().resolve()]
    for root in candidates:
        if (root / "benchmarks").is_dir():
            return root / "benchmarks"
    raise FileNotFoundError("no benchmarks/ folder found: run from an sftgen checkout")


def load_benchmark(name: str):
    path = benchmarks_dir() / f"{name}.py"
    if not path.exists():
        raise FileNotFoundError(f"no benchmark {name!r} at {path}")
    spec = importlib.util.spec_from_file_location(f"sftgen_benchmark_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rate(fn, count: int) -> float:
    """Items per second of ``fn()`` producing ``count`` items (wall clock, one call)."""
    start = time.perf_counter()
    fn()
    return count / max(time.perf_counter() - start, 1e-9)


def _fmt(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"
    return str(value)


def run_benchmark(
    name: str, json_path: Path | None = None, quick: bool = False, console: Console | None = None
) -> list[dict]:
    console = console or Console()
    rows = load_benchmark(name).run(quick)
    for row in rows:
        missing = [k for k in ROW_KEYS if k not in row]
        if missing:
            raise ValueError(f"benchmark {name} row {row.get('name')} lacks {missing}")
    table = Table(title=f"sftgen bench {name}" + (" (quick)" if quick else ""))
    for column in (*ROW_KEYS, "note"):
        table.add_column(column, justify="right" if column.endswith(("_s", "ratio")) else "left")
    for row in rows:
        table.add_row(*(_fmt(row.get(k)) for k in (*ROW_KEYS, "note")))
    console.print(table)
    if json_path is not None:
        atomic_write_json(json_path, rows)
    return rows
