"""Prints the README's networks table, measured by building every network.

    .venv/bin/python docs/make_networks_table.py > /tmp/networks.md

Each registered name is built at its default image size (video networks with
64 frames) with the class count of its released checkpoint (the manifest's;
the function's default where there is no manifest), and its trainable
parameters are counted.
"""

import inspect
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import tf_compat  # noqa: E402,F401
import tensorflow.compat.v1 as tf  # noqa: E402

from nets import densenet  # noqa: E402
from nets import nets_factory  # noqa: E402

MANIFEST_DIR = os.path.join(ROOT, 'tests', 'data', 'checkpoint_manifests')
VIDEO_FRAMES = 64


def class_count(name):
  path = os.path.join(MANIFEST_DIR, name + '.json')
  if os.path.exists(path):
    with open(path) as f:
      return json.load(f)['num_classes']
  function, _ = nets_factory.get_network_and_arg_scope(name)
  return inspect.signature(function).parameters['num_classes'].default


def trainable_parameters(name, num_classes):
  network_fn = nets_factory.get_network_fn(name, num_classes,
                                           is_training=True)
  size = network_fn.default_image_size
  shape = [1, size, size, 1 if name == 'densenet_bc_mini' else 3]
  if name in nets_factory.VIDEO_NETWORKS:
    shape.insert(1, VIDEO_FRAMES)
  with tf.Graph().as_default():
    network_fn(tf.placeholder(tf.float32, shape))
    return sum(v.shape.num_elements() for v in tf.trainable_variables())


def layout(name):
  config = densenet.CONFIGS.get(name)
  if config is None:
    return nets_factory.NETWORKS[name].module[len('nets.'):]
  return 'densenet: blocks %s, k=%d, %d initial, %s stem' % (
      ','.join(map(str, config.block_layers)), config.growth_rate,
      config.num_initial_features, config.stem)


def main():
  print('| name | module / layout | image | preprocessing | classes | '
        'trainable params |')
  print('|---|---|---|---|---|---|')
  for name in nets_factory.network_names():
    num_classes = class_count(name)
    size = nets_factory.get_network_fn(name, num_classes).default_image_size
    print('| `%s` | %s | %d | %s | %d | %s |' % (
        name, layout(name), size, nets_factory.preprocessing_name(name),
        num_classes, format(trainable_parameters(name, num_classes), ',')))
    sys.stdout.flush()


if __name__ == '__main__':
  main()
