"""ResNet v2 (He et al. 2016, "Identity Mappings in Deep Residual Networks",
arXiv:1603.05027), with upstream slim's public API.

Full pre-activation bottleneck units: BatchNorm+ReLU come before each
convolution, so the shortcut path stays an identity (Fig. 1b of the paper).
Variable names follow the released `resnet_v2_{50,101,152}_2017_04_14`
checkpoints (1001 classes, background first). Slim's README notes that they
were trained with inception preprocessing at 299x299, although the factories
map ResNets to VGG preprocessing at 224.

    with slim.arg_scope(resnet_v2.resnet_arg_scope()):
      logits, end_points = resnet_v2.resnet_v2_101(images, 1001,
                                                   is_training=False)
"""

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import resnet_utils

resnet_arg_scope = resnet_utils.resnet_arg_scope


@slim.add_arg_scope
def bottleneck(inputs, depth, depth_bottleneck, stride, rate=1,
               outputs_collections=None, scope=None):
  """One v2 bottleneck unit; the stride is taken by the 3x3 convolution.

  Arguments as `resnet_v1.bottleneck` (less `use_bounded_activations`), the
  scope defaulting to 'bottleneck_v2'.

  Returns:
    The unit's output (not normalised: the next unit or 'postnorm' does it).
  """
  with tf.variable_scope(scope, 'bottleneck_v2', [inputs]) as sc:
    depth_in = slim.utils.last_dimension(inputs.get_shape(), min_rank=4)
    preact = slim.batch_norm(inputs, activation_fn=tf.nn.relu, scope='preact')
    if depth == depth_in:
      # An identity shortcut skips the pre-activation, as in the paper.
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
    return slim.utils.collect_named_outputs(outputs_collections, sc.name,
                                            shortcut + residual)


_V2 = resnet_utils.Variant('resnet_v2', bottleneck, preactivation=True)


def resnet_v2(inputs, blocks, num_classes=None, is_training=True,
              global_pool=True, output_stride=None, include_root_block=True,
              spatial_squeeze=True, reuse=None, scope=None):
  """Builds a v2 ResNet from a list of blocks.

  Arguments and results as `resnet_v1.resnet_v1` (without
  `store_non_strided_activations`). The root convolution has no BatchNorm or
  activation, since the first unit normalises its input; with
  `include_root_block=False`, `inputs` should likewise be the output of an
  activation-less convolution. A final BatchNorm+ReLU ('postnorm') follows
  the last block.

  Args:
    inputs: [batch, height, width, channels].
    blocks: list of `resnet_utils.Block`, e.g. from `resnet_v2_block`.
    num_classes: number of classes; 0 or None returns the features.
    is_training: BatchNorm mode; None leaves it to an enclosing arg scope.
    global_pool: average the last feature map over space.
    output_stride: the input/output resolution ratio of the result.
    include_root_block: start with the 7x7/2 convolution and 3x3/2 pooling.
    spatial_squeeze: return logits as [batch, num_classes].
    reuse: reuse the variables of `scope` (which must then be given).
    scope: variable scope, 'resnet_v2' by default.

  Returns:
    (net, end_points).

  Raises:
    ValueError: if `output_stride` is invalid.
  """
  return resnet_utils.resnet(
      _V2, inputs, blocks, num_classes, is_training, global_pool=global_pool,
      output_stride=output_stride, include_root_block=include_root_block,
      spatial_squeeze=spatial_squeeze, reuse=reuse, scope=scope)


resnet_v2.default_image_size = 224


def resnet_v2_block(scope, base_depth, num_units, stride):
  """A block of v2 bottleneck units; see `resnet_utils.bottleneck_block`."""
  return resnet_utils.bottleneck_block(bottleneck, scope, base_depth,
                                       num_units, stride)


def _imagenet_resnet_v2(num_layers, inputs, num_classes, is_training,
                        global_pool, output_stride, spatial_squeeze, reuse,
                        scope):
  blocks = resnet_utils.imagenet_blocks(resnet_v2_block, num_layers)
  return resnet_v2(inputs, blocks, num_classes, is_training,
                   global_pool=global_pool, output_stride=output_stride,
                   include_root_block=True, spatial_squeeze=spatial_squeeze,
                   reuse=reuse, scope=scope)


def resnet_v2_50(inputs, num_classes=None, is_training=True, global_pool=True,
                 output_stride=None, spatial_squeeze=True, reuse=None,
                 scope='resnet_v2_50'):
  """ResNet-50 v2; see `resnet_v2` for the arguments."""
  return _imagenet_resnet_v2(50, inputs, num_classes, is_training,
                             global_pool, output_stride, spatial_squeeze,
                             reuse, scope)


def resnet_v2_101(inputs, num_classes=None, is_training=True,
                  global_pool=True, output_stride=None, spatial_squeeze=True,
                  reuse=None, scope='resnet_v2_101'):
  """ResNet-101 v2; see `resnet_v2` for the arguments."""
  return _imagenet_resnet_v2(101, inputs, num_classes, is_training,
                             global_pool, output_stride, spatial_squeeze,
                             reuse, scope)


def resnet_v2_152(inputs, num_classes=None, is_training=True,
                  global_pool=True, output_stride=None, spatial_squeeze=True,
                  reuse=None, scope='resnet_v2_152'):
  """ResNet-152 v2; see `resnet_v2` for the arguments."""
  return _imagenet_resnet_v2(152, inputs, num_classes, is_training,
                             global_pool, output_stride, spatial_squeeze,
                             reuse, scope)


def resnet_v2_200(inputs, num_classes=None, is_training=True,
                  global_pool=True, output_stride=None, spatial_squeeze=True,
                  reuse=None, scope='resnet_v2_200'):
  """ResNet-200 v2; see `resnet_v2` for the arguments."""
  return _imagenet_resnet_v2(200, inputs, num_classes, is_training,
                             global_pool, output_stride, spatial_squeeze,
                             reuse, scope)


resnet_v2_50.default_image_size = resnet_v2.default_image_size
resnet_v2_101.default_image_size = resnet_v2.default_image_size
resnet_v2_152.default_image_size = resnet_v2.default_image_size
resnet_v2_200.default_image_size = resnet_v2.default_image_size
