#!/usr/bin/env bash
# Upstream slim's scripts/train_cifarnet_on_cifar10.sh, on this project's scripts:
#
# 1. the CIFAR-10 dataset into $DATASET_DIR (/tmp/cifar10): downloaded and
#    converted, unless it is there already or DATASET_SOURCE points at the
#    archive on disk;
# 2. trains CifarNet from scratch for 100000 steps into $TRAIN_DIR
#    (/tmp/cifarnet-model);
# 3. evaluates it on the test split.
#
# Usage: scripts/train_cifarnet_on_cifar10.sh
# Every path, step count and size can be set from the environment (e.g.
# TRAIN_STEPS=20 for a smoke run; TRAIN_EXTRA_FLAGS=--clone_on_cpu=True on a
# machine without GPU): see scripts/lib/upstream_examples.sh. Offline, each
# missing download is one line saying which file to put where.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/upstream_examples.sh"

example_setup cifar10 cifarnet /tmp/cifar10 /tmp/cifarnet-model

example_step "The CIFAR-10 dataset"
example_prepare_dataset

example_step "Training"
example_train "$TRAIN_DIR" \
  --preprocessing_name=cifarnet \
  --max_number_of_steps="${TRAIN_STEPS:-100000}" \
  --batch_size="${BATCH_SIZE:-128}" \
  --save_interval_secs=120 \
  --save_summaries_secs=120 \
  --log_every_n_steps=100 \
  --optimizer=sgd \
  --learning_rate=0.1 \
  --learning_rate_decay_factor=0.1 \
  --num_epochs_per_decay=200 \
  --weight_decay=0.004

example_step "Evaluating"
example_evaluate "$TRAIN_DIR" test
