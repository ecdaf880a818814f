r"""Draws the DenseNet figures of docs/densenet.md from the built graphs.

docs/densenet_channels.png: for every dense layer, how many channels enter
the layer, read from the shape of the layer's first BatchNorm in the built
graph: within a block the count grows by the growth rate k per layer, and
each transition cuts it by the compression factor.

docs/densenet_connectivity.png (dense connectivity): for every dense layer
of a block, which feature maps its input concatenation holds, read from the
inputs of that layer's concat op in the graph (x_0 is the block input, x_j
the output of layer j), with each map's channel count. It also prints them.

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
# (network, dense block) of the connectivity figure.
CONNECTIVITY_BLOCKS = (('densenet_bc_mini', 1), ('densenet121', 1))
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


def layer_inputs(name, block):
  """[(layer, [(source, channels)])] of one dense block of network `name`.

  `source` is 0 for the block input x_0 and j for the output x_j of the
  block's layer j, as the graph's ops say: a layer's first BatchNorm reads
  either a concat op (whose inputs are listed) or, for layer 1, x_0 itself.
  """
  network_fn = getattr(densenet, name)
  size = network_fn.default_image_size
  channels_in = 1 if name == 'densenet_bc_mini' else 3
  scope = '/dense_block%d/conv_block' % block
  producer = re.compile(re.escape(scope) + r'(\d+)/')
  with tf.Graph().as_default() as graph:
    with slim.arg_scope(densenet.densenet_arg_scope()):
      network_fn(tf.zeros([1, size, size, channels_in]), num_classes=10,
                 is_training=False)
    first_norms = {}
    for op in graph.get_operations():
      match = producer.search(op.name)
      if match and op.type.startswith('FusedBatchNorm'):
        first_norms.setdefault(int(match.group(1)), op)  # x1 comes first
    layers = []
    for layer, norm in sorted(first_norms.items()):
      read = norm.inputs[0]
      maps = read.op.inputs[:-1] if read.op.type == 'ConcatV2' else [read]
      sources = []
      for tensor in maps:
        match = producer.search(tensor.op.name)
        sources.append((int(match.group(1)) if match else 0,
                        tensor.shape.as_list()[-1]))
      layers.append((layer, sources))
  return layers


def draw_connectivity(path):
  """One panel per (network, block): a filled cell where layer l reads x_j."""
  figure, axes = plt.subplots(1, len(CONNECTIVITY_BLOCKS), figsize=(11, 4.6))
  for ax, (name, block) in zip(axes, CONNECTIVITY_BLOCKS):
    layers = layer_inputs(name, block)
    config = densenet.CONFIGS[name]
    print('%s, dense block %d (k=%d):' % (name, block, config.growth_rate))
    for layer, sources in layers:
      for source, channels in sources:
        ax.add_patch(plt.Rectangle((source - 0.45, layer - 0.45), 0.9, 0.9,
                                   color='tab:blue' if source else 'tab:orange'))
        ax.text(source, layer, str(channels), ha='center', va='center',
                color='white', fontsize=8)
      print('  layer %d reads %s = %d channels' % (
          layer, ' + '.join('x_%d (%d)' % pair for pair in sources),
          sum(channels for _, channels in sources)))
    count = len(layers)
    ax.set_xlim(-0.6, count - 0.4)
    ax.set_ylim(count + 0.6, 0.4)
    ax.set_xticks(range(count))
    ax.set_xticklabels(['x_0\n(block in)'] + ['x_%d' % j
                                              for j in range(1, count)])
    ax.set_yticks(range(1, count + 1))
    ax.set_yticklabels(['layer %d' % layer for layer in range(1, count + 1)])
    ax.set_aspect('equal')
    ax.set_title('%s, dense block %d: k=%d' % (name, block,
                                              config.growth_rate), fontsize=10)
    ax.set_xlabel('feature map read (number: its channels)')
  figure.tight_layout()
  figure.savefig(path, dpi=110)
  print('Wrote %s' % path)


if __name__ == '__main__':
  draw(os.path.join(HERE, 'densenet_channels.png'))
  draw_connectivity(os.path.join(HERE, 'densenet_connectivity.png'))
