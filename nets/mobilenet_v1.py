"""MobileNet v1 (Howard et al. 2017, "MobileNets: Efficient Convolutional
Neural Networks for Mobile Vision Applications", arXiv:1704.04861).

A stride-2 3x3 convolution followed by 13 depthwise-separable blocks (a 3x3
depthwise convolution, then a 1x1 pointwise convolution, each with BatchNorm
and ReLU6), average pooling and a 1x1 convolution classifier. The body is the
table `MOBILENETV1_CONV_DEFS` (Table 1 of the paper); pass your own list of
`Conv` / `DepthSepConv` to build another body with the same naming.

Names follow the released `mobilenet_v1_<width>_<size>` checkpoints
(`MobilenetV1/Conv2d_3_pointwise`, `MobilenetV1/Logits/Conv2d_1c_1x1`), which
have 1001 classes (background first) and expect inception preprocessing
(pixels scaled to [-1, 1]). The width variants `mobilenet_v1_075`, `_050` and
`_025` default to the input size of their released checkpoint (192, 160, 128).

`mobilenet_v1_base` also serves dense prediction: `output_stride` 8 or 16 stops
downsampling there and dilates the later depthwise convolutions instead, and
`use_explicit_padding` pads symmetrically before VALID convolutions, so that
a strided layer samples the same pixels whatever the input's parity.
"""

import collections
import functools

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import inception_utils
from nets import padding

# One row of the body. `Conv`: a full convolution of `kernel`; `DepthSepConv`:
# a depthwise convolution of `kernel` then a 1x1 convolution to `depth`.
Conv = collections.namedtuple('Conv', ['kernel', 'stride', 'depth'])
DepthSepConv = collections.namedtuple('DepthSepConv',
                                      ['kernel', 'stride', 'depth'])

MOBILENETV1_CONV_DEFS = [
    Conv(kernel=[3, 3], stride=2, depth=32),
    DepthSepConv(kernel=[3, 3], stride=1, depth=64),
    DepthSepConv(kernel=[3, 3], stride=2, depth=128),
    DepthSepConv(kernel=[3, 3], stride=1, depth=128),
    DepthSepConv(kernel=[3, 3], stride=2, depth=256),
    DepthSepConv(kernel=[3, 3], stride=1, depth=256),
    DepthSepConv(kernel=[3, 3], stride=2, depth=512),
    DepthSepConv(kernel=[3, 3], stride=1, depth=512),
    DepthSepConv(kernel=[3, 3], stride=1, depth=512),
    DepthSepConv(kernel=[3, 3], stride=1, depth=512),
    DepthSepConv(kernel=[3, 3], stride=1, depth=512),
    DepthSepConv(kernel=[3, 3], stride=1, depth=512),
    DepthSepConv(kernel=[3, 3], stride=2, depth=1024),
    DepthSepConv(kernel=[3, 3], stride=1, depth=1024),
]
# The table's name in older slim releases, still imported by some callers.
_CONV_DEFS = MOBILENETV1_CONV_DEFS

_OUTPUT_STRIDES = (8, 16, 32)

# One convolution of the trunk, its stride and dilation already resolved for
# the requested output stride. depth None: depthwise (one filter per channel).
_Layer = collections.namedtuple('_Layer',
                                ['name', 'kernel', 'stride', 'rate', 'depth'])


def _trunk_layers(conv_defs, output_stride, depth):
  """Flattens `conv_defs` into `_Layer`s named like the checkpoints.

  Once the running product of strides reaches `output_stride`, each later
  layer keeps stride 1 and its stride multiplies the dilation of the layers
  after it, so the map stops shrinking but the receptive field still grows.
  """
  layers = []
  current_stride, rate = 1, 1
  for index, conv_def in enumerate(conv_defs):
    if not isinstance(conv_def, (Conv, DepthSepConv)):
      raise ValueError('Unknown convolution type %s for layer %d' %
                       (type(conv_def).__name__, index))
    if output_stride is not None and current_stride == output_stride:
      stride, layer_rate = 1, rate
      rate *= conv_def.stride
    else:
      stride, layer_rate = conv_def.stride, 1
      current_stride *= conv_def.stride
    name = 'Conv2d_%d' % index
    if isinstance(conv_def, Conv):
      layers.append(_Layer(name, conv_def.kernel, stride, layer_rate,
                           depth(conv_def.depth)))
    else:
      layers.append(_Layer(name + '_depthwise', conv_def.kernel, stride,
                           layer_rate, None))
      layers.append(_Layer(name + '_pointwise', [1, 1], 1, 1,
                           depth(conv_def.depth)))
  return layers


