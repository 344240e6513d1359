"""End to end: real run folders -> report.md / report.html / report.json / figures, checked for content."""

from __future__ import annotations

import json
import re
from pathlib import Path

import report_helpers as helpers
from matplotlib.image import imread

from sftgen.report.findings import Status

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _section(markdown: str, title: str) -> str:
    start = markdown.index(title)
    end = markdown.find("\n## ", start + len(title))
    return markdown[start : end if end > 0 else None]


def _row(section: str, label: str, kind: str) -> dict[str, str]:
    """A Table-1 row as {column title: cell} (``label`` is the method cell, ``kind`` success/validity/...)."""
    lines = [ln for ln in section.splitlines() if ln.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split(" | ")]
    current = None
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        current = cells[0] or current
        if current and label in current and cells[1] == kind:
            return dict(zip(header, cells, strict=True))
    raise AssertionError(f"no {kind} row for {label}")


def test_markdown_tables_put_the_study_beside_ours(built) -> None:
    markdown = built.markdown.read_text(encoding="utf-8")
    sokoban = _section(markdown, "## Table 1 — Sokoban")
    points = _section(markdown, "## Table 1 — General Points")
    ours = _row(sokoban, "answer-only · tiny", "success")
    assert ours["id (ID)"].startswith("1.00 [")
    assert ours["numerical (Num)"].startswith("0.00 [")
    assert ours["fake_numerical (Fake)"].startswith("1.00 [")
    study = _row(sokoban, "answer-only · tiny", "study†")
    assert study["id (ID)"] == "0.98†" and study["fake_numerical (Fake)"] == "0.93†"
    assert study["complex (Complex)"] == "0.19†"  # a study column the run skipped is still shown
    delta = _row(sokoban, "answer-only · tiny", "Δ")
    assert delta["id (ID)"] == "+0.02" and delta["fake_numerical (Fake)"] == "+0.07"
    assert _row(points, "diverse · tiny", "study†")["all_5 (All-5)"] == "0.71†"
    assert _row(points, "diverse-cot", "ours")["id (ID)"] == "not run"  # the study's row for a method not run
    cot = _row(sokoban, "cot · tiny", "success")["id (ID)"]
    assert "±" in cot and "[" in cot  # two seeds: half-range and interval
    assert "validity" in [c for c in sokoban.split(" | ")]


def test_findings_pass_fail_and_not_run(built) -> None:
    by_key = {(f.source, f.number): f for f in built.findings}
    assert by_key[("tiny", 1)].status is Status.PASS  # shortcut as answer-only: ID 1, numerical 0, fake 1
    assert by_key[("tiny", 2)].status is Status.PASS  # oracle as diverse
    assert by_key[("tiny", 3)].status is Status.FAIL  # random as cot lifts nothing
    assert by_key[("tiny", 4)].status is Status.NOT_RUN  # no diverse-cot
    assert by_key[("tiny", 5)].status is Status.PASS  # oracle -> shortcut over checkpoints: validity collapses
    assert by_key[("smollm2-135m", 2)].status is Status.NOT_RUN
    assert by_key[("smollm2-135m", 4)].status is Status.PASS  # oracle as diverse-cot beats random as grpo
    assert [c.task for c in by_key[("tiny", 1)].checks] == ["sokoban", "points"]
    markdown = built.markdown.read_text(encoding="utf-8")
    assert "- **PASS** — 1. Answer-only learns a shortcut" in markdown
    assert "numerical 0.00 [0.00, 0.28] ≤ 0.10 ✓" in markdown
    assert "- **NOT RUN** — 4." in markdown and "- **FAIL** — 3." in markdown
    (legend,) = [line for line in markdown.splitlines() if line.startswith("Thresholds (")]
    for home in ("sftgen/tasks/<task>/study.py", "sftgen/report/findings.py", "sftgen/report/paired.py"):
        assert f"`{home}`" in legend
    src = Path(__file__).resolve().parents[2] / "src"
    for task in ("sokoban", "points"):  # the levels given per task are where the legend says
        assert f"'{task}': " in legend and (src / "sftgen" / "tasks" / task / "study.py").is_file()


