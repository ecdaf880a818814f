"""ResNet v1 (He et al. 2015, "Deep Residual Learning"), 50 and 101 layers.

Post-activation bottleneck units: 1x1 -> 3x3 -> 1x1 convolutions, each with
BatchNorm, added to the shortcut and then passed through ReLU. Variable names
follow the released `resnet_v1_{50,101}_2016_08_28` checkpoints (1000 classes,
VGG preprocessing).
"""

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import resnet_utils

resnet_arg_scope = resnet_utils.resnet_arg_scope


def bottleneck(inputs, depth, depth_bottleneck, stride, rate=1,
               outputs_collections=None, scope='bottleneck_v1'):
  """One v1 bottleneck unit; the stride is taken by the 3x3 convolution."""
  with tf.variable_scope(scope, values=[inputs]) as sc:
    depth_in = inputs.shape.as_list()[-1]
    if depth == depth_in:
      shortcut = resnet_utils.subsample(inputs, stride, 'shortcut')
    else:
      shortcut = slim.conv2d(inputs, depth, [1, 1], stride=stride,
                             activation_fn=None, scope='shortcut')
    residual = slim.conv2d(inputs, depth_bottleneck, [1, 1], scope='conv1')
    residual = resnet_utils.conv2d_same(residual, depth_bottleneck, 3, stride,
                                        rate=rate, scope='conv2')
    residual = slim.conv2d(residual, depth, [1, 1], activation_fn=None,
                           scope='conv3')
    output = tf.nn.relu(shortcut + residual)
    return slim.utils.collect_named_outputs(outputs_collections, sc.name,
                                            output)


def _resnet_v1(inputs, units_per_block, num_classes, is_training, global_pool,
               output_stride, spatial_squeeze, reuse, scope):
  return resnet_utils.resnet(
      inputs, resnet_utils.standard_blocks(units_per_block), bottleneck,
      preactivation=False, num_classes=num_classes, is_training=is_training,
      global_pool=global_pool, output_stride=output_stride,
      spatial_squeeze=spatial_squeeze, reuse=reuse, scope=scope)


def resnet_v1_50(inputs, num_classes=1000, is_training=True, global_pool=True,
                 output_stride=None, spatial_squeeze=True, reuse=None,
                 scope='resnet_v1_50', dropout_keep_prob=None):
  """ResNet-50 v1 (3, 4, 6, 3 units); see `resnet_utils.resnet` for args.

  `dropout_keep_prob` is accepted for the common network signature and
  ignored: ResNets have no dropout.
  """
  return _resnet_v1(inputs, (3, 4, 6, 3), num_classes, is_training,
                    global_pool, output_stride, spatial_squeeze, reuse, scope)


def resnet_v1_101(inputs, num_classes=1000, is_training=True,
                  global_pool=True, output_stride=None, spatial_squeeze=True,
                  reuse=None, scope='resnet_v1_101',
                  dropout_keep_prob=None):
  """ResNet-101 v1 (3, 4, 23, 3 units); see `resnet_v1_50`."""
  return _resnet_v1(inputs, (3, 4, 23, 3), num_classes, is_training,
                    global_pool, output_stride, spatial_squeeze, reuse, scope)


resnet_v1_50.default_image_size = 224
resnet_v1_101.default_image_size = 224
