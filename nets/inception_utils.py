"""Shared pieces of the Inception family (v1, v2, v3, v4, Inception-ResNet-v2).

Papers: Szegedy et al., "Going Deeper with Convolutions" (arXiv:1409.4842),
Ioffe and Szegedy, "Batch Normalization" (arXiv:1502.03167), Szegedy et al.,
"Rethinking the Inception Architecture for Computer Vision"
(arXiv:1512.00567) and "Inception-v4, Inception-ResNet and the Impact of
Residual Connections on Learning" (arXiv:1602.07261).

The Inception networks are long chains of stages whose exact layer names are
what makes the released checkpoints load (including their historical quirks,
such as InceptionV1 Mixed_5b's `Conv2d_0a_3x3`). So each network is written as
a table of stages and this module turns tables into graphs:

* `conv`, `separable_conv`, `max_pool`, `avg_pool`: one layer, named exactly
  as in the table;
* `fork`: layers applied side by side to the same input, then concatenated
  (Inception-v3/v4's split 1x3 / 3x1 convolutions);
* `Mixed`: an Inception module, one `Branch_<i>` scope per list of layers,
  outputs concatenated along channels;
* `call`: any other function of the feature map (Inception-ResNet-v2's stacks
  of residual blocks), an end point only when it has a name;
* `build_trunk`: runs the stages in order, recording each stage's output as an
  end point and stopping at `final_endpoint`;
* `trunk_scope` and `classifier_scope`: the variable scopes (and layer
  defaults) every trunk and every classifier of the family opens;
* `scale_depths`: the same table with every convolution's depth passed through
  `depth_fn` (the `depth_multiplier` / `min_depth` of v2 and v3).

The classifier heads are tables too: `ConvHead` (v1-v3: average pool and a
1x1 convolution), `fc_logits` (v4, Inception-ResNet-v2: global pool and a
fully connected layer) and `AuxHead` (the auxiliary classifier of v3, v4 and
Inception-ResNet-v2).
"""

import collections
import contextlib

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf
import tf_slim as slim

# `stddev`: a truncated-normal initialiser for this layer only (None: the arg
# scope's); v1/v2 set them per layer and the checkpoints were trained so.
Conv = collections.namedtuple(
    'Conv', ['name', 'depth', 'kernel', 'stride', 'padding', 'stddev'])
# Depthwise `kernel` convolution with `multiplier` channels per input channel,
# then a 1x1 convolution to `depth` (Inception-v2's first layer).
SeparableConv = collections.namedtuple(
    'SeparableConv',
    ['name', 'depth', 'kernel', 'stride', 'multiplier', 'stddev'])
Pool = collections.namedtuple('Pool', ['name', 'op', 'kernel', 'stride',
                                       'padding'])
Fork = collections.namedtuple('Fork', ['layers'])
Mixed = collections.namedtuple('Mixed', ['name', 'branches'])
Call = collections.namedtuple('Call', ['name', 'fn'])


def conv(name, depth, kernel, stride=1, padding=None, stddev=None):
  """A convolution (+ BatchNorm + ReLU from the arg scope) named `name`."""
  return Conv(name, depth, kernel, stride, padding, stddev)


def separable_conv(name, depth, kernel, stride, multiplier, stddev=None):
  return SeparableConv(name, depth, kernel, stride, multiplier, stddev)


def max_pool(name, kernel, stride=1, padding=None):
  return Pool(name, slim.max_pool2d, kernel, stride, padding)


def avg_pool(name, kernel, stride=1, padding=None):
  return Pool(name, slim.avg_pool2d, kernel, stride, padding)


def fork(*layers):
  """Layers applied to the same input, outputs concatenated on channels."""
  return Fork(layers)


def call(name, fn):
  """A stage computing `fn(net)`; `name` None records no end point."""
  return Call(name, fn)


def _initializer_kwargs(stddev):
  if stddev is None:
    return {}
  return {'weights_initializer': tf.truncated_normal_initializer(
      stddev=stddev)}


