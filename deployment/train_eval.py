"""The epoch loop behind train_eval_image_classifier.py (the course's script).

One process trains and, at the last step of every epoch, evaluates: the
training session stays open (no new process, graph or restore per epoch),
the step's checkpoint is saved, and the evaluation graph, built once beside
the training graph, restores it into a fresh session and runs the split:

    recorder = train_eval.Recorder(eval_dir, images_per_step, num_samples)
    hook = train_eval.EvaluateAtEpochEnds(targets, evaluate, recorder)
    training.train_from_flags(train_flags, after_step=hook)

The log is the training's progress lines with, after each epoch, the
evaluation's `eval/Accuracy[...]` and `eval/Recall_5[...]` lines. After each
evaluation a row (step, epoch, loss, lr, accuracy, recall_5) is appended to
`CSV_NAME` in eval_dir and `PNG_NAME`, the curves for the grading screenshot,
is redrawn. Rerunning the same command resumes from the last checkpoint; an
epoch whose checkpoint was saved but not yet evaluated (the process was
killed in between) is evaluated first.
"""

import csv
import io
import math
import os
import sys
import time

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf

from deployment import evaluation
from deployment import output_files
from deployment.errors import UserError

CSV_NAME = 'train_eval.csv'
PNG_NAME = 'train_eval.png'
# loss: the last batch's; mean_loss: the mean over the steps since the
# previous row (the epoch), what the curves draw.
CSV_FIELDS = ('step', 'epoch', 'loss', 'lr', 'accuracy', 'recall_5',
              'mean_loss')

def steps_per_epoch(num_samples, images_per_step):
  """Steps of one pass over the training split (the course's epoch)."""
  return max(1, int(math.ceil(num_samples / float(images_per_step))))


