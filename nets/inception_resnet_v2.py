"""Inception-ResNet-v2 (Szegedy et al. 2016, "Inception-v4, Inception-ResNet
and the Impact of Residual Connections on Learning", arXiv:1602.07261), as
in slim's `inception_resnet_v2_2016_08_30` checkpoint (1001 classes,
background first, 299x299, inception preprocessing).

A v3-style stem, then residual Inception blocks at three resolutions
(10 x block35, 20 x block17, 9 + 1 x block8) separated by grid reductions.
Each block adds its 1x1-projected, down-scaled (0.17 / 0.10 / 0.20) branch
output to its input, which keeps the deep stack trainable.

`output_stride=8` keeps Mixed_6a at stride 1 and dilates the 17x17 blocks
(rate 2), for dense prediction up to PreAuxLogits; `align_feature_maps`
makes every VALID padding SAME, so feature maps align with the input grid.
"""

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import inception_utils as iu
from nets.inception_utils import avg_pool, conv, max_pool

_MIXED_5B = [
    [conv('Conv2d_1x1', 96, [1, 1])],
    [conv('Conv2d_0a_1x1', 48, [1, 1]), conv('Conv2d_0b_5x5', 64, [5, 5])],
    [conv('Conv2d_0a_1x1', 64, [1, 1]), conv('Conv2d_0b_3x3', 96, [3, 3]),
     conv('Conv2d_0c_3x3', 96, [3, 3])],
    [avg_pool('AvgPool_0a_3x3', [3, 3]), conv('Conv2d_0b_1x1', 64, [1, 1])],
]

# Branches of the residual blocks, before their 1x1 projection.
_BLOCK35 = [
    [conv('Conv2d_1x1', 32, [1, 1])],
    [conv('Conv2d_0a_1x1', 32, [1, 1]), conv('Conv2d_0b_3x3', 32, [3, 3])],
    [conv('Conv2d_0a_1x1', 32, [1, 1]), conv('Conv2d_0b_3x3', 48, [3, 3]),
     conv('Conv2d_0c_3x3', 64, [3, 3])],
]

_BLOCK17 = [
    [conv('Conv2d_1x1', 192, [1, 1])],
    [conv('Conv2d_0a_1x1', 128, [1, 1]), conv('Conv2d_0b_1x7', 160, [1, 7]),
     conv('Conv2d_0c_7x1', 192, [7, 1])],
]

_BLOCK8 = [
    [conv('Conv2d_1x1', 192, [1, 1])],
    [conv('Conv2d_0a_1x1', 192, [1, 1]), conv('Conv2d_0b_1x3', 224, [1, 3]),
     conv('Conv2d_0c_3x1', 256, [3, 1])],
]

_AUX_HEAD = iu.AuxHead(pool_name='Conv2d_1a_3x3', conv_name='Conv2d_2a_5x5',
                       conv_kernel=None, conv_stddev=None,
                       logits_name='Logits', logits_stddev=None,
                       logits_as_conv=False)


def _stem(padding):
  return [
      conv('Conv2d_1a_3x3', 32, [3, 3], stride=2, padding=padding),
      conv('Conv2d_2a_3x3', 32, [3, 3], padding=padding),
      conv('Conv2d_2b_3x3', 64, [3, 3]),
      max_pool('MaxPool_3a_3x3', [3, 3], stride=2, padding=padding),
      conv('Conv2d_3b_1x1', 80, [1, 1], padding=padding),
      conv('Conv2d_4a_3x3', 192, [3, 3], padding=padding),
      max_pool('MaxPool_5a_3x3', [3, 3], stride=2, padding=padding),
  ]


def _mixed_6a(padding, stride):
  return iu.Mixed('Mixed_6a', [
      [conv('Conv2d_1a_3x3', 384, [3, 3], stride=stride, padding=padding)],
      [conv('Conv2d_0a_1x1', 256, [1, 1]), conv('Conv2d_0b_3x3', 256, [3, 3]),
       conv('Conv2d_1a_3x3', 384, [3, 3], stride=stride, padding=padding)],
      [max_pool('MaxPool_1a_3x3', [3, 3], stride=stride, padding=padding)],
  ])


