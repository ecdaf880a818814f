"""The slim-* console commands of `pip install .` (see pyproject.toml).

Each command runs its script's `main` exactly as `python <script>.py` does,
with the same flags, `--help` and one-line errors.
"""

import importlib

import common_flags
from absl import app


def _run(script):
  module = importlib.import_module(script)
  common_flags.run_main(module.main)


def train():
  _run('train_image_classifier')


def evaluate():
  _run('eval_image_classifier')


def train_eval():
  _run('train_eval_image_classifier')


def export():
  _run('export_inference_graph')


def freeze():
  _run('freeze_graph')


def label():
  _run('label_image')


def serve():
  _run('server')


def convert():
  # The converter reports its own errors (ConversionError) and exit status.
  module = importlib.import_module('download_and_convert_data')
  common_flags.show_flags_in_help(module.__name__)
  app.run(module.main)
