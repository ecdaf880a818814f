"""Exports every registered network and prints its output node and timing.

    .venv/bin/python benchmarks/export_all_networks.py

Checks what the tests check for one network per module (float `input`
placeholder, Predictions output with num_classes columns) for all names.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tf_compat  # noqa: E402,F401
import tensorflow.compat.v1 as tf  # noqa: E402

from deployment import inference  # noqa: E402
from nets import nets_factory  # noqa: E402

NUM_CLASSES = 7
VIDEO_FRAMES = 8


def main():
  failures = 0
  for name in nets_factory.network_names():
    start = time.time()
    frames = VIDEO_FRAMES if name in nets_factory.VIDEO_NETWORKS else None
    graph_def, info = inference.export_graph_def(
        inference.make_spec(name, NUM_CLASSES, num_frames=frames))
    with tf.Graph().as_default() as graph:
      tf.import_graph_def(graph_def, name='')
      output = graph.get_tensor_by_name(info['output_node'] + ':0')
      ok = output.shape.as_list() == [None, NUM_CLASSES]
    failures += not ok
    print('%-22s %-40s %4d px %6d nodes %5.1fs %s' % (
        name, info['output_node'], info['image_size'], len(graph_def.node),
        time.time() - start, 'ok' if ok else 'BAD OUTPUT SHAPE'), flush=True)
  return 1 if failures else 0


if __name__ == '__main__':
  sys.exit(main())
