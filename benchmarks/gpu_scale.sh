#!/usr/bin/env bash
# Does diverse Sokoban SFT of the tiny model reach the study's instruction-variant level with more compute?
# On the 2-core CPU the diverse run gets 4,500 steps of batch 32 and ends near 0.2 on every instruction variant;
# this script gives the same model, base and data recipe (random words per row, 25% replay of the base's
# navigation-stage rows, cosine schedule) a GPU for a fixed wall time per run, with larger batches, and
# evaluates the end of each run on the instruction variants and the fake split (greedy, closed loop).
#
#   GPU_SCALE_BASE=path/to/base bash benchmarks/gpu_scale.sh      # on a CUDA machine
#   GPU_CHECK_CPU=1 GPU_SCALE_BASE=... GPU_SCALE_SECONDS=20 GPU_SCALE_LEVELS=50 GPU_SCALE_N=2 \
#       bash benchmarks/gpu_scale.sh                              # dry run on CPU
#
# Environment:
#   GPU_SCALE_BASE     the tiny base with the navigation stage (`sftgen pretrain-base --navigate-rows 160000`)
#   GPU_SCALE_RUNS     runs as "lr:batch" words, trained side by side (default "1e-3:256 2e-3:256 1e-3:64")
#   GPU_SCALE_SECONDS  training wall time per run (default 210): the steps are set from a measured rate
#   GPU_SCALE_LEVELS   Sokoban levels in each of 4 data shards (default 15000, ~4.5 states each)
#   GPU_SCALE_N        episodes per evaluation split (default 100)
#   OUT                where scale.log and scale.json go (default: a new temp folder)
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/gpu_env.sh"
BASE=${GPU_SCALE_BASE:?set GPU_SCALE_BASE to the tiny base with the navigation stage}
RUNS=(${GPU_SCALE_RUNS:-1e-3:256 2e-3:256 1e-3:64})
SECONDS_PER_RUN=${GPU_SCALE_SECONDS:-210}
LEVELS=${GPU_SCALE_LEVELS:-15000}
N_EVAL=${GPU_SCALE_N:-100}
LOGS=${OUT:-$(mktemp -d -t gpu_scale_logs.XXXXXX)}
mkdir -p "$LOGS"
LOG=$LOGS/scale.log
SPLITS=sokoban/id,sokoban/numerical,sokoban/alphabetical,sokoban/random,sokoban/fake_numerical
PROBE_STEPS=200  # long enough that start-up (in TRL's steps/s) does not halve the rate
# tokenizing the ~365k mixed rows takes one process ~4 minutes: share the cores between the runs
PROCS=$(($(nproc) / ${#RUNS[@]} > 1 ? $(nproc) / ${#RUNS[@]} : 1))
exec > >(tee -a "$LOG") 2>&1
TEE_PID=$!

stamp() { echo "[$(date +%T)] $*"; }
# `wait` alone would also wait for the tee above, which ends only with the script: wait for the jobs started
wait_jobs() { local pid rc=0; for pid in $(jobs -p); do [[ $pid == "$TEE_PID" ]] || wait "$pid" || rc=$?; done; return $rc; }

# --- data: 4 shards of diverse rows (independent seeds) and the navigation-stage replay rows, in parallel ------
stamp "data: 4 x $LEVELS levels of diverse Sokoban rows + navigation replay rows"
for seed in 0 1 2 3; do
  "${SFTGEN[@]}" generate diverse --task sokoban --n "$LEVELS" --seed "$seed" --template compact \
    --out "$WORK/data/diverse-$seed" >"$WORK/data-$seed.log" 2>&1 &
done
"${T[@]}" "$PY" - "$BASE" "$WORK/data/replay" "$((LEVELS * 6))" <<'EOF' >"$WORK/data-replay.log" 2>&1 &
"""The base's last stage (navigation 70% / look-up 30%) with fresh seeds: what base_replay mixes into a recipe."""
import dataclasses, json, sys
from pathlib import Path
from sftgen.base.pretrain import BaseConfig, build_curriculum

base, out, n = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
config = BaseConfig(**json.loads((base / "sftgen_base.json").read_text())["config"])
stage = dataclasses.replace(next(s for s in config.stages() if s.name == "navigate"), rows=n)
# the stage index picks the seeds: the base's own stages use 0-4
print("wrote", build_curriculum(config, stage, 987, out)["rows"], "replay rows of", stage.mix)
EOF
"${SFTGEN[@]}" generate diverse --task sokoban --n 500 --seed 9 --template compact --out "$WORK/data/probe" \
  >"$WORK/data-probe.log" 2>&1
wait_jobs
cat "$WORK"/data-*.log | grep -E '^wrote|Error' || true
DATA=()
for seed in 0 1 2 3; do DATA+=(--data "$WORK/data/diverse-$seed"); done
DATA+=(--data "$WORK/data/replay")
MIX='mix_weights=[0.1875,0.1875,0.1875,0.1875,0.25]'

train() {  # train NAME LR BATCH STEPS DATA...: one run, its log in $WORK/NAME.log
  local name=$1 lr=$2 batch=$3 steps=$4
  shift 4
  "${T[@]}" "$PY" -m sftgen.cli train sft --model "$BASE" "$@" --out "$WORK/$name" \
    --lr "$lr" --batch-size "$batch" --max-steps "$steps" --save-steps "$(((steps + 3) / 4))" --set scheduler=cosine \
    --set warmup_ratio=0.02 --set logging_steps=50 --set progress=false >"$WORK/$name.log" 2>&1
}

# --- probe: every run side by side for a few steps on a small set, to set each run's steps from its rate -----
stamp "probe: ${RUNS[*]} side by side, $PROBE_STEPS steps each"
for spec in "${RUNS[@]}"; do
  train "probe-${spec/:/-}" "${spec%%:*}" "${spec##*:}" "$PROBE_STEPS" --data "$WORK/data/probe" &
done
wait_jobs
declare -A STEPS
for spec in "${RUNS[@]}"; do
  rate=$("$PY" -c 'import json,sys; print([json.loads(l) for l in open(sys.argv[1])][-1]["train_steps_per_second"])' \
    "$WORK/probe-${spec/:/-}/log.jsonl")
  STEPS[$spec]=$("$PY" -c "print(max(8, int($rate * $SECONDS_PER_RUN * 0.9)))")
  stamp "run $spec: $rate steps/s side by side -> ${STEPS[$spec]} steps"
done

# --- training: the runs side by side, each for about SECONDS_PER_RUN (after tokenizing) ----------------------
T=(timeout -k 10 "$((SECONDS_PER_RUN * 2))")
for spec in "${RUNS[@]}"; do
  train "run-${spec/:/-}" "${spec%%:*}" "${spec##*:}" "${STEPS[$spec]}" "${DATA[@]}" --set "$MIX" \
    --set dataset_num_proc="$PROCS" &
done
wait_jobs || true
stamp "training done"

# --- evaluation: the last checkpoint of each run, greedy, side by side -----------------------------------------
T=(timeout -k 10 300)
for spec in "${RUNS[@]}"; do
  name=run-${spec/:/-}
  model=$WORK/$name/final
  [[ -d $model ]] || model=$(ls -d "$WORK/$name"/checkpoint-* 2>/dev/null | sort -V | tail -n 1)
  echo "$model" >"$WORK/$name.model"
  "${T[@]}" "$PY" -m sftgen.cli eval --model "$model" --splits "$SPLITS" --n "$N_EVAL" --greedy \
    --max-new-tokens 16 --out "$WORK/eval-$name" >"$WORK/eval-$name.log" 2>&1 &
done
wait_jobs || true
stamp "evaluation done"

"$PY" - "$WORK" "$LOGS/scale.json" "${RUNS[@]}" <<'EOF'
import json, sys
from pathlib import Path
work, out, specs = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:]
table = []
for spec in specs:
    name = "run-" + spec.replace(":", "-")
    lr, batch = spec.split(":")
    row = {"lr": float(lr), "batch": int(batch), "model": (work / f"{name}.model").read_text().strip()}
    logs = [json.loads(line) for line in open(work / name / "log.jsonl")] if (work / name / "log.jsonl").exists() else []
    losses = [r for r in logs if "loss" in r]
    if losses:
        row["loss"] = round(losses[-1]["loss"], 4)
    if logs:
        row.update(steps=logs[-1]["step"], rows=logs[-1]["step"] * int(batch))
    done = [r for r in logs if "train_runtime" in r]
    if done:
        row["train_seconds"] = round(done[-1]["train_runtime"], 1)
    metrics = work / f"eval-{name}" / "metrics.json"
    if metrics.exists():
        for split, s in json.loads(metrics.read_text())["splits"].items():
            row[split] = {"success": s["success"], "validity": s["validity"], "n": s["n"]}
    else:
        row["eval"] = (work / f"eval-{name}.log").read_text()[-2000:]
    table.append(row)
    cells = "  ".join(f"{k.split('/')[-1]} {v['success']:.2f}/{v['validity']:.2f}" for k, v in row.items() if "/" in k)
    print(f"lr {lr} batch {batch}: {row.get('steps')} steps, {row.get('rows')} rows, loss {row.get('loss')}: {cells}")
json.dump(table, open(out, "w"), indent=1)
EOF
for f in "$WORK"/run-*.log; do echo "== $f"; grep -E 'Error|Traceback' "$f" | tail -n 3 || true; done
rm -rf "$WORK"
