# Settings shared by the tutorial's workflow scripts; `source` it, don't run it.
#
#   convert.sh -> run_train.sh -> run_eval.sh -> export_freeze.sh -> server.sh
#
# Every value can be overridden from the environment, e.g.
#   DATASET_DIR=/data/flower TRAIN_DIR=/tmp/my_train scripts/run_train.sh
# Fine-tuning Inception-v4 as in the tutorial:
#   MODEL_NAME=inception_v4 CHECKPOINT_PATH=/pre_trained/inception_v4.ckpt \
#   TRAIN_EXTRA_FLAGS="--checkpoint_exclude_scopes=InceptionV4/Logits,InceptionV4/AuxLogits \
#     --trainable_scopes=InceptionV4/Logits,InceptionV4/AuxLogits" scripts/run_train.sh

source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

# Data: your photos in $DATASET_DIR/$DATASET_NAME/<class>/*.jpg (my_flower_5).
export DATASET_NAME="${DATASET_NAME:-my_flower_5}"
export DATASET_DIR="${DATASET_DIR:-$HOME/data/flower}"
# shellcheck disable=SC2034  # used by the scripts that source this file
DATASET_FLAGS=(--dataset_name="$DATASET_NAME" --dataset_dir="$DATASET_DIR")
# A pre-trained checkpoint to fine-tune from; empty trains from scratch.
export CHECKPOINT_PATH="${CHECKPOINT_PATH:-}"
export MODEL_NAME="${MODEL_NAME:-inception_v4}"
# Empty: the network's own preprocessing. Training, evaluation and export must
# agree, so set it once here (e.g. lenet for a model trained with it).
export PREPROCESSING_NAME="${PREPROCESSING_NAME:-}"
# The network flags of every step, from the two settings above.
# shellcheck disable=SC2034  # used by the scripts that source this file
MODEL_FLAGS=(--model_name="$MODEL_NAME"
             ${PREPROCESSING_NAME:+--preprocessing_name="$PREPROCESSING_NAME"})
export TRAIN_DIR="${TRAIN_DIR:-/tmp/my_train}"
export EVAL_DIR="${EVAL_DIR:-$TRAIN_DIR/eval}"
export EVAL_SPLIT="${EVAL_SPLIT:-validation}"
export BATCH_SIZE="${BATCH_SIZE:-32}"
# Training steps; empty = until stopped (kill the process, as the tutorial).
export MAX_STEPS="${MAX_STEPS:-}"
# Extra flags, split on spaces: e.g. TRAIN_EXTRA_FLAGS="--clone_on_cpu=True".
export CONVERT_EXTRA_FLAGS="${CONVERT_EXTRA_FLAGS:-}"
export TRAIN_EXTRA_FLAGS="${TRAIN_EXTRA_FLAGS:-}"
export EVAL_EXTRA_FLAGS="${EVAL_EXTRA_FLAGS:-}"
# run_train.sh in the background with its log in $TRAIN_LOG (the tutorial).
export RUN_IN_BACKGROUND="${RUN_IN_BACKGROUND:-0}"
export TRAIN_LOG="${TRAIN_LOG:-$TRAIN_DIR/output.log}"

# Export and serving.
export EXPORT_DIR="${EXPORT_DIR:-$TRAIN_DIR/export}"
export INFERENCE_GRAPH="${INFERENCE_GRAPH:-$EXPORT_DIR/my_${MODEL_NAME}.pb}"
export FROZEN_GRAPH="${FROZEN_GRAPH:-$EXPORT_DIR/my_${MODEL_NAME}_freeze.pb}"
export LABEL_FILE="${LABEL_FILE:-${FROZEN_GRAPH%.pb}.label}"
# Also write a SavedModel for TF Serving here (a new directory) when set.
export SAVED_MODEL_DIR="${SAVED_MODEL_DIR:-}"
export UPLOAD_FOLDER="${UPLOAD_FOLDER:-/tmp/upload}"
# Not HOST/PORT: shells and hosting platforms set those for other purposes.
export SERVER_HOST="${SERVER_HOST:-127.0.0.1}"
export SERVER_PORT="${SERVER_PORT:-5001}"
