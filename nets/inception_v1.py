"""Inception v1 / GoogLeNet (Szegedy et al. 2014, "Going Deeper with
Convolutions", arXiv:1409.4842), with BatchNorm as in slim's
`inception_v1_2016_08_28` checkpoint (1001 classes, background first,
inception preprocessing).

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


# The stem before the first Inception module, left out when
# include_root_block=False (callers feeding their own 192-channel features).
_ROOT_BLOCK_SIZE = iu.stage_names(_STAGES).index('Mixed_3b')

_HEAD = iu.ConvHead(pool_kernel=7, pool_stride=1,
                    pool_name='AvgPool_0a_7x7',
                    pool_end_point='AvgPool_0a_7x7',
                    global_pool_name='global_pool', dropout_name='Dropout_0b',
                    pre_logits_end_point=None, logits_name='Conv2d_0c_1x1',
                    predictions_in_logits_scope=True)


def inception_v1_base(inputs, final_endpoint='Mixed_5c',
                      include_root_block=True, scope='InceptionV1'):
  """The convolutional trunk up to `final_endpoint`.

  Args:
    inputs: float32 [batch, height, width, channels].
    final_endpoint: the last stage built, one of Conv2d_1a_7x7,
      MaxPool_2a_3x3, Conv2d_2b_1x1, Conv2d_2c_3x3, MaxPool_3a_3x3 (these five
      only with the root block), Mixed_3b, Mixed_3c, MaxPool_4a_3x3, Mixed_4b
      ... Mixed_4f, MaxPool_5a_2x2, Mixed_5b, Mixed_5c.
    include_root_block: build the stem (convolutions and max pools before
      Mixed_3b); without it `inputs` go straight into Mixed_3b.
    scope: variable scope.

  Returns:
    (net, end_points): the `final_endpoint` tensor and every stage so far.

  Raises:
    ValueError: if `final_endpoint` is not one of the stages built.
  """
  stages = _STAGES if include_root_block else _STAGES[_ROOT_BLOCK_SIZE:]
  with tf.variable_scope(scope, 'InceptionV1', [inputs]):
    # The checkpoint was trained from a N(0, 0.01) start, not the arg scope's.
    with slim.arg_scope([slim.conv2d, slim.fully_connected],
                        weights_initializer=tf.truncated_normal_initializer(
                            stddev=0.01)):
      with slim.arg_scope([slim.conv2d, slim.max_pool2d],
                          stride=1, padding='SAME'):
        return iu.build_trunk(inputs, stages, final_endpoint)


def inception_v1(inputs, num_classes=1000, is_training=True,
                 dropout_keep_prob=0.8, prediction_fn=slim.softmax,
                 spatial_squeeze=True, reuse=None, scope='InceptionV1',
                 global_pool=False):
  """Inception v1 classifier.

  Args:
    inputs: float32 [batch, height, width, 3]; 224x224 for the checkpoint.
    num_classes: number of classes (the checkpoint has 1001); 0 or None
      returns the pooled 1024-d features (AvgPool_0a_7x7, or global_pool)
      instead of logits.
    is_training: BatchNorm uses batch statistics and dropout is active.
    dropout_keep_prob: fraction of pooled features kept while training.
    prediction_fn: turns logits into `end_points['Predictions']`.
    spatial_squeeze: squeeze logits to [batch, num_classes] (else
      [batch, 1, 1, num_classes]).
    reuse: whether to reuse the variables of `scope`.
    scope: variable scope of every variable.
    global_pool: average the whole final map (end point 'global_pool')
      instead of a 7x7 window, so any input size gives one prediction.

  Returns:
    (logits, end_points).
  """
  with iu.classifier_scope(scope, 'InceptionV1', inputs, reuse,
                           is_training) as sc:
    net, end_points = inception_v1_base(inputs, scope=sc)
    return iu.conv_logits(net, end_points, _HEAD, num_classes, global_pool,
                          dropout_keep_prob, spatial_squeeze, prediction_fn)


inception_v1.default_image_size = 224
