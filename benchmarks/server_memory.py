r"""Peak memory of server.py under concurrent large-image uploads.

Exports a network with fresh weights (no training: memory does not depend on
the values), starts server.py on it, sends --concurrency clients that each
upload a constant --width x --height PNG (small on disk, large decoded)
--requests_per_client times (again after Retry-After when the server answers
503, so every slot stays busy), and prints the server's resident memory
before and at its peak (VmHWM, reset once the model is loaded) next to the
ceiling server.py printed at start.

  # the defaults: 16 MP images at the default limits (2 in flight)
  .venv/bin/python benchmarks/server_memory.py
  # bytes per decoded pixel of a preprocessing: one upload at a time
  .venv/bin/python benchmarks/server_memory.py --max_in_flight=1 \
      --concurrency=1 --model_name=mobilenet_v1
  # the issue's case, limits lifted: 7000x7000, 4 at once
  .venv/bin/python benchmarks/server_memory.py --width=7000 --height=7000 \
      --max_megapixels=50 --max_in_flight=4 --concurrency=4
"""

import collections
import concurrent.futures
import io
import json
import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from absl import app  # noqa: E402
from absl import flags  # noqa: E402
from PIL import Image  # noqa: E402

from benchmarks import benchmark_lib  # noqa: E402

# The network served has fresh weights: memory does not depend on them.
benchmark_lib.define_flags(model_name='lenet', num_classes=5)
flags.DEFINE_integer('width', 4000, 'Width of the uploaded image.')
flags.DEFINE_integer('height', 4000, 'Height of the uploaded image.')
flags.DEFINE_integer('concurrency', 8, 'Clients uploading at once.')
flags.DEFINE_integer('requests_per_client', 3, 'Uploads per client.')
flags.DEFINE_integer('max_in_flight', 2, "server.py's --max_in_flight.")
flags.DEFINE_float('max_megapixels', 16, "server.py's --max_megapixels.")
flags.DEFINE_string('work_dir', None, 'Where the model goes (a temp dir).')
FLAGS = flags.FLAGS

MIB = 1024 * 1024


def export_model(model_name, num_classes, work_dir):
  """Freezes `model_name` with freshly initialised weights; returns the .pb."""
  import tf_compat  # noqa: F401  pylint: disable=g-import-not-at-top
  import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
  from deployment import inference  # pylint: disable=g-import-not-at-top
  from nets import nets_factory  # pylint: disable=g-import-not-at-top
  with tf.Graph().as_default():
    network_fn = nets_factory.get_network_fn(model_name, num_classes)
    size = network_fn.default_image_size
    network_fn(tf.placeholder(tf.float32, [None, size, size, 3]))
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      checkpoint = tf.train.Saver().save(
          sess, os.path.join(work_dir, 'model.ckpt'))
  spec = inference.make_spec(model_name, num_classes)
  graph_def, info = inference.export_graph_def(spec)
  frozen = inference.freeze_graph_def(graph_def, checkpoint,
                                      inference.output_node_names(info))
  path = os.path.join(work_dir, model_name + '_freeze.pb')
  inference.write_graph_def(frozen, path)
  return path


def memory_mib(pid):
  """{'VmRSS': MiB now, 'VmHWM': peak MiB} of process `pid`."""
  with open('/proc/%d/status' % pid) as f:
    fields = dict(line.split(':', 1) for line in f)
  return {key: int(fields[key].split()[0]) / 1024.0
          for key in ('VmRSS', 'VmHWM')}


def reset_peak(pid):
  """Makes VmHWM restart from VmRSS, so it shows only what follows."""
  with open('/proc/%d/clear_refs' % pid, 'w') as f:
    f.write('5')


def constant_png(width, height):
  buffer = io.BytesIO()
  Image.new('RGB', (width, height), (90, 140, 200)).save(buffer, format='PNG')
  return buffer.getvalue()


def main(_):
  work_dir = FLAGS.work_dir or tempfile.mkdtemp(prefix='server_memory_')
  model_file = export_model(FLAGS.model_name, FLAGS.num_classes, work_dir)
  data = constant_png(FLAGS.width, FLAGS.height)
  process, port, memory_line = benchmark_lib.start_server(
      model_file, '--max_in_flight=%d' % FLAGS.max_in_flight,
      '--max_megapixels=%g' % FLAGS.max_megapixels)
  try:
    # The first request's set-up is not the load.
    benchmark_lib.upload(port, constant_png(8, 8))
    reset_peak(process.pid)
    before = memory_mib(process.pid)
    with concurrent.futures.ThreadPoolExecutor(FLAGS.concurrency) as pool:
      answers = list(pool.map(
          lambda _: benchmark_lib.upload(port, data),
          range(FLAGS.concurrency * FLAGS.requests_per_client)))
    after = memory_mib(process.pid)
  finally:
    process.terminate()
    process.wait(timeout=30)
  pixels = FLAGS.width * FLAGS.height
  decoding_at_once = min(FLAGS.max_in_flight, FLAGS.concurrency)
  added = after['VmHWM'] - before['VmRSS']
  result = dict(
      model_name=FLAGS.model_name, image='%dx%d' % (FLAGS.width, FLAGS.height),
      png_bytes=len(data), concurrency=FLAGS.concurrency,
      max_in_flight=FLAGS.max_in_flight,
      max_megapixels=FLAGS.max_megapixels,
      final_statuses=dict(collections.Counter(a[-1] for a in answers)),
      busy_answers=sum(a.count(503) for a in answers),
      rss_before_mib=round(before['VmRSS']),
      peak_rss_mib=round(after['VmHWM']), added_mib=round(added),
      bytes_per_pixel_per_request=round(
          added * MIB / decoding_at_once / pixels, 1),
      server_said=memory_line)
  print(json.dumps(result))


if __name__ == '__main__':
  app.run(main)
