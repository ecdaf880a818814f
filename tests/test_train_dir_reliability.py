"""A train_dir survives copies, moves, corruption, kills and a full disk.

Trainings run as train_image_classifier.py subprocesses (LeNet at 28x28 on a
3-class quiz dataset of 8 images per class), 2 steps at a time.
"""

import glob
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
import tensorflow.compat.v1 as tf

from common_flags import UserError
from datasets import fake_data
from deployment import checkpoints

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRAIN = os.path.join(ROOT, 'train_image_classifier.py')
TRAIN_EVAL = os.path.join(ROOT, 'train_eval_image_classifier.py')
EVAL = os.path.join(ROOT, 'eval_image_classifier.py')
TINY = ['--dataset_name=quiz', '--model_name=lenet', '--train_image_size=28',
        '--batch_size=4', '--num_readers=1', '--num_preprocessing_threads=1']


def train_command(dataset_dir, train_dir, *extra):
  return ([sys.executable, TRAIN, '--dataset_dir=%s' % dataset_dir,
           '--train_dir=%s' % train_dir] + TINY + list(extra))


def run_train(dataset_dir, train_dir, *extra):
  """Runs a training; returns (exit code, stdout + stderr)."""
  proc = subprocess.run(train_command(dataset_dir, train_dir, *extra),
                        cwd=ROOT, capture_output=True, text=True, timeout=120)
  return proc.returncode, proc.stdout + proc.stderr


def logged_steps(log):
  return [int(line.split('global step ')[1].split(':')[0])
          for line in log.splitlines() if 'global step ' in line and
          ': loss = ' in line]


def error_line(log):
  """The single 'ERROR: ...' line of a failed run (and no traceback)."""
  assert 'Traceback' not in log, log
  lines = [line for line in log.splitlines() if line.startswith('ERROR: ')]
  assert len(lines) == 1, log
  return lines[0]


def state_names(train_dir):
  newest, names = checkpoints.read_state(train_dir)
  return names + [newest]


def step_of(prefix):
  return checkpoints.checkpoint_step(prefix)


@pytest.fixture(scope='module')
def dataset_dir(tmp_path_factory):
  path = str(tmp_path_factory.mktemp('quiz') / 'data')
  fake_data.write_fake_dataset(path, 'quiz', num_classes=3,
                               images_per_class={'train': 8, 'validation': 2})
  return path


@pytest.fixture(scope='module')
def two_checkpoints(dataset_dir, tmp_path_factory):
  """A train_dir with checkpoints at steps 2 and 4 (two runs)."""
  train_dir = str(tmp_path_factory.mktemp('train') / 'ckpt')
  for steps in (2, 4):
    # The default --log_every_n_steps=10: first and last step still log.
    code, log = run_train(dataset_dir, train_dir,
                          '--max_number_of_steps=%d' % steps)
    assert code == 0, log
    assert logged_steps(log) == [steps - 1, steps], log
  return train_dir


def copy_of(train_dir, tmp_path, name='copy'):
  target = str(tmp_path / name)
  shutil.copytree(train_dir, target)
  return target


def test_state_file_holds_only_relative_names(two_checkpoints):
  names = state_names(two_checkpoints)
  # The Supervisor also saves step 0 when it starts.
  assert names == ['model.ckpt-0', 'model.ckpt-2', 'model.ckpt-4',
                   'model.ckpt-4']


def test_copy_trains_on_without_touching_the_original(dataset_dir,
                                                      two_checkpoints,
                                                      tmp_path):
  original = copy_of(two_checkpoints, tmp_path, 'original')
  # An old-style state file with absolute paths into the original.
  tf.train.update_checkpoint_state(
      original, os.path.join(original, 'model.ckpt-4'),
      [os.path.join(original, 'model.ckpt-2'),
       os.path.join(original, 'model.ckpt-4')])
  before = {name: os.path.getmtime(os.path.join(original, name))
            for name in os.listdir(original)}
  copy = copy_of(original, tmp_path)
  # Enough saves that max_to_keep=5 rotates old checkpoints out.
  code, log = run_train(dataset_dir, copy, '--max_number_of_steps=12',
                        '--save_interval_secs=1')
  assert code == 0, log
  after = {name: os.path.getmtime(os.path.join(original, name))
           for name in os.listdir(original)}
  assert after == before
  assert all('/' not in name for name in state_names(copy))
  assert step_of(checkpoints.resolve_readable(copy)) == 12
  assert checkpoints.resolve_readable(original).startswith(original)