def apply_layer(net, layer, channel_axis=3):
  """Applies one `Conv`, `SeparableConv`, `Pool` or `Fork` to `net`."""
  if isinstance(layer, Fork):
    return tf.concat([apply_layer(net, part, channel_axis)
                      for part in layer.layers], channel_axis)
  kwargs = {'stride': layer.stride, 'scope': layer.name}
  if isinstance(layer, SeparableConv):
    return slim.separable_conv2d(net, layer.depth, layer.kernel,
                                 depth_multiplier=layer.multiplier,
                                 **kwargs, **_initializer_kwargs(layer.stddev))
  if layer.padding:
    kwargs['padding'] = layer.padding
  if isinstance(layer, Conv):
    return slim.conv2d(net, layer.depth, layer.kernel, **kwargs,
                       **_initializer_kwargs(layer.stddev))
  return layer.op(net, layer.kernel, **kwargs)


def apply_layers(net, layers, channel_axis=3):
  for layer in layers:
    net = apply_layer(net, layer, channel_axis)
  return net


def apply_branches(net, branches, channel_axis=3):
  """Each list of layers in its own Branch_<i> scope, concatenated."""
  outputs = []
  for index, layers in enumerate(branches):
    with tf.variable_scope('Branch_%d' % index):
      outputs.append(apply_layers(net, layers, channel_axis))
  return tf.concat(outputs, channel_axis)


def apply_block(inputs, branches, scope, default_name, reuse=None):
  """One Inception module as a stand-alone block (stride 1, SAME padding).

  What `build_trunk` does for a `Mixed` stage, for callers that assemble
  their own networks from a family's public blocks.
  """
  with slim.arg_scope([slim.conv2d, slim.avg_pool2d, slim.max_pool2d],
                      stride=1, padding='SAME'):
    with tf.variable_scope(scope, default_name, [inputs], reuse=reuse):
      return apply_branches(inputs, branches)


def stage_names(stages):
  """The end point names of `stages`, in order (unnamed stages left out)."""
  return [stage.name for stage in stages if stage.name is not None]


def build_trunk(net, stages, final_endpoint=None, end_points=None,
                channel_axis=3):
  """Runs `stages` (layers, `Mixed` modules or `Call`s) in order.

  Args:
    net: the input tensor.
    stages: list of `Conv`, `SeparableConv`, `Pool`, `Mixed` or `Call`; each
      named stage's output becomes the end point named after it.
    final_endpoint: stop after this stage (None: run them all).
    end_points: dict to add to (a new one if None).
    channel_axis: 3 for NHWC activations, 1 for NCHW.

  Returns:
    (net, end_points).

  Raises:
    ValueError: if `final_endpoint` names no stage.
  """
  end_points = {} if end_points is None else end_points
  names = stage_names(stages)
  if final_endpoint is not None and final_endpoint not in names:
    raise ValueError('Unknown final_endpoint %r; valid: %s' %
                     (final_endpoint, ', '.join(names)))
  for stage in stages:
    if isinstance(stage, Mixed):
      with tf.variable_scope(stage.name):
        net = apply_branches(net, stage.branches, channel_axis)
    elif isinstance(stage, Call):
      net = stage.fn(net)
    else:
      net = apply_layer(net, stage, channel_axis)
    if stage.name is not None:
      end_points[stage.name] = net
    if stage.name == final_endpoint:
      break
  return net, end_points


@contextlib.contextmanager
def trunk_scope(scope, default_name, inputs, **layer_defaults):
  """The trunk's variable scope; its convolutions and pools default to
  stride 1 and SAME padding (the tables give only the exceptions), plus
  `layer_defaults` (e.g. data_format)."""
  with tf.variable_scope(scope, default_name, [inputs]), slim.arg_scope(
      [slim.conv2d, slim.max_pool2d, slim.avg_pool2d], stride=1,
      padding='SAME', **layer_defaults):
    yield


@contextlib.contextmanager
def classifier_scope(scope, default_name, inputs, reuse, is_training):
  """The classifier's variable scope (yielded, for its trunk to build in),
  with BatchNorm and dropout in `is_training` mode."""
  with tf.variable_scope(scope, default_name, [inputs],
                         reuse=reuse) as var_scope, slim.arg_scope(
                             [slim.batch_norm, slim.dropout],
                             is_training=is_training):
    yield var_scope


def depth_fn(depth_multiplier, min_depth):
  """Maps a table depth to max(int(depth * depth_multiplier), min_depth).

  Raises:
    ValueError: if depth_multiplier <= 0.
  """
  if depth_multiplier <= 0:
    raise ValueError('depth_multiplier is not greater than zero.')
  return lambda depth: max(int(depth * depth_multiplier), min_depth)