def _apply_layer(net, layer, use_explicit_padding):
  if use_explicit_padding:
    net = padding.fixed_padding(net, layer.kernel, layer.rate)
  if layer.depth is None:
    # num_outputs=None makes separable_conv2d a pure depthwise convolution.
    return slim.separable_conv2d(net, None, layer.kernel, depth_multiplier=1,
                                 stride=layer.stride, rate=layer.rate,
                                 scope=layer.name)
  return slim.conv2d(net, layer.depth, layer.kernel, stride=layer.stride,
                     rate=layer.rate, scope=layer.name)


def mobilenet_v1_base(inputs,
                      final_endpoint='Conv2d_13_pointwise',
                      min_depth=8,
                      depth_multiplier=1.0,
                      conv_defs=None,
                      output_stride=None,
                      use_explicit_padding=False,
                      scope=None):
  """The convolutional trunk, up to and including `final_endpoint`.

  Args:
    inputs: float [batch, height, width, channels].
    final_endpoint: last layer to build: 'Conv2d_0' or 'Conv2d_<i>_depthwise'
      / 'Conv2d_<i>_pointwise' (i = 1 ... 13 for the default body).
    min_depth: smallest width a thinned layer keeps (only binds when
      depth_multiplier < 1).
    depth_multiplier: scales the width of every Conv and pointwise layer.
    conv_defs: list of `Conv` / `DepthSepConv`; None: MOBILENETV1_CONV_DEFS.
    output_stride: 8, 16 or 32: stop downsampling at this input/output ratio
      and dilate later layers instead; None: the table's strides.
    use_explicit_padding: pad symmetrically, then convolve VALID (SAME sizes).
    scope: variable scope (default 'MobilenetV1').

  Returns:
    (net, end_points): the `final_endpoint` activation, and every layer's
    activation by end point name.

  Raises:
    ValueError: if depth_multiplier <= 0, output_stride is not 8, 16 or 32,
      conv_defs holds an unknown row type or final_endpoint names no layer.
  """
  if depth_multiplier <= 0:
    raise ValueError('depth_multiplier is not greater than zero.')
  if output_stride is not None and output_stride not in _OUTPUT_STRIDES:
    raise ValueError('Only allowed output_stride values are 8, 16, 32; got '
                     '%r' % output_stride)

  def depth(channels):
    return max(int(channels * depth_multiplier), min_depth)

  if conv_defs is None:
    conv_defs = MOBILENETV1_CONV_DEFS
  layers = _trunk_layers(conv_defs, output_stride, depth)
  names = [layer.name for layer in layers]
  if final_endpoint not in names:
    raise ValueError('Unknown final endpoint %r; valid: %s' %
                     (final_endpoint, ', '.join(names)))
  end_points = {}
  padding = 'VALID' if use_explicit_padding else 'SAME'
  with tf.variable_scope(scope, 'MobilenetV1', [inputs]):
    with slim.arg_scope([slim.conv2d, slim.separable_conv2d], padding=padding):
      net = inputs
      for layer in layers:
        net = end_points[layer.name] = _apply_layer(net, layer,
                                                    use_explicit_padding)
        if layer.name == final_endpoint:
          break
  return net, end_points


def _classifier(net, end_points, num_classes, dropout_keep_prob,
                spatial_squeeze, global_pool):
  """Pooling, dropout and the 1x1 convolution scoring the classes.

  Returns the logits, or the pooled features when `num_classes` is 0/None.
  """
  with tf.variable_scope('Logits'):
    if global_pool:
      net = end_points['global_pool'] = inception_utils.global_average_pool(
          net, 'global_pool')
    else:
      # 7x7 turns the 224x224 input's map into 1x1; larger inputs give a
      # larger map, smaller ones are pooled whole.
      net = end_points['AvgPool_1a'] = slim.avg_pool2d(
          net, inception_utils.reduced_kernel_size(net, 7), padding='VALID',
          scope='AvgPool_1a')
    if not num_classes:
      return net
    net = slim.dropout(net, keep_prob=dropout_keep_prob, scope='Dropout_1b')
    logits = slim.conv2d(net, num_classes, [1, 1], activation_fn=None,
                         normalizer_fn=None, scope='Conv2d_1c_1x1')
    if spatial_squeeze:
      logits = tf.squeeze(logits, [1, 2], name='SpatialSqueeze')
  return logits


