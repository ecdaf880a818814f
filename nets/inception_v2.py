"""Inception v2 (Ioffe and Szegedy 2015, "Batch Normalization: Accelerating
Deep Network Training by Reducing Internal Covariate Shift",
arXiv:1502.03167), as in slim's `inception_v2_2016_08_28` checkpoint
(1001 classes, background first, 224x224, inception preprocessing).

GoogLeNet with BatchNorm, its 5x5 convolutions replaced by two 3x3 ones and
strided grid reductions (Mixed_4a, Mixed_5a) instead of max pools between
the stages. The first layer is a depthwise-separable 7x7 convolution, which
the checkpoint has without BatchNorm (slim's arg scope covers `conv2d`
only); `use_separable_conv=False` makes it a plain convolution. Every
convolution's depth scales with `depth_multiplier` (floored at `min_depth`).
"""

import tf_compat  # noqa: F401
import tf_slim as slim

from nets import inception_utils as iu
from nets.inception_utils import avg_pool, conv, max_pool

inception_v2_arg_scope = iu.inception_arg_scope

# The 1x1 reductions in front of 3x3 convolutions start from N(0, 0.09), the
# pool projections from N(0, 0.1): the initialisation the checkpoint used.
_REDUCE_STDDEV = 0.09
_PROJECTION_STDDEV = 0.1


def _module(name, b0, b1, b2, b3, pool=avg_pool('AvgPool_0a_3x3', [3, 3])):
  """Inception module: 1x1; 1x1 -> 3x3; 1x1 -> 3x3 -> 3x3; pool -> 1x1.

  `b0` is the 1x1 depth, `b1` and `b2` (reduce, 3x3) depth pairs, `b3` the
  pool projection's depth (the paper's Figure 5 columns).
  """
  return iu.Mixed(name, [
      [conv('Conv2d_0a_1x1', b0, [1, 1])],
      [conv('Conv2d_0a_1x1', b1[0], [1, 1], stddev=_REDUCE_STDDEV),
       conv('Conv2d_0b_3x3', b1[1], [3, 3])],
      [conv('Conv2d_0a_1x1', b2[0], [1, 1], stddev=_REDUCE_STDDEV),
       conv('Conv2d_0b_3x3', b2[1], [3, 3]),
       conv('Conv2d_0c_3x3', b2[1], [3, 3])],
      [pool, conv('Conv2d_0b_1x1', b3, [1, 1], stddev=_PROJECTION_STDDEV)],
  ])


def _reduction(name, b0, b1):
  """Grid reduction: 1x1 -> 3x3/2; 1x1 -> 3x3 -> 3x3/2; 3x3/2 max pool."""
  return iu.Mixed(name, [
      [conv('Conv2d_0a_1x1', b0[0], [1, 1], stddev=_REDUCE_STDDEV),
       conv('Conv2d_1a_3x3', b0[1], [3, 3], stride=2)],
      [conv('Conv2d_0a_1x1', b1[0], [1, 1], stddev=_REDUCE_STDDEV),
       conv('Conv2d_0b_3x3', b1[1], [3, 3]),
       conv('Conv2d_1a_3x3', b1[1], [3, 3], stride=2)],
      [max_pool('MaxPool_1a_3x3', [3, 3], stride=2)],
  ])


# The stem; its first layer becomes separable with use_separable_conv.
_ROOT_BLOCK = [
    conv('Conv2d_1a_7x7', 64, [7, 7], stride=2, stddev=1.0),
    max_pool('MaxPool_2a_3x3', [3, 3], stride=2),
    conv('Conv2d_2b_1x1', 64, [1, 1], stddev=_PROJECTION_STDDEV),
    conv('Conv2d_2c_3x3', 192, [3, 3]),
    max_pool('MaxPool_3a_3x3', [3, 3], stride=2),
]

_MODULES = [
    _module('Mixed_3b', 64, (64, 64), (64, 96), 32),
    _module('Mixed_3c', 64, (64, 96), (64, 96), 64),
    _reduction('Mixed_4a', (128, 160), (64, 96)),
    _module('Mixed_4b', 224, (64, 96), (96, 128), 128),
    _module('Mixed_4c', 192, (96, 128), (96, 128), 128),
    _module('Mixed_4d', 160, (128, 160), (128, 160), 96),
    _module('Mixed_4e', 96, (128, 192), (160, 192), 96),
    _reduction('Mixed_5a', (128, 192), (192, 256)),
    _module('Mixed_5b', 352, (192, 320), (160, 224), 128),
    _module('Mixed_5c', 352, (192, 320), (192, 224), 128,
            pool=max_pool('MaxPool_0a_3x3', [3, 3])),
]

_HEAD = iu.ConvHead(pool_kernel=7, pool_stride=2,
                    pool_name='AvgPool_1a_{}x{}',
                    pool_end_point='AvgPool_1a',
                    global_pool_name='global_pool', dropout_name='Dropout_1b',
                    pre_logits_end_point='PreLogits',
                    logits_name='Conv2d_1c_1x1',
                    predictions_in_logits_scope=False)


