#!/usr/bin/env bash
# The GPU check: does this project train, evaluate and export on a GPU, how
# fast, and with how much GPU memory? Run it on a Linux machine with an
# NVIDIA GPU and its driver:   bash scripts/gpu_check.sh
#
#   1. Its own venv ($GPU_VENV, default .venv-gpu) from requirements.txt with
#      tensorflow[and-cuda] instead of tensorflow-cpu (the README's GPU
#      recipe), tf-keras with --no-deps; checks that TensorFlow sees a GPU.
#   2. Generated data (224x224 RGB, 10 classes), then densenet121 trained
#      for $GPU_CHECK_STEPS steps (300) with --num_clones=1
#      --clone_on_cpu=False, in float32 and again with --mixed_precision
#      (float16 on a GPU); each evaluated and exported (frozen graph).
#   3. The main job (scripts/main_job.sh) on the GPU.
# Prints images/sec (the last progress line's) and the peak GPU memory
# (nvidia-smi, sampled every second) of each training, and a summary table.
#
# On a machine without a GPU it stops at once with one line and exit status 2.
# Knobs: GPU_VENV, GPU_CHECK_STEPS (300), GPU_CHECK_BATCH (32),
# GPU_CHECK_DIR (runs/gpu_check), GPU_CHECK_MAIN_JOB (1; 0 skips step 3),
# NVIDIA_SMI (nvidia-smi).
set -euo pipefail
cd "$(dirname "$0")/.."

NVIDIA_SMI=${NVIDIA_SMI:-nvidia-smi}
VENV=${GPU_VENV:-.venv-gpu}
STEPS=${GPU_CHECK_STEPS:-300}
BATCH=${GPU_CHECK_BATCH:-32}
WORK=${GPU_CHECK_DIR:-runs/gpu_check}
PY="$VENV/bin/python"

say() { echo "gpu check: $*"; }
fail() { echo "gpu check: ERROR: $*" >&2; exit 2; }

gpu_names() {
  "$NVIDIA_SMI" --query-gpu=name --format=csv,noheader 2>/dev/null || true
}

require_gpu() {
  command -v "$NVIDIA_SMI" >/dev/null 2>&1 ||
    fail "no NVIDIA GPU here ($NVIDIA_SMI not found); run this on a machine with an NVIDIA GPU and its driver"
  [ -n "$(gpu_names)" ] ||
    fail "no NVIDIA GPU here ($NVIDIA_SMI lists none); run this on a machine with an NVIDIA GPU and its driver"
}

make_venv() {
  [ -f "$VENV/.installed" ] && return 0
  local requirements="$VENV/requirements-gpu.txt"
  python3 -m venv "$VENV"
  sed 's/^tensorflow-cpu==/tensorflow[and-cuda]==/' requirements.txt > "$requirements"
  grep -q '^tensorflow\[and-cuda\]==' "$requirements" ||
    fail "requirements.txt has no tensorflow-cpu== line to swap for tensorflow[and-cuda]"
  "$PY" -m pip install --quiet --upgrade pip
  "$PY" -m pip install --quiet -r "$requirements"
  "$PY" -m pip install --quiet --no-deps -r requirements-no-deps.txt
  touch "$VENV/.installed"
}

require_tensorflow_gpu() {
  "$PY" -c 'import tf_compat, tensorflow as tf, sys
sys.exit(0 if tf.config.list_physical_devices("GPU") else 1)' ||
    fail "TensorFlow in $VENV sees no GPU (CUDA libraries or driver); rerun with TF_CPP_MIN_LOG_LEVEL=0 to see why"
}

write_data() {
  [ -f "$WORK/data/labels.txt" ] && return 0
  "$PY" - "$WORK/data" <<'PYEOF'
import sys
import tf_compat  # noqa: F401
from datasets import fake_data
fake_data.write_fake_dataset(sys.argv[1], 'quiz', num_classes=10,
                             images_per_class={'train': 64, 'validation': 16},
                             image_shape=(224, 224, 3))
PYEOF
}

