#!/usr/bin/env bash
# Exports $MODEL_NAME's inference graph, freezes it with the newest checkpoint
# in $TRAIN_DIR and writes the labels beside it (three files, as the
# tutorial); with SAVED_MODEL_DIR set, also a SavedModel for TF Serving.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env_set.sh"
mkdir -p "$EXPORT_DIR"
"$PYTHON" -u "$REPO_DIR/export_inference_graph.py" \
  --model_name="$MODEL_NAME" ${PREPROCESSING_NAME:+--preprocessing_name="$PREPROCESSING_NAME"} \
  --output_file="$INFERENCE_GRAPH" \
  --dataset_name="$DATASET_NAME" \
  --dataset_dir="$DATASET_DIR"
"$PYTHON" -u "$REPO_DIR/freeze_graph.py" \
  --input_graph="$INFERENCE_GRAPH" \
  --input_checkpoint="$TRAIN_DIR" \
  --output_graph="$FROZEN_GRAPH" \
  --input_binary=True
if [ -n "$SAVED_MODEL_DIR" ]; then
  "$PYTHON" -u "$REPO_DIR/export_inference_graph.py" \
    --model_name="$MODEL_NAME" ${PREPROCESSING_NAME:+--preprocessing_name="$PREPROCESSING_NAME"} \
    --output_file="$EXPORT_DIR/saved_model_source.pb" \
    --dataset_name="$DATASET_NAME" \
    --dataset_dir="$DATASET_DIR" \
    --checkpoint_path="$TRAIN_DIR" \
    --saved_model_dir="$SAVED_MODEL_DIR"
fi