def epoch_targets(start_step, epoch_steps, final_step):
  """The step each remaining epoch ends at, after `start_step`.

  A resumed run first finishes the epoch it was in; the last target is
  `final_step` even when it falls inside an epoch.
  """
  targets = []
  step = start_step
  while step < final_step:
    step = min(final_step, (step // epoch_steps + 1) * epoch_steps)
    targets.append(step)
  return targets


def append_row(csv_path, row):
  """Adds `row` (a dict over CSV_FIELDS) to the CSV, rewritten whole.

  Rows the file already has are kept as they are written, and a CSV of an
  older version keeps its columns; lines that are no row (junk a crash left
  at its end) are dropped with a warning.
  """
  old_rows, fields = [], CSV_FIELDS
  if os.path.exists(csv_path):
    old_rows, fields = _raw_rows(csv_path)
  text = io.StringIO()
  writer = csv.DictWriter(text, fieldnames=fields, lineterminator='\n')
  writer.writeheader()
  for old_row in old_rows:
    writer.writerow(old_row)
  writer.writerow({name: row.get(name, '') for name in fields})
  output_files.write_output(csv_path, text.getvalue(), 'the curves\' CSV')


def _raw_rows(csv_path):
  """(rows as text dicts, the file's columns); junk lines skipped, warned.

  A row counts when its step is a number: a line of binary junk (another
  tool crashed while writing) is not one. A header without `step` is no
  header of ours: the current columns are used.
  """
  try:
    with open(csv_path, 'rb') as handle:
      text = handle.read().decode('utf-8', errors='replace')
  except OSError as error:
    raise UserError('cannot read %s (%s); move it away to start a new one' %
                    (csv_path, error.strerror)) from error
  reader = csv.DictReader(io.StringIO(text.replace('\0', '')))
  fields = reader.fieldnames
  if not fields or 'step' not in fields:
    fields = CSV_FIELDS
  rows, skipped = [], 0
  for row in reader:
    if _to_float(row.get('step')) is None:
      skipped += 1
      continue
    rows.append({name: row.get(name) or '' for name in fields})
  if skipped:
    tf.logging.warning('%s: skipped %d line(s) that are not rows of its '
                       'columns (%s)', csv_path, skipped, ', '.join(fields))
  return rows, fields


def read_rows(csv_path):
  """The CSV rows as dicts of floats (None where a value is missing)."""
  return [{name: _to_float(row.get(name)) for name in CSV_FIELDS}
          for row in _raw_rows(csv_path)[0]]


def _to_float(text):
  try:
    return float(text)
  except (TypeError, ValueError):
    return None


def _series(rows, x_name, y_name):
  points = [(row[x_name], row[y_name]) for row in rows
            if row[x_name] is not None and row[y_name] is not None]
  return [x for x, _ in points], [y for _, y in points]


def plot_curves(rows, png_path, title=''):
  """Draws the training loss (and lr) and accuracy / recall_5 to a PNG."""
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use('Agg')  # no display on servers and job platforms
  from matplotlib import pyplot  # pylint: disable=g-import-not-at-top

  figure, (loss_axes, metric_axes) = pyplot.subplots(1, 2, figsize=(11, 4.5))
  _plot_loss(loss_axes, rows)
  _plot_metrics(metric_axes, rows)
  if title:
    figure.suptitle(title)
  figure.tight_layout()
  image = io.BytesIO()
  figure.savefig(image, format='png', dpi=100)
  pyplot.close(figure)
  output_files.write_output(png_path, image.getvalue(), 'the curves\' PNG')


def _plot_loss(axes, rows):
  """The epoch's mean loss; one batch's loss only where no mean was kept."""
  mean_epochs, means = _series(rows, 'epoch', 'mean_loss')
  if means:
    axes.plot(mean_epochs, means, 'o-', color='tab:red',
              label='training loss, mean over the epoch')
  else:  # a CSV written before mean_loss existed
    axes.plot(*_series(rows, 'epoch', 'loss'), 'o-', color='tab:red',
              label='training loss, last batch')
  axes.set_xlabel('epoch')
  axes.set_ylabel('loss')
  lr_epochs, lrs = _series(rows, 'epoch', 'lr')
  if lrs:
    lr_axes = axes.twinx()
    lr_axes.plot(lr_epochs, lrs, '--', color='tab:gray', label='learning rate')
    lr_axes.set_ylabel('learning rate')
  axes.legend(loc='upper right')


def _plot_metrics(axes, rows):
  """Accuracy and recall_5, the axis fitted to them, final values written."""
  values = []
  for name, style, label in (('accuracy', 'o-', 'eval/Accuracy'),
                             ('recall_5', 's--', 'eval/Recall_5')):
    epochs, series = _series(rows, 'epoch', name)
    if not series:
      continue
    line, = axes.plot(epochs, series, style, label=label)
    axes.annotate('%.4f' % series[-1], (epochs[-1], series[-1]),
                  textcoords='offset points', xytext=(-6, 7), ha='right',
                  color=line.get_color(), fontweight='bold')
    values += series
  if values:
    axes.set_ylim(*metric_axis_limits(values))
  axes.set_xlabel('epoch')
  axes.set_ylabel('evaluation')
  axes.grid(True, alpha=0.3)
  axes.legend(loc='lower right')
  last = rows[-1] if rows else None
  if last and last['accuracy'] is not None:
    axes.set_title('step %d: accuracy %.4f, recall_5 %.4f' % (
        last['step'] or 0, last['accuracy'], last['recall_5'] or 0.0))


def metric_axis_limits(values):
  """(bottom, top) of an axis fitted to the values: 0.89-0.93 is no flat line.

  A margin of a tenth of their span (at least 0.005) below; above, the
  values are clipped to 1 first, and two margins leave room for the final
  values written over the points.
  """
  low, high = min(values), max(values)
  margin = max(0.005, 0.1 * (high - low))
  return max(0.0, low - margin), min(1.0, high + 2 * margin) + margin


def metric_fields(metrics):
  """The CSV's accuracy and recall_5 of an evaluation's metrics."""
  return {field: '%.9g' % metrics[name]
          for field, name in (('accuracy', evaluation.ACCURACY),
                              ('recall_5', evaluation.RECALL_5))}


class Recorder(object):
  """Appends one CSV row per evaluation and redraws the curves."""

  def __init__(self, eval_dir, images_per_step, num_train_samples, title=''):
    self.csv_path = os.path.join(eval_dir, CSV_NAME)
    self.png_path = os.path.join(eval_dir, PNG_NAME)
    self._images_per_step = images_per_step
    self._num_train_samples = num_train_samples
    self._title = title

  def recorded_steps(self):
    if not os.path.exists(self.csv_path):
      return set()
    return {int(row['step']) for row in read_rows(self.csv_path)
            if row['step'] is not None}

  def record(self, step, metrics, loss=None, learning_rate=None,
             seconds=None, mean_loss=None):
    """Adds the row of one evaluation at global step `step`; returns it.

    `seconds`, the time the save and the evaluation took, goes to the log.
    """
    row = dict(metric_fields(metrics), step=step,
               loss='' if loss is None else '%.6g' % loss,
               lr='' if learning_rate is None else '%.6g' % learning_rate,
               mean_loss='' if mean_loss is None else '%.6g' % mean_loss,
               epoch='%.3f' % (step * self._images_per_step /
                               float(self._num_train_samples)))
    append_row(self.csv_path, row)
    plot_curves(read_rows(self.csv_path), self.png_path, self._title)
    took = '' if seconds is None else ', evaluated in %.1f s' % seconds
    sys.stdout.write('train_eval: step %d (epoch %s): accuracy %s, recall_5 '
                     '%s%s; curves in %s\n' % (step, row['epoch'],
                                               row['accuracy'],
                                               row['recall_5'], took,
                                               self.png_path))
    sys.stdout.flush()
    return row


class EvaluateAtEpochEnds(object):
  """The training's after_step hook: evaluates at each target step.

  Args:
    targets: the steps each epoch ends at (`epoch_targets`).
    evaluate: `fn(checkpoint) -> evaluation.EvalResult`.
    recorder: a `Recorder`.
  """

  def __init__(self, targets, evaluate, recorder):
    self._targets = sorted(targets)
    self._evaluate = evaluate
    self._recorder = recorder
    self._losses = []  # since the previous evaluation: the epoch's

  def __call__(self, step, loss, learning_rate, save_checkpoint):
    self._losses.append(loss)
    if not self._targets or step < self._targets[0]:
      return
    self._targets = [target for target in self._targets if target > step]
    start = time.time()
    result = self._evaluate(save_checkpoint())
    mean_loss = sum(self._losses) / len(self._losses)
    self._losses = []
    self._recorder.record(step, result.metrics, loss, learning_rate,
                          seconds=time.time() - start, mean_loss=mean_loss)


def is_epoch_end(step, epoch_steps, final_step):
  return step > 0 and (step % epoch_steps == 0 or step == final_step)
