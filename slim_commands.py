"""The slim-* console commands of `pip install .` (see pyproject.toml).

Each command runs its script's `main` exactly as `python <script>.py` does,
with the same flags, `--help` and one-line errors.
"""

import importlib

import common_flags


def _run(script, positional_args=False):
  module = importlib.import_module(script)
  common_flags.run_main(module.main, positional_args=positional_args)


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
  _run('label_image', positional_args=True)  # image paths, as label_image.py


def serve():
  _run('server')


def convert():
  _run('download_and_convert_data')
