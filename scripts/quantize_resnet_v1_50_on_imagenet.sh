#!/usr/bin/env bash
# Upstream slim's quantize_resnet_v1_50_on_imagenet.sh with this project's
# tools (no bazel, no TOCO):
# 1. fine-tunes ResNet-V1-50 on ImageNet for 100 steps with 8-bit fake
#    quantization from the first step (--quantize_delay=0), to learn the ranges;
# 2. evaluates that checkpoint (--quantize: the same fake-quant graph);
# 3. exports the fully int8 LiteRT model (export_inference_graph.py --quantize
#    --output_format=tflite --tflite_quantization=int8) and a float32 one;
# 4. evaluates the int8 .tflite on the validation split (the same log lines);
# 5. classifies $IMAGE (when set) with it.
#
# Settings (environment): PRETRAINED_CHECKPOINT_DIR (/tmp/checkpoints, holds
# resnet_v1_50.ckpt or gets it downloaded), IMAGENET_DIR (/tmp/imagenet, slim's
# ImageNet TFRecords: datasets/download_and_preprocess_imagenet.sh),
# RESNET_TRAIN_DIR (/tmp/imagenet-models/resnet_v1_50), QAT_STEPS (100),
# EVAL_BATCHES (empty: the whole split), IMAGE. (env_set.sh's DATASET_DIR and
# TRAIN_DIR are the tutorial's flowers run, so this script has its own names.) Offline, a missing checkpoint or dataset is one line.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env_set.sh"

NETWORK_NAME=resnet_v1_50
DATASET_NAME=imagenet
PRETRAINED_CHECKPOINT_DIR=${PRETRAINED_CHECKPOINT_DIR:-/tmp/checkpoints}
TRAIN_DIR=/tmp/${DATASET_NAME}-models/${NETWORK_NAME}
DATASET_DIR=/tmp/${DATASET_NAME}
[ -n "${RESNET_TRAIN_DIR:-}" ] && TRAIN_DIR=$RESNET_TRAIN_DIR
[ -n "${IMAGENET_DIR:-}" ] && DATASET_DIR=$IMAGENET_DIR
CHECKPOINT=$PRETRAINED_CHECKPOINT_DIR/${NETWORK_NAME}.ckpt

if [ ! -f "$CHECKPOINT.index" ] && [ ! -f "$CHECKPOINT" ]; then
  mkdir -p "$PRETRAINED_CHECKPOINT_DIR"
  ARCHIVE=resnet_v1_50_2016_08_28.tar.gz
  if ! curl -fsS --max-time 300 -o "$PRETRAINED_CHECKPOINT_DIR/$ARCHIVE" \
      "http://download.tensorflow.org/models/$ARCHIVE" 2>/dev/null; then
    rm -f "$PRETRAINED_CHECKPOINT_DIR/$ARCHIVE"
    echo "ERROR: no $CHECKPOINT and cannot download $ARCHIVE (offline?); put resnet_v1_50.ckpt in PRETRAINED_CHECKPOINT_DIR=$PRETRAINED_CHECKPOINT_DIR" >&2
    exit 1
  fi
  tar -xzf "$PRETRAINED_CHECKPOINT_DIR/$ARCHIVE" -C "$PRETRAINED_CHECKPOINT_DIR"
  rm -f "$PRETRAINED_CHECKPOINT_DIR/$ARCHIVE"
fi
if ! ls "$DATASET_DIR"/validation-* >/dev/null 2>&1; then
  echo "ERROR: no ImageNet TFRecords (validation-*) in IMAGENET_DIR=$DATASET_DIR; build them with datasets/download_and_preprocess_imagenet.sh" >&2
  exit 1
fi
DATA_FLAGS=(--dataset_name=$DATASET_NAME --dataset_dir="$DATASET_DIR"
            --model_name=$NETWORK_NAME --labels_offset=1)

# Fine-tune 100 steps to learn the data ranges.
slim_python train_image_classifier.py "${DATA_FLAGS[@]}" \
  --train_dir="$TRAIN_DIR" --dataset_split_name=train \
  --checkpoint_path="$CHECKPOINT" --ignore_missing_vars \
  --max_number_of_steps="${QAT_STEPS:-100}" --batch_size=64 \
  --learning_rate=0.00001 --save_interval_secs=60 --save_summaries_secs=60 \
  --log_every_n_steps=100 --optimizer=rmsprop --weight_decay=0.00004 \
  --quantize_delay=0

# Run evaluation.
slim_python eval_image_classifier.py "${DATA_FLAGS[@]}" \
  --checkpoint_path="$TRAIN_DIR" --eval_dir="$TRAIN_DIR" \
  --dataset_split_name=validation --quantize \
  ${EVAL_BATCHES:+--max_num_batches="$EVAL_BATCHES"}

# Export the int8 and the float LiteRT models (input node: input).
slim_python export_inference_graph.py "${DATA_FLAGS[@]}" --quantize \
  --checkpoint_path="$TRAIN_DIR" --output_format=tflite \
  --tflite_quantization=int8 --dataset_split_name=validation \
  --output_file="$TRAIN_DIR/${NETWORK_NAME}.quantized.tflite"
slim_python export_inference_graph.py "${DATA_FLAGS[@]}" \
  --checkpoint_path="$CHECKPOINT" --output_format=tflite \
  --output_file="$TRAIN_DIR/${NETWORK_NAME}.float32.tflite"
echo "** Generated quantized TF-Lite model: $TRAIN_DIR/${NETWORK_NAME}.quantized.tflite"

# Its accuracy, in eval_image_classifier.py's lines.
slim_python eval_image_classifier.py --dataset_name=$DATASET_NAME \
  --dataset_dir="$DATASET_DIR" --dataset_split_name=validation \
  --model_file="$TRAIN_DIR/${NETWORK_NAME}.quantized.tflite" \
  ${EVAL_BATCHES:+--max_num_batches="$EVAL_BATCHES"}

# Labels shift by one: this ResNet has no background class; the offset
# travels in the model, so label_image.py prints ImageNet's ids.
if [ -n "${IMAGE:-}" ]; then
  slim_python label_image.py \
    --graph="$TRAIN_DIR/${NETWORK_NAME}.quantized.tflite" --image="$IMAGE"
fi
