"""The epoch loop behind train_eval_image_classifier.py (the course's script).

It alternates one epoch of training and one evaluation, each a subprocess of
the real scripts so that their logs, flags and checkpoints are exactly what a
user gets running them by hand:

    python train_image_classifier.py ... --max_number_of_steps=<epoch end>
    python eval_image_classifier.py ... --checkpoint_path=<train_dir>

Both logs stream live. After each evaluation a row (step, epoch, loss, lr,
accuracy, recall_5) is appended to `CSV_NAME` in eval_dir and `PNG_NAME`, the
curves for the grading screenshot, is redrawn. Rerunning the same command
resumes from the last checkpoint in train_dir.
"""

import csv
import ctypes
import math
import os
import re
import signal
import subprocess
import sys

from deployment import training

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRAIN_SCRIPT = os.path.join(REPO_ROOT, 'train_image_classifier.py')
EVAL_SCRIPT = os.path.join(REPO_ROOT, 'eval_image_classifier.py')

CSV_NAME = 'train_eval.csv'
PNG_NAME = 'train_eval.png'
CSV_FIELDS = ('step', 'epoch', 'loss', 'lr', 'accuracy', 'recall_5')

EVAL_LINE_RE = re.compile(r'eval/(Accuracy|Recall_5)\[([^\]]+)\]')
_EVAL_FIELDS = {'Accuracy': 'accuracy', 'Recall_5': 'recall_5'}


class ChildFailedError(Exception):
  """A training or evaluation subprocess exited with an error."""


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


def flag_args(values):
  """['--name=value', ...] for a dict, in a stable order; None is left out."""
  args = []
  for name in sorted(values):
    value = values[name]
    if value is None:
      continue
    if isinstance(value, bool):
      value = 'True' if value else 'False'
    args.append('--%s=%s' % (name, value))
  return args


def flag_value(args, name, default=None):
  """The value of `--name` in raw arguments (either spelling), or default."""
  prefix = '--%s=' % name
  for i, arg in enumerate(args):
    if arg.startswith(prefix):
      return arg[len(prefix):]
    if arg == '--' + name and i + 1 < len(args):
      return args[i + 1]
  return default


def script_command(script, args):
  return [sys.executable, '-u', script] + list(args)


# prctl(2) option: the signal a process gets when its parent dies.
PR_SET_PDEATHSIG = 1


def _die_with_parent():
  """In the child before exec: SIGTERM when the parent dies, even by SIGKILL."""
  if sys.platform.startswith('linux'):
    try:
      ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG,
                                              signal.SIGTERM)
    except (OSError, AttributeError):
      pass  # no prctl here: the parent's handlers still stop the child


def _stop_child_group(process):
  """Ends the child and everything it started (its own process group)."""
  if process.poll() is not None:
    return
  try:
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=10)
  except subprocess.TimeoutExpired:
    os.killpg(process.pid, signal.SIGKILL)
  except ProcessLookupError:
    pass


def exit_on_sigterm():
  """Makes SIGTERM unwind like Ctrl-C, so run_streaming stops its child."""

  def handler(signum, unused_frame):
    raise SystemExit(128 + signum)

  signal.signal(signal.SIGTERM, handler)


def run_streaming(command, on_line=None, out=None):
  """Runs `command`, copying its merged output to `out` line by line.

  Args:
    command: the argument list.
    on_line: called with each output line (to parse progress).
    out: a text stream; defaults to sys.stdout.

  Returns:
    The exit status.
  """
  out = out or sys.stdout
  env = dict(os.environ, PYTHONUNBUFFERED='1')
  # Own process group (so it can be stopped as a whole) that dies with us.
  process = subprocess.Popen(command, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, env=env,
                             universal_newlines=True, bufsize=1,
                             errors='replace', start_new_session=True,
                             preexec_fn=_die_with_parent)
  try:
    for line in process.stdout:
      out.write(line)
      out.flush()
      if on_line:
        on_line(line)
  except BaseException:  # Ctrl-C, SIGTERM (exit_on_sigterm), a write error
    _stop_child_group(process)
    raise
  finally:
    process.stdout.close()
    status = process.wait()
  return status


class TrainLog(object):
  """Keeps the last loss and learning rate a training log reported."""

  def __init__(self):
    self.loss = None
    self.lr = None

  def __call__(self, line):
    match = training.PROGRESS_LINE_RE.search(line)
    if match:
      self.loss = match.group('loss')
      if match.group('lr') is not None:
        self.lr = match.group('lr')


class EvalLog(object):
  """Collects the eval/Accuracy and eval/Recall_5 values of an eval log."""

  def __init__(self):
    self.metrics = {}

  def __call__(self, line):
    for name, value in EVAL_LINE_RE.findall(line):
      self.metrics[_EVAL_FIELDS[name]] = value


