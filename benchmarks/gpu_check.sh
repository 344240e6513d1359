#!/usr/bin/env bash
# GPU smoke check of sftgen's real-scale code path: data -> bf16 SFT -> HF eval on the GPU -> the same SFT under
# `accelerate launch` (one process, then FSDP) -> a few GRPO steps (per-state, then episode reward). Each step
# prints its wall time and key metric; a failing step prints the end of its log (the traceback) and the script
# goes on, exiting non-zero at the end if any step failed, so one run gives the whole picture.
#
#   bash benchmarks/gpu_check.sh                       # on a CUDA machine (wheels in .whl/ are installed first)
#   GPU_CHECK_CPU=1 bash benchmarks/gpu_check.sh       # dry run on CPU: tiny sizes, no wheel install
#
# Environment:
#   OUT               where logs and summary.json go (default: a new temp folder)
#   PYTHON            interpreter (default: python3)
#   GPU_CHECK_CPU     1 = dry run: skip the wheel install and the CUDA check, use tiny sizes
#   GPU_CHECK_STEPS   SFT optimizer steps (default 100; 3 with GPU_CHECK_CPU=1)
#   GPU_CHECK_FSDP    0 = skip the FSDP step (default 1)
#   GPU_CHECK_TIMEOUT seconds each command may run before it is killed (default 150)
#
# Setup (wheels from .whl/, sftgen from src/, offline environment) is benchmarks/gpu_env.sh.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/gpu_env.sh"
CPU=${GPU_CHECK_CPU:-0}
LOGS=${OUT:-$(mktemp -d -t gpu_check_logs.XXXXXX)}
mkdir -p "$LOGS"
FULL_LOG=$LOGS/gpu_check.log
: >"$FULL_LOG"

if [[ $CPU == 1 ]]; then
  STEPS=${GPU_CHECK_STEPS:-3}; LEVELS=10; N_EVAL=2; GRPO_STEPS=1
else
  STEPS=${GPU_CHECK_STEPS:-100}; LEVELS=80; N_EVAL=20; GRPO_STEPS=3
fi

LAUNCH=("${T[@]}" "$PY" -m accelerate.commands.launch)

