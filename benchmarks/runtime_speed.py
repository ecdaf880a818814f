r"""Inference speed of each runtime: frozen TF graph, LiteRT float32, LiteRT
int8, onnxruntime.

    .venv/bin/python benchmarks/runtime_speed.py                # full table
    .venv/bin/python benchmarks/runtime_speed.py --models=mobilenet_v2 \
        --batch_sizes=1 --rounds=1 --steps=3 --image_size=96     # smoke run

Per network (random weights, the network's default image size unless
--image_size): a checkpoint, the frozen graph (export_inference_graph.py's
export), a LiteRT float32 file, a LiteRT int8 file (calibrated on random
images: speed does not depend on the ranges) and an ONNX file. Each
measurement runs in a fresh process (benchmark_lib's `model_file_infer`:
`inference.open_runner`, the runtime label_image.py and server.py use), the
runtimes alternate round after round, and the fastest round of each is kept.
Prints one row per network, batch size and runtime: milliseconds per batch,
images per second and the speed-up over the frozen graph.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app  # noqa: E402
from absl import flags  # noqa: E402

from benchmarks import benchmark_lib  # noqa: E402

flags.DEFINE_list('models', ['densenet121', 'mobilenet_v2', 'inception_v3',
                             'resnet_v1_50'], 'Networks to measure.')
flags.DEFINE_list('batch_sizes', ['1', '32'], 'Batch sizes to measure.')
flags.DEFINE_list('runtimes', ['pb', 'tflite_float32', 'tflite_int8', 'onnx'],
                  'Which files to time (pb, tflite_<quantization>, onnx).')
flags.DEFINE_integer('image_size', None,
                     'Input size; None: each network\'s default.')
flags.DEFINE_integer('num_classes', 1001, 'Classes of the classifier.')
flags.DEFINE_integer('rounds', 3, 'Alternated rounds; the fastest counts.')
flags.DEFINE_integer('steps', 20, 'Timed batches per measurement.')
flags.DEFINE_integer('warmup', 3, 'Untimed batches first.')
flags.DEFINE_integer('num_threads', 2, 'LiteRT/onnxruntime threads.')
flags.DEFINE_integer('calibration_images', 8,
                     'Random images that calibrate the int8 file.')
flags.DEFINE_string('work_dir', '/tmp/runtime_speed',
                    'Where the model files go (reused when present).')
FLAGS = flags.FLAGS

SUFFIXES = {'pb': '.pb', 'onnx': '.onnx'}


def _file_name(runtime):
  if runtime.startswith('tflite_'):
    return runtime + '.tflite'
  return 'model' + SUFFIXES[runtime]


def _write_checkpoint(tf, model_name, image_size, channels, train_dir):
  from nets import nets_factory  # pylint: disable=g-import-not-at-top
  with tf.Graph().as_default():
    network_fn = nets_factory.get_network_fn(model_name, FLAGS.num_classes)
    network_fn(tf.placeholder(tf.float32, [None, image_size, image_size,
                                           channels]))
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      return tf.train.Saver().save(sess, os.path.join(train_dir, 'model.ckpt'))


def prepare(model_name):
  """Writes the model files of `model_name` (once); {runtime: path}."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  tf = benchmark_lib._import_slim()  # pylint: disable=protected-access
  from deployment import inference  # pylint: disable=g-import-not-at-top
  from deployment import model_conversion  # pylint: disable=g-import-not-at-top
  folder = os.path.join(FLAGS.work_dir, '%s_%s' % (model_name,
                                                   FLAGS.image_size or 'd'))
  paths = {r: os.path.join(folder, _file_name(r)) for r in FLAGS.runtimes}
  if all(os.path.exists(p) for p in paths.values()):
    return paths
  os.makedirs(folder, exist_ok=True)
  spec = inference.make_spec(model_name, FLAGS.num_classes,
                             image_size=FLAGS.image_size)
  graph_def, info = inference.export_graph_def(spec)
  checkpoint = _write_checkpoint(tf, model_name, info['image_size'],
                                 info['channels'], folder)
  frozen = inference.freeze_graph_def(graph_def, checkpoint,
                                      inference.output_node_names(info))
  images = np.random.RandomState(0).uniform(-1, 1, [
      FLAGS.calibration_images, info['image_size'], info['image_size'],
      info['channels']])
  for runtime, path in paths.items():
    start = time.time()
    if runtime == 'pb':
      inference.write_graph_def(frozen, path)
    elif runtime == 'onnx':
      model_conversion.write_model(model_conversion.onnx_model(frozen, info),
                                   path)
    else:
      model_conversion.write_model(model_conversion.tflite_model(
          frozen, info, runtime.split('_', 1)[1],
          model_conversion.ArrayCalibration(images)), path)
    print('  wrote %s (%.0f s)' % (path, time.time() - start), flush=True)
  return paths


def measure(model_name, paths, image_size, batch_size):
  specs = [dict(kind='model_file_infer', model_file=paths[r],
                batch_size=batch_size, image_size=image_size,
                num_classes=FLAGS.num_classes, steps=FLAGS.steps,
                warmup=FLAGS.warmup, num_threads=FLAGS.num_threads)
           for r in FLAGS.runtimes]
  results = benchmark_lib.alternate(specs, FLAGS.rounds)
  rows = [(runtime, benchmark_lib.best(runs))
          for runtime, runs in zip(FLAGS.runtimes, results)]
  reference = dict(rows).get('pb', {}).get('images_per_sec')
  for runtime, result in rows:
    if 'error' in result:
      print('%-14s %5d  %-15s FAILED: %s' % (model_name, batch_size, runtime,
                                             result['error']), flush=True)
      continue
    speedup = ('%5.2fx' % (result['images_per_sec'] / reference)
               if reference else '    -')
    print('%-14s %5d  %-15s %9.1f %9.1f  %s' % (
        model_name, batch_size, runtime, result['step_ms'],
        result['images_per_sec'], speedup), flush=True)


def main(_):
  print('# %s, %d threads for LiteRT/onnxruntime, load average %.1f at start, '
        '%s' % (benchmark_lib.cpu_description(), FLAGS.num_threads,
                benchmark_lib.load_average(),
                time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())))
  for model_name in FLAGS.models:
    paths = prepare(model_name)
    image_size = _image_size(paths)
    print('%-14s %5s  %-15s %9s %9s  %s' % ('network', 'batch', 'runtime',
                                            'ms/batch', 'images/s', 'vs pb'))
    for batch_size in FLAGS.batch_sizes:
      measure(model_name, paths, image_size, int(batch_size))
  print('# load average %.1f at end' % benchmark_lib.load_average())


def _image_size(paths):
  from deployment import inference  # pylint: disable=g-import-not-at-top
  return inference.read_model_info(next(iter(paths.values())))['image_size']


if __name__ == '__main__':
  app.run(main)