def mobilenet_v1(inputs,
                 num_classes=1000,
                 dropout_keep_prob=0.999,
                 is_training=True,
                 min_depth=8,
                 depth_multiplier=1.0,
                 conv_defs=None,
                 prediction_fn=slim.softmax,
                 spatial_squeeze=True,
                 reuse=None,
                 scope='MobilenetV1',
                 global_pool=False):
  """MobileNet v1 classifier.

  Args:
    inputs: float [batch, height, width, 3]; 224x224 for the checkpoint.
    num_classes: number of classes; 0 or None returns the pooled features
      (before dropout) instead of logits.
    dropout_keep_prob: fraction of pooled features kept while training.
    is_training: BatchNorm uses batch statistics and dropout is active.
    min_depth: smallest width a thinned layer keeps.
    depth_multiplier: scales every layer's width (1.0 = the checkpoint).
    conv_defs: the body; None: MOBILENETV1_CONV_DEFS. The trunk ends at
      Conv2d_13_pointwise, so the body needs at least 14 rows.
    prediction_fn: turns logits into `end_points['Predictions']`; None: no
      predictions.
    spatial_squeeze: logits [batch, num_classes] instead of
      [batch, 1, 1, num_classes].
    reuse: whether to reuse the variables of `scope`.
    scope: variable scope of every variable.
    global_pool: average the whole final map (any input size gives 1x1)
      instead of a fixed 7x7 window.

  Returns:
    (logits, end_points); end_points holds every trunk layer, 'AvgPool_1a' or
    'global_pool', 'Logits' and 'Predictions'.

  Raises:
    ValueError: if `inputs` is not of rank 4.
  """
  if len(inputs.shape) != 4:
    raise ValueError('Invalid input tensor rank, expected 4, was: %d' %
                     len(inputs.shape))
  with inception_utils.classifier_scope(scope, 'MobilenetV1', inputs, reuse,
                                        is_training) as sc:
    net, end_points = mobilenet_v1_base(
        inputs, scope=sc, min_depth=min_depth,
        depth_multiplier=depth_multiplier, conv_defs=conv_defs)
    net = _classifier(net, end_points, num_classes, dropout_keep_prob,
                      spatial_squeeze, global_pool)
    if not num_classes:
      return net, end_points
    end_points['Logits'] = net
    if prediction_fn:
      end_points['Predictions'] = prediction_fn(net, scope='Predictions')
  return net, end_points


mobilenet_v1.default_image_size = 224


def _width_variant(name, depth_multiplier, image_size):
  """`mobilenet_v1` at another width, as a partial like upstream's."""
  variant = functools.partial(mobilenet_v1, depth_multiplier=depth_multiplier)
  functools.update_wrapper(variant, mobilenet_v1)
  variant.__name__ = variant.__qualname__ = name
  variant.default_image_size = image_size
  return variant


# Input sizes of the released mobilenet_v1_<width>_<size> checkpoints.
mobilenet_v1_075 = _width_variant('mobilenet_v1_075', 0.75, 192)
mobilenet_v1_050 = _width_variant('mobilenet_v1_050', 0.50, 160)
mobilenet_v1_025 = _width_variant('mobilenet_v1_025', 0.25, 128)


def mobilenet_v1_arg_scope(
    is_training=True,
    weight_decay=0.00004,
    stddev=0.09,
    regularize_depthwise=False,
    batch_norm_decay=0.9997,
    batch_norm_epsilon=0.001,
    batch_norm_updates_collections=tf.GraphKeys.UPDATE_OPS,
    normalizer_fn=slim.batch_norm):
  """Normalisation + ReLU6 on every convolution, L2 on the full ones.

  Depthwise filters hold only 9 weights per channel, so they are not decayed
  unless `regularize_depthwise` is set.

  Args:
    is_training: BatchNorm mode; None leaves it to the caller's arg scope
      (`mobilenet_v1` sets it from its own `is_training` anyway).
    weight_decay: L2 regularisation of the convolution weights.
    stddev: standard deviation of the truncated normal initializer.
    regularize_depthwise: decay the depthwise filters too.
    batch_norm_decay: decay of BatchNorm's moving averages.
    batch_norm_epsilon: added to BatchNorm's variance.
    batch_norm_updates_collections: collection of BatchNorm's moving-average
      updates; None updates them in place.
    normalizer_fn: applied after each convolution (None: biases instead).

  Returns:
    The arg scope to build the network under.
  """
  batch_norm_params = {
      'center': True,
      'scale': True,
      'decay': batch_norm_decay,
      'epsilon': batch_norm_epsilon,
      'updates_collections': batch_norm_updates_collections,
  }
  if is_training is not None:
    batch_norm_params['is_training'] = is_training
  regularizer = slim.l2_regularizer(weight_decay)
  with slim.arg_scope(
      [slim.conv2d, slim.separable_conv2d],
      weights_initializer=tf.truncated_normal_initializer(stddev=stddev),
      activation_fn=tf.nn.relu6, normalizer_fn=normalizer_fn):
    with slim.arg_scope([slim.batch_norm], **batch_norm_params):
      with slim.arg_scope([slim.conv2d], weights_regularizer=regularizer):
        with slim.arg_scope(
            [slim.separable_conv2d],
            weights_regularizer=regularizer if regularize_depthwise else None
        ) as scope:
          return scope
