r"""Requests per second of server.py at N concurrent clients, per model file.

Serves each model file in turn (a frozen .pb, an int8 .tflite, an .onnx, a
SavedModel: whatever server.py takes) to --concurrency clients that POST the
same real images to /api/classify for --seconds, and prints the completed
requests per second of each, alternating the files round after round (the
best round counts) so that other load hits them alike.

  # the main-job model, after `make run` and benchmarks/runtime_accuracy.py
  .venv/bin/python benchmarks/server_throughput.py \
      --model_files=/tmp/runtime_accuracy/model.pb,/tmp/runtime_accuracy/model_int8.tflite \
      --dataset_dir=runs/data/fashion_mnist
"""

import concurrent.futures
import glob
import os
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from absl import app  # noqa: E402
from absl import flags  # noqa: E402

from benchmarks import benchmark_lib  # noqa: E402

flags.DEFINE_list('model_files', [], 'Model files to serve, one after the '
                  'other (server.py --model_file).')
flags.DEFINE_string('dataset_dir', 'runs/data/fashion_mnist',
                    'Converted dataset whose images are uploaded.')
flags.DEFINE_string('file_pattern', '*_test*.tfrecord',
                    'Its shards to read the images from.')
flags.DEFINE_integer('num_images', 64, 'Distinct images the clients send.')
flags.DEFINE_integer('concurrency', 8, 'Clients sending at once.')
flags.DEFINE_float('seconds', 20, 'How long each measurement sends.')
flags.DEFINE_integer('rounds', 2, 'Alternated rounds; the best counts.')
FLAGS = flags.FLAGS


def read_images(dataset_dir, pattern, count):
  """The first `count` encoded images of the shards."""
  from datasets import dataset_utils  # pylint: disable=g-import-not-at-top
  paths = sorted(glob.glob(os.path.join(dataset_dir, pattern)))
  if not paths:
    raise SystemExit('no %s in %s' % (pattern, dataset_dir))
  return [encoded for encoded, _ in dataset_utils.read_examples(paths, count)]


def requests_per_second(model_file, images):
  """(requests/s, 503 answers, failures) of one server run."""
  process, port, _ = benchmark_lib.start_server(
      model_file, '--max_in_flight=%d' % FLAGS.concurrency)
  done, busy, failed = [0], [0], [0]
  lock = threading.Lock()

  def client(index):
    deadline = time.time() + FLAGS.seconds
    sent = index
    while time.time() < deadline:
      statuses = benchmark_lib.upload(port, images[sent % len(images)])
      sent += FLAGS.concurrency
      with lock:
        busy[0] += statuses.count(503)
        if statuses[-1] == 200:
          done[0] += 1
        else:
          failed[0] += 1

  try:
    benchmark_lib.upload(port, images[0])  # first-request set-up
    start = time.time()
    with concurrent.futures.ThreadPoolExecutor(FLAGS.concurrency) as pool:
      list(pool.map(client, range(FLAGS.concurrency)))
    elapsed = time.time() - start
  finally:
    process.terminate()
    process.wait(timeout=30)
  return done[0] / elapsed, busy[0], failed[0]


def main(_):
  if not FLAGS.model_files:
    raise SystemExit('--model_files is required')
  images = read_images(FLAGS.dataset_dir, FLAGS.file_pattern,
                       FLAGS.num_images)
  print('# %s, load average %.1f at start, %s; %d clients, %d images, '
        '%g s per run' % (benchmark_lib.cpu_description(),
                          benchmark_lib.load_average(),
                          time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()),
                          FLAGS.concurrency, len(images), FLAGS.seconds),
        flush=True)
  best = {}
  for round_index in range(FLAGS.rounds):
    for model_file in FLAGS.model_files:
      rate, busy, failed = requests_per_second(model_file, images)
      print('round %d  %-50s %8.1f req/s  (%d busy answers, %d failed)' % (
          round_index + 1, model_file, rate, busy, failed), flush=True)
      best[model_file] = max(best.get(model_file, 0.0), rate)
  reference = best[FLAGS.model_files[0]]
  for model_file in FLAGS.model_files:
    print('%-50s %8.1f req/s  %5.2fx' % (model_file, best[model_file],
                                         best[model_file] / reference))
  print('# load average %.1f at end' % benchmark_lib.load_average())


if __name__ == '__main__':
  app.run(main)