def test_moved_train_dir_resumes_and_evaluates(dataset_dir, two_checkpoints,
                                               tmp_path):
  before_move = copy_of(two_checkpoints, tmp_path, 'before')
  tf.train.update_checkpoint_state(
      before_move, os.path.join(before_move, 'model.ckpt-4'))
  moved = str(tmp_path / 'moved')
  os.rename(before_move, moved)
  assert checkpoints.resolve_readable(moved) == os.path.join(moved,
                                                             'model.ckpt-4')
  code, log = run_train(dataset_dir, moved, '--max_number_of_steps=6')
  assert code == 0, log
  assert logged_steps(log) == [5, 6]


def test_eval_of_a_moved_dir_skips_its_truncated_newest_checkpoint(
    two_checkpoints, dataset_dir, tmp_path):
  moved = str(tmp_path / 'moved')
  os.rename(copy_of(two_checkpoints, tmp_path, 'before'), moved)
  for path in glob.glob(os.path.join(moved, 'model.ckpt-4.data-*')):
    truncate(path)
  proc = subprocess.run(
      [sys.executable, EVAL, '--dataset_name=quiz',
       '--dataset_dir=%s' % dataset_dir, '--dataset_split_name=validation',
       '--model_name=lenet', '--eval_image_size=28', '--batch_size=6',
       '--checkpoint_path=%s' % moved, '--eval_dir=%s' % (tmp_path / 'eval'),
       '--num_preprocessing_threads=1'],
      cwd=ROOT, capture_output=True, text=True, timeout=120)
  log = proc.stdout + proc.stderr
  assert proc.returncode == 0, log
  assert 'model.ckpt-4 is truncated or corrupt' in log
  assert 'Starting evaluation of %s' % os.path.join(moved,
                                                    'model.ckpt-2') in log
  assert 'eval/Accuracy[' in proc.stdout


