#!/usr/bin/env bash
# Trains (or fine-tunes from $CHECKPOINT_PATH) $MODEL_NAME into $TRAIN_DIR.
# RUN_IN_BACKGROUND=1 detaches it like the tutorial: follow $TRAIN_LOG with
# `tail -f`, stop it with `kill <pid>` (printed).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env_set.sh"
args=(
  "${DATASET_FLAGS[@]}"
  --dataset_split_name=train
  "${MODEL_FLAGS[@]}"
  --train_dir="$TRAIN_DIR"
  --batch_size="$BATCH_SIZE"
)
if [ -n "$CHECKPOINT_PATH" ]; then
  args+=(--checkpoint_path="$CHECKPOINT_PATH" --ignore_missing_vars=True)
fi
if [ -n "$MAX_STEPS" ]; then
  args+=(--max_number_of_steps="$MAX_STEPS")
fi
# shellcheck disable=SC2206  # extra flags are meant to split
args+=($TRAIN_EXTRA_FLAGS)
if [ "$RUN_IN_BACKGROUND" = 1 ]; then
  mkdir -p "$(dirname "$TRAIN_LOG")"
  nohup "$PYTHON" -u "$REPO_DIR/train_image_classifier.py" "${args[@]}" \
    > "$TRAIN_LOG" 2>&1 &
  echo "training in the background (pid $!); log: $TRAIN_LOG"
else
  slim_python --exec train_image_classifier.py "${args[@]}"
fi
