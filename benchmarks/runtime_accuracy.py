r"""Accuracy of the main-job model in every runtime, on all test images.

    .venv/bin/python benchmarks/runtime_accuracy.py \
        --checkpoint_path=runs/densenet_bc_mini/ckpt \
        --dataset_dir=runs/data/fashion_mnist
    # add --qat_checkpoint_path=<train_dir of a --quantize_delay fine-tune>
    # for the int8 file of a quantization-aware run

Exports the checkpoint (with its moving averages, as the main job evaluates
it) as a frozen graph, LiteRT float32, ONNX and LiteRT int8 (post-training,
calibrated on --calibration_images training images), each with
export_inference_graph.py, then evaluates each file on the whole test split
with eval_image_classifier.py --model_file (each in its own process) and
prints its grader lines and a table: accuracy, Recall_5 and the difference
from the frozen graph in points.
"""

import os
import re
import subprocess
import sys
import time

from absl import app
from absl import flags

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

flags.DEFINE_string('checkpoint_path', 'runs/densenet_bc_mini/ckpt',
                    'The float checkpoint (or its train_dir).')
flags.DEFINE_string('qat_checkpoint_path', '',
                    'A quantization-aware fine-tune of it (--quantize_delay); '
                    'exported with --quantize to int8. Empty: skipped.')
flags.DEFINE_string('dataset_dir', 'runs/data/fashion_mnist',
                    'The converted Fashion-MNIST.')
flags.DEFINE_string('dataset_name', 'fashion_mnist', 'Dataset name.')
flags.DEFINE_string('model_name', 'densenet_bc_mini', 'The network.')
flags.DEFINE_string('preprocessing_name', 'lenet', 'Its preprocessing.')
flags.DEFINE_float('moving_average_decay', 0.998,
                   'Export the averages training kept (0: the weights).')
flags.DEFINE_integer('calibration_images', 1000,
                     'Training images that calibrate the int8 file.')
flags.DEFINE_string('work_dir', '/tmp/runtime_accuracy',
                    'Where the model files go.')
FLAGS = flags.FLAGS

ACCURACY = re.compile(r'^eval/Accuracy\[([0-9.e-]+)\]$', re.M)
RECALL = re.compile(r'^eval/Recall_5\[([0-9.e-]+)\]$', re.M)


def _run(script, *args):
  done = subprocess.run([sys.executable, os.path.join(ROOT, script)] +
                        list(args), capture_output=True, text=True, cwd=ROOT)
  if done.returncode:
    raise SystemExit('%s failed: %s' % (script, done.stderr.strip()
                                        .splitlines()[-1:]))
  return done.stdout


def _export(name, checkpoint, *extra):
  path = os.path.join(FLAGS.work_dir, name)
  if not os.path.exists(path):
    _run('export_inference_graph.py', '--model_name=' + FLAGS.model_name,
         '--preprocessing_name=' + FLAGS.preprocessing_name,
         '--dataset_name=' + FLAGS.dataset_name,
         '--dataset_dir=' + FLAGS.dataset_dir,
         '--moving_average_decay=%g' % FLAGS.moving_average_decay,
         '--checkpoint_path=' + checkpoint, '--output_file=' + path, *extra)
  return path


def _files():
  int8 = ('--output_format=tflite', '--tflite_quantization=int8',
          '--calibration_images=%d' % FLAGS.calibration_images,
          '--dataset_split_name=train')
  files = [('frozen graph (.pb)', _export('model.pb', FLAGS.checkpoint_path)),
           ('LiteRT float32', _export('model_float32.tflite',
                                      FLAGS.checkpoint_path,
                                      '--output_format=tflite')),
           ('ONNX', _export('model.onnx', FLAGS.checkpoint_path,
                            '--output_format=onnx')),
           ('LiteRT int8 (PTQ)', _export('model_int8.tflite',
                                         FLAGS.checkpoint_path, *int8))]
  if FLAGS.qat_checkpoint_path:
    files.append(('LiteRT int8 (QAT)', _export(
        'model_qat_int8.tflite', FLAGS.qat_checkpoint_path, '--quantize',
        *int8)))
  return files


def main(_):
  os.makedirs(FLAGS.work_dir, exist_ok=True)
  print('# %s, all test images of %s, %s' % (
      FLAGS.model_name, FLAGS.dataset_dir,
      time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())), flush=True)
  rows = []
  for name, path in _files():
    start = time.time()
    out = _run('eval_image_classifier.py', '--model_file=' + path,
               '--dataset_name=' + FLAGS.dataset_name,
               '--dataset_dir=' + FLAGS.dataset_dir,
               '--dataset_split_name=test', '--batch_size=100')
    print('%s (%s, %.0f s):\n%s' % (name, path, time.time() - start,
                                    out.strip()), flush=True)
    rows.append((name, float(ACCURACY.findall(out)[-1]),
                 float(RECALL.findall(out)[-1])))
  reference = rows[0][1]
  print('%-20s %10s %10s %14s' % ('runtime', 'accuracy', 'recall_5',
                                  'vs .pb (points)'))
  for name, accuracy, recall in rows:
    print('%-20s %10.4f %10.4f %+14.2f' % (name, accuracy, recall,
                                           100 * (accuracy - reference)))


if __name__ == '__main__':
  app.run(main)