def truncate(path):
  with open(path, 'r+b') as handle:
    handle.truncate(os.path.getsize(path) // 2)


def test_truncated_newest_checkpoint_falls_back_with_a_warning(
    dataset_dir, two_checkpoints, tmp_path):
  train_dir = copy_of(two_checkpoints, tmp_path)
  for path in glob.glob(os.path.join(train_dir, 'model.ckpt-4.data-*')):
    truncate(path)
  fallback = checkpoints.resolve_readable(train_dir)
  assert fallback.endswith('model.ckpt-2')
  # The Supervisor's first save may record a later step than its name.
  start = step_of(fallback)
  code, log = run_train(dataset_dir, train_dir,
                        '--max_number_of_steps=%d' % (start + 2))
  assert code == 0, log
  assert 'model.ckpt-4 is truncated or corrupt' in log
  assert logged_steps(log) == [start + 1, start + 2]
  assert step_of(checkpoints.resolve_readable(train_dir)) == start + 2


def test_no_readable_checkpoint_is_one_line(dataset_dir, two_checkpoints,
                                            tmp_path):
  train_dir = copy_of(two_checkpoints, tmp_path)
  for path in glob.glob(os.path.join(train_dir, 'model.ckpt-*.data-*')):
    truncate(path)
  with pytest.raises(UserError, match='holds 3 checkpoint.* none is readable'):
    checkpoints.resolve_readable(train_dir)
  code, log = run_train(dataset_dir, train_dir, '--max_number_of_steps=6')
  assert code == 1
  assert 'none is readable' in error_line(log)


def test_garbage_checkpoint_path_is_one_line(tmp_path):
  prefix = str(tmp_path / 'model.ckpt')
  for suffix in ('.index', '.data-00000-of-00001'):
    with open(prefix + suffix, 'wb') as handle:
      handle.write(b'not a checkpoint at all')
  with pytest.raises(UserError) as error:
    checkpoints.resolve_readable(prefix)
  message = str(error.value)
  assert message.startswith('--checkpoint_path=%s is not a readable '
                            'checkpoint' % prefix)
  assert '\n' not in message


def test_second_training_into_a_locked_dir_refuses(dataset_dir, tmp_path):
  train_dir = str(tmp_path / 'ckpt')
  os.makedirs(train_dir)
  with checkpoints.TrainDirLock(train_dir):
    code, log = run_train(dataset_dir, train_dir, '--max_number_of_steps=1')
  assert code == 1
  line = error_line(log)
  assert 'in use by another training (pid %d on host' % os.getpid() in line
  assert not glob.glob(os.path.join(train_dir, 'model.ckpt-*'))


def test_killed_holder_never_leaves_the_lock_stuck(tmp_path):
  holder = subprocess.Popen(
      [sys.executable, '-c', 'import sys, time; sys.path.insert(0, %r); '
       'from deployment import checkpoints; '
       'lock = checkpoints.TrainDirLock(%r).acquire(); '
       'print("held", flush=True); '
       'time.sleep(60)' % (ROOT, str(tmp_path))],
      cwd=ROOT, stdout=subprocess.PIPE, text=True)
  try:
    assert holder.stdout.readline().strip() == 'held'
    with pytest.raises(UserError, match='pid %d' % holder.pid):
      checkpoints.TrainDirLock(str(tmp_path)).acquire()
  finally:
    holder.kill()
    holder.wait()
  checkpoints.TrainDirLock(str(tmp_path)).acquire().release()


def test_other_network_in_train_dir_is_one_line(dataset_dir, two_checkpoints,
                                                tmp_path):
  train_dir = copy_of(two_checkpoints, tmp_path)
  code, log = run_train(dataset_dir, train_dir, '--max_number_of_steps=6',
                        '--model_name=cifarnet')
  assert code == 1
  line = error_line(log)
  assert 'is not in checkpoint' in line
  assert 'which holds variables under LeNet/' in line
  assert 'pass another --train_dir' in line
  assert step_of(checkpoints.resolve_readable(train_dir)) == 4


def test_other_class_count_in_train_dir_is_one_line(
    dataset_dir, two_checkpoints, tmp_path):
  train_dir = copy_of(two_checkpoints, tmp_path)
  code, log = run_train(dataset_dir, train_dir, '--max_number_of_steps=6',
                        '--labels_offset=1')
  assert code == 1
  line = error_line(log)
  assert 'LeNet/fc4/biases has shape [2] in the model but [3]' in line
  assert 'pass another --train_dir' in line


def test_label_outside_the_classes_is_one_line(dataset_dir, tmp_path):
  # With --labels_offset=1, class 0 becomes label -1.
  code, log = run_train(dataset_dir, str(tmp_path / 'ckpt'),
                        '--max_number_of_steps=2', '--labels_offset=1')
  assert code == 1
  line = error_line(log)
  assert 'a label is outside [0, 2) after --labels_offset=1' in line


@pytest.fixture
def empty_train_split(dataset_dir, tmp_path):
  """The dataset with every training record gone (the metadata unchanged)."""
  path = str(tmp_path / 'empty_train')
  shutil.copytree(dataset_dir, path)
  for shard in glob.glob(os.path.join(path, 'quiz_train_*')):
    open(shard, 'w').close()
  return path


def test_empty_split_refuses_to_train(empty_train_split, tmp_path):
  train_dir = str(tmp_path / 'ckpt')
  code, log = run_train(empty_train_split, train_dir,
                        '--max_number_of_steps=2')
  assert code == 1
  assert '--dataset_split_name=train has no records' in error_line(log)
  assert not glob.glob(os.path.join(train_dir, 'model.ckpt-*'))


def train_eval_command(dataset_dir, train_dir, *extra):
  return ([sys.executable, TRAIN_EVAL, '--dataset_dir=%s' % dataset_dir,
           '--train_dir=%s' % train_dir] + TINY + list(extra))


def test_train_eval_checks_both_splits_before_training(dataset_dir, tmp_path):
  data = str(tmp_path / 'empty_validation')
  shutil.copytree(dataset_dir, data)
  for shard in glob.glob(os.path.join(data, 'quiz_validation_*')):
    open(shard, 'w').close()
  train_dir = str(tmp_path / 'ckpt')
  proc = subprocess.run(train_eval_command(data, train_dir, '--epochs=1'),
                        cwd=ROOT, capture_output=True, text=True, timeout=120)
  assert proc.returncode == 1
  line = error_line(proc.stdout + proc.stderr)
  assert '--dataset_split_name=validation has no records' in line
  assert not glob.glob(os.path.join(train_dir, 'model.ckpt-*'))


def test_train_eval_checks_the_model_name_before_training(dataset_dir,
                                                         tmp_path):
  train_dir = str(tmp_path / 'ckpt')
  command = train_eval_command(dataset_dir, train_dir, '--epochs=1')
  command[command.index('--model_name=lenet')] = '--model_name=lenett'
  proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                        timeout=120)
  assert proc.returncode == 1
  line = error_line(proc.stdout + proc.stderr)
  assert '--model_name=lenett is not a known network' in line
  assert not os.path.exists(os.path.join(train_dir, 'checkpoint'))


