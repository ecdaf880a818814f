# What every shell script of this repository shares: where the repository is,
# which Python runs its scripts, and how. `source` it, don't run it.

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export REPO_DIR

# Python: the repository's virtualenv when there is one.
if [ -z "${PYTHON:-}" ]; then
  if [ -x "$REPO_DIR/.venv/bin/python" ]; then
    PYTHON="$REPO_DIR/.venv/bin/python"
  else
    PYTHON=python3
  fi
fi
export PYTHON

# Runs one of the repository's scripts with $PYTHON, unbuffered so that its
# log lines show up as they are written:  slim_python eval_image_classifier.py
# --flag=... As a workflow script's last step, `slim_python --exec ...`
# replaces the shell, so a signal sent to the script's pid (Ctrl-C, kill, a
# supervisor) reaches Python itself.
slim_python() {
  if [ "$1" = --exec ]; then
    shift
    exec "$PYTHON" -u "$REPO_DIR/$1" "${@:2}"
  fi
  "$PYTHON" -u "$REPO_DIR/$1" "${@:2}"
}
