"""The first screen of a training log is the run's own (tf_compat's filters).

A user reads the first lines: they say what is trained, on which data, for
how long and where it writes, before any library line. Library noise is left
out in one place (tf_compat, "Library log noise"), and comes back with
TF_CPP_MIN_LOG_LEVEL=0.
"""

import logging
import os

import tensorflow.compat.v1 as tf
from absl import logging as absl_logging

import deployment_helpers as helpers
import tf_compat

RUN_LINE = ('INFO:tensorflow:Training densenet_bc_mini on quiz/train '
            '(10 images in %s) for 2 steps (0.40 epochs) of 2 images, 1 clone '
            'on the CPU; checkpoints and summaries go to %s')


def _train(dataset_dir, train_dir, log_level):
  return helpers.run_script(
      'train_image_classifier.py', '--dataset_name=quiz',
      '--dataset_dir=%s' % dataset_dir, '--model_name=densenet_bc_mini',
      '--train_dir=%s' % train_dir, '--max_number_of_steps=2',
      '--batch_size=2', '--clone_on_cpu=True', '--optimizer=rmsprop',
      env={'TF_CPP_MIN_LOG_LEVEL': log_level}, merge_output=True)


def test_the_first_line_is_the_run_and_no_library_notice_shows(
    deployment_dataset_dir, tmp_path):
  train_dir = str(tmp_path / 'train')
  result = _train(deployment_dataset_dir, train_dir, None)  # the default
  lines = result.stdout.splitlines()
  assert result.returncode == 0, result.stdout[-3000:]
  assert lines[0] == RUN_LINE % (deployment_dataset_dir, train_dir), (
      result.stdout[:3000])
  assert not [line for line in lines if 'deprecated' in line or
              'InitializeLog' in line or line.startswith('I0000')], (
                  result.stdout[:3000])
  assert any(line.startswith('INFO:tensorflow:global step 2: loss = ')
             for line in lines), result.stdout[-3000:]


def test_log_level_0_shows_every_library_line(deployment_dataset_dir,
                                              tmp_path):
  result = _train(deployment_dataset_dir, str(tmp_path / 'train'), 0)
  assert result.returncode == 0, result.stdout[-3000:]
  for expected in ('InitializeLog', 'Supervisor.__init__ (from ',
                   'calling Ones.__init__ (from ', '`layer.apply` is deprecated'):
    assert expected in result.stdout, (expected, result.stdout[:5000])


def test_the_log_level_applies_to_captured_cpp_lines():
  info = 'I0000 00:00:1.2 123 port.cc:153] oneDNN custom operations are on.\n'
  error = 'E0000 00:00:1.2 123 cuda_platform.cc:52] failed call to cuInit\n'
  python = 'Traceback (most recent call last):\n'
  notice = tf_compat._ABSL_PRE_INIT_NOTICE + '\n'  # pylint: disable=protected-access
  shown = {level: [line for line in (info, error, python, notice)
                   if tf_compat._shown_at_level(line, level)]  # pylint: disable=protected-access
           for level in range(4)}
  assert shown == {0: [info, error, python, notice], 1: [error, python],
                   2: [error, python], 3: [python]}


def test_only_library_deprecation_notices_are_dropped():
  library_file = os.path.join(os.path.dirname(tf.__file__), 'training.py')
  ours = os.path.join(helpers.ROOT, 'deployment', 'training.py')

  def shown(caller, message='From %s: x (from y) is deprecated'):
    record = logging.LogRecord('tensorflow', logging.WARNING, __file__, 1,
                               message, (caller + ':12',), None)
    return all(log_filter.filter(record) for log_filter in
               logging.getLogger('tensorflow').filters)

  assert tf_compat.QUIETED
  assert not shown(library_file)
  assert shown(ours)
  assert shown(library_file, 'From %s: a warning that is not about age')
  # --verbosity=1 (absl's DEBUG) asks for everything.
  verbosity = absl_logging.get_verbosity()
  absl_logging.set_verbosity(absl_logging.DEBUG)
  try:
    assert shown(library_file)
  finally:
    absl_logging.set_verbosity(verbosity)


def test_slim_layers_raise_no_library_user_warning():
  """tf_slim's own deprecated calls (layer.apply, tf.layers.flatten) are
  left out; `python -W error` makes any that is not an error."""
  result = helpers.run_python('''
      import tf_compat
      import tensorflow.compat.v1 as tf
      import tf_slim as slim
      with tf.Graph().as_default():
        net = slim.conv2d(tf.zeros([1, 4, 4, 1]), 2, [3, 3])
        slim.flatten(net)
      print('built')
      ''', env={'PYTHONWARNINGS': 'error::UserWarning'}, merge_output=True)
  assert result.returncode == 0 and 'built' in result.stdout, (
      result.stdout[-2000:])
