#!/usr/bin/env bash
# Serves the frozen graph: open http://$SERVER_HOST:$SERVER_PORT/ (default
# http://127.0.0.1:5001/) and upload an image.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env_set.sh"
slim_python --exec server.py \
  --model_file="$FROZEN_GRAPH" \
  --label_file="$LABEL_FILE" \
  --upload_folder="$UPLOAD_FOLDER" \
  --host="$SERVER_HOST" \
  --port="$SERVER_PORT"
