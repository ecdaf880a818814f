"""train_eval_image_classifier.py: the course's unified script, end to end."""

import csv
import os
import re
import subprocess
import sys

import pytest

from deployment import train_eval
import deployment_helpers
import evaluation_helpers as helpers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, 'train_eval_image_classifier.py')


def _run(*args):
  return deployment_helpers.run_script('train_eval_image_classifier.py',
                                       *args, timeout=400, merge_output=True)


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
  assert re.search(r'^ERROR: --dataset_dir=\S+/no does not exist or is not a '
                   r'directory; convert the data first', result.stdout,
                   re.M), result.stdout
  assert 'Traceback' not in result.stdout


def _course_command(data_dir, out, epochs=2):
  return [sys.executable, '-u', SCRIPT, '--dataset_name=quiz',
          '--dataset_dir=%s' % data_dir, '--model_name=lenet',
          '--train_dir=%s' % (out / 'ckpt'), '--eval_dir=%s' % (out / 'eval'),
          '--learning_rate=0.001', '--optimizer=rmsprop',
          '--learning_rate_decay_type=fixed', '--clone_on_cpu=True',
          '--batch_size=8', '--epochs=%d' % epochs, '--log_every_n_steps=1']


def _run_until_line(command, pattern, timeout=300):
  """Starts `command`, SIGKILLs it at the first output line matching."""
  process = subprocess.Popen(command, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT,
                             universal_newlines=True, start_new_session=True)
  lines = []
  try:
    for line in process.stdout:
      lines.append(line)
      if re.search(pattern, line):
        os.killpg(process.pid, 9)
        break
  finally:
    process.stdout.close()
    process.wait(timeout=timeout)
  return ''.join(lines), process.returncode


def test_one_process_keeps_training_and_resumes_after_kill_9(tmp_path):
  """Killed between epoch 1's save and its evaluation, then rerun: epoch 1
  is evaluated first, training goes on from step 3, one row per epoch."""
  data_dir = tmp_path / 'quiz'
  helpers.write_dataset(str(data_dir))
  command = _course_command(data_dir, tmp_path)
  first_log, status = _run_until_line(command,
                                      r'Starting evaluation of .*ckpt-3\b')
  assert status == -9, first_log[-2000:]
  assert not os.path.exists(str(tmp_path / 'eval' / train_eval.CSV_NAME))

  result = subprocess.run(command, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True,
                          env=deployment_helpers.script_env(), timeout=400)
  assert result.returncode == 0, result.stdout[-3000:]
  log = result.stdout
  assert 'starting at step 3' in log
  assert [int(s) for s in re.findall(r'global step (\d+): loss', log)] == [
      4, 5, 6]
  evaluated = re.findall(r'Starting evaluation of \S+ckpt-(\d+)', log)
  assert evaluated == ['3', '6']
  # Both evaluations ran in this one process, the second between steps.
  assert log.index('ckpt-3 (global step 3)') < log.index('global step 4:')
  assert log.count('train_eval: step') == 2
  with open(str(tmp_path / 'eval' / train_eval.CSV_NAME)) as handle:
    rows = list(csv.DictReader(handle))
  assert [(r['step'], r['epoch']) for r in rows] == [('3', '1.000'),
                                                     ('6', '2.000')]
  printed = re.findall(r'^eval/Accuracy\[([0-9.e-]+)\]$', log, re.M)
  assert [r['accuracy'] for r in rows] == printed
  assert rows[0]['loss'] == '' and float(rows[1]['loss']) > 0