def lock_holder_pid(train_dir, timeout=90):
  """The pid in train_dir's lock file once a training holds it."""
  lock_path = os.path.join(train_dir, checkpoints.LOCK_FILE)
  deadline = time.time() + timeout
  while time.time() < deadline:
    if os.path.exists(lock_path):
      words = open(lock_path).read().split()
      if len(words) > 1:
        return int(words[1])
    time.sleep(0.2)
  pytest.fail('no training took %s within %d s' % (lock_path, timeout))


@pytest.mark.parametrize('signum', [signal.SIGTERM, signal.SIGKILL])
def test_killing_train_eval_stops_its_training(dataset_dir, tmp_path, signum):
  """train_eval trains in its own process: killing it frees train_dir."""
  train_dir = str(tmp_path / 'ckpt')
  parent = subprocess.Popen(
      train_eval_command(dataset_dir, train_dir, '--epochs=1000'), cwd=ROOT,
      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  try:
    assert lock_holder_pid(train_dir) == parent.pid
    parent.send_signal(signum)
    parent.wait(timeout=30)
    # No training is left holding the directory: a new one may start.
    checkpoints.TrainDirLock(train_dir).acquire().release()
  finally:
    if parent.poll() is None:
      parent.kill()


@pytest.fixture
def small_tmpfs(tmp_path):
  """A small (200 MiB) tmpfs the test can fill."""
  mount_point = str(tmp_path / 'small_disk')
  os.makedirs(mount_point)
  proc = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=200m', 'tmpfs',
                         mount_point], capture_output=True, text=True)
  if proc.returncode != 0:
    pytest.skip('cannot mount a small tmpfs here (%s): the full-disk case '
                'needs root' % proc.stderr.strip())
  yield mount_point
  subprocess.run(['umount', mount_point], check=False)


def test_full_disk_keeps_the_last_good_checkpoint(dataset_dir, small_tmpfs):
  train_dir = os.path.join(small_tmpfs, 'ckpt')
  code, log = run_train(dataset_dir, train_dir, '--max_number_of_steps=1')
  assert code == 0, log
  kept = checkpoints.resolve_readable(train_dir)
  names_before = state_names(train_dir)
  # Fill the disk but for half a checkpoint: the resumed run's save fails.
  size = sum(os.path.getsize(p) for p in glob.glob(kept + '.*'))
  free = shutil.disk_usage(small_tmpfs).free
  with open(os.path.join(small_tmpfs, 'filler'), 'wb') as filler:
    filler.write(b'\0' * max(0, free - size // 2))
  code, log = run_train(dataset_dir, train_dir, '--max_number_of_steps=3')
  assert code == 1, log
  line = error_line(log)
  assert 'disk of --train_dir=%s is full' % train_dir in line
  assert '%s is kept' % os.path.basename(kept) in line
  assert checkpoints.resolve_readable(train_dir) == kept
  assert state_names(train_dir) == names_before
  leftovers = [name for name in os.listdir(train_dir)
               if 'tempstate' in name or name.startswith('checkpoint.tmp')]
  assert not leftovers, leftovers
