"""Pieces shared by ResNet v1 and v2 (He et al. 2015, 2016).

A ResNet here is a stem (7x7/2 convolution and 3x3/2 max pooling), four
blocks of bottleneck units, global average pooling and a 1x1 convolution
classifier. v1 and v2 differ in the unit (post- vs pre-activation) and in where
BatchNorm sits around the stem and after the last block; `resnet` takes both.

As in slim's released checkpoints, the stride of a block is applied by its
LAST unit, on the 3x3 convolution, and end points are keyed by full scope name
('resnet_v1_50/block2/unit_4/bottleneck_v1'), plus 'global_pool',
'<scope>/logits', '<scope>/spatial_squeeze' and 'predictions'. We add the
'Logits' and 'Predictions' aliases every network in this repo provides.
"""

import collections

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf
import tf_slim as slim

# base_depth: width of the bottleneck's 3x3 convolution (the unit outputs
# 4 * base_depth channels); stride: applied by the last unit of the block.
Block = collections.namedtuple('Block', ['scope', 'base_depth', 'num_units',
                                         'stride'])


def standard_blocks(units_per_block):
  """The four blocks of ResNet-50/101/152/200 with the given unit counts."""
  base_depths = (64, 128, 256, 512)
  strides = (2, 2, 2, 1)
  return [Block('block%d' % (i + 1), depth, units, stride)
          for i, (depth, units, stride) in enumerate(
              zip(base_depths, units_per_block, strides))]


def subsample(inputs, factor, scope=None):
  """Spatial subsampling without parameters (identity when factor is 1)."""
  if factor == 1:
    return inputs
  return slim.max_pool2d(inputs, [1, 1], stride=factor, scope=scope)


def conv2d_same(inputs, num_outputs, kernel_size, stride, rate=1, scope=None):
  """Strided convolution whose output size does not depend on input parity.

  TensorFlow's SAME padding pads more at the end when the input is even, which
  shifts a strided convolution's sampling grid. The checkpoints were trained
  with symmetric explicit padding followed by a VALID convolution, so we do
  the same whenever stride > 1.
  """
  if stride == 1:
    return slim.conv2d(inputs, num_outputs, kernel_size, stride=1, rate=rate,
                       padding='SAME', scope=scope)
  effective_kernel = kernel_size + (kernel_size - 1) * (rate - 1)
  pad_total = effective_kernel - 1
  pad_begin = pad_total // 2
  pad_end = pad_total - pad_begin
  inputs = tf.pad(inputs, [[0, 0], [pad_begin, pad_end],
                           [pad_begin, pad_end], [0, 0]])
  return slim.conv2d(inputs, num_outputs, kernel_size, stride=stride,
                     rate=rate, padding='VALID', scope=scope)


def stack_blocks(net, blocks, unit_fn, output_stride=None,
                 current_stride=1, outputs_collections=None):
  """Applies every unit of every block.

  Args:
    net: the stem's output.
    blocks: list of `Block`.
    unit_fn: `unit_fn(net, depth, depth_bottleneck, stride, rate,
      outputs_collections, scope)`.
    output_stride: if set, stop striding once the total stride reaches it and
      dilate the following 3x3 convolutions instead (dense features).
    current_stride: the stride of `net` relative to the image.
    outputs_collections: collection receiving unit and block outputs.

  Returns:
    The last block's output.

  Raises:
    ValueError: if `output_stride` cannot be reached exactly.
  """
  rate = 1
  for block in blocks:
    with tf.variable_scope(block.scope, values=[net]) as sc:
      for index in range(block.num_units):
        stride = block.stride if index == block.num_units - 1 else 1
        if output_stride is not None and current_stride == output_stride:
          unit_stride, unit_rate = 1, rate
          rate *= stride
        else:
          unit_stride, unit_rate = stride, 1
          current_stride *= stride
        with tf.variable_scope('unit_%d' % (index + 1), values=[net]):
          net = unit_fn(net, 4 * block.base_depth, block.base_depth,
                        unit_stride, unit_rate, outputs_collections)
      slim.utils.collect_named_outputs(outputs_collections, sc.name, net)
  if output_stride is not None and current_stride != output_stride:
    raise ValueError('output_stride %d is not reachable with these blocks '
                     '(network stride %d)' % (output_stride, current_stride))
  return net


