"""Shared pieces of the Inception family (v1, v3, v4, Inception-ResNet-v2).

The Inception networks are long chains of stages whose exact layer names are
what makes the released checkpoints load (including their historical quirks,
such as InceptionV1 Mixed_5b's `Conv2d_0a_3x3`). So each network is written as
a table of stages and this module turns tables into graphs:

* `conv`, `max_pool`, `avg_pool`: one layer, named exactly as in the table;
* `fork`: layers applied side by side to the same input, then concatenated
  (Inception-v3/v4's split 1x3 / 3x1 convolutions);
* `Mixed`: an Inception module, one `Branch_<i>` scope per list of layers,
  outputs concatenated along channels;
* `build_trunk`: runs the stages in order, recording each stage's output as an
  end point and stopping at `final_endpoint`.
"""

import collections

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf
import tf_slim as slim

Conv = collections.namedtuple('Conv', ['name', 'depth', 'kernel', 'stride',
                                       'padding'])
Pool = collections.namedtuple('Pool', ['name', 'op', 'kernel', 'stride',
                                       'padding'])
Fork = collections.namedtuple('Fork', ['layers'])
Mixed = collections.namedtuple('Mixed', ['name', 'branches'])


def conv(name, depth, kernel, stride=1, padding=None):
  """A convolution (+ BatchNorm + ReLU from the arg scope) named `name`."""
  return Conv(name, depth, kernel, stride, padding)


def max_pool(name, kernel, stride=1, padding=None):
  return Pool(name, slim.max_pool2d, kernel, stride, padding)


def avg_pool(name, kernel, stride=1, padding=None):
  return Pool(name, slim.avg_pool2d, kernel, stride, padding)


def fork(*layers):
  """Layers applied to the same input, outputs concatenated on channels."""
  return Fork(layers)


def apply_layer(net, layer):
  """Applies one `Conv`, `Pool` or `Fork` to `net`."""
  if isinstance(layer, Fork):
    return tf.concat([apply_layer(net, part) for part in layer.layers], 3)
  kwargs = {'stride': layer.stride, 'scope': layer.name}
  if layer.padding:
    kwargs['padding'] = layer.padding
  if isinstance(layer, Conv):
    return slim.conv2d(net, layer.depth, layer.kernel, **kwargs)
  return layer.op(net, layer.kernel, **kwargs)


def apply_layers(net, layers):
  for layer in layers:
    net = apply_layer(net, layer)
  return net


def apply_branches(net, branches):
  """Each list of layers in its own Branch_<i> scope, concatenated."""
  outputs = []
  for index, layers in enumerate(branches):
    with tf.variable_scope('Branch_%d' % index):
      outputs.append(apply_layers(net, layers))
  return tf.concat(outputs, 3)


def build_trunk(net, stages, final_endpoint=None, end_points=None):
  """Runs `stages` (layers or `Mixed` modules) in order.

  Args:
    net: the input tensor.
    stages: list of `Conv`, `Pool` or `Mixed`; each stage's output becomes the
      end point named after it.
    final_endpoint: stop after this stage (None: run them all).
    end_points: dict to add to (a new one if None).

  Returns:
    (net, end_points).

  Raises:
    ValueError: if `final_endpoint` names no stage.
  """
  end_points = {} if end_points is None else end_points
  names = [stage.name for stage in stages]
  if final_endpoint is not None and final_endpoint not in names:
    raise ValueError('Unknown final_endpoint %r; valid: %s' %
                     (final_endpoint, ', '.join(names)))
  for stage in stages:
    if isinstance(stage, Mixed):
      with tf.variable_scope(stage.name):
        net = apply_branches(net, stage.branches)
    else:
      net = apply_layer(net, stage)
    end_points[stage.name] = net
    if stage.name == final_endpoint:
      break
  return net, end_points


def reduced_kernel_size(net, size):
  """`size` x `size`, shrunk to the feature map when the input is small.

  Lets the fixed-size pooling and convolutions of the classifier heads accept
  images smaller than the default size (fine-tuning on small photos).
  """
  height, width = net.shape.as_list()[1:3]
  if height is None or width is None:
    return [size, size]
  return [min(height, size), min(width, size)]


def global_average_pool(net, name):
  """Average over the whole feature map, keeping the 1x1 spatial dims."""
  height, width = net.shape.as_list()[1:3]
  if height is None or width is None:
    return tf.reduce_mean(net, [1, 2], keepdims=True, name=name)
  return slim.avg_pool2d(net, [height, width], padding='VALID', scope=name)


def aux_logits(net, num_classes, conv_name, logits_name, logits_as_conv):
  """The auxiliary classifier of Inception-v3/v4/ResNet-v2 (AuxLogits scope).

  5x5/3 average pooling, a 1x1 and a 5x5 convolution, then the class scores:
  a 1x1 convolution (v3) or a fully connected layer over the flattened map.
  """
  with tf.variable_scope('AuxLogits'):
    net = slim.avg_pool2d(net, reduced_kernel_size(net, 5), stride=3,
                          padding='VALID', scope='AvgPool_1a_5x5')
    net = slim.conv2d(net, 128, [1, 1], scope='Conv2d_1b_1x1')
    net = slim.conv2d(net, 768, reduced_kernel_size(net, 5), padding='VALID',
                      weights_initializer=tf.truncated_normal_initializer(
                          stddev=0.01), scope=conv_name)
    if logits_as_conv:
      net = slim.conv2d(net, num_classes, [1, 1], activation_fn=None,
                        normalizer_fn=None,
                        weights_initializer=tf.truncated_normal_initializer(
                            stddev=0.001), scope=logits_name)
      return tf.squeeze(net, [1, 2], name='SpatialSqueeze')
    net = slim.flatten(net)
    return slim.fully_connected(net, num_classes, activation_fn=None,
                                scope=logits_name)


def inception_arg_scope(weight_decay=0.00004, use_batch_norm=True,
                        batch_norm_decay=0.9997, batch_norm_epsilon=0.001,
                        activation_fn=tf.nn.relu, batch_norm_scale=False):
  """Arg scope of the Inception family.

  Convolutions get He initialisation, L2 decay, BatchNorm and ReLU. The
  released checkpoints' BatchNorm has no gamma (`batch_norm_scale=False`):
  ReLU follows, so a per-channel scale is redundant with the next layer.
  Fully connected layers get the same decay.
  """
  batch_norm_params = {
      'decay': batch_norm_decay,
      'epsilon': batch_norm_epsilon,
      'scale': batch_norm_scale,
      'updates_collections': tf.GraphKeys.UPDATE_OPS,
  }
  with slim.arg_scope([slim.conv2d, slim.fully_connected],
                      weights_regularizer=slim.l2_regularizer(weight_decay)):
    with slim.arg_scope(
        [slim.conv2d],
        weights_initializer=slim.variance_scaling_initializer(),
        activation_fn=activation_fn,
        normalizer_fn=slim.batch_norm if use_batch_norm else None,
        normalizer_params=batch_norm_params) as scope:
      return scope
