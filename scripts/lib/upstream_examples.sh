# The steps upstream slim's example scripts share (scripts/finetune_*_on_flowers.sh,
# train_cifarnet_on_cifar10.sh, train_lenet_on_mnist.sh): get the dataset,
# get the pre-trained checkpoint, train, evaluate. `source` it, don't run it.
# Each example script keeps its own recipe (steps, optimizer, learning rates,
# scopes: upstream's flags); this file adds the dataset, model and directory
# flags and the knobs below.
#
# Settings (environment); the paths default to upstream's:
#   DATASET_DIR                the converted dataset (/tmp/flowers, /tmp/cifar10,
#                              /tmp/mnist); converted there when missing
#   DATASET_SOURCE             the dataset's published archive (or unpacked
#                              folder) already on disk: converted instead of
#                              downloaded
#   PRETRAINED_CHECKPOINT_DIR  fine-tuning: holds <model>.ckpt, or the
#                              release archive it comes in (/tmp/checkpoints)
#   TRAIN_DIR                  checkpoints, logs and evaluation summaries
#   TRAIN_STEPS                steps of the first (or only) training run
#   ALL_LAYERS_STEPS           fine-tuning: steps of the all-layers run
#   BATCH_SIZE                 training batch size
#   IMAGE_SIZE                 training and evaluation image size (default:
#                              the network's own)
#   TRAIN_EXTRA_FLAGS          more training flags, split on spaces, e.g.
#                              "--clone_on_cpu=True --num_clones=2"
#   EVAL_EXTRA_FLAGS           more evaluation flags, e.g. "--batch_size=50"
# With the dataset and the checkpoint in place nothing is downloaded.

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

EXAMPLE_NAME="$(basename "$0")"
# What to fetch by hand when a dataset cannot be downloaded.
declare -A DATASET_ARCHIVES=(
  [flowers]="flower_photos.tgz (http://download.tensorflow.org/example_images/flower_photos.tgz) or its unpacked folder"
  [cifar10]="cifar-10-python.tar.gz (https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz) or its unpacked folder"
  [mnist]="a folder of the four MNIST files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz from https://storage.googleapis.com/cvdf-datasets/mnist/)"
)

# One line on stderr, then exit 1: what went wrong and what to do.
example_fail() {
  echo "ERROR: $EXAMPLE_NAME: $*" >&2
  exit 1
}

example_step() {
  printf '\n==> %s\n' "$*"
}

# example_setup DATASET MODEL DEFAULT_DATASET_DIR DEFAULT_TRAIN_DIR
example_setup() {
  EXAMPLE_DATASET=$1
  EXAMPLE_MODEL=$2
  DATASET_DIR="${DATASET_DIR:-$3}"
  TRAIN_DIR="${TRAIN_DIR:-$4}"
  DATASET_SOURCE="${DATASET_SOURCE:-}"
  PRETRAINED_CHECKPOINT_DIR="${PRETRAINED_CHECKPOINT_DIR:-/tmp/checkpoints}"
  IMAGE_SIZE="${IMAGE_SIZE:-}"
  TRAIN_EXTRA_FLAGS="${TRAIN_EXTRA_FLAGS:-}"
  EVAL_EXTRA_FLAGS="${EVAL_EXTRA_FLAGS:-}"
}

# Converts the dataset into $DATASET_DIR unless it is there already (the
# converter refuses to overwrite one); downloads it unless DATASET_SOURCE
# points at the archive.
example_prepare_dataset() {
  local name=$EXAMPLE_DATASET
  if compgen -G "$DATASET_DIR/${name}_*.tfrecord" > /dev/null; then
    echo "Using the $name dataset in $DATASET_DIR"
    return 0
  fi
  local source_flag=() errors reason
  [ -n "$DATASET_SOURCE" ] && source_flag=(--source_dir="$DATASET_SOURCE")
  errors=$(mktemp)
  if slim_python download_and_convert_data.py --dataset_name="$name" \
      --dataset_dir="$DATASET_DIR" "${source_flag[@]}" 2> "$errors"; then
    cat "$errors" >&2
    rm -f "$errors"
    return 0
  fi
  reason=$(tail -n 1 "$errors")
  rm -f "$errors"
  case "$reason" in
    *"Could not download"*)
      example_fail "no $name dataset in $DATASET_DIR and it cannot be" \
        "downloaded here: put the converted dataset there (or set" \
        "DATASET_DIR to where it is), or set DATASET_SOURCE to" \
        "${DATASET_ARCHIVES[$name]}" ;;
    *) example_fail "converting $name: ${reason#ERROR: }" ;;
  esac
}

# Fetches URL into FILE (written as FILE.partial, renamed when complete).
example_download() {
  local url=$1 file=$2
  rm -f "$file.partial"
  if command -v curl > /dev/null; then
    curl -fsL --connect-timeout 30 -o "$file.partial" "$url"
  elif command -v wget > /dev/null; then
    wget -q -T 30 -O "$file.partial" "$url"
  else
    false
  fi || { rm -f "$file.partial"; return 1; }
  mv "$file.partial" "$file"
}

# Unpacks the release ARCHIVE and moves the checkpoint file in it to CKPT
# (one rename, so a killed run never leaves half a checkpoint).
example_unpack_checkpoint() {
  local archive=$1 ckpt=$2 unpacked found
  unpacked=$(mktemp -d "$(dirname "$ckpt")/.unpack.XXXXXX")
  if tar -xzf "$archive" -C "$unpacked" 2> /dev/null; then
    found=$(find "$unpacked" -type f -name '*.ckpt' | head -n 1)
  fi
  [ -n "${found:-}" ] && mv "$found" "$ckpt"
  rm -rf "$unpacked"
  [ -n "${found:-}" ]
}

