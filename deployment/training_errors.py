"""How a training's failures become one line: bad labels, NaN, a full disk.

* `checked_labels` asserts the labels fit the class count inside the graph;
  its message is bracketed by `LABEL_RANGE_MARK`, so `label_range_message`
  can cut it out of TensorFlow's error text.
* `NonFiniteLossError` is what the training raises when the loss is NaN or
  Inf (model_deploy.NON_FINITE_LOSS_MESSAGE in the step's error).
* `user_errors_from_training(train_dir)` wraps the training loop: a bad
  label or a full disk (from any of the Supervisor's threads) is one line,
  and a failed save's leftovers are removed.
"""

import contextlib
import logging
import os
import threading

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf

from deployment.errors import UserError
from deployment import checkpoints
from deployment import output_files
from deployment import pipeline

# Brackets the label-range assertion's text inside TensorFlow's error.
LABEL_RANGE_MARK = '[label range] '


def label_range_message(error_message):
  """The label assertion's own text, out of TensorFlow's error message."""
  return error_message.split(LABEL_RANGE_MARK)[1].split(LABEL_RANGE_MARK)[0]


def checked_labels(labels, num_classes, labels_offset):
  """`labels`, asserted to lie in [0, num_classes) when they are used."""
  message = ('%sa label is outside [0, %d) after --labels_offset=%d: the '
             'records do not match the dataset\'s class count; check '
             '--labels_offset, --dataset_name and --dataset_dir%s' %
             (LABEL_RANGE_MARK, num_classes, labels_offset, LABEL_RANGE_MARK))
  checks = [tf.debugging.assert_non_negative(labels, message=message),
            tf.debugging.assert_less(labels, tf.cast(num_classes,
                                                     labels.dtype),
                                     message=message)]
  with tf.control_dependencies(checks):
    return tf.identity(labels)


class NonFiniteLossError(UserError):
  """The loss became NaN or Inf; training stops with one line."""

  def __init__(self, step, learning_rate):
    super(NonFiniteLossError, self).__init__(
        'loss is NaN or Inf at global step %d (learning rate %g); training '
        'stopped, the last saved checkpoint is untouched. Try a smaller '
        '--learning_rate (e.g. %g), a warm-up (--warmup_epochs=1), '
        '--optimizer=momentum, or check the input data' %
        (step, learning_rate, learning_rate / 10.0))
    self.step = step
    self.learning_rate = learning_rate


# What the errors that training reports as one line say (see below).
_ONE_LINE_ERROR_MARKS = (LABEL_RANGE_MARK, 'No space left on device',
                         'Disk quota exceeded', checkpoints.SAVE_FAILED
                        ) + pipeline.DATA_ERROR_MARKS


class _HideOneLineErrorTracebacks(logging.Filter):
  """Drops the Coordinator's traceback of an error reported as one line.

  The summary thread also reads batches and the Supervisor's thread saves,
  so either may hit a bad label, a bad record or a full disk first; the
  training then reports it as one line.
  """

  def filter(self, record):
    message = record.getMessage()
    if record.exc_info:
      message += str(record.exc_info[1])
    return not any(mark in message for mark in _ONE_LINE_ERROR_MARKS)


def _quiet_disk_full_in_threads(previous_hook):
  """A threading.excepthook that leaves a full disk to the one-line report.

  The summary writer's thread fails too when the disk fills; the training
  then says so in one line, so its traceback would only bury that line.
  """

  def hook(args):
    if not checkpoints.is_disk_full(args.exc_value):
      previous_hook(args)

  return hook


def _disk_full_error(train_dir):
  """The one-line UserError of a full disk, after cleaning up train_dir."""
  checkpoints.remove_temporaries(train_dir)
  try:
    kept = checkpoints.localize_state(train_dir)
  except UserError:
    kept = None
  return UserError(
      'the disk of --train_dir=%s is full; training stopped, %s. Free some '
      'space (or pass a --train_dir on a larger disk) and rerun to resume' %
      (train_dir, 'the last good checkpoint %s is kept' %
       os.path.basename(kept) if kept else 'no checkpoint was saved'))


# What the Supervisor's session raises when its start failed with an error
# its coordinator swallows (a file over `ulimit -f` is an OutOfRangeError).
_SESSION_NEVER_STARTED = "generator didn't yield"


def _session_start_error(train_dir):
  """One line for a training session that could not start writing."""
  checkpoints.remove_temporaries(train_dir)
  return UserError(
      'the training session could not start: writing its first files into '
      '--train_dir=%s failed (%s); fix that and rerun' %
      (train_dir, output_files.file_size_limit_hint('see the log above')))


@contextlib.contextmanager
def user_errors_from_training(train_dir, dataset=None):
  """Turns a full disk, a bad label or a bad record into one line.

  A failed save's leftovers are removed and the last good checkpoint named;
  a record of `dataset` (the split trained on) that cannot be read is named
  by shard and index.
  """
  log_filter = _HideOneLineErrorTracebacks()
  tf.get_logger().addFilter(log_filter)
  previous_hook = threading.excepthook
  threading.excepthook = _quiet_disk_full_in_threads(previous_hook)
  try:
    yield
  except tf.errors.InvalidArgumentError as error:
    if LABEL_RANGE_MARK in error.message:
      raise UserError(label_range_message(error.message)) from error
    if dataset is None or not pipeline.is_data_error(error):
      raise
    raise pipeline.bad_data_error(dataset, error) from error
  except tf.errors.DataLossError as error:
    if dataset is None:
      raise
    raise pipeline.bad_data_error(dataset, error) from error
  # The summary writer's flush on close raises RuntimeError for a full disk.
  except (tf.errors.OpError, OSError, RuntimeError) as error:
    if checkpoints.is_disk_full(error):
      raise _disk_full_error(train_dir) from error
    if _SESSION_NEVER_STARTED in str(error):
      raise _session_start_error(train_dir) from error
    raise
  finally:
    tf.get_logger().removeFilter(log_filter)
    threading.excepthook = previous_hook
