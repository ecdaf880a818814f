"""End-to-end tests of train_image_classifier.py, run as a subprocess.

A tiny 'quiz' dataset (3 classes x 8 images of 32x32) in a read-only
directory and LeNet at 28x28 keep every run to a few seconds.
"""

import glob
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from datasets import fake_data
import deployment_helpers as helpers
from deployment import checkpoints

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, 'train_image_classifier.py')
LOG_LINE = re.compile(
    r'global step (\d+): loss = [\d.]+ \([\d.]+ sec/step\) \| [\d.]+ '
    r'images/sec, lr = [\d.e+-]+, epoch ([\d.]+), ETA \d+:\d\d:\d\d')


def run_train(dataset_dir, train_dir, *extra, timeout=120):
  """Runs the training script; returns (exit code, stdout + stderr)."""
  proc = helpers.run_script(
      'train_image_classifier.py', '--dataset_name=quiz',
      '--dataset_dir=%s' % dataset_dir, '--train_dir=%s' % train_dir,
      '--model_name=lenet', '--train_image_size=28', '--batch_size=4',
      '--log_every_n_steps=1', '--num_readers=1',
      '--num_preprocessing_threads=1', *extra, timeout=timeout)
  return proc.returncode, proc.stdout + proc.stderr


def saved_step(train_dir):
  return int(tf.train.load_checkpoint(
      tf.train.latest_checkpoint(train_dir)).get_tensor('global_step'))


def read_only_copy_of_dataset(path, num_classes):
  fake_data.write_fake_dataset(
      path, 'quiz', num_classes=num_classes,
      images_per_class={'train': 8, 'validation': 2})
  os.chmod(path, stat.S_IRUSR | stat.S_IXUSR)
  return path


@pytest.fixture(scope='module')
def dataset_dir(tmp_path_factory):
  path = str(tmp_path_factory.mktemp('quiz') / 'data')
  yield read_only_copy_of_dataset(path, num_classes=3)
  os.chmod(path, stat.S_IRWXU)


@pytest.fixture(scope='module')
def trained(dataset_dir, tmp_path_factory):
  """A LeNet trained for 6 steps on two CPU clones: (train_dir, log)."""
  train_dir = str(tmp_path_factory.mktemp('train') / 'ckpt')
  files_before = sorted(os.listdir(dataset_dir))
  code, log = run_train(dataset_dir, train_dir, '--max_number_of_steps=6',
                        '--clone_on_cpu=True', '--num_clones=2',
                        '--save_summaries_secs=1')
  assert code == 0, log
  assert sorted(os.listdir(dataset_dir)) == files_before
  return train_dir, log


def test_trains_logs_progress_and_saves_final_step(trained):
  train_dir, log = trained
  steps = [(int(s), float(e)) for s, e in LOG_LINE.findall(log)]
  assert [s for s, _ in steps] == [1, 2, 3, 4, 5, 6], log
  # epoch = step * batch_size * num_clones / 24 training images.
  assert steps[-1][1] == pytest.approx(6 * 4 * 2 / 24.0, abs=0.01)
  # The newest checkpoint is the one named latest, and the marker that
  # stops an evaluation loop records it.
  assert saved_step(train_dir) == 6
  assert checkpoints.read_final_step(train_dir) == 6


def test_writes_tensorboard_summaries(trained):
  train_dir, _ = trained
  tags = set()
  for path in glob.glob(os.path.join(train_dir, 'events.out.tfevents.*')):
    for event in tf.train.summary_iterator(path):
      tags.update(value.tag for value in event.summary.value)
  assert {'learning_rate', 'batch_accuracy', 'total_loss'} <= tags, tags
  assert any(tag.startswith('input_images') for tag in tags), tags
  assert any(tag.startswith('losses/') for tag in tags), tags


