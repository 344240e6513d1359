"""report.html in a real browser (headless Debian chromium via Playwright): tables render, the viewer steps.

Uses /usr/bin/chromium (scripts/setup.sh installs it) through ``executable_path``; never ``playwright install``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (bash scripts/setup.sh)")


def _pick_run(page: Any, prefix: str) -> None:
    value = page.eval_on_selector(
        "#viewer-run", "(s, p) => Array.from(s.options).find(o => o.text.startsWith(p)).value", prefix
    )
    page.select_option("#viewer-run", value)


def test_report_page_renders_and_viewer_steps(built, run_dirs: tuple[Path, Path], tmp_path: Path) -> None:
    from sftgen.report import build_report

    problems: list[str] = []
    with sync_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=str(CHROMIUM), headless=True, args=FLAGS
        )
        try:
            page = context.new_page()
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.goto(built.html.resolve().as_uri())

            cell = page.locator(
                'table[data-task="sokoban"] td[data-method="answer-only"][data-split="sokoban/fake_numerical"]'
            )
            assert "1.00" in cell.first.inner_text() and "0.93†" in cell.first.inner_text()
            assert page.locator('li[data-finding="1"]').first.get_attribute("data-status") == "PASS"

            _pick_run(page, "sokoban · answer-only · tiny")
            page.select_option("#viewer-split", "sokoban/id")
            page.select_option("#viewer-episode", "0")
            assert "</script><script>window.__pwned" in page.inner_text("#viewer-details")  # shown as text
            assert page.evaluate("typeof window.__pwned") == "undefined"

            page.select_option("#viewer-split", "sokoban/larger")
            page.select_option("#viewer-episode", "1")
            assert page.inner_text("#viewer-turn").startswith("turn 1 / ")
            page.click("#viewer-next")
            assert page.inner_text("#viewer-turn").startswith("turn 2 / ")
            assert page.locator("#viewer-board").is_visible()
            assert page.locator("#viewer-board .cell").count() == 100  # 10x10
            assert page.locator("#viewer-board .cell.player, #viewer-board .cell.player-on-target").count() == 1
            page.click("#viewer-last")
            assert page.inner_text("#viewer-turn").startswith("end of episode")

            _pick_run(page, "points · diverse · tiny")
            page.select_option("#viewer-split", "points/fake")
            assert page.locator("#viewer-hand .card").count() == 4
            assert "J = 11, Q = 12, K = 13" in page.inner_text("#viewer-board-note")

            bare = build_report(run_dirs[1], tmp_path / "bare", episodes_per_split=0)  # no viewer data
            page.goto(bare.html.resolve().as_uri())
            assert "No episodes were embedded" in page.inner_text("#viewer")
        finally:
            context.close()
    assert problems == []
