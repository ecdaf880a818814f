"""ResNet v1 (He et al. 2015, "Deep Residual Learning for Image Recognition",
arXiv:1512.03385), with upstream slim's public API.

Post-activation bottleneck units: 1x1 -> 3x3 -> 1x1 convolutions, each
followed by BatchNorm, added to the shortcut and then passed through ReLU
(Fig. 1a of He et al. 2016, "Identity Mappings in Deep Residual Networks").
Projection shortcuts only where the depth changes. Variable names follow the
released `resnet_v1_{50,101,152}_2016_08_28` checkpoints (1000 classes, VGG
preprocessing).

Classification, and dense features for segmentation (DeepLab style):

    with slim.arg_scope(resnet_v1.resnet_arg_scope()):
      logits, end_points = resnet_v1.resnet_v1_101(images, 1000,
                                                   is_training=False)
      features, _ = resnet_v1.resnet_v1_101(images, None, is_training=False,
                                            global_pool=False,
                                            output_stride=16)
"""

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import resnet_utils

resnet_arg_scope = resnet_utils.resnet_arg_scope


@slim.add_arg_scope
def bottleneck(inputs, depth, depth_bottleneck, stride, rate=1,
               outputs_collections=None, scope=None,
               use_bounded_activations=False):
  """One v1 bottleneck unit; the stride is taken by the 3x3 convolution.

  Args:
    inputs: [batch, height, width, channels].
    depth: output channels.
    depth_bottleneck: channels of the 1x1 and 3x3 bottleneck convolutions.
    stride: the unit's subsampling factor.
    rate: dilation of the 3x3 convolution.
    outputs_collections: collection receiving the unit's output.
    scope: variable scope, 'bottleneck_v1' by default.
    use_bounded_activations: ReLU6 and a clipped residual, which quantise
      better than unbounded activations.

  Returns:
    The unit's output.
  """
  shortcut_activation = tf.nn.relu6 if use_bounded_activations else None
  output_activation = tf.nn.relu6 if use_bounded_activations else tf.nn.relu
  with tf.variable_scope(scope, 'bottleneck_v1', [inputs]) as sc:
    depth_in = slim.utils.last_dimension(inputs.get_shape(), min_rank=4)
    if depth == depth_in:
      shortcut = resnet_utils.subsample(inputs, stride, 'shortcut')
    else:
      shortcut = slim.conv2d(inputs, depth, [1, 1], stride=stride,
                             activation_fn=shortcut_activation,
                             scope='shortcut')
    residual = slim.conv2d(inputs, depth_bottleneck, [1, 1], scope='conv1')
    residual = resnet_utils.conv2d_same(residual, depth_bottleneck, 3, stride,
                                        rate=rate, scope='conv2')
    residual = slim.conv2d(residual, depth, [1, 1], activation_fn=None,
                           scope='conv3')
    if use_bounded_activations:
      residual = tf.clip_by_value(residual, -6.0, 6.0)
    output = output_activation(shortcut + residual)
    return slim.utils.collect_named_outputs(outputs_collections, sc.name,
                                            output)


_V1 = resnet_utils.Variant('resnet_v1', bottleneck, preactivation=False)


def resnet_v1(inputs, blocks, num_classes=None, is_training=True,
              global_pool=True, output_stride=None, include_root_block=True,
              spatial_squeeze=True, store_non_strided_activations=False,
              reuse=None, scope=None):
  """Builds a v1 ResNet from a list of blocks.

  For dense prediction, run it fully convolutionally (`global_pool=False`)
  on inputs of size 32k + 1 (e.g. 321): the last block's map is then
  (size - 1) / output_stride + 1 with corners aligned on the image's.

  Args:
    inputs: [batch, height, width, channels].
    blocks: list of `resnet_utils.Block`, e.g. from `resnet_v1_block`.
    num_classes: number of classes; 0 or None returns the features before the
      logits layer.
    is_training: BatchNorm mode; None leaves it to an enclosing arg scope.
    global_pool: average the last feature map over space (classification);
      False keeps the spatial map (dense prediction).
    output_stride: the input/output resolution ratio of the result; None is
      the nominal stride (32 for the ImageNet blocks). A multiple of 4 when
      the root block is included.
    include_root_block: start with the 7x7/2 convolution and 3x3/2 pooling.
    spatial_squeeze: return logits as [batch, num_classes] rather than
      [batch, 1, 1, num_classes].
    store_non_strided_activations: see `resnet_utils.stack_blocks_dense`.
    reuse: reuse the variables of `scope` (which must then be given).
    scope: variable scope, 'resnet_v1' by default.

  Returns:
    (net, end_points): the logits (pre-softmax) if num_classes, else the last
    block's output (globally pooled if `global_pool`); and a dict of end
    points.

  Raises:
    ValueError: if `output_stride` is invalid.
  """
  return resnet_utils.resnet(
      _V1, inputs, blocks, num_classes, is_training, global_pool=global_pool,
      output_stride=output_stride, include_root_block=include_root_block,
      spatial_squeeze=spatial_squeeze,
      store_non_strided_activations=store_non_strided_activations,
      reuse=reuse, scope=scope)


