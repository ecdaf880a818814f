"""Inception v3 (Szegedy et al. 2015, "Rethinking the Inception Architecture
for Computer Vision", arXiv:1512.00567), as in slim's
`inception_v3_2016_08_28` checkpoint (1001 classes, background first,
299x299, inception preprocessing).

Stem of 3x3 convolutions, three 35x35 modules (5x5 branch), a grid reduction,
four 17x17 modules with factorised 1x7/7x1 convolutions, a second reduction
and two 8x8 modules with split 1x3/3x1 outputs; an auxiliary classifier
reads Mixed_6e. Every convolution's depth scales with `depth_multiplier`
(floored at `min_depth`).
"""

import tf_compat  # noqa: F401
import tf_slim as slim

from nets import inception_utils as iu
from nets.inception_utils import avg_pool, conv, fork, max_pool

inception_v3_arg_scope = iu.inception_arg_scope


def _module_35(name, pool_depth, branch_1_names=('Conv2d_0a_1x1',
                                                 'Conv2d_0b_5x5')):
  return iu.Mixed(name, [
      [conv('Conv2d_0a_1x1', 64, [1, 1])],
      [conv(branch_1_names[0], 48, [1, 1]),
       conv(branch_1_names[1], 64, [5, 5])],
      [conv('Conv2d_0a_1x1', 64, [1, 1]), conv('Conv2d_0b_3x3', 96, [3, 3]),
       conv('Conv2d_0c_3x3', 96, [3, 3])],
      [avg_pool('AvgPool_0a_3x3', [3, 3]),
       conv('Conv2d_0b_1x1', pool_depth, [1, 1])],
  ])


def _module_17(name, width):
  """17x17 module; `width` is the inner depth of the 7x7 factorisations."""
  return iu.Mixed(name, [
      [conv('Conv2d_0a_1x1', 192, [1, 1])],
      [conv('Conv2d_0a_1x1', width, [1, 1]),
       conv('Conv2d_0b_1x7', width, [1, 7]),
       conv('Conv2d_0c_7x1', 192, [7, 1])],
      [conv('Conv2d_0a_1x1', width, [1, 1]),
       conv('Conv2d_0b_7x1', width, [7, 1]),
       conv('Conv2d_0c_1x7', width, [1, 7]),
       conv('Conv2d_0d_7x1', width, [7, 1]),
       conv('Conv2d_0e_1x7', 192, [1, 7])],
      [avg_pool('AvgPool_0a_3x3', [3, 3]),
       conv('Conv2d_0b_1x1', 192, [1, 1])],
  ])


def _module_8(name, branch_1_split_3x1_name):
  return iu.Mixed(name, [
      [conv('Conv2d_0a_1x1', 320, [1, 1])],
      [conv('Conv2d_0a_1x1', 384, [1, 1]),
       fork(conv('Conv2d_0b_1x3', 384, [1, 3]),
            conv(branch_1_split_3x1_name, 384, [3, 1]))],
      [conv('Conv2d_0a_1x1', 448, [1, 1]), conv('Conv2d_0b_3x3', 384, [3, 3]),
       fork(conv('Conv2d_0c_1x3', 384, [1, 3]),
            conv('Conv2d_0d_3x1', 384, [3, 1]))],
      [avg_pool('AvgPool_0a_3x3', [3, 3]),
       conv('Conv2d_0b_1x1', 192, [1, 1])],
  ])


_STAGES = [
    conv('Conv2d_1a_3x3', 32, [3, 3], stride=2, padding='VALID'),
    conv('Conv2d_2a_3x3', 32, [3, 3], padding='VALID'),
    conv('Conv2d_2b_3x3', 64, [3, 3]),
    max_pool('MaxPool_3a_3x3', [3, 3], stride=2, padding='VALID'),
    conv('Conv2d_3b_1x1', 80, [1, 1], padding='VALID'),
    conv('Conv2d_4a_3x3', 192, [3, 3], padding='VALID'),
    max_pool('MaxPool_5a_3x3', [3, 3], stride=2, padding='VALID'),
    _module_35('Mixed_5b', 32),
    # The released checkpoint names Mixed_5c's 5x5 branch differently.
    _module_35('Mixed_5c', 64, ('Conv2d_0b_1x1', 'Conv_1_0c_5x5')),
    _module_35('Mixed_5d', 64),
    iu.Mixed('Mixed_6a', [
        # Named 1x1 in the checkpoint although the kernel is 3x3.
        [conv('Conv2d_1a_1x1', 384, [3, 3], stride=2, padding='VALID')],
        [conv('Conv2d_0a_1x1', 64, [1, 1]), conv('Conv2d_0b_3x3', 96, [3, 3]),
         conv('Conv2d_1a_1x1', 96, [3, 3], stride=2, padding='VALID')],
        [max_pool('MaxPool_1a_3x3', [3, 3], stride=2, padding='VALID')],
    ]),
    _module_17('Mixed_6b', 128),
    _module_17('Mixed_6c', 160),
    _module_17('Mixed_6d', 160),
    _module_17('Mixed_6e', 192),
    iu.Mixed('Mixed_7a', [
        [conv('Conv2d_0a_1x1', 192, [1, 1]),
         conv('Conv2d_1a_3x3', 320, [3, 3], stride=2, padding='VALID')],
        [conv('Conv2d_0a_1x1', 192, [1, 1]),
         conv('Conv2d_0b_1x7', 192, [1, 7]),
         conv('Conv2d_0c_7x1', 192, [7, 1]),
         conv('Conv2d_1a_3x3', 192, [3, 3], stride=2, padding='VALID')],
        [max_pool('MaxPool_1a_3x3', [3, 3], stride=2, padding='VALID')],
    ]),
    _module_8('Mixed_7b', 'Conv2d_0b_3x1'),
    _module_8('Mixed_7c', 'Conv2d_0c_3x1'),
]


