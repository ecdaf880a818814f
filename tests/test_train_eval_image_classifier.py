"""train_eval_image_classifier.py: the course's unified script, end to end."""

import csv
import os
import re
import subprocess
import sys

import pytest

from deployment import train_eval
from tests import evaluation_helpers as helpers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, 'train_eval_image_classifier.py')


def _run(*args):
  return subprocess.run([sys.executable, SCRIPT] + list(args),
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                        universal_newlines=True, timeout=400)


@pytest.fixture(scope='module')
def two_epochs(tmp_path_factory):
  """Two epochs of LeNet on 24 images, batch 8: 3 steps per epoch."""
  data_dir = tmp_path_factory.mktemp('quiz_ro')
  helpers.write_dataset(str(data_dir))
  data_dir.chmod(0o555)  # a job platform's read-only data mount
  out = tmp_path_factory.mktemp('output')
  # The course's command line, plus the size flags that keep it fast.
  result = _run(
      '--dataset_name=quiz', '--dataset_dir=%s' % data_dir,
      '--model_name=lenet',
      '--checkpoint_exclude_scopes=InceptionV4/Logits,'
      'InceptionV4/AuxLogits/Aux_logits',
      '--train_dir=%s' % (out / 'ckpt'), '--learning_rate=0.001',
      '--optimizer=rmsprop', '--learning_rate_decay_type=fixed',
      '--dataset_split_name=validation', '--eval_dir=%s' % (out / 'eval'),
      '--max_num_batches=128', '--clone_on_cpu=True', '--batch_size=8',
      '--epochs=2', '--log_every_n_steps=1')
  data_dir.chmod(0o755)
  return result, out, data_dir


def test_alternates_training_and_evaluation_with_live_logs(two_epochs):
  result, _, _ = two_epochs
  assert result.returncode == 0, result.stdout[-3000:]
  log = result.stdout
  steps = [int(s) for s in re.findall(r'global step (\d+): loss', log)]
  evals = [m.start() for m in re.finditer(r'^eval/Accuracy\[[0-9.e-]+\]$',
                                          log, re.M)]
  assert steps == [1, 2, 3, 4, 5, 6]
  assert len(evals) == 2 and len(re.findall(r'^eval/Recall_5\[', log,
                                            re.M)) == 2
  # Epoch 1's evaluation comes between its training and epoch 2's.
  assert log.index('global step 3: loss') < evals[0] < log.index(
      'global step 4: loss') < evals[1]


def test_csv_and_png_describe_each_epoch(two_epochs):
  result, out, data_dir = two_epochs
  assert result.returncode == 0, result.stdout[-3000:]
  with open(str(out / 'eval' / train_eval.CSV_NAME)) as handle:
    rows = list(csv.DictReader(handle))
  assert [(r['step'], r['epoch'], r['lr']) for r in rows] == [
      ('3', '1.000', '0.001'), ('6', '2.000', '0.001')]
  printed = re.findall(r'^eval/Accuracy\[([0-9.e-]+)\]$', result.stdout, re.M)
  assert [r['accuracy'] for r in rows] == printed
  assert all(float(r['loss']) > 0 for r in rows)
  with open(str(out / 'eval' / train_eval.PNG_NAME), 'rb') as png:
    assert png.read(4) == b'\x89PNG'
  assert not [name for name in os.listdir(str(data_dir))
              if not name.startswith(('quiz_', 'labels'))]


def test_missing_dataset_dir_is_one_line(tmp_path):
  result = _run('--dataset_name=quiz', '--dataset_dir=%s' % (tmp_path / 'no'),
                '--train_dir=%s' % tmp_path, '--model_name=lenet')
  assert result.returncode == 1
  assert re.search(r'^ERROR: .*no', result.stdout, re.M), result.stdout
  assert 'Traceback' not in result.stdout