def resnet(inputs, blocks, unit_fn, preactivation, num_classes, is_training,
           global_pool, output_stride, spatial_squeeze, reuse, scope):
  """Builds a ResNet classifier (v1 when `preactivation` is False, else v2).

  Args:
    inputs: float32 [batch, height, width, 3].
    blocks: list of `Block`.
    unit_fn: the residual unit (see `stack_blocks`).
    preactivation: v2 layout: the stem convolution has no BatchNorm/ReLU
      (the first unit normalises its input) and a final 'postnorm'
      BatchNorm+ReLU follows the last block.
    num_classes: number of classes; 0 or None returns the pooled features
      [batch, 1, 1, 2048] (or the last block's map if not `global_pool`).
    is_training: BatchNorm uses batch statistics and updates moving ones.
    global_pool: average the last feature map over space.
    output_stride: see `stack_blocks`; must be a multiple of 4.
    spatial_squeeze: squeeze logits to [batch, num_classes].
    reuse: whether to reuse the variables of `scope`.
    scope: variable scope of every variable.

  Returns:
    (logits, end_points).
  """
  if output_stride is not None and output_stride % 4:
    raise ValueError('output_stride must be a multiple of 4, got %d' %
                     output_stride)
  with tf.variable_scope(scope, values=[inputs], reuse=reuse) as sc:
    collection = sc.original_name_scope + '_end_points'
    with slim.arg_scope([slim.conv2d], outputs_collections=collection), \
        slim.arg_scope([slim.batch_norm], is_training=is_training):
      if preactivation:
        with slim.arg_scope([slim.conv2d], activation_fn=None,
                            normalizer_fn=None):
          net = conv2d_same(inputs, 64, 7, stride=2, scope='conv1')
      else:
        net = conv2d_same(inputs, 64, 7, stride=2, scope='conv1')
      net = slim.max_pool2d(net, [3, 3], stride=2, padding='SAME',
                            scope='pool1')
      net = stack_blocks(net, blocks, unit_fn, output_stride,
                         current_stride=4, outputs_collections=collection)
      if preactivation:
        net = slim.batch_norm(net, activation_fn=tf.nn.relu, scope='postnorm')
      end_points = slim.utils.convert_collection_to_dict(collection)
      if global_pool:
        net = tf.reduce_mean(net, [1, 2], keepdims=True, name='pool5')
        end_points['global_pool'] = net
      if not num_classes:
        return net, end_points
      net = slim.conv2d(net, num_classes, [1, 1], activation_fn=None,
                        normalizer_fn=None, scope='logits',
                        outputs_collections=None)
      end_points[sc.name + '/logits'] = net
      if spatial_squeeze:
        net = tf.squeeze(net, [1, 2], name='SpatialSqueeze')
        end_points[sc.name + '/spatial_squeeze'] = net
      predictions = slim.softmax(net, scope='predictions')
  end_points['predictions'] = predictions
  end_points['Logits'] = net
  end_points['Predictions'] = predictions
  return net, end_points


def resnet_arg_scope(weight_decay=0.0001, batch_norm_decay=0.997,
                     batch_norm_epsilon=1e-5, batch_norm_scale=True,
                     activation_fn=tf.nn.relu, use_batch_norm=True):
  """He-initialised convolutions with L2 decay, BatchNorm and ReLU.

  Args:
    weight_decay: L2 regularisation of convolution weights.
    batch_norm_decay: moving-average decay of BatchNorm statistics.
    batch_norm_epsilon: BatchNorm variance epsilon.
    batch_norm_scale: learn BatchNorm's gamma (the checkpoints have it).
    activation_fn: activation after each normalised convolution.
    use_batch_norm: normalise convolution outputs.

  Returns:
    An arg scope.
  """
  batch_norm_params = {
      'decay': batch_norm_decay,
      'epsilon': batch_norm_epsilon,
      'scale': batch_norm_scale,
      'updates_collections': tf.GraphKeys.UPDATE_OPS,
  }
  with slim.arg_scope(
      [slim.conv2d],
      weights_regularizer=slim.l2_regularizer(weight_decay),
      weights_initializer=slim.variance_scaling_initializer(),
      activation_fn=activation_fn,
      normalizer_fn=slim.batch_norm if use_batch_norm else None,
      normalizer_params=batch_norm_params):
    with slim.arg_scope([slim.batch_norm], **batch_norm_params):
      with slim.arg_scope([slim.max_pool2d], padding='SAME') as scope:
        return scope