def test_rerun_resumes_and_ignores_checkpoint_path(trained, dataset_dir,
                                                   tmp_path):
  source_dir, _ = trained
  train_dir = str(tmp_path / 'ckpt')
  shutil.copytree(source_dir, train_dir)
  code, log = run_train(dataset_dir, train_dir, '--max_number_of_steps=8',
                        '--checkpoint_path=/elsewhere/model.ckpt')
  assert code == 0, log
  assert checkpoints.read_final_step(train_dir) == 8
  assert 'ignoring --checkpoint_path=/elsewhere/model.ckpt' in log
  assert [int(s) for s, _ in LOG_LINE.findall(log)] == [7, 8]
  assert saved_step(train_dir) == 8


def test_resumes_after_kill_9(dataset_dir, tmp_path):
  train_dir = str(tmp_path / 'ckpt')
  args = [sys.executable, SCRIPT, '--dataset_name=quiz',
          '--dataset_dir=%s' % dataset_dir, '--train_dir=%s' % train_dir,
          '--model_name=lenet', '--train_image_size=28', '--batch_size=4',
          '--save_interval_secs=1', '--log_every_n_steps=50']
  proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
  try:
    deadline = time.time() + 90
    # Wait for a checkpoint after step 0, so there is progress to keep.
    while time.time() < deadline:
      latest = tf.train.latest_checkpoint(train_dir)
      if latest and not latest.endswith('-0'):
        break
      time.sleep(0.2)
    else:
      pytest.fail('no checkpoint after step 0 within 90 s')
  finally:
    proc.send_signal(signal.SIGKILL)
    proc.wait()
  killed_at = saved_step(train_dir)
  assert killed_at > 0
  code, log = run_train(dataset_dir, train_dir,
                        '--max_number_of_steps=%d' % (killed_at + 2))
  assert code == 0, log
  assert [int(s) for s, _ in LOG_LINE.findall(log)] == [killed_at + 1,
                                                        killed_at + 2]
  assert saved_step(train_dir) == killed_at + 2


def checkpoint_values(checkpoint_dir, prefix):
  reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(checkpoint_dir))
  return {name: reader.get_tensor(name)
          for name in reader.get_variable_to_shape_map()
          if name.startswith(prefix) and not name.endswith('RMSProp') and
          not name.endswith('RMSProp_1')}


def test_fine_tune_restores_excludes_and_trains_only_trainable_scopes(
    trained, dataset_dir, tmp_path):
  source_dir, _ = trained
  train_dir = str(tmp_path / 'ckpt')
  code, log = run_train(dataset_dir, train_dir, '--max_number_of_steps=2',
                        '--checkpoint_path=%s' % source_dir,
                        '--checkpoint_exclude_scopes=LeNet/fc3',
                        '--trainable_scopes=LeNet/fc4', '--weight_decay=0')
  assert code == 0, log
  source = checkpoint_values(source_dir, 'LeNet/')
  tuned = checkpoint_values(train_dir, 'LeNet/')
  assert sorted(source) == sorted(tuned)
  for name in source:
    if name.startswith(('LeNet/conv1/', 'LeNet/conv2/')):
      # Restored and frozen.
      np.testing.assert_array_equal(tuned[name], source[name], err_msg=name)
    else:
      # fc3 excluded (fresh initial values), fc4 restored then trained.
      assert not np.array_equal(tuned[name], source[name]), name


def test_shape_mismatch_names_variable_and_suggests_exclude_scopes(
    trained, tmp_path):
  source_dir, _ = trained
  five_classes = read_only_copy_of_dataset(str(tmp_path / 'five'), 5)
  try:
    code, log = run_train(five_classes, str(tmp_path / 'ckpt'),
                          '--max_number_of_steps=1',
                          '--checkpoint_path=%s' % source_dir)
  finally:
    os.chmod(five_classes, stat.S_IRWXU)
  assert code == 1
  assert 'Traceback' not in log
  error_lines = [line for line in log.splitlines()
                 if line.startswith('ERROR:')]
  assert len(error_lines) == 1, log
  assert re.search(r'LeNet/fc4/(weights|biases) has shape \[(1024, )?5\] in '
                   r'the model but \[(1024, )?3\] in checkpoint',
                   error_lines[0]), error_lines
  assert '--checkpoint_exclude_scopes=LeNet/fc4' in error_lines[0]


