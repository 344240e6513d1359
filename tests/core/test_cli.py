"""The ``sftgen`` command line (click's CliRunner in process, the installed script where processes matter)."""

from __future__ import annotations

import ast
import hashlib
import io
import json
import os
import re
import subprocess
from importlib.util import find_spec
from pathlib import Path

import pytest
from click.testing import CliRunner
from core_helpers import REPO, SFTGEN
from rich.console import Console

from sftgen.cli import main
from sftgen.play import play
from sftgen.prompts import read_declared_words
from sftgen.splits import SPLITS, get_split
from sftgen.tasks.grid import NUMERICAL
from sftgen.tasks.points import one_solution, verify
from sftgen.tasks.points.variants import POINTS_VARIANTS
from sftgen.tasks.sokoban import solve
from sftgen.tasks.sokoban.env import parse_action
from sftgen.tasks.sokoban.prompts import read_board
from sftgen.tasks.sokoban.variants import SOKOBAN_VARIANTS


def _invoke(*args: str, input: str | None = None):
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# ---------------------------------------------------------------------------------------------- splits / show


def test_splits_json() -> None:
    result = _invoke("splits", "--json")
    assert result.exit_code == 0
    rows = json.loads(result.output)
    assert isinstance(rows, list) and len(rows) == len(SPLITS)
    for row in rows:
        assert {"name", "task", "variant", "difficulty", "size"} <= set(row)
        split = SPLITS[row["name"]]
        assert (row["task"], row["variant"], row["difficulty"], row["size"]) == (
            split.task,
            split.variant,
            split.difficulty,
            split.size,
        )
    by_name = {r["name"]: r for r in rows}
    assert by_name["sokoban/fake_numerical"]["variant"] == "fake_numerical"
    assert by_name["points/id"]["size"] == 500
    assert "study" in by_name["sokoban/id"]["groups"] and "study" not in by_name["points/six"]["groups"]


def test_splits_group_and_table() -> None:
    rows = json.loads(_invoke("splits", "--group", "quick", "--json").output)
    assert {r["size"] for r in rows if r["task"] == "sokoban"} == {20}
    table = _invoke("splits")
    assert table.exit_code == 0 and "sokoban/two_boxes" in table.output and "points/fake_all_5" in table.output


def test_show_prints_prompt_and_declared_answer() -> None:
    result = _invoke("show", "sokoban/numerical", "--index", "3")
    assert result.exit_code == 0
    prompt = get_split("sokoban/numerical").instance(3).make_env().observation()[0]["content"]
    assert prompt in result.output  # verbatim: tabs kept, no wrapping
    answer = result.output.strip().splitlines()[-1]
    parsed = parse_action(answer, NUMERICAL)
    assert parsed.valid and parsed.answer in NUMERICAL.words
    assert parsed.action == solve(read_board(prompt))[0]
    assert read_declared_words(result.output).words == NUMERICAL.words


def test_show_points_and_compact() -> None:
    result = _invoke("show", "points/regular", "--index", "2")
    assert result.exit_code == 0
    hand = get_split("points/regular").instance(2).materialize()
    assert repr(hand.labels()) in result.output
    answer = result.output.strip().splitlines()[-1]
    assert verify(answer, hand.values(POINTS_VARIANTS["regular"].scored)).success
    compact = _invoke("show", "sokoban/id", "--template", "compact")
    assert compact.exit_code == 0 and "actions:up=Up,down=Down" in compact.output


@pytest.mark.parametrize(("command", "name"), [("show", "sokoban/numeric"), ("splits", "sokoban/numeric")])
def test_unknown_split_fails_with_close_matches(command: str, name: str) -> None:
    args = ["show", name] if command == "show" else ["splits", "--group", name]
    result = CliRunner().invoke(main, args)
    assert result.exit_code != 0
    assert "unknown split 'sokoban/numeric'" in result.output
    assert "sokoban/numerical" in result.output


def test_show_index_out_of_range() -> None:
    result = CliRunner().invoke(main, ["show", "sokoban/id", "--index", "100"])
    assert result.exit_code != 0 and "0..99" in result.output


# ---------------------------------------------------------------------------------------------- generate


