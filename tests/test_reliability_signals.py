"""Signals and the end of a run: clean stops, failed saves, closed stdout.

Ctrl-C (SIGINT to the process group) and SIGTERM end every script with one
line and exit status 130 / 143 (`deployment/interrupts.py`, installed by
`common_flags.run_main`); training (and train_eval) first finishes its step
and saves it, the
server names the address it stopped serving, an evaluation loop stops while
it waits for a checkpoint. A
checkpoint save that fails is an error naming the file; `| head` and
`> /dev/full` end label_image.py quietly or with one line.
"""

import glob
import os
import resource
import signal
import subprocess

import numpy as np
import pytest
import tensorflow.compat.v1 as tf
from PIL import Image

import deployment_helpers as helpers
from common_flags import UserError
from deployment import checkpoints
from deployment import interrupts


@pytest.fixture
def installed_handlers():
  """interrupts.install() in this process, Python's handlers afterwards."""
  previous = {signum: signal.getsignal(signum)
              for signum in (signal.SIGINT, signal.SIGTERM)}
  interrupts.install()
  yield
  for signum, handler in previous.items():
    signal.signal(signum, handler)
  interrupts._state['pending'] = None  # pylint: disable=protected-access


def test_a_signal_in_a_deferred_section_waits_for_its_end(installed_handlers):
  reached_the_end = []
  with pytest.raises(interrupts.Interrupted) as stopped:
    with interrupts.deferred():
      os.kill(os.getpid(), signal.SIGTERM)
      assert interrupts.requested() == signal.SIGTERM
      reached_the_end.append(True)
  assert reached_the_end
  assert stopped.value.exit_status == 143


def test_a_second_signal_stops_at_once(installed_handlers):
  with pytest.raises(interrupts.Interrupted) as stopped:
    with interrupts.deferred(raise_at_end=False):
      os.kill(os.getpid(), signal.SIGINT)
      os.kill(os.getpid(), signal.SIGINT)
      pytest.fail('the second Ctrl-C did not stop the section')
  assert stopped.value.exit_status == 130


def test_sigterm_ends_any_script_with_one_line_and_143(tmp_path):
  script = tmp_path / 'waits.py'
  script.write_text(
      'import sys, time\n'
      'sys.path.insert(0, %r)\n'
      'import common_flags\n'
      'def main(argv):\n'
      '  print("ready", flush=True)\n'
      '  time.sleep(120)\n'
      'common_flags.run_main(main)\n' % helpers.ROOT)
  process = helpers.start_script(str(script))
  try:
    for line in process.stdout:  # TensorFlow's start-up lines first
      if line.strip() == 'ready':
        break
    os.killpg(process.pid, signal.SIGTERM)
    output = process.stdout.read()
    assert process.wait(timeout=60) == 143
  finally:
    helpers.stop_process_group(process)
  assert output.strip() == (
      'stopped by SIGTERM: stopped before the end; outputs are written whole '
      'or not at all, so rerun the same command to start again')


def _signal_after(process, marker, signum):
  """Sends `signum` to the process group once a line holds `marker`;
  returns (exit status, every line printed)."""
  lines = []
  try:
    for line in process.stdout:
      lines.append(line)
      if marker in line:
        os.killpg(process.pid, signum)
        break
    lines.extend(process.stdout)
    return process.wait(timeout=120), lines
  finally:
    helpers.stop_process_group(process)


def _lenet_run_stopped(tmp_path, script, marker, signum, *flags):
  """Runs `script` with LeNet on a 3-class dataset, sends `signum` once a
  line holds `marker`; returns (exit status, every line printed)."""
  dataset_dir = str(tmp_path / 'data')
  helpers.write_dataset(dataset_dir, num_classes=3)
  process = helpers.start_script(
      script, '--dataset_name=quiz', '--dataset_dir=%s' % dataset_dir,
      '--model_name=lenet', *flags)
  return _signal_after(process, marker, signum)


def test_ctrl_c_saves_the_step_and_says_where_to_resume(tmp_path):
  train_dir = str(tmp_path / 'train')
  status, lines = _lenet_run_stopped(
      tmp_path, 'train_image_classifier.py', 'global step 2:', signal.SIGINT,
      '--train_dir=%s' % train_dir, '--train_image_size=28',
      '--batch_size=2', '--max_number_of_steps=100000', '--num_readers=1',
      '--log_every_n_steps=1', '--save_interval_secs=100000')
  assert status == 130, ''.join(lines[-20:])
  log = ''.join(lines)
  assert 'Traceback' not in log, log[-3000:]
  newest = checkpoints.resolve_readable(train_dir)
  step = checkpoints.checkpoint_step(newest)
  assert step >= 2
  assert log.strip().splitlines()[-1] == (
      'stopped by SIGINT (Ctrl-C): training stopped and saved %s in %s; '
      'rerun the same command to resume from it' %
      (os.path.basename(newest), train_dir))
  assert not os.path.exists(os.path.join(train_dir, 'final_step'))


