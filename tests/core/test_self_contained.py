"""The repository stands on its own: no tracked file points at files outside it.

Why a test: design notes once lived beside the checkout, and comments, recipes and tests cited them by section
number or by a path outside the repository, which a fresh clone cannot follow. Those facts now live in docs/ (the
study in docs/study.md); this test keeps new pointers from leaking back, naming each offending file:line.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Each pattern is assembled from parts so this file does not match itself.
OUTSIDE = re.compile(
    "|".join(
        (
            r"\.\./" + "shared",  # the sibling checkout of notes
            "shared/" + "docs",
            "spec" + r" §",  # section numbers of the old specification
            r"(?<![\w.-])/" + r"work/",  # absolute paths of this machine
        )
    )
)
OLD_NOTES = "cpu-" + "notes.md"  # the old notes file: its facts are in docs/tiny-scale-notes.md


def _tracked() -> list[str]:
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [p for p in out.decode().split("\0") if p]


def test_no_tracked_file_refers_outside_the_repository() -> None:
    offences = []
    for name in _tracked():
        path = ROOT / name
        if not path.is_file():
            continue  # deleted in the work tree, not yet committed
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary
        for number, line in enumerate(text.splitlines(), start=1):
            if OUTSIDE.search(line) or (OLD_NOTES in line and not name.startswith("docs/")):
                offences.append(f"{name}:{number}: {line.strip()[:120]}")
    assert not offences, "references outside the repository:\n" + "\n".join(offences)
