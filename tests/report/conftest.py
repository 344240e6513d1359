"""Report tests: one pair of real run folders (reference agents as stand-ins) and one report, built once."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).parent))  # report_helpers

import report_helpers as helpers


@pytest.fixture(scope="session")
def run_dirs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A tiny-model run (both tasks, answer-only/diverse/cot, base model) and a second model's Sokoban run."""
    root = tmp_path_factory.mktemp("report-runs")
    main = helpers.make_run(root / "tiny-run", "tiny", helpers.MAIN_METHODS, base=True)
    helpers.inject_response(main / "eval" / "sokoban" / "answer-only" / "seed0", "sokoban/id")
    second = helpers.make_run(root / "smollm-run", "smollm2-135m", helpers.SECOND_METHODS, tasks=("sokoban",))
    return main, second


@pytest.fixture(scope="session")
def built(run_dirs: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory):
    """The report of both run folders, merged."""
    from sftgen.report import build_report

    return build_report(list(run_dirs), tmp_path_factory.mktemp("report-out"))
