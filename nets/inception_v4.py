"""Inception-v4 (Szegedy et al. 2016, "Inception-v4, Inception-ResNet and the
Impact of Residual Connections on Learning", arXiv:1602.07261), as in slim's
`inception_v4_2016_09_09` checkpoint (1001 classes, background first, 299x299,
inception preprocessing).

Figure 3's stem, 4 Inception-A, Reduction-A, 7 Inception-B, Reduction-B and
3 Inception-C modules; an auxiliary classifier reads the last Inception-B
output (Mixed_6h). The course fine-tunes it with
`--checkpoint_exclude_scopes=`
`InceptionV4/Logits,InceptionV4/AuxLogits/Aux_logits`.
"""

import tf_compat  # noqa: F401

from nets import inception_utils as iu
from nets.inception_utils import avg_pool, conv, fork, max_pool

inception_v4_arg_scope = iu.inception_arg_scope


# Branches of Figures 4 (Inception-A), 5 (Inception-B), 6 (Inception-C),
# 7 (Reduction-A, with Table 1's k=192 l=224 m=256 n=384) and 8
# (Reduction-B).
_INCEPTION_A = [
    [conv('Conv2d_0a_1x1', 96, [1, 1])],
    [conv('Conv2d_0a_1x1', 64, [1, 1]), conv('Conv2d_0b_3x3', 96, [3, 3])],
    [conv('Conv2d_0a_1x1', 64, [1, 1]), conv('Conv2d_0b_3x3', 96, [3, 3]),
     conv('Conv2d_0c_3x3', 96, [3, 3])],
    [avg_pool('AvgPool_0a_3x3', [3, 3]), conv('Conv2d_0b_1x1', 96, [1, 1])],
]

_INCEPTION_B = [
    [conv('Conv2d_0a_1x1', 384, [1, 1])],
    [conv('Conv2d_0a_1x1', 192, [1, 1]), conv('Conv2d_0b_1x7', 224, [1, 7]),
     conv('Conv2d_0c_7x1', 256, [7, 1])],
    [conv('Conv2d_0a_1x1', 192, [1, 1]), conv('Conv2d_0b_7x1', 192, [7, 1]),
     conv('Conv2d_0c_1x7', 224, [1, 7]), conv('Conv2d_0d_7x1', 224, [7, 1]),
     conv('Conv2d_0e_1x7', 256, [1, 7])],
    [avg_pool('AvgPool_0a_3x3', [3, 3]), conv('Conv2d_0b_1x1', 128, [1, 1])],
]

_INCEPTION_C = [
    [conv('Conv2d_0a_1x1', 256, [1, 1])],
    [conv('Conv2d_0a_1x1', 384, [1, 1]),
     fork(conv('Conv2d_0b_1x3', 256, [1, 3]),
          conv('Conv2d_0c_3x1', 256, [3, 1]))],
    [conv('Conv2d_0a_1x1', 384, [1, 1]), conv('Conv2d_0b_3x1', 448, [3, 1]),
     conv('Conv2d_0c_1x3', 512, [1, 3]),
     fork(conv('Conv2d_0d_1x3', 256, [1, 3]),
          conv('Conv2d_0e_3x1', 256, [3, 1]))],
    [avg_pool('AvgPool_0a_3x3', [3, 3]), conv('Conv2d_0b_1x1', 256, [1, 1])],
]

# Both grid reductions end with a stride-2 max pool branch.
_REDUCTION_POOL = [max_pool('MaxPool_1a_3x3', [3, 3], stride=2,
                            padding='VALID')]

_REDUCTION_A = [
    [conv('Conv2d_1a_3x3', 384, [3, 3], stride=2, padding='VALID')],
    [conv('Conv2d_0a_1x1', 192, [1, 1]), conv('Conv2d_0b_3x3', 224, [3, 3]),
     conv('Conv2d_1a_3x3', 256, [3, 3], stride=2, padding='VALID')],
    _REDUCTION_POOL,
]

_REDUCTION_B = [
    [conv('Conv2d_0a_1x1', 192, [1, 1]),
     conv('Conv2d_1a_3x3', 192, [3, 3], stride=2, padding='VALID')],
    [conv('Conv2d_0a_1x1', 256, [1, 1]), conv('Conv2d_0b_1x7', 256, [1, 7]),
     conv('Conv2d_0c_7x1', 320, [7, 1]),
     conv('Conv2d_1a_3x3', 320, [3, 3], stride=2, padding='VALID')],
    _REDUCTION_POOL,
]


def block_inception_a(inputs, scope=None, reuse=None):
  """Inception-A block (35x35 grid, 384 channels out)."""
  return iu.apply_block(inputs, _INCEPTION_A, scope, 'BlockInceptionA', reuse)