def scale_depths(table, depth):
  """`table` (a stage, layer or list of them) with depths mapped by `depth`.

  Pools keep their shape; `Call` stages are opaque and kept as they are.
  """
  # The layer types are namedtuples: tell them apart before plain sequences.
  if isinstance(table, (Conv, SeparableConv)):
    return table._replace(depth=depth(table.depth))
  if isinstance(table, Fork):
    return Fork(scale_depths(table.layers, depth))
  if isinstance(table, Mixed):
    return Mixed(table.name, scale_depths(table.branches, depth))
  if isinstance(table, (Pool, Call)):
    return table
  return [scale_depths(item, depth) for item in table]


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


# The v1-v3 classifier: `pool_kernel` average pooling with `pool_stride`
# (the kernel shrunk for small inputs) scoped `pool_name` ('{}x{}' filled
# with the kernel) and recorded as `pool_end_point`, or global pooling named
# `global_pool_name` (end point 'global_pool'); dropout `dropout_name`;
# `pre_logits_end_point` (None: not recorded); a 1x1 convolution
# `logits_name`; the softmax `Predictions` inside the `Logits` scope when
# `predictions_in_logits_scope`, else beside it.
ConvHead = collections.namedtuple('ConvHead', [
    'pool_kernel', 'pool_stride', 'pool_name', 'pool_end_point',
    'global_pool_name', 'dropout_name', 'pre_logits_end_point',
    'logits_name', 'predictions_in_logits_scope'])


def _pool_for_logits(net, head, global_pool, end_points):
  if global_pool:
    net = end_points['global_pool'] = global_average_pool(
        net, head.global_pool_name)
    return net
  kernel = reduced_kernel_size(net, head.pool_kernel)
  net = end_points[head.pool_end_point] = slim.avg_pool2d(
      net, kernel, stride=head.pool_stride, padding='VALID',
      scope=head.pool_name.format(*kernel))
  return net


def conv_logits(net, end_points, head, num_classes, global_pool,
                dropout_keep_prob, spatial_squeeze, prediction_fn):
  """The `ConvHead` classifier in scope 'Logits'.

  Returns:
    (logits, end_points), or (pooled features, end_points) when
    `num_classes` is 0 or None.
  """
  with tf.variable_scope('Logits'):
    net = _pool_for_logits(net, head, global_pool, end_points)
    if not num_classes:
      return net, end_points
    net = slim.dropout(net, dropout_keep_prob, scope=head.dropout_name)
    if head.pre_logits_end_point:
      end_points[head.pre_logits_end_point] = net
    logits = slim.conv2d(net, num_classes, [1, 1], activation_fn=None,
                         normalizer_fn=None, scope=head.logits_name)
    if spatial_squeeze:
      logits = tf.squeeze(logits, [1, 2], name='SpatialSqueeze')
    end_points['Logits'] = logits
    # Upstream's op names, which frozen graphs are cut at: v1 scores inside
    # 'Logits' (InceptionV1/Logits/Predictions/Reshape_1), v2/v3 beside it
    # (InceptionV3/Predictions/Reshape_1).
    if head.predictions_in_logits_scope:
      end_points['Predictions'] = prediction_fn(logits, scope='Predictions')
  if not head.predictions_in_logits_scope:
    end_points['Predictions'] = prediction_fn(logits, scope='Predictions')
  return logits, end_points


def fc_logits(net, end_points, num_classes, dropout_keep_prob, pool_name,
              dropout_name):
  """The v4 / Inception-ResNet-v2 classifier in scope 'Logits'.

  Global average pooling (end point 'global_pool'), dropout, flattening (end
  point 'PreLogitsFlatten') and a fully connected layer 'Logits'.

  Returns:
    (logits, end_points), or ([batch, 1, 1, channels] pooled features,
    end_points) when `num_classes` is 0 or None.
  """
  with tf.variable_scope('Logits'):
    net = end_points['global_pool'] = global_average_pool(net, pool_name)
    if not num_classes:
      return net, end_points
    net = slim.dropout(net, dropout_keep_prob, scope=dropout_name)
    net = end_points['PreLogitsFlatten'] = slim.flatten(
        net, scope='PreLogitsFlatten')
    logits = end_points['Logits'] = slim.fully_connected(
        net, num_classes, activation_fn=None, scope='Logits')
    # Inside 'Logits', as upstream: the tutorial freezes
    # InceptionV4/Logits/Predictions.
    end_points['Predictions'] = tf.nn.softmax(logits, name='Predictions')
  return logits, end_points