def test_nan_loss_stops_with_one_line(dataset_dir, tmp_path):
  train_dir = str(tmp_path / 'ckpt')
  code, log = run_train(dataset_dir, train_dir, '--max_number_of_steps=30',
                        '--optimizer=sgd', '--learning_rate=1e12',
                        '--learning_rate_decay_type=fixed')
  assert code == 1, log
  assert 'Traceback' not in log
  match = re.search(r'^ERROR: loss is NaN or Inf at global step (\d+) '
                    r'\(learning rate 1e\+12\); .*--learning_rate', log,
                    re.MULTILINE)
  assert match, log
  assert saved_step(train_dir) <= int(match.group(1))


def test_help_lists_every_flag_with_default():
  proc = helpers.run_script('train_image_classifier.py', '--help',
                            timeout=60)
  text = proc.stdout + proc.stderr
  for flag, default in [('clone_on_cpu', 'false'), ('opt_epsilon', '1.0'),
                        ('optimizer', 'rmsprop'), ('batch_size', '32'),
                        ('learning_rate', '0.01'),
                        ('learning_rate_decay_factor', '0.94'),
                        ('train_dir', '/tmp/tfmodel/'),
                        ('use_grayscale', 'false'),
                        ('checkpoint_exclude_scopes', None)]:
    assert re.search(r'--\[?(no)?\]?%s:' % flag, text), flag
    if default:
      assert re.search(r"--\[?(no)?\]?%s:.*\n(.*\n)*?\s+\(default: '%s'\)" %
                       (flag, re.escape(default)), text), flag


def test_missing_dataset_dir_is_one_clear_line(tmp_path):
  proc = helpers.run_script(
      'train_image_classifier.py', '--dataset_name=quiz',
      '--dataset_dir=/no/such/dir', '--model_name=lenet',
      '--train_dir=%s' % (tmp_path / 'ckpt'), timeout=60)
  assert proc.returncode == 1
  assert 'Traceback' not in proc.stderr
  assert re.search(r'^ERROR: --dataset_dir=/no/such/dir does not exist',
                   proc.stderr, re.MULTILINE), proc.stderr


def test_mistyped_flag_is_refused_not_ignored(tmp_path):
  proc = helpers.run_script('train_image_classifier.py', '--learning_rat=0.1',
                            '--train_dir=%s' % (tmp_path / 'ckpt'),
                            timeout=60)
  assert proc.returncode == 1
  assert 'Traceback' not in proc.stderr
  assert re.search(r'^ERROR: unknown flag\(s\) --learning_rat=0.1 .*'
                   r'--learning_rate', proc.stderr, re.MULTILINE), proc.stderr


def test_mixed_precision_and_xla_train_on_cpu(dataset_dir, tmp_path):
  """Both flags train on any CPU (in bfloat16 where it is native): weights
  stay float32, the log says what --mixed_precision chose, and the dynamic
  loss scale is checkpointed so a resumed run keeps it."""
  train_dir = str(tmp_path / 'ckpt')
  code, log = run_train(dataset_dir, train_dir, '--max_number_of_steps=3',
                        '--mixed_precision=True', '--xla=True')
  assert code == 0, log
  assert [int(s) for s, _ in LOG_LINE.findall(log)] == [1, 2, 3], log
  assert re.search(r'--mixed_precision: (bfloat16 compute|no GPU .* float32)',
                   log), log
  reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(train_dir))
  dtypes = reader.get_variable_to_dtype_map()
  assert dtypes['LeNet/conv1/weights'] == tf.float32
  scale_names = [name for name in dtypes if 'loss_scale' in name]
  assert scale_names, sorted(dtypes)
  assert reader.get_tensor(scale_names[0]) > 1
