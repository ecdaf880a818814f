"""The training step function: slim's progress line, richer, and a NaN guard.

Progress lines keep slim's wording and add throughput, learning rate, epoch
and time left:

    global step 10: loss = 2.9544 (0.277 sec/step) | 115.5 images/sec,
        lr = 0.01, epoch 0.32, ETA 0:04:10      (one line)

`PROGRESS_LINE_RE` parses them (train_eval_image_classifier.py does).
"""

import datetime
import re
import time

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf

from deployment.errors import UserError
from deployment import interrupts
from deployment import model_deploy
from deployment import training_errors

PROGRESS_LINE_RE = re.compile(
    r'global step (?P<step>\d+): loss = (?P<loss>[-+\w.]+) '
    r'\((?P<sec_per_step>[\d.]+) sec/step\)'
    r'(?: \| (?P<images_per_sec>[\d.]+) images/sec, lr = (?P<lr>[-+\w.]+)'
    r'(?:, epoch (?P<epoch>[\d.]+))?(?:, ETA (?P<eta>[\d:]+))?)?')


def format_eta(seconds):
  """'1:02:05' for 3725 seconds; never negative."""
  return str(datetime.timedelta(seconds=int(round(max(0, seconds)))))


class ProgressStep(object):
  """slim's train_step_fn with a NaN guard and a richer progress line."""

  def __init__(self, learning_rate, images_per_step, num_samples_per_epoch,
               max_number_of_steps=None, log_every_n_steps=10,
               clock=time.time, after_step=None, save_checkpoint=None):
    """See the class docstring; the last two are for `after_step`.

    Args:
      after_step: None, or `fn(step, loss, learning_rate, save)` called after
        every step in the training thread (train_eval evaluates in it);
        `save()` writes a checkpoint of this step and returns its path. Its
        time is left out of the images/sec rate.
      save_checkpoint: `fn(session, step) -> path`, what `save` calls.
    """
    self._after_step = after_step
    self._save_checkpoint = save_checkpoint
    self._learning_rate = learning_rate
    self._images_per_step = images_per_step
    self._num_samples = num_samples_per_epoch
    self._max_steps = max_number_of_steps
    self._log_every = max(1, log_every_n_steps)
    self._clock = clock
    self._window_start = None  # (time, step) where the rate window starts

  def progress_line(self, step, loss, sec_per_step, learning_rate,
                    window_sec_per_step):
    parts = ['global step %d: loss = %.4f (%.3f sec/step) | %.1f images/sec, '
             'lr = %g' % (step, loss, sec_per_step,
                          self._images_per_step / max(window_sec_per_step,
                                                      1e-9),
                          learning_rate)]
    if self._num_samples:
      parts.append('epoch %.2f' %
                   (step * self._images_per_step / float(self._num_samples)))
    if self._max_steps:
      parts.append('ETA %s' % format_eta(
          (self._max_steps - step) * window_sec_per_step))
    return ', '.join(parts)

  def _run_step(self, sess, train_op, global_step):
    """(loss, learning rate) of one step; bad labels and NaN as one line."""
    try:
      return sess.run([train_op, self._learning_rate])
    except tf.errors.InvalidArgumentError as error:
      if training_errors.LABEL_RANGE_MARK in error.message:
        raise UserError(training_errors.label_range_message(
            error.message)) from error
      if model_deploy.NON_FINITE_LOSS_MESSAGE not in error.message:
        raise
      step, learning_rate = sess.run([global_step, self._learning_rate])
      raise training_errors.NonFiniteLossError(int(step),
                                               float(learning_rate))

  def __call__(self, sess, train_op, global_step, unused_step_kwargs):
    start = self._clock()
    loss, learning_rate = self._run_step(sess, train_op, global_step)
    now = self._clock()
    step = int(sess.run(global_step))
    first = self._window_start is None
    if first:
      self._window_start = (start, step - 1)
    should_stop = bool(self._max_steps) and step >= self._max_steps
    # The first and the last step always log, so every run shows a loss.
    if step % self._log_every == 0 or first or should_stop:
      window_time, window_step = self._window_start
      window_sec_per_step = (now - window_time) / max(1, step - window_step)
      tf.logging.info(self.progress_line(step, loss, now - start,
                                         learning_rate, window_sec_per_step))
      self._window_start = (now, step)
    if self._after_step:
      self._run_after_step(sess, step, loss, learning_rate)
    if interrupts.requested() is not None:
      # slim's loop then saves this step's checkpoint, as at the last step.
      tf.logging.info('Stopping at global step %d on request', step)
      should_stop = True
    return loss, should_stop

  def _run_after_step(self, sess, step, loss, learning_rate):
    hook_start = self._clock()
    self._after_step(step, float(loss), float(learning_rate),
                     lambda: self._save_checkpoint(sess, step))
    window_time, window_step = self._window_start
    self._window_start = (window_time + self._clock() - hook_start,
                          window_step)
