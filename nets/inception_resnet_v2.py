"""Inception-ResNet-v2 (Szegedy et al. 2016, "Inception-v4, Inception-ResNet
and the Impact of Residual Connections on Learning"), as in slim's
`inception_resnet_v2_2016_08_30` checkpoint (1001 classes, background first,
299x299, inception preprocessing).

A v3-style stem, then residual Inception blocks at three resolutions
(10 x block35, 20 x block17, 9 + 1 x block8) separated by grid reductions.
Each block adds its 1x1-projected, down-scaled (0.17 / 0.10 / 0.20) branch
output to its input, which keeps the deep stack trainable.
"""

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import inception_utils as iu
from nets.inception_utils import avg_pool, conv, max_pool

inception_resnet_v2_arg_scope = iu.inception_arg_scope

_STEM = [
    conv('Conv2d_1a_3x3', 32, [3, 3], stride=2, padding='VALID'),
    conv('Conv2d_2a_3x3', 32, [3, 3], padding='VALID'),
    conv('Conv2d_2b_3x3', 64, [3, 3]),
    max_pool('MaxPool_3a_3x3', [3, 3], stride=2, padding='VALID'),
    conv('Conv2d_3b_1x1', 80, [1, 1], padding='VALID'),
    conv('Conv2d_4a_3x3', 192, [3, 3], padding='VALID'),
    max_pool('MaxPool_5a_3x3', [3, 3], stride=2, padding='VALID'),
    iu.Mixed('Mixed_5b', [
        [conv('Conv2d_1x1', 96, [1, 1])],
        [conv('Conv2d_0a_1x1', 48, [1, 1]), conv('Conv2d_0b_5x5', 64, [5, 5])],
        [conv('Conv2d_0a_1x1', 64, [1, 1]), conv('Conv2d_0b_3x3', 96, [3, 3]),
         conv('Conv2d_0c_3x3', 96, [3, 3])],
        [avg_pool('AvgPool_0a_3x3', [3, 3]),
         conv('Conv2d_0b_1x1', 64, [1, 1])],
    ]),
]

_BLOCK35 = [
    [conv('Conv2d_1x1', 32, [1, 1])],
    [conv('Conv2d_0a_1x1', 32, [1, 1]), conv('Conv2d_0b_3x3', 32, [3, 3])],
    [conv('Conv2d_0a_1x1', 32, [1, 1]), conv('Conv2d_0b_3x3', 48, [3, 3]),
     conv('Conv2d_0c_3x3', 64, [3, 3])],
]

_MIXED_6A = iu.Mixed('Mixed_6a', [
    [conv('Conv2d_1a_3x3', 384, [3, 3], stride=2, padding='VALID')],
    [conv('Conv2d_0a_1x1', 256, [1, 1]), conv('Conv2d_0b_3x3', 256, [3, 3]),
     conv('Conv2d_1a_3x3', 384, [3, 3], stride=2, padding='VALID')],
    [max_pool('MaxPool_1a_3x3', [3, 3], stride=2, padding='VALID')],
])

_BLOCK17 = [
    [conv('Conv2d_1x1', 192, [1, 1])],
    [conv('Conv2d_0a_1x1', 128, [1, 1]), conv('Conv2d_0b_1x7', 160, [1, 7]),
     conv('Conv2d_0c_7x1', 192, [7, 1])],
]

_MIXED_7A = iu.Mixed('Mixed_7a', [
    [conv('Conv2d_0a_1x1', 256, [1, 1]),
     conv('Conv2d_1a_3x3', 384, [3, 3], stride=2, padding='VALID')],
    [conv('Conv2d_0a_1x1', 256, [1, 1]),
     conv('Conv2d_1a_3x3', 288, [3, 3], stride=2, padding='VALID')],
    [conv('Conv2d_0a_1x1', 256, [1, 1]), conv('Conv2d_0b_3x3', 288, [3, 3]),
     conv('Conv2d_1a_3x3', 320, [3, 3], stride=2, padding='VALID')],
    [max_pool('MaxPool_1a_3x3', [3, 3], stride=2, padding='VALID')],
])

_BLOCK8 = [
    [conv('Conv2d_1x1', 192, [1, 1])],
    [conv('Conv2d_0a_1x1', 192, [1, 1]), conv('Conv2d_0b_1x3', 224, [1, 3]),
     conv('Conv2d_0c_3x1', 256, [3, 1])],
]