_HEAD = iu.ConvHead(pool_kernel=8, pool_stride=2,
                    pool_name='AvgPool_1a_{}x{}',
                    pool_end_point='AvgPool_1a', global_pool_name='GlobalPool',
                    dropout_name='Dropout_1b', pre_logits_end_point='PreLogits',
                    logits_name='Conv2d_1c_1x1',
                    predictions_in_logits_scope=False)

_AUX_HEAD = iu.AuxHead(pool_name='AvgPool_1a_5x5', conv_name='Conv2d_2a_{}x{}',
                       conv_kernel=5, conv_stddev=0.01,
                       logits_name='Conv2d_2b_1x1', logits_stddev=0.001,
                       logits_as_conv=True)


def inception_v3_base(inputs, final_endpoint='Mixed_7c', min_depth=16,
                      depth_multiplier=1.0, scope=None):
  """The convolutional trunk up to `final_endpoint`.

  Args:
    inputs: float32 [batch, height, width, channels].
    final_endpoint: the last stage built, one of Conv2d_1a_3x3,
      Conv2d_2a_3x3, Conv2d_2b_3x3, MaxPool_3a_3x3, Conv2d_3b_1x1,
      Conv2d_4a_3x3, MaxPool_5a_3x3, Mixed_5b, Mixed_5c, Mixed_5d, Mixed_6a
      ... Mixed_6e, Mixed_7a, Mixed_7b, Mixed_7c.
    min_depth: smallest depth any convolution gets from `depth_multiplier`.
    depth_multiplier: scales every convolution's depth; must be > 0.
    scope: variable scope (default: a new 'InceptionV3' one, so two calls
      in one graph build two networks).

  Returns:
    (net, end_points): the `final_endpoint` tensor and every stage so far.

  Raises:
    ValueError: for an unknown `final_endpoint` or depth_multiplier <= 0.
  """
  stages = iu.scale_depths(_STAGES,
                           iu.depth_fn(depth_multiplier, min_depth))
  with iu.trunk_scope(scope, 'InceptionV3', inputs):
    return iu.build_trunk(inputs, stages, final_endpoint)


def inception_v3(inputs, num_classes=1000, is_training=True,
                 dropout_keep_prob=0.8, min_depth=16, depth_multiplier=1.0,
                 prediction_fn=slim.softmax, spatial_squeeze=True, reuse=None,
                 create_aux_logits=True, scope='InceptionV3',
                 global_pool=False):
  """Inception v3 classifier.

  Args:
    inputs: float32 [batch, height, width, 3]; 299x299 for the checkpoint
      (at least 75x75).
    num_classes: number of classes (the checkpoint has 1001); 0 or None
      returns the pooled 2048-d features (AvgPool_1a, or global_pool) and
      builds no auxiliary head.
    is_training: BatchNorm uses batch statistics and dropout is active.
    dropout_keep_prob: fraction of pooled features kept while training.
    min_depth: smallest depth any convolution gets from `depth_multiplier`.
    depth_multiplier: scales every convolution's depth (auxiliary head
      included); must be > 0.
    prediction_fn: turns logits into `end_points['Predictions']`.
    spatial_squeeze: squeeze logits and auxiliary logits to
      [batch, num_classes] (else [batch, 1, 1, num_classes]).
    reuse: whether to reuse the variables of `scope`.
    create_aux_logits: build the auxiliary classifier (end point AuxLogits).
    scope: variable scope of every variable.
    global_pool: average the whole final map (end point 'global_pool')
      instead of an 8x8 window, so any input size gives one prediction.

  Returns:
    (logits, end_points).

  Raises:
    ValueError: if depth_multiplier <= 0.
  """
  depth = iu.depth_fn(depth_multiplier, min_depth)
  with iu.classifier_scope(scope, 'InceptionV3', inputs, reuse,
                           is_training) as sc:
    net, end_points = inception_v3_base(inputs, min_depth=min_depth,
                                        depth_multiplier=depth_multiplier,
                                        scope=sc)
    if num_classes and create_aux_logits:
      end_points['AuxLogits'] = iu.aux_logits(
          end_points['Mixed_6e'], num_classes, _AUX_HEAD, depth=depth,
          spatial_squeeze=spatial_squeeze)
    return iu.conv_logits(net, end_points, _HEAD, num_classes, global_pool,
                          dropout_keep_prob, spatial_squeeze, prediction_fn)


inception_v3.default_image_size = 299
