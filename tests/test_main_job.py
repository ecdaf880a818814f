"""`make run`'s script, scripts/main_job.sh, as a smoke run.

The real command (conversion, the recipe's flags, train_eval in one process,
the grader lines, the CSV and the curves), capped at 3 steps and one
evaluation batch per epoch so it takes seconds. It uses Debian's
Fashion-MNIST when installed, and the script's generated-data fallback when
not (that path is then checked instead).
"""

import csv
import re

import pytest
import tensorflow.compat.v1 as tf

import deployment_helpers as helpers


@pytest.fixture(scope='module')
def smoke_run(tmp_path_factory):
  runs_dir = tmp_path_factory.mktemp('runs')
  result = helpers.run_script(
      'scripts/main_job.sh', env=dict(RUNS_DIR=runs_dir, MAIN_JOB_STEPS=3,
                                      MAIN_JOB_EVAL_BATCHES=1,
                                      MAIN_JOB_EPOCHS=1),
      timeout=600, merge_output=True)
  return result, runs_dir


def test_main_job_prints_the_grader_lines_and_writes_the_curves(smoke_run):
  result, runs_dir = smoke_run
  assert result.returncode == 0, result.stdout[-3000:]
  log = result.stdout
  generated = 'FALLING BACK TO GENERATED DATA' in log
  run_dir = runs_dir / ('densenet_bc_mini_generated_data' if generated
                        else 'densenet_bc_mini')
  # One evaluation, at the cap of 3 steps, in the training's own process.
  assert re.findall(r'Starting evaluation of \S+ckpt-(\d+)', log) == ['3']
  final = log[log.index('main job: final evaluation'):]
  assert re.search(r'^eval/Accuracy\[[0-9.e-]+\]$', final, re.M), final
  assert re.search(r'^eval/Recall_5\[[0-9.e-]+\]$', final, re.M), final
  with open(str(run_dir / 'eval' / 'train_eval.csv')) as handle:
    rows = list(csv.DictReader(handle))
  assert [row['step'] for row in rows] == ['3']
  with open(str(run_dir / 'eval' / 'train_eval.png'), 'rb') as png:
    assert png.read(4) == b'\x89PNG'
  # The recipe's flags reached the training: warm-up from lr ~0.
  rates = [float(r) for r in re.findall(r'lr = ([0-9.e-]+)', log)]
  assert rates and rates[0] < 0.01, rates
  assert (runs_dir / 'main_job.log').read_text().count('eval/Accuracy[') >= 2
  # Training kept the weights' moving averages the evaluation read.
  held = tf.train.load_checkpoint(str(run_dir / 'ckpt' / 'model.ckpt-3'))
  averaged = [name for name in held.get_variable_to_shape_map()
              if name.endswith('/ExponentialMovingAverage')]
  assert any('/weights/' in name for name in averaged), averaged