# The auxiliary classifier, scope 'AuxLogits': 5x5/3 average pooling
# `pool_name`, a 1x1 convolution to 128 and a `conv_name` convolution to 768
# ('{}x{}' filled with its kernel: `conv_kernel` x `conv_kernel`, or the whole
# map when None), then the class scores `logits_name`: a 1x1 convolution when
# `logits_as_conv`, else a fully connected layer over the flattened map.
# `conv_stddev` / `logits_stddev`: truncated-normal initialisers (None: the
# arg scope's).
AuxHead = collections.namedtuple('AuxHead', [
    'pool_name', 'conv_name', 'conv_kernel', 'conv_stddev', 'logits_name',
    'logits_stddev', 'logits_as_conv'])


def aux_logits(net, num_classes, head, depth=None, spatial_squeeze=True):
  """The `AuxHead` classifier on `net`; returns [batch, num_classes] logits.

  The pooling and convolution kernels shrink to small feature maps, so
  inputs below the default size (down to 75x75) still build. `depth` maps
  the 128 / 768 widths (v3's depth_multiplier); None keeps them.
  """
  depth = depth or (lambda width: width)
  with tf.variable_scope('AuxLogits'):
    net = slim.avg_pool2d(net, reduced_kernel_size(net, 5), stride=3,
                          padding='VALID', scope=head.pool_name)
    net = slim.conv2d(net, depth(128), [1, 1], scope='Conv2d_1b_1x1')
    if head.conv_kernel:
      kernel = reduced_kernel_size(net, head.conv_kernel)
    else:
      kernel = net.shape.as_list()[1:3]
    net = slim.conv2d(net, depth(768), kernel, padding='VALID',
                      scope=head.conv_name.format(*kernel),
                      **_initializer_kwargs(head.conv_stddev))
    if not head.logits_as_conv:
      return slim.fully_connected(slim.flatten(net), num_classes,
                                  activation_fn=None, scope=head.logits_name)
    net = slim.conv2d(net, num_classes, [1, 1], activation_fn=None,
                      normalizer_fn=None, scope=head.logits_name,
                      **_initializer_kwargs(head.logits_stddev))
    if spatial_squeeze:
      net = tf.squeeze(net, [1, 2], name='SpatialSqueeze')
    return net


def batch_norm_params(decay, epsilon, updates_collections, scale):
  """slim.batch_norm arguments of the family's arg scopes."""
  return {
      'decay': decay,
      'epsilon': epsilon,
      'updates_collections': updates_collections,
      'fused': None,  # fused kernels where the layout allows them
      'scale': scale,
  }


def inception_arg_scope(weight_decay=0.00004, use_batch_norm=True,
                        batch_norm_decay=0.9997, batch_norm_epsilon=0.001,
                        activation_fn=tf.nn.relu,
                        batch_norm_updates_collections=tf.GraphKeys.UPDATE_OPS,
                        batch_norm_scale=False):
  """Arg scope of the Inception family (v1-v4).

  Convolutions get He initialisation, L2 decay, BatchNorm and ReLU. The
  released checkpoints' BatchNorm has no gamma (`batch_norm_scale=False`):
  ReLU follows, so a per-channel scale is redundant with the next layer.
  Fully connected layers get the same decay.
  """
  with slim.arg_scope([slim.conv2d, slim.fully_connected],
                      weights_regularizer=slim.l2_regularizer(weight_decay)):
    with slim.arg_scope(
        [slim.conv2d],
        weights_initializer=slim.variance_scaling_initializer(),
        activation_fn=activation_fn,
        normalizer_fn=slim.batch_norm if use_batch_norm else None,
        normalizer_params=batch_norm_params(
            batch_norm_decay, batch_norm_epsilon,
            batch_norm_updates_collections, batch_norm_scale)
        if use_batch_norm else {}) as scope:
      return scope