def _mixed_7a(padding):
  return iu.Mixed('Mixed_7a', [
      [conv('Conv2d_0a_1x1', 256, [1, 1]),
       conv('Conv2d_1a_3x3', 384, [3, 3], stride=2, padding=padding)],
      [conv('Conv2d_0a_1x1', 256, [1, 1]),
       conv('Conv2d_1a_3x3', 288, [3, 3], stride=2, padding=padding)],
      [conv('Conv2d_0a_1x1', 256, [1, 1]), conv('Conv2d_0b_3x3', 288, [3, 3]),
       conv('Conv2d_1a_3x3', 320, [3, 3], stride=2, padding=padding)],
      [max_pool('MaxPool_1a_3x3', [3, 3], stride=2, padding=padding)],
  ])


def _residual_block(net, branches, scale, activation_fn, scope, default_name,
                    reuse):
  """net + scale * project(concat(branches(net))), then `activation_fn`."""
  with tf.variable_scope(scope, default_name, [net], reuse=reuse):
    mixed = iu.apply_branches(net, branches)
    update = scale * slim.conv2d(mixed, net.shape.as_list()[3], [1, 1],
                                 normalizer_fn=None, activation_fn=None,
                                 scope='Conv2d_1x1')
    if activation_fn == tf.nn.relu6:
      # Keeps the residual inside ReLU6's band, as the sum will be.
      update = tf.clip_by_value(update, -6.0, 6.0)
    net += update
    if activation_fn:
      net = activation_fn(net)
  return net


def block35(net, scale=1.0, activation_fn=tf.nn.relu, scope=None, reuse=None):
  """The 35x35 residual block (Inception-ResNet-A), 320 channels."""
  return _residual_block(net, _BLOCK35, scale, activation_fn, scope,
                         'Block35', reuse)


def block17(net, scale=1.0, activation_fn=tf.nn.relu, scope=None, reuse=None):
  """The 17x17 residual block (Inception-ResNet-B), 1088 channels."""
  return _residual_block(net, _BLOCK17, scale, activation_fn, scope,
                         'Block17', reuse)


def block8(net, scale=1.0, activation_fn=tf.nn.relu, scope=None, reuse=None):
  """The 8x8 residual block (Inception-ResNet-C), 2080 channels."""
  return _residual_block(net, _BLOCK8, scale, activation_fn, scope, 'Block8',
                         reuse)


def _stack(block, count, scale, activation_fn, scope, rate=1):
  """A stage applying `count` x `block` in `scope`, as `<block>_<i>`.

  The checkpoint names the three stacks Repeat, Repeat_1 and Repeat_2; we
  spell them out rather than rely on slim.repeat's scope counting.
  """
  def stack(net):
    with tf.variable_scope(scope), slim.arg_scope([slim.conv2d], rate=rate):
      for index in range(1, count + 1):
        net = block(net, scale=scale, activation_fn=activation_fn,
                    scope='%s_%d' % (block.__name__, index))
    return net
  return stack


def _stages(output_stride, padding, activation_fn):
  atrous = output_stride == 8
  return _stem(padding) + [
      iu.Mixed('Mixed_5b', _MIXED_5B),
      iu.call(None, _stack(block35, 10, 0.17, activation_fn, 'Repeat')),
      _mixed_6a(padding, stride=1 if atrous else 2),
      iu.call('PreAuxLogits', _stack(block17, 20, 0.10, activation_fn,
                                     'Repeat_1', rate=2 if atrous else 1)),
      _mixed_7a(padding),
      iu.call(None, _stack(block8, 9, 0.20, activation_fn, 'Repeat_2')),
      # The last block is linear: Conv2d_7b_1x1 normalises and activates.
      iu.call(None, lambda net: block8(net, activation_fn=None,
                                       scope='Block8')),
      conv('Conv2d_7b_1x1', 1536, [1, 1]),
  ]


