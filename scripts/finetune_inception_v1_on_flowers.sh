#!/usr/bin/env bash
# Upstream slim's scripts/finetune_inception_v1_on_flowers.sh,
# on this project's scripts:
#
# 1. the Flowers dataset into $DATASET_DIR (/tmp/flowers): downloaded and
#    converted, unless it is there already or DATASET_SOURCE points at the
#    archive on disk;
# 2. the pre-trained Inception-v1 checkpoint into
#    $PRETRAINED_CHECKPOINT_DIR
#    (/tmp/checkpoints), downloaded unless it is there already;
# 3. fine-tunes only the new layers for 3000 steps into $TRAIN_DIR
#    (/tmp/flowers-models/inception_v1)
#    and evaluates them on the validation split;
# 4. fine-tunes all the layers for 1000 steps from there into $TRAIN_DIR/all,
#    and evaluates again.
#
# Usage: scripts/finetune_inception_v1_on_flowers.sh
# Every path, step count and size can be set from the environment (e.g.
# TRAIN_STEPS=20 for a smoke run; TRAIN_EXTRA_FLAGS=--clone_on_cpu=True on a
# machine without GPU): see scripts/lib/upstream_examples.sh. Offline, each
# missing download is one line saying which file to put where.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/upstream_examples.sh"

example_setup flowers inception_v1 /tmp/flowers /tmp/flowers-models/inception_v1

example_finetune_on_flowers http://download.tensorflow.org/models/inception_v1_2016_08_28.tar.gz \
  InceptionV1/Logits 3000 1000 \
  --learning_rate=0.01 --log_every_n_steps=100 \
  -- --learning_rate=0.001 --log_every_n_steps=100
