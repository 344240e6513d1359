# Sourced by the GPU scripts in benchmarks/: offline environment, wheels from .whl/ and sftgen from src/.
#
# sftgen is not installed: it runs from src/ through PYTHONPATH (the device's Python may be newer than the
# requires-python of pyproject.toml). Packages the machine lacks (trl, datasets, dill, multiprocess) travel as
# wheels in .whl/ and are installed into /tmp/site, which goes first on PYTHONPATH. GPU_CHECK_CPU=1 skips the
# install (a dry run on a machine where sftgen is installed).
# Sets: ROOT, PY, WORK (a fresh temp folder), T (a timeout prefix), SFTGEN (the CLI under that timeout).

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
PY=${PYTHON:-python3}
WORK=$(mktemp -d -t sftgen_gpu_work.XXXXXX)

export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false COLUMNS=160  # rich: no wrapped lines in the logs
export HF_HOME=$WORK/hf ACCELERATE_CONFIG_DIR=$WORK/accelerate  # nothing read from or written to ~/.cache

if [[ ${GPU_CHECK_CPU:-0} != 1 && -d .whl ]]; then
  # once per machine: a second script started beside the first must not reinstall under its feet
  if [[ "$(ls .whl)" != "$(cat /tmp/site/.sftgen-wheels 2>/dev/null)" ]]; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
    ls .whl >/tmp/site/.sftgen-wheels
  fi
  export PYTHONPATH=/tmp/site:$ROOT/src${PYTHONPATH:+:$PYTHONPATH}
  # sftgen runs from src/ uninstalled, but `sftgen eval` records importlib.metadata.version("sftgen"):
  # a metadata stub (name and version from pyproject.toml) stands in for the installed distribution
  version=$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml | head -n 1)
  mkdir -p "/tmp/site/sftgen-$version.dist-info"
  printf 'Metadata-Version: 2.1\nName: sftgen\nVersion: %s\n' "$version" >"/tmp/site/sftgen-$version.dist-info/METADATA"
else
  export PYTHONPATH=$ROOT/src${PYTHONPATH:+:$PYTHONPATH}
fi
# every command runs under a timeout, so one hung step cannot eat the others' time
T=(timeout -k 10 "${GPU_CHECK_TIMEOUT:-150}")
SFTGEN=("${T[@]}" "$PY" -m sftgen.cli)