def _check_output_stride(output_stride, stages, final_endpoint):
  if output_stride not in (8, 16):
    raise ValueError('output_stride must be 8 or 16.')
  names = iu.stage_names(stages)
  beyond = names[names.index('PreAuxLogits') + 1:]
  if output_stride == 8 and final_endpoint in beyond:
    raise ValueError('output_stride=8 is only supported up to the '
                     'PreAuxLogits end point, not %r.' % final_endpoint)


def inception_resnet_v2_base(inputs, final_endpoint='Conv2d_7b_1x1',
                             output_stride=16, align_feature_maps=False,
                             scope=None, activation_fn=tf.nn.relu):
  """The convolutional trunk up to `final_endpoint`.

  Args:
    inputs: float32 [batch, height, width, channels].
    final_endpoint: the last stage built, one of Conv2d_1a_3x3,
      Conv2d_2a_3x3, Conv2d_2b_3x3, MaxPool_3a_3x3, Conv2d_3b_1x1,
      Conv2d_4a_3x3, MaxPool_5a_3x3, Mixed_5b, Mixed_6a, PreAuxLogits (the
      17x17 blocks' output, input of the auxiliary head), Mixed_7a,
      Conv2d_7b_1x1.
    output_stride: 16, or 8 (atrous 17x17 blocks; final_endpoint at most
      PreAuxLogits).
    align_feature_maps: SAME instead of VALID padding everywhere.
    scope: variable scope (default: a new 'InceptionResnetV2' one).
    activation_fn: activation after each residual block.

  Returns:
    (net, end_points): the `final_endpoint` tensor and every stage so far.

  Raises:
    ValueError: for an unknown `final_endpoint`, an output_stride other than
      8 or 16, or output_stride 8 with an end point after PreAuxLogits.
  """
  stages = _stages(output_stride, 'SAME' if align_feature_maps else 'VALID',
                   activation_fn)
  _check_output_stride(output_stride, stages, final_endpoint)
  with iu.trunk_scope(scope, 'InceptionResnetV2', inputs):
    return iu.build_trunk(inputs, stages, final_endpoint)


def inception_resnet_v2(inputs, num_classes=1001, is_training=True,
                        dropout_keep_prob=0.8, reuse=None,
                        scope='InceptionResnetV2', create_aux_logits=True,
                        activation_fn=tf.nn.relu):
  """Inception-ResNet-v2 classifier.

  Args:
    inputs: float32 [batch, height, width, 3]; 299x299 for the checkpoint
      (at least 75x75; unknown height and width need
      create_aux_logits=False).
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
  with iu.classifier_scope(scope, 'InceptionResnetV2', inputs, reuse,
                           is_training) as sc:
    net, end_points = inception_resnet_v2_base(
        inputs, scope=sc, activation_fn=activation_fn)
    if num_classes and create_aux_logits:
      end_points['AuxLogits'] = iu.aux_logits(end_points['PreAuxLogits'],
                                              num_classes, _AUX_HEAD)
    return iu.fc_logits(net, end_points, num_classes, dropout_keep_prob,
                        pool_name='AvgPool_1a_8x8', dropout_name='Dropout')


inception_resnet_v2.default_image_size = 299


def inception_resnet_v2_arg_scope(
    weight_decay=0.00004, batch_norm_decay=0.9997, batch_norm_epsilon=0.001,
    activation_fn=tf.nn.relu,
    batch_norm_updates_collections=tf.GraphKeys.UPDATE_OPS,
    batch_norm_scale=False):
  """Arg scope of Inception-ResNet-v2.

  Unlike `inception_arg_scope`, biases are L2-regularised too and the
  weights keep slim's default (Glorot) initialiser, as the checkpoint was
  trained.
  """
  regularizer = slim.l2_regularizer(weight_decay)
  with slim.arg_scope([slim.conv2d, slim.fully_connected],
                      weights_regularizer=regularizer,
                      biases_regularizer=regularizer):
    with slim.arg_scope(
        [slim.conv2d], activation_fn=activation_fn,
        normalizer_fn=slim.batch_norm,
        normalizer_params=iu.batch_norm_params(
            batch_norm_decay, batch_norm_epsilon,
            batch_norm_updates_collections, batch_norm_scale)) as scope:
      return scope
