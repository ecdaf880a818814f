"""ResNet v2 (He et al. 2016, "Identity Mappings in Deep Residual Networks").

Pre-activation bottleneck units: BatchNorm+ReLU come before each convolution,
so the shortcut path stays an identity. Variable names follow the released
`resnet_v2_50_2017_04_14` checkpoint (1001 classes, background first). Slim's
README notes that this checkpoint was trained with inception preprocessing at
299x299, although the factories map ResNets to VGG preprocessing at 224.
"""

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import resnet_utils

resnet_arg_scope = resnet_utils.resnet_arg_scope


def bottleneck(inputs, depth, depth_bottleneck, stride, rate=1,
               outputs_collections=None, scope='bottleneck_v2'):
  """One v2 bottleneck unit; the stride is taken by the 3x3 convolution."""
  with tf.variable_scope(scope, values=[inputs]) as sc:
    depth_in = inputs.shape.as_list()[-1]
    preact = slim.batch_norm(inputs, activation_fn=tf.nn.relu, scope='preact')
    if depth == depth_in:
      shortcut = resnet_utils.subsample(inputs, stride, 'shortcut')
    else:
      shortcut = slim.conv2d(preact, depth, [1, 1], stride=stride,
                             normalizer_fn=None, activation_fn=None,
                             scope='shortcut')
    residual = slim.conv2d(preact, depth_bottleneck, [1, 1], scope='conv1')
    residual = resnet_utils.conv2d_same(residual, depth_bottleneck, 3, stride,
                                        rate=rate, scope='conv2')
    residual = slim.conv2d(residual, depth, [1, 1], normalizer_fn=None,
                           activation_fn=None, scope='conv3')
    output = shortcut + residual
    return slim.utils.collect_named_outputs(outputs_collections, sc.name,
                                            output)


def resnet_v2_50(inputs, num_classes=1001, is_training=True, global_pool=True,
                 output_stride=None, spatial_squeeze=True, reuse=None,
                 scope='resnet_v2_50', dropout_keep_prob=None):
  """ResNet-50 v2 (3, 4, 6, 3 units); see `resnet_utils.resnet` for args.

  `dropout_keep_prob` is accepted for the common network signature and
  ignored: ResNets have no dropout.
  """
  return resnet_utils.resnet(
      inputs, resnet_utils.standard_blocks((3, 4, 6, 3)), bottleneck,
      preactivation=True, num_classes=num_classes, is_training=is_training,
      global_pool=global_pool, output_stride=output_stride,
      spatial_squeeze=spatial_squeeze, reuse=reuse, scope=scope)


resnet_v2_50.default_image_size = 224
