#!/usr/bin/env bash
# Prepares a MobileNet v1 for a phone, as upstream slim's export_mobilenet.sh,
# with this project's tools (no bazel, no TOCO, no TensorFlow source tree):
#   frozen_graph.pb       the frozen graph (export_inference_graph.py --checkpoint_path)
#   model_float32.tflite  LiteRT, float
#   quantized.tflite      LiteRT with int8 weights (upstream's quantize_weights)
#   model_int8.tflite     fully int8, calibrated on $MOBILENET_DATASET_DIR (when set)
# then classifies $IMAGE (when set) with label_image.py.
#
#   scripts/export_mobilenet.sh <mobilenet version> <input size> [checkpoint path]
#   e.g. scripts/export_mobilenet.sh 0.25 128 /ckpt/mobilenet_v1_0.25_128.ckpt
#
# Without a checkpoint it downloads upstream's pre-trained one; offline that
# is one line saying what to pass. Settings: MODEL_FOLDER (default
# /tmp/mobilenet_v1_<version>_<size>), MOBILENET_DATASET_DIR (imagenet
# TFRecords whose validation split calibrates int8; empty skips int8),
# CALIBRATION_IMAGES (100), IMAGE.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env_set.sh"

usage() {
  echo "Usage: $0 <mobilenet version: 1.0|0.75|0.50|0.25> <input size: 224|192|160|128> [checkpoint path]" >&2
  exit 1
}
[ $# -ge 2 ] || usage
VERSION=$1
IMAGE_SIZE=$2
CHECKPOINT=${3:-}
case "$VERSION" in
  1.0) SLIM_NAME=mobilenet_v1 ;;
  0.75) SLIM_NAME=mobilenet_v1_075 ;;
  0.50) SLIM_NAME=mobilenet_v1_050 ;;
  0.25) SLIM_NAME=mobilenet_v1_025 ;;
  *) echo "ERROR: bad mobilenet version $VERSION; use 1.0, 0.75, 0.50 or 0.25" >&2; usage ;;
esac
case "$IMAGE_SIZE" in
  224|192|160|128) ;;
  *) echo "ERROR: bad input size $IMAGE_SIZE; use 224, 192, 160 or 128" >&2; usage ;;
esac

MODEL_FOLDER=${MODEL_FOLDER:-/tmp/mobilenet_v1_${VERSION}_${IMAGE_SIZE}}
if [ -e "$MODEL_FOLDER" ]; then
  echo "ERROR: $MODEL_FOLDER already exists; remove it or set MODEL_FOLDER" >&2
  exit 1
fi
mkdir -p "$MODEL_FOLDER"

if [ -z "$CHECKPOINT" ]; then
  ARCHIVE=mobilenet_v1_${VERSION}_${IMAGE_SIZE}_2017_06_14.tar.gz
  if ! curl -fsS --max-time 120 -o "$MODEL_FOLDER/$ARCHIVE" \
      "http://download.tensorflow.org/models/$ARCHIVE" 2>/dev/null; then
    rm -rf "$MODEL_FOLDER"
    echo "ERROR: cannot download $ARCHIVE (offline?); download it elsewhere, unpack it and pass the .ckpt as the third argument" >&2
    exit 1
  fi
  tar xzf "$MODEL_FOLDER/$ARCHIVE" --directory "$MODEL_FOLDER"
  CHECKPOINT=$MODEL_FOLDER/mobilenet_v1_${VERSION}_${IMAGE_SIZE}.ckpt
fi

export_as() {  # export_as <output file> [flags...]
  slim_python export_inference_graph.py --model_name="$SLIM_NAME" \
    --image_size="$IMAGE_SIZE" --dataset_name=imagenet \
    ${DATASET_DIR_FOR_INT8:+--dataset_dir="$DATASET_DIR_FOR_INT8"} \
    --checkpoint_path="$CHECKPOINT" --output_file="$1" "${@:2}"
}
DATASET_DIR_FOR_INT8=""
export_as "$MODEL_FOLDER/frozen_graph.pb"
export_as "$MODEL_FOLDER/model_float32.tflite" --output_format=tflite
export_as "$MODEL_FOLDER/quantized.tflite" --output_format=tflite \
  --tflite_quantization=dynamic
if [ -n "${MOBILENET_DATASET_DIR:-}" ]; then
  DATASET_DIR_FOR_INT8=$MOBILENET_DATASET_DIR
  export_as "$MODEL_FOLDER/model_int8.tflite" --output_format=tflite \
    --tflite_quantization=int8 --dataset_split_name=validation \
    --calibration_images="${CALIBRATION_IMAGES:-100}"
fi
if [ -n "${IMAGE:-}" ]; then
  for model in "$MODEL_FOLDER"/*.tflite; do
    slim_python label_image.py --graph="$model" --image="$IMAGE"
  done
fi
echo "Saved models to $MODEL_FOLDER"
