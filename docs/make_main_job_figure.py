r"""Draws docs/main_job_curves.png from a main-job run's train_eval.csv.

The plot is train_eval's own (the train_eval.png the run wrote); the CSV of
the run the docs quote is kept beside it, so the figure can be redrawn:

  .venv/bin/python docs/make_main_job_figure.py \
      [runs/densenet_bc_mini/eval/train_eval.csv]   # default: docs' copy
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import tf_compat  # noqa: E402,F401

from deployment import train_eval  # noqa: E402


def main(argv):
  csv_path = argv[1] if len(argv) > 1 else os.path.join(
      HERE, 'main_job_curves.csv')
  png_path = os.path.join(HERE, 'main_job_curves.png')
  train_eval.plot_curves(train_eval.read_rows(csv_path), png_path,
                         title='densenet_bc_mini on Fashion-MNIST (main job)')
  print('wrote %s from %s' % (png_path, csv_path))


if __name__ == '__main__':
  main(sys.argv)
