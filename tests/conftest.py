"""Shared pytest set-up: repository root on sys.path, quiet TensorFlow."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Copies of ../shared/checkpoint_manifests (variable names and shapes of the
# released slim checkpoints), kept in the repo so the tests run anywhere.
MANIFEST_DIR = os.path.join(ROOT, 'tests', 'data', 'checkpoint_manifests')
if ROOT not in sys.path:
  sys.path.insert(0, ROOT)
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import tf_compat  # noqa: E402,F401