def append_row(csv_path, row):
  """Appends `row` (a dict over CSV_FIELDS) to the CSV, writing its header."""
  new_file = not os.path.exists(csv_path) or os.path.getsize(csv_path) == 0
  with open(csv_path, 'a', newline='') as handle:
    writer = csv.DictWriter(handle, fieldnames=CSV_FIELDS)
    if new_file:
      writer.writeheader()
    writer.writerow({name: row.get(name, '') for name in CSV_FIELDS})


def read_rows(csv_path):
  """The CSV rows as dicts of floats (None where a value is missing)."""
  with open(csv_path, newline='') as handle:
    return [{name: _to_float(row.get(name)) for name in CSV_FIELDS}
            for row in csv.DictReader(handle)]


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
  """Draws loss (and lr) and accuracy / recall_5 against epochs to a PNG."""
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use('Agg')  # no display on servers and job platforms
  from matplotlib import pyplot  # pylint: disable=g-import-not-at-top

  figure, (loss_axes, metric_axes) = pyplot.subplots(1, 2, figsize=(11, 4.5))
  loss_axes.plot(*_series(rows, 'epoch', 'loss'), 'o-', color='tab:red',
                 label='training loss')
  loss_axes.set_xlabel('epoch')
  loss_axes.set_ylabel('loss')
  lr_epochs, lrs = _series(rows, 'epoch', 'lr')
  if lrs:
    lr_axes = loss_axes.twinx()
    lr_axes.plot(lr_epochs, lrs, '--', color='tab:gray', label='learning rate')
    lr_axes.set_ylabel('learning rate')
  loss_axes.legend(loc='upper right')
  for name, style in (('accuracy', 'o-'), ('recall_5', 's--')):
    metric_axes.plot(*_series(rows, 'epoch', name), style,
                     label='eval/%s' % ('Accuracy' if name == 'accuracy'
                                        else 'Recall_5'))
  metric_axes.set_xlabel('epoch')
  metric_axes.set_ylabel('evaluation')
  metric_axes.set_ylim(0.0, 1.02)
  metric_axes.grid(True, alpha=0.3)
  metric_axes.legend(loc='lower right')
  last = rows[-1] if rows else None
  if last and last['accuracy'] is not None:
    metric_axes.set_title('step %d: accuracy %.4f, recall_5 %.4f' % (
        last['step'] or 0, last['accuracy'], last['recall_5'] or 0.0))
  if title:
    figure.suptitle(title)
  figure.tight_layout()
  figure.savefig(png_path, dpi=100)
  pyplot.close(figure)


def train_until(train_args, step, train_log):
  """Runs the training script up to global step `step`."""
  status = run_streaming(
      script_command(TRAIN_SCRIPT,
                     train_args + ['--max_number_of_steps=%d' % step]),
      train_log)
  if status != 0:
    raise ChildFailedError(
        'training (train_image_classifier.py) exited with status %d before '
        'step %d; its log is above' % (status, step))


def evaluate(eval_args):
  """Runs the eval script once; returns {'accuracy': ..., 'recall_5': ...}."""
  eval_log = EvalLog()
  status = run_streaming(script_command(EVAL_SCRIPT, eval_args), eval_log)
  if status != 0:
    raise ChildFailedError(
        'evaluation (eval_image_classifier.py) exited with status %d; its log '
        'is above' % status)
  return eval_log.metrics


def run_epochs(train_args, eval_args, targets, eval_dir, images_per_step,
               num_train_samples, current_step, title=''):
  """Trains to each target step, evaluating after each; returns the rows.

  Args:
    train_args: flags for the training script, without max_number_of_steps.
    eval_args: flags for the eval script.
    targets: the steps each epoch ends at (`epoch_targets`).
    eval_dir: where the CSV and the PNG go.
    images_per_step: examples one step consumes, for the epoch column.
    num_train_samples: examples in the training split.
    current_step: `fn() -> int`, the step of the newest checkpoint.
    title: put above the curves.

  Raises:
    ChildFailedError: when a subprocess fails.
  """
  csv_path = os.path.join(eval_dir, CSV_NAME)
  png_path = os.path.join(eval_dir, PNG_NAME)
  rows = []
  for target in targets:
    train_log = TrainLog()
    train_until(train_args, target, train_log)
    metrics = evaluate(eval_args)
    step = current_step()
    row = dict(metrics, step=step, loss=train_log.loss, lr=train_log.lr,
               epoch='%.3f' % (step * images_per_step /
                               float(num_train_samples)))
    append_row(csv_path, row)
    rows.append(row)
    plot_curves(read_rows(csv_path), png_path, title)
    sys.stdout.write('train_eval: step %d (epoch %s): accuracy %s, recall_5 '
                     '%s; curves in %s\n' % (step, row['epoch'],
                                             metrics.get('accuracy'),
                                             metrics.get('recall_5'),
                                             png_path))
    sys.stdout.flush()
  return rows
