#!/usr/bin/env bash
# Converts $DATASET_DIR/$DATASET_NAME/<class>/ images to TFRecords (or
# downloads a registered dataset: flowers, cifar10, mnist, fashion_mnist).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env_set.sh"
# shellcheck disable=SC2086  # extra flags are meant to split
slim_python --exec download_and_convert_data.py \
  "${DATASET_FLAGS[@]}" \
  $CONVERT_EXTRA_FLAGS
