"""Builds every registered network under the quantization rewrite.

    .venv/bin/python benchmarks/quantize_all_networks.py [name ...]

For each network (default image size, batch 1; video networks on 8-frame
clips), the training rewrite (`--quantize_delay`) and the evaluation one
(`--quantize`) are built; it prints the FakeQuant ops, the folded BatchNorms,
the build time, and what the rewrite left in float (its one log line).
Exit status 1 when a network fails to build or gets no FakeQuant op.
tests/test_quantize.py builds a representative few.
"""

import logging
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tf_compat  # noqa: E402,F401
import tensorflow.compat.v1 as tf  # noqa: E402

from deployment import quantize  # noqa: E402
from nets import nets_factory  # noqa: E402

NUM_CLASSES = 7
VIDEO_FRAMES = 8


class _FloatLines(logging.Handler):
  """Keeps the rewrite's 'left in float' log lines."""

  def __init__(self):
    super().__init__()
    self.lines = []

  def emit(self, record):
    if 'left in float' in record.getMessage():
      self.lines.append(record.getMessage())


def build(name, is_training):
  """(FakeQuant ops, folded BatchNorms) of `name` under one rewrite."""
  network_fn = nets_factory.get_network_fn(name, NUM_CLASSES,
                                           is_training=is_training)
  size = network_fn.default_image_size
  frames = [VIDEO_FRAMES] if name in nets_factory.VIDEO_NETWORKS else []
  with tf.Graph().as_default() as graph:
    tf.train.get_or_create_global_step()
    quantized_fn = quantize.quantized_network_fn(network_fn, is_training)
    quantized_fn(tf.placeholder(tf.float32, [1] + frames + [size, size, 3]))
    types = [op.type for op in graph.get_operations()]
    names = [op.name for op in graph.get_operations()]
  return (types.count('FakeQuantWithMinMaxVars'),
          sum(n.endswith('/add_fold') for n in names))


def main(argv):
  handler = _FloatLines()
  tf.get_logger().addHandler(handler)
  failures = 0
  for name in argv[1:] or nets_factory.network_names():
    for is_training in (True, False):
      del handler.lines[:]
      start = time.time()
      try:
        fake_quants, folded = build(name, is_training)
        status = 'ok' if fake_quants else 'NO FAKEQUANT'
      except Exception as error:  # pylint: disable=broad-except
        fake_quants, folded, status = 0, 0, 'FAILED: %s' % error
      failures += status != 'ok'
      print('%-32s %-5s %5d FakeQuant %4d BN folded %6.1fs %s' % (
          name, 'train' if is_training else 'eval', fake_quants, folded,
          time.time() - start, status), flush=True)
      for line in handler.lines:
        print('    ' + line[:600] + (' ...' if len(line) > 600 else ''),
              flush=True)
  return 1 if failures else 0


if __name__ == '__main__':
  sys.exit(main(sys.argv))
