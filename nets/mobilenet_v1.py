"""MobileNet v1 (Howard et al. 2017, "MobileNets").

A stride-2 3x3 convolution followed by 13 depthwise-separable blocks (a 3x3
depthwise convolution and a 1x1 pointwise convolution, each with BatchNorm and
ReLU6), global average pooling and a 1x1 convolution classifier. Names follow
the released `mobilenet_v1_1.0_224` checkpoint
(`MobilenetV1/Conv2d_3_pointwise`,
`MobilenetV1/Logits/Conv2d_1c_1x1`), which has 1001 classes (background first)
and expects inception preprocessing (pixels scaled to [-1, 1]).
"""

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import inception_utils

# (stride, output depth) of Conv2d_1 ... Conv2d_13, from Table 1 of the paper.
_SEPARABLE_BLOCKS = (
    (1, 64), (2, 128), (1, 128), (2, 256), (1, 256), (2, 512),
    (1, 512), (1, 512), (1, 512), (1, 512), (1, 512),
    (2, 1024), (1, 1024),
)


def mobilenet_v1_base(inputs, depth_multiplier=1.0, min_depth=8,
                      final_endpoint='Conv2d_13_pointwise', scope=None):
  """The convolutional trunk, up to and including `final_endpoint`.

  Returns:
    (net, end_points) where end_points maps 'Conv2d_0', 'Conv2d_<i>_depthwise'
    and 'Conv2d_<i>_pointwise' to their activations.

  Raises:
    ValueError: if depth_multiplier <= 0 or final_endpoint is unknown.
  """
  if depth_multiplier <= 0:
    raise ValueError('depth_multiplier must be > 0, got %r' % depth_multiplier)

  def depth(channels):
    return max(int(channels * depth_multiplier), min_depth)

  end_points = {}
  with tf.variable_scope(scope, 'MobilenetV1', [inputs]):
    with slim.arg_scope([slim.conv2d, slim.separable_conv2d], padding='SAME'):
      net = end_points['Conv2d_0'] = slim.conv2d(
          inputs, depth(32), [3, 3], stride=2, scope='Conv2d_0')
      if final_endpoint == 'Conv2d_0':
        return net, end_points
      for index, (stride, channels) in enumerate(_SEPARABLE_BLOCKS, start=1):
        name = 'Conv2d_%d_depthwise' % index
        # num_outputs=None makes separable_conv2d a pure depthwise convolution.
        net = end_points[name] = slim.separable_conv2d(
            net, None, [3, 3], depth_multiplier=1, stride=stride, scope=name)
        if final_endpoint == name:
          return net, end_points
        name = 'Conv2d_%d_pointwise' % index
        net = end_points[name] = slim.conv2d(net, depth(channels), [1, 1],
                                             stride=1, scope=name)
        if final_endpoint == name:
          return net, end_points
  raise ValueError('Unknown final_endpoint %r' % final_endpoint)


def mobilenet_v1(inputs, num_classes=1001, is_training=True,
                 dropout_keep_prob=0.999, depth_multiplier=1.0, min_depth=8,
                 prediction_fn=slim.softmax, spatial_squeeze=True,
                 reuse=None, scope='MobilenetV1', global_pool=False):
  """MobileNet v1 classifier.

  Args:
    inputs: float32 [batch, height, width, 3]; 224x224 for the checkpoint.
    num_classes: number of classes; 0 or None returns the pooled 1024-d
      features (AvgPool_1a) instead of logits.
    is_training: BatchNorm uses batch statistics and dropout is active.
    dropout_keep_prob: fraction of pooled features kept while training.
    depth_multiplier: scales every layer's width (1.0 = the checkpoint).
    min_depth: smallest width a layer is scaled down to.
    prediction_fn: turns logits into `end_points['Predictions']`.
    spatial_squeeze: squeeze logits to [batch, num_classes].
    reuse: whether to reuse the variables of `scope`.
    scope: variable scope of every variable.
    global_pool: average the whole final map instead of a 7x7 window.

  Returns:
    (logits, end_points).
  """
  if len(inputs.shape) != 4:
    raise ValueError('mobilenet_v1 expects [batch, height, width, channels] '
                     'images, got shape %s' % inputs.shape)
  with tf.variable_scope(scope, 'MobilenetV1', [inputs], reuse=reuse) as sc:
    with slim.arg_scope([slim.batch_norm, slim.dropout],
                        is_training=is_training):
      net, end_points = mobilenet_v1_base(
          inputs, depth_multiplier=depth_multiplier, min_depth=min_depth,
          scope=sc)
      with tf.variable_scope('Logits'):
        if global_pool:
          net = end_points['global_pool'] = inception_utils.global_average_pool(
              net, 'global_pool')
        else:
          net = end_points['AvgPool_1a'] = slim.avg_pool2d(
              net, inception_utils.reduced_kernel_size(net, 7),
              padding='VALID', scope='AvgPool_1a')
        if not num_classes:
          return net, end_points
        net = slim.dropout(net, keep_prob=dropout_keep_prob, scope='Dropout_1b')
        logits = slim.conv2d(net, num_classes, [1, 1], activation_fn=None,
                             normalizer_fn=None, scope='Conv2d_1c_1x1')
        if spatial_squeeze:
          logits = tf.squeeze(logits, [1, 2], name='SpatialSqueeze')
      end_points['Logits'] = logits
      end_points['Predictions'] = prediction_fn(logits, scope='Predictions')
  return logits, end_points


mobilenet_v1.default_image_size = 224


def mobilenet_v1_arg_scope(weight_decay=0.00004, stddev=0.09,
                           regularize_depthwise=False,
                           batch_norm_decay=0.9997, batch_norm_epsilon=0.001):
  """BatchNorm (with gamma) + ReLU6 on every convolution, L2 on pointwise ones.

  Depthwise filters hold only 9 weights per channel, so they are not decayed
  unless `regularize_depthwise` is set (as in the paper).
  """
  depthwise_regularizer = (slim.l2_regularizer(weight_decay)
                           if regularize_depthwise else None)
  batch_norm_params = {
      'center': True,
      'scale': True,
      'decay': batch_norm_decay,
      'epsilon': batch_norm_epsilon,
  }
  with slim.arg_scope(
      [slim.conv2d, slim.separable_conv2d],
      weights_initializer=tf.truncated_normal_initializer(stddev=stddev),
      activation_fn=tf.nn.relu6, normalizer_fn=slim.batch_norm):
    with slim.arg_scope([slim.batch_norm], **batch_norm_params):
      with slim.arg_scope([slim.conv2d],
                          weights_regularizer=slim.l2_regularizer(
                              weight_decay)):
        with slim.arg_scope([slim.separable_conv2d],
                            weights_regularizer=depthwise_regularizer) as scope:
          return scope
