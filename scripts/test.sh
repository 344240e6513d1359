#!/usr/bin/env bash
# Set up from scratch (idempotent) and run lint + the whole test suite, slow end-to-end tests included.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1  # tests never reach a hub
.venv/bin/ruff check src tests benchmarks
# one worker per core (pytest-xdist): the end-to-end tests dominate, and on a 2-core machine whose cores run a
# 31 GFLOP/s matmul the suite took 40 minutes this way (docs/results/2026-12-05-machine.md)
.venv/bin/python -m pytest -m "slow or not slow" -n auto --durations=30 "$@"
