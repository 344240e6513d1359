"""``sftgen eval`` end to end, and its early error for an unknown split."""

from __future__ import annotations

import json

from click.testing import CliRunner

from sftgen.cli import main
from sftgen.splits import GROUPS


def test_eval_quick_writes_every_split(tmp_path):
    out = tmp_path / "oracle"
    result = CliRunner().invoke(main, ["eval", "--model", "oracle", "--splits", "quick", "--n", "3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["splits"]) == {s.name for s in GROUPS["quick"]}
    for m in metrics["splits"].values():
        assert m["n"] == 3 and {"success", "validity"} <= set(m)
    assert metrics["config"]["sampling"]["temperature"] == 0.5  # the study's sampling by default
    assert "sokoban/id" in result.output and "wrote" in result.output


def test_eval_rejects_an_unknown_split_before_any_work(tmp_path):
    out = tmp_path / "never"
    args = ["eval", "--model", "oracle", "--splits", "sokoban/id,sokoban/numericl", "--out", str(out), "--greedy"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code != 0
    assert "unknown split 'sokoban/numericl'" in result.output and "sokoban/numerical" in result.output
    assert not out.exists()


def test_eval_help_documents_the_command():
    result = CliRunner().invoke(main, ["eval", "--help"])
    assert result.exit_code == 0 and "--sweep" in result.output and "metrics.json" in result.output
