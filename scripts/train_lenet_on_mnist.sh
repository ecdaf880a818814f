#!/usr/bin/env bash
# Upstream slim's scripts/train_lenet_on_mnist.sh, on this project's scripts:
#
# 1. the MNIST dataset into $DATASET_DIR (/tmp/mnist): downloaded and
#    converted, unless it is there already or DATASET_SOURCE points at the
#    archive on disk;
# 2. trains LeNet from scratch for 20000 steps into $TRAIN_DIR
#    (/tmp/lenet-model);
# 3. evaluates it on the test split.
#
# Usage: scripts/train_lenet_on_mnist.sh
# Every path, step count and size can be set from the environment (e.g.
# TRAIN_STEPS=20 for a smoke run; TRAIN_EXTRA_FLAGS=--clone_on_cpu=True on a
# machine without GPU): see scripts/lib/upstream_examples.sh. Offline, each
# missing download is one line saying which file to put where.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/upstream_examples.sh"

example_setup mnist lenet /tmp/mnist /tmp/lenet-model

example_step "The MNIST dataset"
example_prepare_dataset

example_step "Training"
example_train "$TRAIN_DIR" \
  --preprocessing_name=lenet \
  --max_number_of_steps="${TRAIN_STEPS:-20000}" \
  --batch_size="${BATCH_SIZE:-50}" \
  --learning_rate=0.01 \
  --save_interval_secs=60 \
  --save_summaries_secs=60 \
  --log_every_n_steps=100 \
  --optimizer=sgd \
  --learning_rate_decay_type=fixed \
  --weight_decay=0

example_step "Evaluating"
example_evaluate "$TRAIN_DIR" test