# example_prepare_checkpoint RELEASE_URL: sets PRETRAINED_CHECKPOINT to
# $PRETRAINED_CHECKPOINT_DIR/<model>.ckpt, unpacking the release archive
# there (downloaded unless it is there already). A TF-2 style checkpoint
# (<model>.ckpt.index + .data) is used as it is.
example_prepare_checkpoint() {
  local url=$1 dir=$PRETRAINED_CHECKPOINT_DIR
  local archive="$dir/${1##*/}"
  PRETRAINED_CHECKPOINT="$dir/$EXAMPLE_MODEL.ckpt"
  if [ -f "$PRETRAINED_CHECKPOINT" ] || [ -f "$PRETRAINED_CHECKPOINT.index" ]; then
    echo "Using the pre-trained checkpoint $PRETRAINED_CHECKPOINT"
    return 0
  fi
  mkdir -p "$dir" || example_fail "cannot create $dir; set PRETRAINED_CHECKPOINT_DIR"
  if [ ! -f "$archive" ]; then
    echo "Downloading $url"
    example_download "$url" "$archive" || example_fail \
      "no $EXAMPLE_MODEL.ckpt in $dir and $url cannot be downloaded here:" \
      "put $EXAMPLE_MODEL.ckpt, or the archive ${archive##*/}, in $dir (or" \
      "set PRETRAINED_CHECKPOINT_DIR to the folder that holds it)"
  fi
  example_unpack_checkpoint "$archive" "$PRETRAINED_CHECKPOINT" ||
    example_fail "$archive holds no .ckpt file; download it again from $url"
  echo "Unpacked $PRETRAINED_CHECKPOINT"
}

# example_train TRAIN_DIR FLAG...: train_image_classifier.py on the
# dataset's train split with the recipe's flags, then the knobs above.
example_train() {
  local train_dir=$1
  shift
  # shellcheck disable=SC2086  # extra flags are meant to split
  slim_python train_image_classifier.py \
    --train_dir="$train_dir" \
    --dataset_name="$EXAMPLE_DATASET" \
    --dataset_split_name=train \
    --dataset_dir="$DATASET_DIR" \
    --model_name="$EXAMPLE_MODEL" \
    "$@" \
    ${IMAGE_SIZE:+--train_image_size="$IMAGE_SIZE"} \
    $TRAIN_EXTRA_FLAGS
}

# example_evaluate TRAIN_DIR SPLIT FLAG...: the newest checkpoint in
# TRAIN_DIR on SPLIT; prints eval/Accuracy[...] and eval/Recall_5[...].
example_evaluate() {
  local train_dir=$1 split=$2
  shift 2
  # shellcheck disable=SC2086  # extra flags are meant to split
  slim_python eval_image_classifier.py \
    --checkpoint_path="$train_dir" \
    --eval_dir="$train_dir" \
    --dataset_name="$EXAMPLE_DATASET" \
    --dataset_split_name="$split" \
    --dataset_dir="$DATASET_DIR" \
    --model_name="$EXAMPLE_MODEL" \
    "$@" \
    ${IMAGE_SIZE:+--eval_image_size="$IMAGE_SIZE"} \
    $EVAL_EXTRA_FLAGS
}

# example_finetune_on_flowers CHECKPOINT_URL NEW_LAYER_SCOPES STEPS ALL_STEPS
#   NEW_LAYER_FLAG... -- ALL_LAYER_FLAG...
# Upstream's two-phase recipe of every finetune_*_on_flowers.sh: the data and
# the checkpoint, the new layers alone (STEPS), an evaluation, then every
# layer from there (ALL_STEPS) and an evaluation. RMSProp, weight decay 4e-5,
# saves and summaries every minute in both phases; the flags after the
# scopes and step counts are what each network's script sets per phase
# (learning rate, its decay, how often to log).
example_finetune_on_flowers() {
  local url=$1 scopes=$2 steps=$3 all_steps=$4
  shift 4
  local new_layer_flags=() all_layer_flags=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do new_layer_flags+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  all_layer_flags=("$@")
  local recipe=(--batch_size="${BATCH_SIZE:-32}" --save_interval_secs=60
                --save_summaries_secs=60 --optimizer=rmsprop
                --weight_decay=0.00004)

  example_step "The Flowers dataset"
  example_prepare_dataset

  example_step "The pre-trained checkpoint"
  example_prepare_checkpoint "$url"

  example_step "Fine-tuning only the new layers"
  example_train "$TRAIN_DIR" --checkpoint_path="$PRETRAINED_CHECKPOINT" \
    --checkpoint_exclude_scopes="$scopes" --trainable_scopes="$scopes" \
    --max_number_of_steps="${TRAIN_STEPS:-$steps}" "${recipe[@]}" \
    "${new_layer_flags[@]}"

  example_step "Evaluating the new layers"
  example_evaluate "$TRAIN_DIR" validation

  example_step "Fine-tuning all the layers"
  example_train "$TRAIN_DIR/all" --checkpoint_path="$TRAIN_DIR" \
    --max_number_of_steps="${ALL_LAYERS_STEPS:-$all_steps}" "${recipe[@]}" \
    "${all_layer_flags[@]}"

  example_step "Evaluating all the layers"
  example_evaluate "$TRAIN_DIR/all" validation
}
