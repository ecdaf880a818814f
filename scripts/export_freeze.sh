#!/usr/bin/env bash
# Exports $MODEL_NAME's inference graph, freezes it with the newest checkpoint
# in $TRAIN_DIR and writes the labels beside it (three files, as the
# tutorial); with SAVED_MODEL_DIR set, also a SavedModel for TF Serving.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env_set.sh"
mkdir -p "$EXPORT_DIR"
slim_python export_inference_graph.py "${MODEL_FLAGS[@]}" \
  "${DATASET_FLAGS[@]}" --output_file="$INFERENCE_GRAPH"
slim_python freeze_graph.py \
  --input_graph="$INFERENCE_GRAPH" \
  --input_checkpoint="$TRAIN_DIR" \
  --output_graph="$FROZEN_GRAPH" \
  --input_binary=True
if [ -n "$SAVED_MODEL_DIR" ]; then
  slim_python export_inference_graph.py "${MODEL_FLAGS[@]}" \
    "${DATASET_FLAGS[@]}" --output_file="$EXPORT_DIR/saved_model_source.pb" \
    --checkpoint_path="$TRAIN_DIR" \
    --saved_model_dir="$SAVED_MODEL_DIR"
fi