def test_sigterm_stops_the_server_with_its_address(frozen_lenet, tmp_path):
  _, graph = frozen_lenet
  process = helpers.start_script(
      'server.py', '--model_file=' + graph, '--port=0',
      '--upload_folder=' + str(tmp_path / 'uploads'))
  status, lines = _signal_after(process, 'listening on', signal.SIGTERM)
  log = ''.join(lines)
  assert status == 143, log[-3000:]
  assert 'Traceback' not in log, log[-3000:]
  port = int(log.split('listening on http://127.0.0.1:')[1].split('/')[0])
  assert lines[-1].strip() == (
      'stopped by SIGTERM: the server at http://127.0.0.1:%d/ stopped; rerun '
      'the command to serve again' % port)


def test_ctrl_c_stops_an_evaluation_loop_waiting_for_checkpoints(tmp_path):
  train_dir = tmp_path / 'train'
  train_dir.mkdir()
  status, lines = _lenet_run_stopped(
      tmp_path, 'eval_image_classifier.py', 'Waiting for new checkpoint',
      signal.SIGINT, '--dataset_split_name=validation',
      '--eval_image_size=28', '--checkpoint_path=%s' % train_dir,
      '--eval_dir=%s' % (tmp_path / 'ev'), '--eval_interval_secs=1')
  log = ''.join(lines)
  assert status == 130, log[-3000:]
  assert 'Traceback' not in log, log[-3000:]
  assert lines[-1].startswith('stopped by SIGINT (Ctrl-C): '), log[-3000:]


def test_ctrl_c_stops_train_eval_and_says_where_to_resume(tmp_path):
  train_dir = str(tmp_path / 'train')
  status, lines = _lenet_run_stopped(
      tmp_path, 'train_eval_image_classifier.py', 'global step 2:',
      signal.SIGINT, '--dataset_split_name=validation',
      '--train_dir=%s' % train_dir, '--eval_dir=%s' % (tmp_path / 'ev'),
      '--train_image_size=28', '--eval_image_size=28', '--batch_size=2',
      '--epochs=100000', '--log_every_n_steps=1', '--num_readers=1')
  log = ''.join(lines)
  assert status == 130, log[-3000:]
  assert 'Traceback' not in log, log[-3000:]
  assert lines[-1].startswith('stopped by SIGINT (Ctrl-C): '), log[-3000:]
  assert 'rerun the same command to resume' in lines[-1], lines[-1]
  assert checkpoints.latest_listed(train_dir), os.listdir(train_dir)


@pytest.fixture
def file_size_limit():
  """Lets this process write files of at most 64 KiB, for one test."""
  soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
  # Python ignores SIGXFSZ: a write past the limit fails with EFBIG.
  resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, hard))
  yield
  resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


def test_a_save_past_the_file_size_limit_is_an_error(tmp_path,
                                                     file_size_limit):
  with tf.Graph().as_default():
    tf.Variable(np.zeros(100000, np.float32), name='weights')
    step = tf.train.get_or_create_global_step()
    saver = checkpoints.CheckedSaver()
    with tf.Session() as session:
      session.run(tf.global_variables_initializer())
      with pytest.raises(UserError) as error:
        saver.save(session, str(tmp_path / 'model.ckpt'), global_step=step)
  message = str(error.value)
  assert message.startswith('cannot save checkpoint %s-0 (' %
                            (tmp_path / 'model.ckpt')), message
  assert 'File too large' in message and 'ulimit -f' in message, message
  assert 'no checkpoint was saved' in message
  assert not glob.glob(str(tmp_path / '*tempstate*'))


def test_closed_or_full_stdout_of_label_image(frozen_lenet, tmp_path):
  _, graph = frozen_lenet
  image = str(tmp_path / 'image.png')
  Image.fromarray(np.zeros((28, 28, 3), np.uint8)).save(image)
  command = helpers.script_command('label_image.py', '--graph=%s' % graph,
                                   image)
  # `| true` reads nothing and exits at once: every write meets a closed pipe.
  piped = subprocess.run(['bash', '-c', '"$@" | true; echo "status '
                          '${PIPESTATUS[0]}" >&2', 'bash'] + command,
                         cwd=helpers.ROOT, env=helpers.script_env(),
                         capture_output=True, text=True, timeout=240)
  assert piped.stderr.strip().splitlines()[-1] == 'status 1', piped.stderr
  assert 'Traceback' not in piped.stderr and 'Broken' not in piped.stderr
  with open('/dev/full', 'w') as full:
    result = subprocess.run(command, cwd=helpers.ROOT,
                            env=helpers.script_env(), stdout=full,
                            stderr=subprocess.PIPE, text=True, timeout=240)
  line = helpers.error_line(result)
  assert line == ('ERROR: cannot write the output to stdout (No space left '
                  'on device); check where it is redirected'), line