def test_header_base_checkpoints_and_differences(built, run_dirs) -> None:
    markdown = built.markdown.read_text(encoding="utf-8")
    assert "| tiny | quick (epochs=2, n_train=100) | tiny | compact | 13 min 32 s | validation | 8 | 0, 1 |" in markdown
    assert "### Base model — tiny" in markdown and "| 0.90 | 0.98 | 0.94 |" in markdown
    assert "Navigation probe" in markdown and "| 0.69 | 0.71 | 0.70 |" in markdown
    assert "| sokoban/id | 10 |" in _section(markdown, "## Base model")
    assert "| checkpoint-2 | validation | checkpoint-1 | differs |" in markdown
    differences = _section(markdown, "## Differences from the study")
    for phrase in (
        "Exact arithmetic",
        "Every episode counted in validity",
        "Disjoint training",
        "validation split",
        "stray characters",
        "Chat templates",
        "Order-independent seeds",
        "compact template",
    ):
        assert phrase in differences
    assert "| sokoban · answer-only · tiny | sokoban/numerical | 0.00 | none left | 10 / 10 |" in differences
    assert "exactly correct GP answers" in differences


def test_training_settings_come_from_each_run_record(built) -> None:
    settings = _section(built.markdown.read_text(encoding="utf-8"), "## Training settings")
    rows = [line for line in settings.splitlines() if line.startswith("| sokoban |")]
    assert len(rows) == 6  # seed 0 of each Sokoban run of both folders; cot's seed 1 has no run.json: left out
    diverse = next(r for r in rows if "| diverse |" in r)
    assert "| 0.002 (cosine) | 8 | 20 | 1.25 |" in diverse and "4 after layer 2" in diverse
    assert "`lm_head`, `layers\\.7\\.`" in diverse and "500 / 2,000 (25%)" in diverse
    grpo = next(r for r in rows if "| grpo |" in r)
    assert "| 1e-06 (constant) | 256 prompts × 8 |" in grpo
    html = built.html.read_text(encoding="utf-8")
    assert '<h2 id="settings">Training settings</h2>' in html and "<code>lm_head</code>" in html


def test_paired_comparisons_and_stage_times_on_both_pages(built) -> None:
    markdown = built.markdown.read_text(encoding="utf-8")
    paired = _section(markdown, "## Paired comparisons")
    # oracle as diverse vs shortcut as answer-only on the same 10 numerical episodes: 10 / 0 discordant
    row = next(line for line in paired.splitlines() if "| diverse vs answer-only | numerical |" in line)
    assert "| 2 | sokoban | tiny |" in row and "| 10 / 0 | 0.002 | 0.89 vs 0.00 (+0.89) | yes |" in row
    assert "| 1.00 vs 0.00 | +1.00 [+1.00, +1.00] | – |" in row
    times = _section(markdown, "## Time per stage")
    assert (
        "| tiny | train sokoban/diverse/seed0 | 1 min 1 s |" in times and "| tiny | wall clock | 13 min 32 s |" in times
    )
    html = built.html.read_text(encoding="utf-8")
    assert '<h2 id="paired">Paired comparisons</h2>' in html and "<td>diverse vs answer-only</td>" in html
    assert '<h2 id="timings">Time per stage</h2>' in html and "<td>train sokoban/diverse/seed0</td>" in html
    data = json.loads(built.json.read_text(encoding="utf-8"))
    assert data["timings"]["tiny"]["wall_seconds"] == 812.4 and data["timings"]["smollm2-135m"] is None
    check = next(c for f in data["findings"] if f["number"] == 2 and f["source"] == "tiny" for c in f["checks"])
    assert {c["splits"][0] for c in check["comparisons"]} >= {"sokoban/numerical", "sokoban/fake_numerical"}


def test_figures_are_valid_pngs(built) -> None:
    names = {p.name for p in built.figures}
    assert {"overview-sokoban-tiny.png", "overview-points-tiny.png", "curves-tiny-sokoban-answer-only.png"} <= names
    assert "curves-smollm2-135m-sokoban-grpo.png" in names
    for path in built.figures:
        assert path.read_bytes()[:8] == PNG_SIGNATURE
        height, width = imread(path).shape[:2]
        assert width > 300 and height > 150
        assert f"](figures/{path.name})" in built.markdown.read_text(encoding="utf-8")
    assert not [p for p in built.out.rglob("*") if p.name.endswith(".tmp")]


def test_html_is_offline_and_escapes_model_text(built) -> None:
    html = built.html.read_text(encoding="utf-8")
    links = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert links and all(link.startswith(("data:", "#")) for link in links)
    assert "http://" not in html and "https://" not in html
    assert html.count("data:image/png;base64,") == len(built.figures)
    payload = re.search(r'<script type="application/json" id="viewer-data">(.*?)</script>', html, re.DOTALL)
    assert payload is not None and "<" not in payload.group(1)
    data = json.loads(payload.group(1))
    assert helpers.INJECTED in data["strings"]  # kept verbatim as data, never as markup
    assert "<script>window.__pwned" not in html