def test_generate_twice_with_overwrite_is_identical(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    args = ["generate", "answer-only", "--task", "sokoban", "--n", "5", "--seed", "1", "--out", str(out)]
    first = _invoke(*args)
    assert first.exit_code == 0 and "wrote" in first.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["distinct_instances"] == 5 and manifest["config"]["seed"] == 1
    before = _digest(out)
    refused = CliRunner().invoke(main, args)
    assert refused.exit_code != 0
    assert "already exists" in refused.output and "--overwrite" in refused.output
    assert _digest(out) == before
    again = _invoke(*args, "--overwrite")
    assert again.exit_code == 0
    assert _digest(out) == before
    assert manifest["sha256"] == hashlib.sha256((out / "data.jsonl").read_bytes()).hexdigest()


def test_generate_installed_script_in_another_process(tmp_path: Path) -> None:
    runner_out, script_out = tmp_path / "runner", tmp_path / "script"
    args = ["generate", "diverse", "--task", "points", "--n", "6", "--seed", "3", "--paraphrases"]
    assert _invoke(*args, "--out", str(runner_out)).exit_code == 0
    # Without the progress switches conftest sets for this process: the command must quiet the bars itself.
    env = {**{k: v for k, v in os.environ.items() if "PROGRESS" not in k}, "PYTHONHASHSEED": "777"}
    done = subprocess.run([str(SFTGEN), *args, "--out", str(script_out)], cwd=REPO, env=env, capture_output=True)
    assert done.returncode == 0, done.stderr.decode()
    assert _digest(script_out) == _digest(runner_out)
    # Output to a pipe or file (nohup, CI, recipe job logs): no progress bars, ours or the libraries'.
    assert b"\r" not in done.stdout + done.stderr and b"it/s" not in done.stderr, done.stderr.decode()
    assert b"wrote" in done.stdout


def test_generate_rejects_bad_arguments(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["generate", "cot", "--task", "points", "--n", "0", "--out", str(tmp_path / "x")])
    assert result.exit_code != 0 and "n must be" in result.output
    result = CliRunner().invoke(
        main,
        [
            "generate",
            "cot",
            "--task",
            "points",
            "--n",
            "2",
            "--template",
            "compact",
            "--paraphrases",
            "--out",
            str(tmp_path / "y"),
        ],
    )
    assert result.exit_code != 0 and "paraphrases" in result.output
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


# ---------------------------------------------------------------------------------------------- play


class OracleTypist:
    """A scripted person: reads the last board on the console and types the next optimal move's word."""

    def __init__(self, console_file: io.StringIO, words: tuple[str, ...]) -> None:
        self.file, self.words, self.typed = console_file, words, []

    def __call__(self, prompt: str) -> str:
        screen = self.file.getvalue()
        last = screen[screen.rindex("turn ") :]
        board = read_board(last)
        word = self.words[("up", "down", "left", "right").index(solve(board)[0])]
        self.typed.append(word)
        return f"  {word}  "


@pytest.mark.parametrize("variant", [None, "numerical", "emoji"])
def test_play_sokoban_with_scripted_moves_solves_the_level(variant: str | None) -> None:
    out = io.StringIO()
    console = Console(file=out, width=200)
    declared = SOKOBAN_VARIANTS[variant or "base"].declared
    typist = OracleTypist(out, declared.words)
    assert play("sokoban", variant=variant, seed=5, console=console, read=typist) is True
    text = out.getvalue()
    assert "solved!" in text and "not solved" not in text
    assert text.count("valid=True") == len(typist.typed) >= 1
    assert "valid=False" not in text


def test_play_sokoban_quit_and_wrong_words() -> None:
    out = io.StringIO()
    answers = iter(["North", "q"])
    assert play("sokoban", seed=5, console=Console(file=out), read=lambda _: next(answers)) is False
    assert "valid=False" in out.getvalue() and "solved" not in out.getvalue()


def test_play_points() -> None:
    out = io.StringIO()

    def typist(_: str) -> str:
        cards = re.search(r"Cards: (\[.*?\])", out.getvalue())[1]
        labels = ast.literal_eval(cards)
        values = [{"A": 1, "J": 10, "Q": 10, "K": 10}.get(label) or int(label) for label in labels]
        return one_solution(values)

    assert play("points", seed=2, console=Console(file=out, width=200), read=typist) is True
    assert "reward=+5.0" in out.getvalue()
    assert play("points", seed=2, console=Console(file=io.StringIO()), read=lambda _: "quit") is False


def test_play_command_quits_and_reports_bad_variant() -> None:
    result = CliRunner().invoke(main, ["play", "sokoban", "--seed", "1"], input="q\n")
    assert result.exit_code == 0
    assert "You are a Sokoban solver." in result.output
    bad = CliRunner().invoke(main, ["play", "sokoban", "--variant", "klingon"], input="q\n")
    assert bad.exit_code != 0 and "klingon" in bad.output


# ---------------------------------------------------------------------------------------------- bench


def test_bench_generation_quick_json(tmp_path: Path) -> None:
    path = tmp_path / "bench.json"
    result = _invoke("bench", "generation", "--quick", "--json", str(path))
    assert result.exit_code == 0
    rows = json.loads(path.read_text())
    assert len(rows) == 4
    for row in rows:
        assert {"name", "ours_per_s", "peer", "peer_per_s", "ratio"} <= set(row)
        assert row["ours_per_s"] > 0
        if row["peer_per_s"] is None:
            assert row["ratio"] is None and row["peer"] is None
        else:
            assert row["peer"] and row["ratio"] == pytest.approx(row["ours_per_s"] / row["peer_per_s"])
    names = [r["name"] for r in rows]
    assert any("6x6-1" in n for n in names) and any("10x10-2" in n for n in names)
    sokoban_peers = {r["peer"] for r in rows if r["name"].startswith("sokoban")}
    if find_spec("gym_sokoban") is not None:  # installed (bench extra): its room generator must be measured
        assert sokoban_peers == {"gym-sokoban generate_room"}


def test_pretrain_base_refuses_bad_sizes_before_any_work(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["pretrain-base", "--out", str(tmp_path / "b"), "--navigate-rows", "-1"])
    assert result.exit_code != 0 and "navigate_rows" in result.output
    assert not (tmp_path / "b").exists()


def test_a_logged_table_keeps_its_lines_in_a_narrow_log(monkeypatch):
    """reproduce's stage-time table under console.log wrapped to one cell per line in a piped log (seen in a run)."""
    import sftgen.cli as cli
    from sftgen.experiment.timing import StageTimes

    times = StageTimes()
    times.add("checkpoint sweep sokoban/answer-only/seed0", 23.7)
    narrow = Console(file=io.StringIO(), width=60, record=True)
    monkeypatch.setattr(cli, "console", narrow)
    cli.log_event(f"wall time per stage:\n{times.table()}")
    text = narrow.export_text()
    assert "wall time per stage" in text and "test_cli.py" in text  # the caller's file, not cli.py's
    for line in times.table().splitlines():
        assert line in text.splitlines()
