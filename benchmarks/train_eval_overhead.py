r"""Per-epoch overhead of train_eval_image_classifier.py: what is not a step.

Runs the real script on a generated dataset for a few epochs, timestamps each
line of its log as it arrives, and splits every epoch's wall time into
training steps (the sum of the per-step times the progress lines report, one
line per step), evaluation (from "Starting evaluation" to "Finished
evaluation") and the rest, the overhead: saving the checkpoint, opening the
evaluation session and restoring, the CSV row and the PNG.

    .venv/bin/python benchmarks/train_eval_overhead.py \
        --model_names=lenet,densenet_bc_mini,inception_v1 --epochs=3

Prints one table row per network: start-up (process start to the first
step), then the median per-epoch training, evaluation and overhead seconds.
"""

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import tf_compat  # noqa: E402,F401
import tensorflow.compat.v1 as tf  # noqa: E402

from datasets import fake_data  # noqa: E402

flags = tf.app.flags
flags.DEFINE_string('model_names', 'lenet,densenet_bc_mini',
                    'Comma-separated registered networks.')
flags.DEFINE_integer('epochs', 3, 'Epochs (each followed by an evaluation).')
flags.DEFINE_integer('images_per_class', 24, 'Training images per class '
                     '(10 classes); the evaluated split has a quarter.')
flags.DEFINE_integer('batch_size', 16, 'Training batch size.')
flags.DEFINE_integer('image_size', 28, 'Side of the generated images and of '
                     'the network input.')
FLAGS = flags.FLAGS

STEP_TIME = re.compile(r'global step (\d+): loss = \S+ \(([0-9.]+) sec/step\)')


def timed_lines(command):
  """Runs `command`; returns [(seconds since start, line)] and the status."""
  start = time.time()
  process = subprocess.Popen(command, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT,
                             universal_newlines=True, cwd=ROOT)
  lines = [(time.time() - start, line) for line in process.stdout]
  return lines, process.wait()


def epoch_figures(lines):
  """Start-up seconds and [(train, eval, overhead)] per epoch from a log."""
  first_step = next(t for t, line in lines if STEP_TIME.search(line))
  epochs, train, eval_start, eval_time = [], 0.0, None, 0.0
  epoch_start = first_step
  for stamp, line in lines:
    match = STEP_TIME.search(line)
    if match and int(match.group(1)) > 1:  # step 1 includes graph warm-up
      train += float(match.group(2))
    elif 'Starting evaluation of' in line:
      eval_start = stamp
    elif 'Finished evaluation of' in line and eval_start is not None:
      eval_time += stamp - eval_start
    elif line.startswith('train_eval: step'):
      epochs.append((train, eval_time, stamp - epoch_start - train - eval_time))
      epoch_start, train, eval_time = stamp, 0.0, 0.0
  return first_step, epochs


def measure(model_name, data_dir, work_dir):
  train_dir = os.path.join(work_dir, model_name)
  command = [
      sys.executable, '-u', os.path.join(ROOT, 'train_eval_image_classifier.py'),
      '--dataset_name=fashion_mnist', '--dataset_dir=%s' % data_dir,
      '--dataset_split_name=test', '--model_name=%s' % model_name,
      '--train_image_size=%d' % FLAGS.image_size,
      '--eval_image_size=%d' % FLAGS.image_size,
      '--train_dir=%s' % train_dir, '--batch_size=%d' % FLAGS.batch_size,
      '--epochs=%d' % FLAGS.epochs, '--log_every_n_steps=1',
      '--clone_on_cpu=True', '--optimizer=sgd', '--learning_rate=0.01']
  lines, status = timed_lines(command)
  if status != 0:
    raise SystemExit('%s failed:\n%s' % (model_name, ''.join(
        line for _, line in lines[-30:])))
  return epoch_figures(lines)


def main(_):
  work_dir = tempfile.mkdtemp(prefix='train_eval_overhead_')
  data_dir = os.path.join(work_dir, 'data')
  per_class = FLAGS.images_per_class
  fake_data.write_fake_dataset(
      data_dir, 'fashion_mnist', num_classes=10,
      images_per_class={'train': per_class, 'test': max(1, per_class // 4)},
      image_shape=(FLAGS.image_size, FLAGS.image_size, 1), num_shards=1)
  print('| network | start-up s | train s/epoch | eval s/epoch | '
        'overhead s/epoch (max) |')
  print('|---|---|---|---|---|')
  for model_name in FLAGS.model_names.split(','):
    startup, epochs = measure(model_name, data_dir, work_dir)
    train, evaluation, overhead = (statistics.median(column)
                                   for column in zip(*epochs))
    print('| %s | %.1f | %.2f | %.2f | %.2f (%.2f) |' % (
        model_name, startup, train, evaluation, overhead,
        max(row[2] for row in epochs)))
    sys.stdout.flush()


if __name__ == '__main__':
  tf.app.run()