{
  echo "== environment"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "nvidia-smi: none"
  "$PY" - <<'EOF'
import importlib.metadata as md, sys
import torch
print("python", sys.version.split()[0], "| torch", torch.__version__, "| cuda", torch.cuda.is_available(),
      "| bf16", torch.cuda.is_available() and torch.cuda.is_bf16_supported(),
      "|", torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu")
names = ("transformers", "trl", "datasets", "accelerate", "peft", "pyarrow", "fsspec", "huggingface_hub", "dill")
print(" ".join(f"{n}={md.version(n)}" for n in names))
EOF
} 2>&1 | tee -a "$FULL_LOG"
if [[ $CPU != 1 ]] && ! "$PY" -c 'import torch, sys; sys.exit(not torch.cuda.is_available())'; then
  echo "no CUDA device visible: this check is for a GPU machine (GPU_CHECK_CPU=1 for a CPU dry run)" >&2
  exit 2
fi

# --- step runner ------------------------------------------------------------------------------------------
FAILED=()
RESULTS=()

# step NAME PATTERN CMD...: run CMD, log everything to $FULL_LOG, print the lines matching PATTERN (the key
# metric) and the wall time; on failure print the log's last lines (the traceback) and go on.
step() {
  local name=$1 pattern=$2
  shift 2
  local log=$WORK/$name.log start end rc=0
  echo
  echo "== $name: $*"
  start=$(date +%s.%N)
  "$@" >"$log" 2>&1 || rc=$?
  end=$(date +%s.%N)
  local wall
  wall=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
  { echo "== $name (rc $rc, ${wall} s): $*"; cat "$log"; } >>"$FULL_LOG"
  if [[ $rc == 0 ]]; then
    grep -E "$pattern" "$log" | tail -n 8 || true
    echo "-- $name: ok in ${wall} s"
    RESULTS+=("$name ok ${wall}s")
  else
    # the first exception line (a child's, under accelerate) with the frames above it, then the log's end
    local first
    first=$(grep -nE '^(\[rank[0-9]+\]: )?[A-Za-z_.]*(Error|Exception|Interrupt)\b' "$log" | head -n 1 | cut -d: -f1)
    if [[ -n $first ]]; then
      sed -n "$((first > 12 ? first - 12 : 1)),${first}p" "$log"
      echo "   [...]"
    fi
    grep -vE '^\s*$' "$log" | tail -n 6
    echo "-- $name: FAILED (rc $rc) in ${wall} s"
    RESULTS+=("$name FAILED(rc=$rc) ${wall}s")
    FAILED+=("$name")
  fi
}

# Key metrics of an eval folder: success / validity per split.
eval_metrics() {
  "$PY" - "$1" <<'EOF'
import json, sys
m = json.load(open(f"{sys.argv[1]}/metrics.json"))
for name, s in m["splits"].items():
    print(f"metric {name}: n={s['n']} success={s['success']:.3f} validity={s['validity']:.3f} "
          f"turns={s['mean_turns']:.1f} outcomes={s['outcomes']}")
print(f"metric eval seconds={m['config']['seconds']}")
EOF
}

# Peak loss/accuracy lines of a run's log.jsonl plus the device/bf16/world size it recorded.
run_metrics() {
  "$PY" - "$1" <<'EOF'
import json, sys
run = sys.argv[1]
rows = [json.loads(line) for line in open(f"{run}/log.jsonl")]
losses = [r for r in rows if "loss" in r]
if losses:
    first, last = losses[0], losses[-1]
    acc = last.get("mean_token_accuracy")
    print(f"metric loss first={first['loss']:.4f} (step {first.get('step')}) last={last['loss']:.4f} "
          f"(step {last.get('step')})" + (f" token_acc={acc:.3f}" if acc is not None else ""))
rewards = [r["reward"] for r in rows if r.get("reward") is not None]
if rewards:
    print(f"metric reward first={rewards[0]:.3f} last={rewards[-1]:.3f}")
rec = json.load(open(f"{run}/run.json"))
print(f"metric run device={rec['device']} bf16={rec['bf16']} world_size={rec['world_size']} "
      f"steps={rec['steps']} wall={rec['wall_seconds']}s params={rec['model']['parameters']}")
EOF
}

TRAIN_PATTERN='^trained|^metric|Error'
COMMON_SFT=(--model small --lr 2e-3 --batch-size 32 --max-steps "$STEPS" --save-steps "$STEPS"
  --set logging_steps=10 --set progress=false --set warmup_ratio=0.1)

# (a) data: a few hundred Sokoban SFT rows and RL prompts, compact template
step data_sft '^wrote' "${SFTGEN[@]}" generate answer-only --task sokoban --n "$LEVELS" --template compact \
  --out "$WORK/data/sft"
step data_rl '^wrote' "${SFTGEN[@]}" generate rl --task sokoban --n $((LEVELS / 4)) --template compact \
  --out "$WORK/data/rl"

# (b) bf16 SFT of the `small` preset (~7M, random init) on the GPU, one plain process
sft_b() {
  "${SFTGEN[@]}" train sft --data "$WORK/data/sft" --out "$WORK/sft" "${COMMON_SFT[@]}" &&
    run_metrics "$WORK/sft"
}
step sft "$TRAIN_PATTERN" sft_b

# (c) HF-backend evaluation of that model on the GPU (greedy, small n)
eval_c() {
  "${SFTGEN[@]}" eval --model "$WORK/sft/final" --splits sokoban/id,sokoban/numerical --n "$N_EVAL" --greedy \
    --max-new-tokens 16 --out "$WORK/eval" &&
    eval_metrics "$WORK/eval"
}
step eval '^metric|Error' eval_c

# (d1) the same SFT under `accelerate launch`, one process, bf16
accel_d1() {
  local device=()
  [[ $CPU == 1 ]] && device=(--cpu)
  "${LAUNCH[@]}" --num_processes 1 --num_machines 1 --mixed_precision bf16 \
    --dynamo_backend no "${device[@]}" -m sftgen.train.sft_main \
    --data "$WORK/data/sft" --out "$WORK/sft-accel" "${COMMON_SFT[@]}" &&
    run_metrics "$WORK/sft-accel"
}
step accelerate_1proc "$TRAIN_PATTERN" accel_d1

# (d2) the same SFT under the shipped FSDP config (8 GPUs there), here with one process
fsdp_d2() {
  "${LAUNCH[@]}" --config_file configs/accelerate/fsdp.yaml --num_processes 1 \
    -m sftgen.train.sft_main --data "$WORK/data/sft" --out "$WORK/sft-fsdp" "${COMMON_SFT[@]}" &&
    run_metrics "$WORK/sft-fsdp" &&
    "${SFTGEN[@]}" eval --model "$WORK/sft-fsdp/final" --splits sokoban/id --n "$N_EVAL" --greedy \
      --max-new-tokens 16 --out "$WORK/eval-fsdp" &&
    eval_metrics "$WORK/eval-fsdp"
}
if [[ ${GPU_CHECK_FSDP:-1} == 1 ]]; then
  step accelerate_fsdp "$TRAIN_PATTERN" fsdp_d2
fi

# (e) a few GRPO steps warm-started from (b): 8 prompts x 4 rollouts per step, HF generate on the GPU
grpo_e() {
  "${SFTGEN[@]}" train grpo --data "$WORK/data/rl" --model "$WORK/sft/final" --out "$WORK/grpo" \
    --max-steps "$GRPO_STEPS" --prompts-per-step 8 --num-generations 4 --micro-batch-size 8 \
    --max-completion-length 16 --lr 1e-5 --save-steps "$GRPO_STEPS" --set progress=false &&
    run_metrics "$WORK/grpo"
}
step grpo "$TRAIN_PATTERN" grpo_e

# (f) the same GRPO scored by the episode each sampled first move starts (the model plays on greedily on the GPU)
grpo_f() {
  "${SFTGEN[@]}" train grpo --data "$WORK/data/rl" --model "$WORK/sft/final" --out "$WORK/grpo-episode" \
    --max-steps "$GRPO_STEPS" --prompts-per-step 8 --num-generations 4 --micro-batch-size 8 \
    --max-completion-length 16 --lr 1e-5 --save-steps "$GRPO_STEPS" --set progress=false \
    --set reward=episode --set episode_turns=12 &&
    run_metrics "$WORK/grpo-episode"
}
step grpo_episode "$TRAIN_PATTERN" grpo_f

# --- summary ----------------------------------------------------------------------------------------------
echo
echo "== summary (full log: $FULL_LOG)"
printf '%s\n' "${RESULTS[@]}"
"$PY" - "$LOGS/summary.json" "${RESULTS[@]}" <<'EOF'
import json, sys
rows = [dict(zip(("step", "status", "wall"), r.split(" ", 2))) for r in sys.argv[2:]]
json.dump(rows, open(sys.argv[1], "w"), indent=1)
EOF
rm -rf "$WORK"
if ((${#FAILED[@]})); then
  echo "failed steps: ${FAILED[*]}"
  exit 1
fi
echo "all steps passed"
