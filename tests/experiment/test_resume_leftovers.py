"""`sftgen reproduce --resume` cleans what a killed run left in its folder (fast; the kill itself:
benchmarks/crash_trial.py and tests/benchmarks/test_crash_trial.py)."""

from __future__ import annotations

from sftgen.experiment import runner


def test_a_resume_removes_the_temporary_files_a_killed_run_left(tmp_path):
    """Found by benchmarks/crash_trial.py: a kill during training left ``datasets``' ``tmpXXXX`` cache file in the
    dataset folder, and a kill during an atomic write leaves ``.NAME.*.tmp``; the shared base cache is not touched."""
    out, cache = tmp_path / "run", tmp_path / "cache"
    (out / "data" / "points" / "diverse" / "dataset").mkdir(parents=True)
    (out / "data" / "points" / "diverse" / "dataset" / "tmpab12cd").write_bytes(b"")
    (out / "data" / "points" / "diverse" / "dataset" / "cache-1.arrow").write_bytes(b"x")
    (out / "eval" / ".metrics.json.x1.tmp").mkdir(parents=True)
    (out / ".results.json.y2.tmp").write_text("{")
    (out / "results.json").write_text("{}")
    (cache / "final").mkdir(parents=True)
    (cache / "final" / ".base.json.z3.tmp").write_text("{")
    (out / "base").symlink_to(cache / "final", target_is_directory=True)
    messages = []
    runner._remove_leftovers(out, messages.append)
    left = sorted(p.relative_to(out).as_posix() for p in out.rglob("*"))
    assert left == ["base", "data", "data/points", "data/points/diverse", "data/points/diverse/dataset",
                    "data/points/diverse/dataset/cache-1.arrow", "eval", "results.json"]  # fmt: skip
    assert (cache / "final" / ".base.json.z3.tmp").exists()
    assert messages and messages[0].startswith("removed 3 temporary file(s)")
