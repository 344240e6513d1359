"""``sftgen report``: merges run folders, writes into the first one by default, fails cleanly."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from sftgen.cli import main


def test_report_command_merges_run_folders(run_dirs: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "merged"
    result = CliRunner().invoke(main, ["report", *map(str, run_dirs), "--out", str(out), "--episodes", "2"])
    assert result.exit_code == 0, result.output
    assert "   PASS  1. Answer-only learns a shortcut" in result.output
    assert "[smollm2-135m]" in result.output and "NOT RUN" in result.output
    markdown = (out / "report.md").read_text(encoding="utf-8")
    assert "**answer-only · tiny**" in markdown and "**answer-only · smollm2-135m**" in markdown
    assert "up to 2 episodes per split" in markdown
    assert (out / "report.html").is_file() and any((out / "figures").glob("*.png"))


def test_report_defaults_to_the_first_run_folder(run_dirs: tuple[Path, Path], tmp_path: Path) -> None:
    run = tmp_path / "copy"
    shutil.copytree(run_dirs[1], run)  # paths in results.json are relative to the run folder
    result = CliRunner().invoke(main, ["report", str(run)])
    assert result.exit_code == 0, result.output
    assert (run / "report.md").is_file() and (run / "report.html").is_file() and (run / "figures").is_dir()


def test_report_command_errors_name_the_folder(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert result.exit_code != 0
    assert "has no results.json" in result.output
    assert CliRunner().invoke(main, ["report"]).exit_code != 0
