#!/usr/bin/env bash
# Set up from scratch (idempotent) and run lint + the whole test suite, slow end-to-end tests included.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check src tests benchmarks
.venv/bin/python -m pytest -m "slow or not slow" "$@"
