"""report.html from hand-made report data: every run-provided string is escaped, nothing is fetched.

Why hand-made data and not the built fixture: the fixture's runs put a hostile text only into a model response
(the viewer's JSON); here the same text is also a model name, a split, a method, a finding, a caption, a
folder and an answer the study's check rejects, so every place the templates print run text is covered.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from markupsafe import escape

from sftgen.io import atomic_write_json
from sftgen.report.aggregate import Cell
from sftgen.report.build import ReportData
from sftgen.report.differences import Rejections, RejectionSection
from sftgen.report.figures import FigureFile
from sftgen.report.findings import Check, Finding, Status
from sftgen.report.html import render_html
from sftgen.report.runs import Source
from sftgen.report.tables import TableRow, TaskTable

HOSTILE = '</script><script>alert(1)</script><!-- "quoted" \'apos\' & <img src="http://evil.example/x">'


def _data(run_dir: Path) -> ReportData:
    atomic_write_json(run_dir / "timings.json", {"stages": [{"stage": HOSTILE, "seconds": 3}], "wall_seconds": 4})
    split_metrics = {"n": 3, "success": 0.5, "success_ci": [0.1, 0.9], "validity": 1.0}
    atomic_write_json(run_dir / "base-eval" / "metrics.json", {"splits": {HOSTILE: split_metrics}})
    results = {
        "model": HOSTILE,
        "template": HOSTILE,
        "recipe": {"name": HOSTILE},
        "base": {"dir": HOSTILE, "eval_dir": "base-eval", "lookup_probe": {HOSTILE: 0.5}},
    }
    cell = Cell(HOSTILE, 0.5, (0.2, 0.8), (0.4, 0.6), 0.9, (0.8, 1.0), None, 0.95, 10, 2)
    row = TableRow(HOSTILE, HOSTILE, [0, 1], {HOSTILE: cell}, {HOSTILE: 0.25})
    keys = ("task", "method", "run", "seed", "lr", "batch", "steps", "epochs", "frozen", "expanded", "extras")
    training = {k: HOSTILE for k in (*keys, "parameters")}
    return ReportData(
        sources=[Source(run_dir, HOSTILE, results)],
        groups={},
        tables=[TaskTable(HOSTILE, [HOSTILE], [row])],
        findings=[Finding(1, HOSTILE, HOSTILE, [Check(HOSTILE, Status.FAIL, [HOSTILE])])],
        figures=[FigureFile("overview-x.png", HOSTILE, b"\x89PNG"), FigureFile("curves-x.png", HOSTILE, b"png")],
        validity=[
            {
                "run": HOSTILE,
                "split": HOSTILE,
                "validity": 0.5,
                "validity_study": None,
                "zero_valid_episodes": 1,
                "episodes": 2,
            }
        ],
        rejections=[RejectionSection(HOSTILE, HOSTILE, HOSTILE, [Rejections(HOSTILE, HOSTILE, 3, 1, (HOSTILE,))])],
        checkpoints=[
            {
                "task": HOSTILE,
                "method": HOSTILE,
                "source": HOSTILE,
                "seed": 0,
                "chosen": HOSTILE,
                "choice_rule": HOSTILE,
                "study_rule_choice": None,
                "same": False,
                "wall_seconds": 1.0,
            }
        ],
        training=[training],
        viewer={"per_split": 1, "runs": [{"label": HOSTILE}], "strings": [HOSTILE]},
        generated=HOSTILE,
    )


def test_every_run_string_is_escaped_and_nothing_is_fetched(tmp_path: Path) -> None:
    page = render_html(_data(tmp_path))
    assert page.startswith("<!doctype html>")
    assert "alert(1)" in page and HOSTILE not in page and "<!--" not in page and '"quoted"' not in page
    assert page.count("<script") == 2 and page.count("</script>") == 2  # the viewer's JSON and the page's script
    assert page.count("<img") == 2  # the two figures; the hostile <img> is text
    assert 'src="http' not in page and 'href="http' not in page
    links = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert links and all(link.startswith(("data:", "#")) for link in links)

    shown = str(escape(HOSTILE))
    assert f'<h3 id="table-{shown}">Table 1 — {shown}</h3>' in page
    assert f'<td data-method="{shown}" data-split="{shown}"' in page
    assert f'<figure><img alt="{shown}" src="data:image/png;base64,iVBORw==">' in page
    assert f"<code>{shown}</code>" in page  # a rejected answer, escaped before it became a code span
    assert f"<h3>{shown}</h3>" in page  # the heading of a study answer check
    assert f"<h3>Base model — {shown}</h3>" in page and "<p>Zero-shot evaluation:</p>" in page
    assert f"Generated {shown}" in page and f"<td>{shown}</td>" in page
    assert page.count(shown) >= 30

    payload = re.search(r'<script type="application/json" id="viewer-data">(.*?)</script>', page, re.DOTALL)
    assert payload is not None and "<" not in payload.group(1)
    assert json.loads(payload.group(1))["strings"] == [HOSTILE]
