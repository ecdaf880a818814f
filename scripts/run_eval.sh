#!/usr/bin/env bash
# Evaluates the latest checkpoint in $TRAIN_DIR on $EVAL_SPLIT; add
# EVAL_EXTRA_FLAGS="--eval_interval_secs=60" to wait for each new checkpoint.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env_set.sh"
# shellcheck disable=SC2086  # extra flags are meant to split
slim_python --exec eval_image_classifier.py \
  "${DATASET_FLAGS[@]}" \
  --dataset_split_name="$EVAL_SPLIT" \
  "${MODEL_FLAGS[@]}" \
  --checkpoint_path="$TRAIN_DIR" \
  --eval_dir="$EVAL_DIR" \
  --batch_size="$BATCH_SIZE" \
  $EVAL_EXTRA_FLAGS