def block_reduction_a(inputs, scope=None, reuse=None):
  """Reduction-A block (35x35 -> 17x17, 1024 channels out from 384)."""
  return iu.apply_block(inputs, _REDUCTION_A, scope, 'BlockReductionA',
                        reuse)


def block_inception_b(inputs, scope=None, reuse=None):
  """Inception-B block (17x17 grid, 1024 channels out)."""
  return iu.apply_block(inputs, _INCEPTION_B, scope, 'BlockInceptionB', reuse)


def block_reduction_b(inputs, scope=None, reuse=None):
  """Reduction-B block (17x17 -> 8x8, 1536 channels out from 1024)."""
  return iu.apply_block(inputs, _REDUCTION_B, scope, 'BlockReductionB',
                        reuse)


def block_inception_c(inputs, scope=None, reuse=None):
  """Inception-C block (8x8 grid, 1536 channels out)."""
  return iu.apply_block(inputs, _INCEPTION_C, scope, 'BlockInceptionC', reuse)


_STAGES = (
    [conv('Conv2d_1a_3x3', 32, [3, 3], stride=2, padding='VALID'),
     conv('Conv2d_2a_3x3', 32, [3, 3], padding='VALID'),
     conv('Conv2d_2b_3x3', 64, [3, 3]),
     iu.Mixed('Mixed_3a', [
         [max_pool('MaxPool_0a_3x3', [3, 3], stride=2, padding='VALID')],
         [conv('Conv2d_0a_3x3', 96, [3, 3], stride=2, padding='VALID')],
     ]),
     iu.Mixed('Mixed_4a', [
         [conv('Conv2d_0a_1x1', 64, [1, 1]),
          conv('Conv2d_1a_3x3', 96, [3, 3], padding='VALID')],
         [conv('Conv2d_0a_1x1', 64, [1, 1]), conv('Conv2d_0b_1x7', 64, [1, 7]),
          conv('Conv2d_0c_7x1', 64, [7, 1]),
          conv('Conv2d_1a_3x3', 96, [3, 3], padding='VALID')],
     ]),
     iu.Mixed('Mixed_5a', [
         [conv('Conv2d_1a_3x3', 192, [3, 3], stride=2, padding='VALID')],
         [max_pool('MaxPool_1a_3x3', [3, 3], stride=2, padding='VALID')],
     ])] +
    [iu.Mixed('Mixed_5' + letter, _INCEPTION_A) for letter in 'bcde'] +
    [iu.Mixed('Mixed_6a', _REDUCTION_A)] +
    [iu.Mixed('Mixed_6' + letter, _INCEPTION_B) for letter in 'bcdefgh'] +
    [iu.Mixed('Mixed_7a', _REDUCTION_B)] +
    [iu.Mixed('Mixed_7' + letter, _INCEPTION_C) for letter in 'bcd'])

_AUX_HEAD = iu.AuxHead(pool_name='AvgPool_1a_5x5', conv_name='Conv2d_2a',
                       conv_kernel=None, conv_stddev=None,
                       logits_name='Aux_logits', logits_stddev=None,
                       logits_as_conv=False)


def inception_v4_base(inputs, final_endpoint='Mixed_7d', scope=None):
  """The convolutional trunk up to `final_endpoint`.

  Args:
    inputs: float32 [batch, height, width, channels].
    final_endpoint: the last stage built, one of Conv2d_1a_3x3,
      Conv2d_2a_3x3, Conv2d_2b_3x3, Mixed_3a, Mixed_4a, Mixed_5a, Mixed_5b
      ... Mixed_5e, Mixed_6a ... Mixed_6h, Mixed_7a ... Mixed_7d.
    scope: variable scope (default: a new 'InceptionV4' one).

  Returns:
    (net, end_points): the `final_endpoint` tensor and every stage so far.

  Raises:
    ValueError: for an unknown `final_endpoint`.
  """
  with iu.trunk_scope(scope, 'InceptionV4', inputs):
    return iu.build_trunk(inputs, _STAGES, final_endpoint)


def inception_v4(inputs, num_classes=1001, is_training=True,
                 dropout_keep_prob=0.8, reuse=None, scope='InceptionV4',
                 create_aux_logits=True):
  """Inception-v4 classifier.

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

  Returns:
    (logits, end_points).
  """
  with iu.classifier_scope(scope, 'InceptionV4', inputs, reuse,
                           is_training) as sc:
    net, end_points = inception_v4_base(inputs, scope=sc)
    if num_classes and create_aux_logits:
      end_points['AuxLogits'] = iu.aux_logits(end_points['Mixed_6h'],
                                              num_classes, _AUX_HEAD)
    return iu.fc_logits(net, end_points, num_classes, dropout_keep_prob,
                        pool_name='AvgPool_1a', dropout_name='Dropout_1b')


inception_v4.default_image_size = 299
