"""Inception v1 / GoogLeNet (Szegedy et al. 2014, "Going Deeper with
Convolutions"), with BatchNorm as in slim's `inception_v1_2016_08_28`
checkpoint (1001 classes, background first, inception preprocessing).

Each Inception module has four branches: 1x1; 1x1 -> 3x3; 1x1 -> 3x3 (the
paper's 5x5, replaced by a 3x3 in this implementation); 3x3 max pool -> 1x1.
The paper's auxiliary classifiers are not part of the checkpoint.
"""

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import inception_utils as iu

inception_v1_arg_scope = iu.inception_arg_scope


def _module(name, b0, b1, b2, b3, b2_second_name='Conv2d_0b_3x3'):
  """Inception module; the depths are Table 1's #1x1, #3x3 reduce/#3x3,
  #5x5 reduce/#5x5 and pool proj."""
  return iu.Mixed(name, [
      [iu.conv('Conv2d_0a_1x1', b0, [1, 1])],
      [iu.conv('Conv2d_0a_1x1', b1[0], [1, 1]),
       iu.conv('Conv2d_0b_3x3', b1[1], [3, 3])],
      [iu.conv('Conv2d_0a_1x1', b2[0], [1, 1]),
       iu.conv(b2_second_name, b2[1], [3, 3])],
      [iu.max_pool('MaxPool_0a_3x3', [3, 3]),
       iu.conv('Conv2d_0b_1x1', b3, [1, 1])],
  ])


_STAGES = [
    iu.conv('Conv2d_1a_7x7', 64, [7, 7], stride=2),
    iu.max_pool('MaxPool_2a_3x3', [3, 3], stride=2),
    iu.conv('Conv2d_2b_1x1', 64, [1, 1]),
    iu.conv('Conv2d_2c_3x3', 192, [3, 3]),
    iu.max_pool('MaxPool_3a_3x3', [3, 3], stride=2),
    _module('Mixed_3b', 64, (96, 128), (16, 32), 32),
    _module('Mixed_3c', 128, (128, 192), (32, 96), 64),
    iu.max_pool('MaxPool_4a_3x3', [3, 3], stride=2),
    _module('Mixed_4b', 192, (96, 208), (16, 48), 64),
    _module('Mixed_4c', 160, (112, 224), (24, 64), 64),
    _module('Mixed_4d', 128, (128, 256), (24, 64), 64),
    _module('Mixed_4e', 112, (144, 288), (32, 64), 64),
    _module('Mixed_4f', 256, (160, 320), (32, 128), 128),
    iu.max_pool('MaxPool_5a_2x2', [2, 2], stride=2),
    # The released checkpoint names this layer 0a, not 0b.
    _module('Mixed_5b', 256, (160, 320), (32, 128), 128,
            b2_second_name='Conv2d_0a_3x3'),
    _module('Mixed_5c', 384, (192, 384), (48, 128), 128),
]


def inception_v1_base(inputs, final_endpoint='Mixed_5c', scope='InceptionV1'):
  """The convolutional trunk up to `final_endpoint`.

  Returns:
    (net, end_points).
  """
  with tf.variable_scope(scope, 'InceptionV1', [inputs]):
    with slim.arg_scope([slim.conv2d, slim.max_pool2d, slim.avg_pool2d],
                        stride=1, padding='SAME'):
      return iu.build_trunk(inputs, _STAGES, final_endpoint)


def inception_v1(inputs, num_classes=1001, is_training=True,
                 dropout_keep_prob=0.8, prediction_fn=slim.softmax,
                 spatial_squeeze=True, reuse=None, scope='InceptionV1',
                 global_pool=False):
  """Inception v1 classifier.

  Args:
    inputs: float32 [batch, height, width, 3]; 224x224 for the checkpoint.
    num_classes: number of classes; 0 or None returns the pooled 1024-d
      features (AvgPool_0a_7x7) instead of logits.
    is_training: BatchNorm uses batch statistics and dropout is active.
    dropout_keep_prob: fraction of pooled features kept while training.
    prediction_fn: turns logits into `end_points['Predictions']`.
    spatial_squeeze: squeeze logits to [batch, num_classes].
    reuse: whether to reuse the variables of `scope`.
    scope: variable scope of every variable.
    global_pool: average the whole final map instead of a 7x7 window.

  Returns:
    (logits, end_points).
  """
  with tf.variable_scope(scope, 'InceptionV1', [inputs], reuse=reuse) as sc:
    with slim.arg_scope([slim.batch_norm, slim.dropout],
                        is_training=is_training):
      net, end_points = inception_v1_base(inputs, scope=sc)
      with tf.variable_scope('Logits'):
        if global_pool:
          net = iu.global_average_pool(net, 'global_pool')
        else:
          net = slim.avg_pool2d(net, iu.reduced_kernel_size(net, 7),
                                padding='VALID', scope='AvgPool_0a_7x7')
        end_points['AvgPool_0a_7x7'] = net
        if not num_classes:
          return net, end_points
        net = slim.dropout(net, dropout_keep_prob, scope='Dropout_0b')
        logits = slim.conv2d(net, num_classes, [1, 1], activation_fn=None,
                             normalizer_fn=None, scope='Conv2d_0c_1x1')
        if spatial_squeeze:
          logits = tf.squeeze(logits, [1, 2], name='SpatialSqueeze')
      end_points['Logits'] = logits
      end_points['Predictions'] = prediction_fn(logits, scope='Predictions')
  return logits, end_points


inception_v1.default_image_size = 224
