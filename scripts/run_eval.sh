#!/usr/bin/env bash
# Evaluates the latest checkpoint in $TRAIN_DIR on $EVAL_SPLIT; add
# EVAL_EXTRA_FLAGS="--eval_interval_secs=60" to wait for each new checkpoint.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env_set.sh"
# shellcheck disable=SC2086  # extra flags are meant to split
exec "$PYTHON" -u "$REPO_DIR/eval_image_classifier.py" \
  --dataset_name="$DATASET_NAME" \
  --dataset_dir="$DATASET_DIR" \
  --dataset_split_name="$EVAL_SPLIT" \
  --model_name="$MODEL_NAME" ${PREPROCESSING_NAME:+--preprocessing_name="$PREPROCESSING_NAME"} \
  --checkpoint_path="$TRAIN_DIR" \
  --eval_dir="$EVAL_DIR" \
  --batch_size="$BATCH_SIZE" \
  $EVAL_EXTRA_FLAGS
