"""eval_image_classifier.py run as users run it, in a subprocess."""

import os
import re
import subprocess
import sys
import threading

import pytest

import evaluation_helpers as helpers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, 'eval_image_classifier.py')
ACCURACY_LINE = re.compile(r'^eval/Accuracy\[([0-9.e-]+)\]$', re.M)
RECALL_LINE = re.compile(r'^eval/Recall_5\[([0-9.e-]+)\]$', re.M)


@pytest.fixture(scope='module')
def read_only_dataset(tmp_path_factory):
  path = tmp_path_factory.mktemp('quiz_ro')
  helpers.write_dataset(str(path))
  for name in os.listdir(str(path)):
    os.chmod(str(path / name), 0o444)
  path.chmod(0o555)  # a job platform's data mount: never written
  yield str(path)
  path.chmod(0o755)


def _command(dataset_dir, checkpoint_path, eval_dir, *extra):
  return [sys.executable, SCRIPT, '--dataset_name=quiz',
          '--dataset_dir=%s' % dataset_dir, '--dataset_split_name=validation',
          '--model_name=lenet', '--checkpoint_path=%s' % checkpoint_path,
          '--eval_dir=%s' % eval_dir, '--batch_size=5'] + list(extra)


def _run(command):
  return subprocess.run(command, stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT, universal_newlines=True,
                        timeout=240)


def test_prints_the_grader_lines_with_known_values(read_only_dataset,
                                                   tmp_path):
  train_dir = str(tmp_path / 'train')
  helpers.write_biased_checkpoint(train_dir, 7)
  eval_dir = str(tmp_path / 'out' / 'eval')
  data_files = sorted(os.listdir(read_only_dataset))
  result = _run(_command(read_only_dataset, train_dir, eval_dir))
  assert result.returncode == 0, result.stdout
  assert ACCURACY_LINE.findall(result.stdout) == ['0.166666672']
  assert RECALL_LINE.findall(result.stdout) == ['0.833333313']
  assert 'Evaluation [5/5]' in result.stdout
  assert any(name.startswith('events.out.tfevents')
             for name in os.listdir(eval_dir))
  assert sorted(os.listdir(read_only_dataset)) == data_files  # none added


def test_loop_picks_up_a_new_checkpoint_and_stops_at_the_final_step(
    read_only_dataset, tmp_path):
  train_dir = str(tmp_path / 'train')
  helpers.write_biased_checkpoint(train_dir, 7)
  process = subprocess.Popen(
      _command(read_only_dataset, train_dir, str(tmp_path / 'eval'),
               '--eval_interval_secs=0', '--max_number_of_steps=9',
               '--eval_timeout_secs=120'),
      stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
      universal_newlines=True)
  killer = threading.Timer(240, process.kill)
  killer.start()
  lines = []
  try:
    for line in process.stdout:
      lines.append(line)
      if ACCURACY_LINE.match(line.strip()) and len(
          ACCURACY_LINE.findall(''.join(lines))) == 1:
        # Reverse the biases: class 5 now wins, still 1/6 accuracy.
        helpers.write_biased_checkpoint(
            train_dir, 9, biases=helpers.falling_biases()[::-1].copy())
    returncode = process.wait()
  finally:
    killer.cancel()
  log = ''.join(lines)
  assert returncode == 0, log
  assert 'Waiting for new checkpoint at %s' % train_dir in log
  evaluated = re.findall(r'Starting evaluation of \S+ \(global step (\d+)\)',
                         log)
  assert evaluated == ['7', '9']
  assert 'Evaluated the final step 9; stopping' in log
  assert len(RECALL_LINE.findall(log)) == 2


def test_loop_times_out_without_a_new_checkpoint(read_only_dataset, tmp_path):
  train_dir = str(tmp_path / 'train')
  helpers.write_biased_checkpoint(train_dir, 3)
  result = _run(_command(read_only_dataset, train_dir, str(tmp_path / 'eval'),
                         '--eval_interval_secs=0', '--eval_timeout_secs=2',
                         '--max_num_batches=1'))
  assert result.returncode == 0, result.stdout
  assert 'Timed-out waiting for a checkpoint' in result.stdout
  assert len(ACCURACY_LINE.findall(result.stdout)) == 1


# Typos and refused values: test_script_flags.py.
@pytest.mark.parametrize('extra, message', [
    (['--checkpoint_path=/nonexistent/ckpt'],
     r'--checkpoint_path=/nonexistent/ckpt: no such checkpoint'),
])
def test_bad_input_is_one_line_without_traceback(read_only_dataset, tmp_path,
                                                 extra, message):
  command = _command(read_only_dataset, str(tmp_path), str(tmp_path / 'e'))
  result = _run(command + extra)
  assert result.returncode == 1
  assert re.search(r'^ERROR: .*' + message, result.stdout, re.M), result.stdout
  assert 'Traceback' not in result.stdout


def _help_blocks(text):
  """{flag name: its help text} from absl's --help output."""
  blocks = re.split(r'^  --(?:\[no\])?(\w+):', text, flags=re.M)[1:]
  return dict(zip(blocks[::2], blocks[1::2]))


def test_help_lists_slims_flags_with_their_defaults():
  result = _run([sys.executable, SCRIPT, '--help'])  # absl exits 1 on --help
  blocks = _help_blocks(result.stdout)
  for flag, default in (('batch_size', "'100'"),
                        ('dataset_split_name', "'test'"),
                        ('checkpoint_path', "'/tmp/tfmodel/'"),
                        ('eval_dir', "'/tmp/tfmodel/'"), ('master', "''"),
                        ('model_name', "'inception_v3'"),
                        ('dataset_name', "'imagenet'"),
                        ('labels_offset', "'0'"),
                        ('use_grayscale', "'false'")):
    assert '(default: %s)' % default in blocks[flag], flag
  assert {'max_num_batches', 'eval_image_size', 'dataset_dir',
          'preprocessing_name', 'moving_average_decay', 'eval_interval_secs',
          'eval_timeout_secs', 'num_preprocessing_threads'} <= set(blocks)