def test_viewer_data_boards_and_hands(built) -> None:
    html = built.html.read_text(encoding="utf-8")
    data = json.loads(re.search(r'id="viewer-data">(.*?)</script>', html, re.DOTALL).group(1))
    strings = data["strings"]
    runs = {r["label"].split(" · seed")[0]: r for r in data["runs"]}
    assert "sokoban · cot · tiny" in runs and "points · diverse · tiny" in runs
    assert runs["sokoban · cot · tiny"]["label"].endswith("seed 0 · checkpoint-2")  # lowest seed only
    solved = runs["sokoban · diverse · tiny"]["splits"]["sokoban/id"]["episodes"][0]
    assert solved["ok"] and len(solved["frames"]) == len(solved["turns"]) + 1
    first, final = strings[solved["frames"][0]], strings[solved["frames"][-1]]
    assert "X" in first and "X" not in final and "√" in final  # the recorded state after the last push
    numerical = runs["sokoban · answer-only · tiny"]["splits"]["sokoban/numerical"]
    assert numerical["view"]["kind"] == "grid" and numerical["view"]["legend"]["√"] == ["box-on-target", "✔"]
    assert numerical["view"]["declared"] == "declared actions: Up = 1, Down = 2, Left = 3, Right = 4"
    fake = runs["points · diverse · tiny"]["splits"]["points/fake"]
    (hand,) = fake["episodes"][0]["frames"]  # one turn: the dealt hand only
    assert len(strings[hand].split(" ")) == 4 and fake["view"] == {
        "kind": "tiles",
        "declared": None,
        "note": "declared: J = 11, Q = 12, K = 13",
        "legend": {},
    }
    assert all(len(s["episodes"]) <= data["per_split"] for r in data["runs"] for s in r["splits"].values())


def test_report_json_and_rebuild(built, run_dirs, tmp_path: Path) -> None:
    from sftgen.report import build_report

    data = json.loads(built.json.read_text(encoding="utf-8"))
    assert [t["task"] for t in data["tables"]] == ["sokoban", "points"]
    assert {f["status"] for f in data["findings"]} == {"PASS", "FAIL", "NOT RUN"}
    assert data["thresholds"]["ANSWER_ONLY_INSTRUCTION_MAX"] == 0.1
    again = build_report(run_dirs[1], tmp_path, episodes_per_split=0)  # one folder, no viewer data
    assert again.out == tmp_path and all(p.is_file() for p in again.figures)
    html = again.html.read_text(encoding="utf-8")
    assert '"runs":[]' in html and "Table 1 — General Points" not in html


def test_a_report_of_keys_runs_only(tmp_path: Path) -> None:
    """A task the study has no numbers or findings for: its table has no study rows, every finding is NOT RUN
    with no task checked, and the viewer draws its recorded states as text."""
    from sftgen.report import build_report

    methods = {m: helpers.MAIN_METHODS[m] for m in ("answer-only", "diverse")}
    report = build_report(helpers.make_run(tmp_path / "keys-run", "tiny", methods, tasks=("keys",)), tmp_path / "out")
    markdown = report.markdown.read_text(encoding="utf-8")
    table = _section(markdown, "## Table 1 — Keys")
    assert _row(table, "diverse · tiny", "success")["numerical"].startswith("1.00 [")  # no paper column label
    assert "study†" not in table and "Table 1 — Sokoban" not in markdown
    assert {f.number for f in report.findings} == {1, 2, 3, 4, 5}
    assert all(f.status is Status.NOT_RUN and not f.checks for f in report.findings)
    assert "would fail" not in _section(markdown, "## Differences from the study")
    data = json.loads(report.json.read_text(encoding="utf-8"))
    assert [t["task"] for t in data["tables"]] == ["keys"] and data["float_rejections"] == []
    html = report.html.read_text(encoding="utf-8")
    viewer = json.loads(re.search(r'id="viewer-data">(.*?)</script>', html, re.DOTALL).group(1))
    split = viewer["runs"][0]["splits"]["keys/id"]
    assert split["view"]["kind"] == "text"
    episode = split["episodes"][0]
    assert len(episode["frames"]) == len(episode["turns"]) + 1
    assert all("holding:" in viewer["strings"][i] for i in episode["frames"])
    assert {p.name for p in report.figures} >= {"overview-keys-tiny.png", "curves-tiny-keys-diverse.png"}