# run_logged LOG COMMAND...: runs it, its output shown and kept in LOG,
# sampling the GPU memory in use meanwhile; sets PEAK_MIB.
PEAK_MIB=0
run_logged() {
  local log=$1; shift
  local samples="$WORK/memory_samples.txt"
  : > "$samples"
  "$NVIDIA_SMI" --query-gpu=memory.used --format=csv,noheader,nounits -l 1 \
    >> "$samples" 2>/dev/null &
  local sampler=$!
  local status=0
  "$@" 2>&1 | tee "$log" || status=${PIPESTATUS[0]}
  kill "$sampler" 2>/dev/null || true
  wait "$sampler" 2>/dev/null || true
  PEAK_MIB=$(sort -n "$samples" | tail -n 1)
  return $status
}

SUMMARY=()
train_evaluate_export() {  # name, extra training flags...
  local name=$1; shift
  local train_dir="$WORK/$name/ckpt" log="$WORK/$name/train.log"
  rm -rf "$WORK/$name" && mkdir -p "$WORK/$name"
  say "training densenet121 ($name) for $STEPS steps of $BATCH images"
  run_logged "$log" "$PY" train_image_classifier.py --dataset_name=quiz \
    --dataset_dir="$WORK/data" --model_name=densenet121 \
    --train_dir="$train_dir" --num_clones=1 --clone_on_cpu=False \
    --batch_size="$BATCH" --max_number_of_steps="$STEPS" \
    --optimizer=momentum --learning_rate=0.01 --log_every_n_steps=20 \
    "$@" || fail "training $name failed (log: $log)"
  local speed
  speed=$(grep -o '[0-9.]* images/sec' "$log" | tail -n 1 | cut -d' ' -f1)
  "$PY" eval_image_classifier.py --dataset_name=quiz \
    --dataset_dir="$WORK/data" --dataset_split_name=validation \
    --model_name=densenet121 --checkpoint_path="$train_dir" \
    --eval_dir="$WORK/$name/eval" --batch_size="$BATCH" \
    > "$WORK/$name/eval.log" 2>&1 ||
    fail "evaluation of $name failed (log: $WORK/$name/eval.log)"
  grep -E '^eval/(Accuracy|Recall_5)\[' "$WORK/$name/eval.log"
  "$PY" export_inference_graph.py --model_name=densenet121 \
    --dataset_name=quiz --dataset_dir="$WORK/data" \
    --checkpoint_path="$train_dir" \
    --output_file="$WORK/$name/densenet121_freeze.pb" >/dev/null 2>&1 ||
    fail "export of $name failed (rerun export_inference_graph.py to see why)"
  say "$name: ${speed:-?} images/sec, peak GPU memory ${PEAK_MIB} MiB"
  SUMMARY+=("$name: ${speed:-?} images/sec (batch $BATCH), peak GPU memory ${PEAK_MIB} MiB")
}

main() {
  require_gpu
  mkdir -p "$WORK"
  say "GPU: $(gpu_names | head -n 1) ($(gpu_names | wc -l) found)"
  make_venv
  require_tensorflow_gpu
  write_data
  train_evaluate_export float32
  train_evaluate_export mixed_float16 --mixed_precision
  if [ "${GPU_CHECK_MAIN_JOB:-1}" = 1 ]; then
    say "the main job on the GPU"
    mkdir -p "$WORK/main_job"
    run_logged "$WORK/main_job.out" env PYTHON="$PY" \
      RUNS_DIR="$WORK/main_job" MAIN_JOB_CLONE_ON_CPU=False \
      bash scripts/main_job.sh || fail "the main job failed (log: $WORK/main_job.out)"
    SUMMARY+=("main job: $(grep -E 'finished in' "$WORK/main_job.out" | tail -n 1), $(grep -E '^eval/Accuracy\[' "$WORK/main_job.out" | tail -n 1), peak GPU memory ${PEAK_MIB} MiB")
  fi
  say "summary on $(gpu_names | head -n 1), $(date -u '+%Y-%m-%d %H:%M UTC'):"
  printf '  %s\n' "${SUMMARY[@]}"
}

main "$@"
