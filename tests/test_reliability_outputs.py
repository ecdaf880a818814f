"""Where outputs go: written whole or not at all, failures in one line.

Graphs, labels, SavedModels, the train_eval CSV and PNG all go through
`deployment/output_files.py`: a read-only folder, a path below a regular
file or a full disk leave the previous file intact and no temporary behind.
"""

import os
import subprocess

import pytest
import tensorflow.compat.v1 as tf

import deployment_helpers as helpers
from common_flags import UserError
from deployment import checkpoints
from deployment import inference
from deployment import output_files
from deployment import train_eval

GOOD = b'the good graph of yesterday'


def _graph_def(num_nodes):
  graph_def = tf.GraphDef()
  for index in range(num_nodes):
    graph_def.node.add(name='node_%d' % index, op='NoOp')
  return graph_def


@pytest.fixture
def small_tmpfs(tmp_path):
  """A 64 KiB tmpfs holding `model.pb` (GOOD); skipped unless root."""
  mount_point = str(tmp_path / 'disk')
  os.makedirs(mount_point)
  proc = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=64k', 'tmpfs',
                         mount_point], capture_output=True, text=True)
  if proc.returncode != 0:
    pytest.skip('cannot mount a tmpfs (%s): needs root' % proc.stderr.strip())
  with open(os.path.join(mount_point, 'model.pb'), 'wb') as handle:
    handle.write(GOOD)
  yield mount_point
  subprocess.run(['umount', mount_point], check=False)


def _assert_kept(directory, message, flag='--output_file'):
  assert '\n' not in message
  assert message.startswith('cannot write %s=' % flag), message
  assert 'the existing model.pb is unchanged' in message, message
  assert os.listdir(directory) == ['model.pb']
  with open(os.path.join(directory, 'model.pb'), 'rb') as handle:
    assert handle.read() == GOOD


def test_full_disk_keeps_the_old_graph(small_tmpfs):
  target = os.path.join(small_tmpfs, 'model.pb')
  with pytest.raises(UserError) as error:
    inference.write_graph_def(_graph_def(20000), target)
  _assert_kept(small_tmpfs, str(error.value))
  assert 'the disk is full' in str(error.value)


def test_read_only_mount_keeps_the_old_graph(small_tmpfs):
  subprocess.run(['mount', '-o', 'remount,ro', small_tmpfs], check=True)
  target = os.path.join(small_tmpfs, 'model.pb')
  with pytest.raises(UserError) as error:
    inference.write_graph_def(_graph_def(3), target, flag='--output_graph')
  _assert_kept(small_tmpfs, str(error.value), '--output_graph')
  assert 'Read-only file system' in str(error.value)


def test_saved_model_that_cannot_be_written_leaves_nothing(small_tmpfs):
  target = os.path.join(small_tmpfs, 'serving', '1')
  with pytest.raises(UserError, match='cannot write --saved_model_dir='):
    with output_files.new_directory(target, '--saved_model_dir') as partial:
      os.makedirs(partial)
      with open(os.path.join(partial, 'variables'), 'wb') as handle:
        handle.write(b'\0' * 200 * 1024)  # more than the disk holds
  assert not os.path.exists(target)
  assert sorted(os.listdir(small_tmpfs)) == ['model.pb', 'serving']
  assert os.listdir(os.path.join(small_tmpfs, 'serving')) == []


def test_export_below_a_regular_file_is_one_line(tmp_path):
  blocker = tmp_path / 'not_a_folder'
  blocker.write_bytes(b'a file')
  result = helpers.run_script(
      'export_inference_graph.py', '--model_name=lenet',
      '--dataset_name=mnist',
      '--output_file=%s' % (blocker / 'lenet.pb'))
  line = helpers.error_line(result)
  assert line.startswith('ERROR: cannot write --output_file=%s' %
                         (blocker / 'lenet.pb')), line
  assert 'not a folder' in line
  assert sorted(os.listdir(tmp_path)) == ['not_a_folder']


def test_labels_file_failure_names_the_file(tmp_path):
  target = str(tmp_path / 'model.label')
  os.makedirs(target + '.partial-%d' % os.getpid())  # the temporary's place
  with pytest.raises(UserError, match='cannot write the labels file %s' %
                     target):
    inference.write_labels({0: 'cat'}, target)
  assert not os.path.exists(target)


@pytest.mark.parametrize('name', [checkpoints.STATE_FILE,
                                  checkpoints.LOCK_FILE,
                                  checkpoints.FINAL_STEP_FILE])
def test_train_dir_file_replaced_by_a_directory_is_one_line(tmp_path, name):
  os.makedirs(str(tmp_path / name))
  with pytest.raises(UserError) as error:
    checkpoints.prepare_train_dir(str(tmp_path))
  message = str(error.value)
  assert message.startswith('%s should be the file' % (tmp_path / name))
  assert 'but it is a directory; move it away' in message


def test_lock_file_that_cannot_be_opened_is_one_line(tmp_path):
  os.makedirs(str(tmp_path / checkpoints.LOCK_FILE))
  with pytest.raises(UserError, match='cannot open the lock file'):
    checkpoints.TrainDirLock(str(tmp_path)).acquire()


def test_csv_with_binary_junk_at_its_end_is_read_and_repaired(tmp_path):
  csv_path = str(tmp_path / train_eval.CSV_NAME)
  train_eval.append_row(csv_path, {'step': 3, 'epoch': '1.000', 'loss': '2',
                                   'accuracy': '0.5', 'recall_5': '1'})
  with open(csv_path, 'ab') as handle:
    handle.write(b'\xff\xfe\x00\x81 half a row of another tool \x9c')
  assert [row['step'] for row in train_eval.read_rows(csv_path)] == [3]
  train_eval.append_row(csv_path, {'step': 6, 'epoch': '2.000', 'loss': '1',
                                   'accuracy': '0.75', 'recall_5': '1'})
  rows = train_eval.read_rows(csv_path)
  assert [(row['step'], row['accuracy']) for row in rows] == [(3, 0.5),
                                                              (6, 0.75)]
  with open(csv_path, 'rb') as handle:
    assert b'\xff' not in handle.read()


def test_refused_resume_leaves_the_train_dir_as_it_was(tmp_path):
  train_dir = str(tmp_path / 'train')
  dataset_dir = str(tmp_path / 'data')
  helpers.write_dataset(dataset_dir, num_classes=3)
  helpers.write_checkpoint(train_dir, 'lenet', num_classes=3, image_size=28)
  checkpoints.finish_train_dir(train_dir)
  before = {name: open(os.path.join(train_dir, name), 'rb').read()
            for name in os.listdir(train_dir)}
  result = helpers.run_script(
      'train_image_classifier.py', '--dataset_name=quiz',
      '--dataset_dir=%s' % dataset_dir, '--train_dir=%s' % train_dir,
      '--model_name=cifarnet', '--max_number_of_steps=9', '--batch_size=2')
  assert 'pass another --train_dir' in helpers.error_line(result)
  after = {name: open(os.path.join(train_dir, name), 'rb').read()
           for name in os.listdir(train_dir)}
  # The lock file records the refused run; nothing else changes.
  del after[checkpoints.LOCK_FILE]
  assert after == before
