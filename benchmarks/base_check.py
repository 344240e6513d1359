"""Rebuild the shipped tiny bases from scratch and compare their probes with the manifests (`pretrain-base --check`).

    python benchmarks/base_check.py                          # every shipped preset
    python benchmarks/base_check.py --preset tiny-copy --keep /tmp/base-check --json check.json

Why a benchmark and not a test: a rebuild is the whole base curriculum, about two hours per base on a 2-core CPU,
longer than CI allows. It answers "does this code still build the base we ship?": each preset is rebuilt with
its manifest's config by ``sftgen pretrain-base --preset P --check`` in its own process, one after the other, and
the table shows each probe's shipped and rebuilt score (equal within the manifest's tolerance, or OFF) with the
wall time of the rebuild. Exit status 1 when any preset is off or fails.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROBE_LINE = re.compile(r"^(\w+): shipped ([0-9.]+), rebuilt ([0-9.]+): (ok|OFF)$", re.MULTILINE)


def check(preset: str, out: Path) -> dict:
    """One preset's rebuild: its probes, verdict and wall seconds (the command's own output is kept in out/log)."""
    sftgen = Path(sys.executable).with_name("sftgen")
    command = [str(sftgen), "pretrain-base", "--preset", preset, "--check", "--out", str(out / preset)]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    (out / f"{preset}.log").write_text(done.stdout + done.stderr)
    probes = [
        {"probe": name, "shipped": float(old), "rebuilt": float(new), "ok": verdict == "ok"}
        for name, old, new, verdict in PROBE_LINE.findall(done.stdout)
    ]
    return {"preset": preset, "exit": done.returncode, "seconds": round(seconds, 1), "probes": probes}


def main() -> int:
    from sftgen.base.shipped import shipped_presets

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", action="append", help="a shipped preset (repeatable; default: all of them)")
    parser.add_argument("--keep", type=Path, help="folder for the rebuilt bases and logs (default: a temporary one)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    presets = args.preset or shipped_presets()
    with tempfile.TemporaryDirectory(prefix="sftgen-base-check-") as scratch:
        out = args.keep or Path(scratch)
        out.mkdir(parents=True, exist_ok=True)
        results = []
        for preset in presets:
            result = check(preset, out)
            results.append(result)
            for row in result["probes"]:
                scores = f"shipped {row['shipped']:.2f}  rebuilt {row['rebuilt']:.2f}"
                print(f"{preset:10} {row['probe']:15} {scores}  {'ok' if row['ok'] else 'OFF'}")
            print(f"{preset:10} exit {result['exit']}, {result['seconds'] / 60:.1f} min (log: {out / preset}.log)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0 if all(r["exit"] == 0 and r["probes"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