def _as_separable(layer):
  """`layer` as a depthwise-separable convolution of the same output depth.

  The depthwise stage makes `multiplier` channels per input channel; keeping
  3 (RGB) * multiplier <= depth stops it from having more parameters than
  the 1x1 stage it feeds.
  """
  return iu.separable_conv(layer.name, layer.depth, layer.kernel, layer.stride,
                           multiplier=min(int(layer.depth / 3), 8),
                           stddev=layer.stddev)


def _stages(depth, use_separable_conv, include_root_block):
  stages = iu.scale_depths(_MODULES, depth)
  if not include_root_block:
    return stages
  root = iu.scale_depths(_ROOT_BLOCK, depth)
  if use_separable_conv:
    root[0] = _as_separable(root[0])
  return root + stages


def _check_data_format(data_format, use_separable_conv):
  if data_format not in ('NHWC', 'NCHW'):
    raise ValueError('data_format must be either NHWC or NCHW.')
  if data_format == 'NCHW' and use_separable_conv:
    raise ValueError('separable convolution only supports NHWC layout; use '
                     'use_separable_conv=False with NCHW.')


def inception_v2_base(inputs, final_endpoint='Mixed_5c', min_depth=16,
                      depth_multiplier=1.0, use_separable_conv=True,
                      data_format='NHWC', include_root_block=True,
                      scope=None):
  """The convolutional trunk up to `final_endpoint`.

  Args:
    inputs: float32 [batch, height, width, channels] (NCHW: [batch,
      channels, height, width]); any size from 32x32 up.
    final_endpoint: the last stage built, one of Conv2d_1a_7x7,
      MaxPool_2a_3x3, Conv2d_2b_1x1, Conv2d_2c_3x3, MaxPool_3a_3x3 (these five
      only with the root block), Mixed_3b, Mixed_3c, Mixed_4a ... Mixed_4e,
      Mixed_5a, Mixed_5b, Mixed_5c.
    min_depth: smallest depth any convolution gets from `depth_multiplier`.
    depth_multiplier: scales every convolution's depth; must be > 0.
    use_separable_conv: make Conv2d_1a_7x7 depthwise separable, as in the
      checkpoint; False: a plain convolution.
    data_format: 'NHWC' or 'NCHW' (NCHW needs use_separable_conv=False).
    include_root_block: build the stem (the layers before Mixed_3b).
    scope: variable scope (default: a new 'InceptionV2' one).

  Returns:
    (net, end_points): the `final_endpoint` tensor and every stage so far.

  Raises:
    ValueError: for an unknown `final_endpoint` or `data_format`, NCHW with a
      separable convolution, or depth_multiplier <= 0.
  """
  depth = iu.depth_fn(depth_multiplier, min_depth)
  _check_data_format(data_format, use_separable_conv)
  stages = _stages(depth, use_separable_conv, include_root_block)
  with iu.trunk_scope(scope, 'InceptionV2', inputs, data_format=data_format):
    return iu.build_trunk(inputs, stages, final_endpoint,
                          channel_axis=3 if data_format == 'NHWC' else 1)


def inception_v2(inputs, num_classes=1000, is_training=True,
                 dropout_keep_prob=0.8, min_depth=16, depth_multiplier=1.0,
                 prediction_fn=slim.softmax, spatial_squeeze=True, reuse=None,
                 scope='InceptionV2', global_pool=False):
  """Inception v2 classifier.

  Args:
    inputs: float32 [batch, height, width, 3]; 224x224 for the checkpoint.
    num_classes: number of classes (the checkpoint has 1001); 0 or None
      returns the pooled 1024-d features (AvgPool_1a, or global_pool)
      instead of logits.
    is_training: BatchNorm uses batch statistics and dropout is active.
    dropout_keep_prob: fraction of pooled features kept while training.
    min_depth: smallest depth any convolution gets from `depth_multiplier`.
    depth_multiplier: scales every convolution's depth; must be > 0.
    prediction_fn: turns logits into `end_points['Predictions']`.
    spatial_squeeze: squeeze logits to [batch, num_classes] (else
      [batch, 1, 1, num_classes]).
    reuse: whether to reuse the variables of `scope`.
    scope: variable scope of every variable.
    global_pool: average the whole final map (end point 'global_pool')
      instead of a 7x7 window, so any input size gives one prediction.

  Returns:
    (logits, end_points).

  Raises:
    ValueError: if depth_multiplier <= 0.
  """
  with iu.classifier_scope(scope, 'InceptionV2', inputs, reuse,
                           is_training) as sc:
    net, end_points = inception_v2_base(inputs, min_depth=min_depth,
                                        depth_multiplier=depth_multiplier,
                                        scope=sc)
    return iu.conv_logits(net, end_points, _HEAD, num_classes, global_pool,
                          dropout_keep_prob, spatial_squeeze, prediction_fn)


inception_v2.default_image_size = 224