def residual_block(net, branches, scale, activation_fn, scope):
  """net + scale * project(concat(branches(net))), then `activation_fn`."""
  with tf.variable_scope(scope, values=[net]):
    mixed = iu.apply_branches(net, branches)
    update = slim.conv2d(mixed, net.shape.as_list()[3], [1, 1],
                         normalizer_fn=None, activation_fn=None,
                         scope='Conv2d_1x1')
    net += scale * update
    if activation_fn:
      net = activation_fn(net)
  return net


def _repeat(net, count, branches, scale, activation_fn, scope, block_name):
  with tf.variable_scope(scope):
    for index in range(1, count + 1):
      net = residual_block(net, branches, scale, activation_fn,
                           '%s_%d' % (block_name, index))
  return net


def inception_resnet_v2_base(inputs, activation_fn=tf.nn.relu, scope=None):
  """The convolutional trunk up to Conv2d_7b_1x1; returns (net, end_points).

  end_points also holds 'PreAuxLogits', the 17x17 input of the auxiliary head.
  """
  with tf.variable_scope(scope, 'InceptionResnetV2', [inputs]):
    with slim.arg_scope([slim.conv2d, slim.max_pool2d, slim.avg_pool2d],
                        stride=1, padding='SAME'):
      net, end_points = iu.build_trunk(inputs, _STEM)
      net = _repeat(net, 10, _BLOCK35, 0.17, activation_fn, 'Repeat',
                    'block35')
      net, _ = iu.build_trunk(net, [_MIXED_6A], end_points=end_points)
      net = _repeat(net, 20, _BLOCK17, 0.10, activation_fn, 'Repeat_1',
                    'block17')
      end_points['PreAuxLogits'] = net
      net, _ = iu.build_trunk(net, [_MIXED_7A], end_points=end_points)
      net = _repeat(net, 9, _BLOCK8, 0.20, activation_fn, 'Repeat_2', 'block8')
      # The last block is linear: Conv2d_7b_1x1 normalises and activates.
      net = residual_block(net, _BLOCK8, 1.0, None, 'Block8')
      net = end_points['Conv2d_7b_1x1'] = slim.conv2d(
          net, 1536, [1, 1], scope='Conv2d_7b_1x1')
  return net, end_points


def inception_resnet_v2(inputs, num_classes=1001, is_training=True,
                        dropout_keep_prob=0.8, reuse=None,
                        scope='InceptionResnetV2', create_aux_logits=True,
                        activation_fn=tf.nn.relu):
  """Inception-ResNet-v2 classifier.

  Args:
    inputs: float32 [batch, height, width, 3]; 299x299 for the checkpoint
      (at least 75x75).
    num_classes: number of classes; 0 or None returns the globally pooled
      1536-d features [batch, 1, 1, 1536] and builds no auxiliary head.
    is_training: BatchNorm uses batch statistics and dropout is active.
    dropout_keep_prob: fraction of pooled features kept while training.
    reuse: whether to reuse the variables of `scope`.
    scope: variable scope of every variable.
    create_aux_logits: build the auxiliary classifier (end point AuxLogits).
    activation_fn: activation after each residual block.

  Returns:
    (logits, end_points).
  """
  with tf.variable_scope(scope, 'InceptionResnetV2', [inputs],
                         reuse=reuse) as sc:
    with slim.arg_scope([slim.batch_norm, slim.dropout],
                        is_training=is_training):
      net, end_points = inception_resnet_v2_base(
          inputs, activation_fn=activation_fn, scope=sc)
      with slim.arg_scope([slim.conv2d, slim.max_pool2d, slim.avg_pool2d],
                          stride=1, padding='SAME'):
        if num_classes and create_aux_logits:
          end_points['AuxLogits'] = iu.aux_logits(
              end_points['PreAuxLogits'], num_classes,
              conv_name='Conv2d_2a_5x5', logits_name='Logits',
              logits_as_conv=False)
      with tf.variable_scope('Logits'):
        net = end_points['global_pool'] = iu.global_average_pool(
            net, 'AvgPool_1a_8x8')
        if not num_classes:
          return net, end_points
        net = end_points['PreLogitsFlatten'] = slim.flatten(net)
        net = slim.dropout(net, dropout_keep_prob, scope='Dropout')
        logits = slim.fully_connected(net, num_classes, activation_fn=None,
                                      scope='Logits')
      end_points['Logits'] = logits
      end_points['Predictions'] = tf.nn.softmax(logits, name='Predictions')
  return logits, end_points


inception_resnet_v2.default_image_size = 299