resnet_v1.default_image_size = 224


def resnet_v1_block(scope, base_depth, num_units, stride):
  """A block of v1 bottleneck units; see `resnet_utils.bottleneck_block`."""
  return resnet_utils.bottleneck_block(bottleneck, scope, base_depth,
                                       num_units, stride)


def _imagenet_resnet_v1(num_layers, inputs, num_classes, is_training,
                        global_pool, output_stride, spatial_squeeze,
                        store_non_strided_activations, min_base_depth,
                        depth_multiplier, reuse, scope):
  blocks = resnet_utils.imagenet_blocks(resnet_v1_block, num_layers,
                                        depth_multiplier, min_base_depth)
  return resnet_v1(
      inputs, blocks, num_classes, is_training, global_pool=global_pool,
      output_stride=output_stride, include_root_block=True,
      spatial_squeeze=spatial_squeeze,
      store_non_strided_activations=store_non_strided_activations,
      reuse=reuse, scope=scope)


# The four networks below keep upstream's signatures, including the order of
# spatial_squeeze and store_non_strided_activations, which differs between
# 50/101 and 152/200 there, so that positional calls written for slim work.


def resnet_v1_50(inputs, num_classes=None, is_training=True, global_pool=True,
                 output_stride=None, spatial_squeeze=True,
                 store_non_strided_activations=False, min_base_depth=8,
                 depth_multiplier=1, reuse=None, scope='resnet_v1_50'):
  """ResNet-50 v1; see `resnet_v1` for the arguments.

  `depth_multiplier` scales every bottleneck width, bounded below by
  `min_base_depth`.
  """
  return _imagenet_resnet_v1(
      50, inputs, num_classes, is_training, global_pool, output_stride,
      spatial_squeeze, store_non_strided_activations, min_base_depth,
      depth_multiplier, reuse, scope)


def resnet_v1_101(inputs, num_classes=None, is_training=True,
                  global_pool=True, output_stride=None, spatial_squeeze=True,
                  store_non_strided_activations=False, min_base_depth=8,
                  depth_multiplier=1, reuse=None, scope='resnet_v1_101'):
  """ResNet-101 v1; see `resnet_v1_50`."""
  return _imagenet_resnet_v1(
      101, inputs, num_classes, is_training, global_pool, output_stride,
      spatial_squeeze, store_non_strided_activations, min_base_depth,
      depth_multiplier, reuse, scope)


def resnet_v1_152(inputs, num_classes=None, is_training=True,
                  global_pool=True, output_stride=None,
                  store_non_strided_activations=False, spatial_squeeze=True,
                  min_base_depth=8, depth_multiplier=1, reuse=None,
                  scope='resnet_v1_152'):
  """ResNet-152 v1; see `resnet_v1_50`."""
  return _imagenet_resnet_v1(
      152, inputs, num_classes, is_training, global_pool, output_stride,
      spatial_squeeze, store_non_strided_activations, min_base_depth,
      depth_multiplier, reuse, scope)


def resnet_v1_200(inputs, num_classes=None, is_training=True,
                  global_pool=True, output_stride=None,
                  store_non_strided_activations=False, spatial_squeeze=True,
                  min_base_depth=8, depth_multiplier=1, reuse=None,
                  scope='resnet_v1_200'):
  """ResNet-200 v1 (the depth of He et al. 2016); see `resnet_v1_50`."""
  return _imagenet_resnet_v1(
      200, inputs, num_classes, is_training, global_pool, output_stride,
      spatial_squeeze, store_non_strided_activations, min_base_depth,
      depth_multiplier, reuse, scope)


resnet_v1_50.default_image_size = resnet_v1.default_image_size
resnet_v1_101.default_image_size = resnet_v1.default_image_size
resnet_v1_152.default_image_size = resnet_v1.default_image_size
resnet_v1_200.default_image_size = resnet_v1.default_image_size
