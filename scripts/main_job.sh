#!/usr/bin/env bash
# Main job placeholder until the training scripts land: build DenseNet and run
# a few training steps on generated data.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python -c "print('main job: not wired yet')"
