r"""Draws docs/densenet_channels.png from networks built by nets/densenet.py.

For every dense layer it plots how many channels enter the layer, read from
the shape of the layer's first BatchNorm in the built graph: within a block
the count grows by the growth rate k per layer (dense connectivity), and each
transition cuts it by the compression factor.

  .venv/bin/python docs/make_densenet_figure.py
"""

import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import tf_compat  # noqa: E402,F401
import matplotlib  # noqa: E402
matplotlib.use('Agg')  # no display needed
import matplotlib.pyplot as plt  # noqa: E402
import tensorflow.compat.v1 as tf  # noqa: E402
import tf_slim as slim  # noqa: E402

from nets import densenet  # noqa: E402

NETWORKS = ('densenet121', 'densenet', 'densenet_bc_mini')
_LAYER_BN = re.compile(
    r'/dense_block(\d+)/conv_block(\d+)/(x[12])/BatchNorm/gamma$')


def channels_entering_each_layer(name):
  """Returns [(block, layer, channels)] in network order for `name`."""
  network_fn = getattr(densenet, name)
  size = network_fn.default_image_size
  with tf.Graph().as_default():
    with slim.arg_scope(densenet.densenet_arg_scope()):
      network_fn(tf.zeros([1, size, size, 3]), num_classes=10)
    layers = {}
    for variable in tf.trainable_variables():
      match = _LAYER_BN.search(variable.op.name)
      if match:
        key = (int(match.group(1)), int(match.group(2)))
        # The layer input meets x1 (the bottleneck) when there is one.
        layers.setdefault(key, {})[match.group(3)] = (
            variable.shape.as_list()[0])
  layers = {key: parts.get('x1', parts['x2']) for key, parts in layers.items()}
  return [(block, layer, channels)
          for (block, layer), channels in sorted(layers.items())]


def draw(path):
  figure, axes = plt.subplots(len(NETWORKS), 1, figsize=(9, 3 * len(NETWORKS)))
  for ax, name in zip(axes, NETWORKS):
    layers = channels_entering_each_layer(name)
    config = densenet.CONFIGS[name]
    blocks = sorted({block for block, _, _ in layers})
    for block in blocks:
      xs = [i for i, (b, _, _) in enumerate(layers) if b == block]
      ax.plot(xs, [layers[i][2] for i in xs], marker='.', markersize=3,
              label='dense block %d' % block)
    ax.set_title('%s: k=%d, %d initial features, compression %s' %
                 (name, config.growth_rate, config.num_initial_features,
                  config.compression), fontsize=10)
    ax.set_ylabel('channels in')
    ax.legend(fontsize=8, loc='upper left')
    ax.grid(alpha=0.3)
  axes[-1].set_xlabel('dense layer (network order; drops are transitions)')
  figure.tight_layout()
  figure.savefig(path, dpi=110)
  print('Wrote %s' % path)


if __name__ == '__main__':
  draw(os.path.join(HERE, 'densenet_channels.png'))
