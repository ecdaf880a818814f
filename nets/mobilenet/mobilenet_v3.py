"""MobileNet v3 (Howard et al. 2019, "Searching for MobileNetV3",
https://arxiv.org/abs/1905.02244) and MobileNet EdgeTPU.

MobileNet v3 keeps v2's inverted residual bottlenecks and adds, per block,
squeeze-excite (gate: hard sigmoid) and the hard swish non-linearity
`x * relu6(x + 3) / 6`; its head pools before the last 1x1 convolution,
which has no BatchNorm. The "minimalistic" variants drop squeeze-excite,
hard swish and 5x5 kernels (friendlier to every accelerator). MobileNet
EdgeTPU (Google AI blog, 2019) replaces expansion + depthwise by one full
3x3 convolution ("fused") in the early, narrow blocks, where the Edge TPU
runs full convolutions faster.

The released checkpoints (`v3-large_224_1.0_float`, `v3-small_224_1.0_float`,
the minimalistic ones, `mobilenet_edgetpu_224_1.0`) have 1001 classes and
expect inception preprocessing; scopes are `MobilenetV3` and
`MobilenetEdgeTPU`.

    with slim.arg_scope(mobilenet_v3.training_scope(is_training=False)):
      logits, end_points = mobilenet_v3.large(images)
"""

import functools

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets.mobilenet import conv_blocks as ops
from nets.mobilenet import mobilenet as lib

op = lib.op
expand_input = ops.expand_input_by_factor


def hard_sigmoid(x, name='hard_sigmoid'):
  """relu6(x + 3) / 6: a piecewise linear sigmoid, cheap on mobile."""
  with tf.name_scope(name):
    return tf.nn.relu6(x + 3.0) * (1.0 / 6.0)


def hard_swish(x, name='hard_swish'):
  """x * hard_sigmoid(x): the paper's h-swish."""
  with tf.name_scope(name):
    return x * hard_sigmoid(x)


def _squeeze_excite_gate(x):
  # The released checkpoints were trained with 1/6 rounded to 0.16667 here.
  return tf.nn.relu6(x + 3.0) * 0.16667


# Squeeze-excite as MobileNet v3 uses it: a quarter of the expansion width,
# ReLU inside, hard sigmoid gate.
squeeze_excite = functools.partial(
    ops.squeeze_excite, squeeze_factor=4, inner_activation_fn=tf.nn.relu,
    gating_fn=_squeeze_excite_gate)


def _se4(expansion_tensor, input_tensor):
  """`squeeze_excite` as an `expanded_conv` expansion_transform."""
  del input_tensor
  return squeeze_excite(expansion_tensor)


def reduce_to_1x1(input_tensor, default_size=7, stride=1, padding='VALID',
                  rate=1, use_explicit_padding=False, scope=None):
  """Average pools the map to 1x1 (the head's pool before its last conv).

  A square map of known size is pooled whole, any other known map by a
  `default_size` window (the checkpoints' 7x7 at 224x224). An unknown size
  (e.g. an exported graph with free input size) is averaged whole: a fixed
  window would fail on inputs under 224 and not reduce to 1x1 above.
  `rate` and `use_explicit_padding` are accepted, and mean nothing, so that
  `output_stride` and explicit padding work on networks with this layer.
  """
  del rate, use_explicit_padding
  height, width = input_tensor.shape.as_list()[1:3]
  if height is None or width is None:
    return ops.global_pool(input_tensor)
  size = height if height == width else default_size
  return slim.avg_pool2d(input_tensor, [size, size], stride=stride,
                         padding=padding, scope=scope)


def mbv3_op(ef, n, k, s=1, act=tf.nn.relu, se=None, **kwargs):
  """One bottleneck (`expanded_conv`) of a MobileNet v3 table.

  Args:
    ef: expansion factor (expansion width / input width).
    n: output channels.
    k: depthwise kernel size.
    s: stride.
    act: activation of the expansion and depthwise convolutions.
    se: expansion_transform, e.g. `_se4` for squeeze-excite.
    **kwargs: more `expanded_conv` arguments.

  Returns:
    A layer (`mobilenet.op`).
  """
  return op(ops.expanded_conv, expansion_size=expand_input(ef),
            kernel_size=(k, k), stride=s, num_outputs=n,
            inner_activation_fn=act, expansion_transform=se, **kwargs)


def _fused_expansion(input_tensor, num_outputs, kernel_size, stride=1,
                     use_explicit_padding=False, **kwargs):
  """The full convolution of a fused block, padding itself when asked."""
  if use_explicit_padding:
    input_tensor = ops._fixed_padding(input_tensor, [kernel_size] * 2)
  return slim.conv2d(input_tensor, num_outputs, kernel_size, stride=stride,
                     **kwargs)


def mbv3_fused(ef, n, k, s=1, **kwargs):
  """A fused bottleneck: a full k x k expansion conv, no depthwise.

  Its stride belongs to the expansion, which `output_stride` (it changes the
  block's depthwise stride) does not reach: EdgeTPU's fused blocks take the
  map to 1/8, so output strides of 8 and more are still honoured.
  """
  expansion_fn = functools.partial(_fused_expansion, kernel_size=k, stride=s)
  return mbv3_op(ef, n, k=1, s=s, depthwise_location=None,
                 expansion_fn=expansion_fn, **kwargs)


mbv3_op_se = functools.partial(mbv3_op, se=_se4)

DEFAULTS = {
    (ops.expanded_conv,): dict(normalizer_fn=slim.batch_norm, residual=True),
    (slim.conv2d, slim.fully_connected, slim.separable_conv2d): {
        'normalizer_fn': slim.batch_norm,
        'activation_fn': tf.nn.relu,
    },
    (slim.batch_norm,): {'center': True, 'scale': True},
}

RE = tf.nn.relu
HS = hard_swish

# Table 1 of the paper, MobileNetV3-Large, one row per bneck block:
# (kernel, expansion, output channels, squeeze-excite, non-linearity (RE:
# ReLU, HS: hard swish), stride). The expansion is a factor of the block's
# input width (the paper lists "exp size" = factor x input channels), so it
# follows the depth multiplier.
_LARGE_BLOCKS = (
    (3, 1,           16, False, RE, 1),
    (3, 4,           24, False, RE, 2),
    (3, 3,           24, False, RE, 1),
    (5, 3,           40, True,  RE, 2),
    (5, 3,           40, True,  RE, 1),
    (5, 3,           40, True,  RE, 1),
    (3, 6,           80, False, HS, 2),
    (3, 2.5,         80, False, HS, 1),
    (3, 184 / 80,    80, False, HS, 1),
    (3, 184 / 80,    80, False, HS, 1),
    (3, 6,          112, True,  HS, 1),
    (3, 6,          112, True,  HS, 1),
    (5, 6,          160, True,  HS, 2),
    (5, 6,          160, True,  HS, 1),
    (5, 6,          160, True,  HS, 1),
)

# Table 2 of the paper, MobileNetV3-Small, likewise.
_SMALL_BLOCKS = (
    (3, 1,           16, True,  RE, 2),
    (3, 72 / 16,     24, False, RE, 2),
    (3, 88 / 24,     24, False, RE, 1),
    (5, 4,           40, True,  HS, 2),
    (5, 6,           40, True,  HS, 1),
    (5, 6,           40, True,  HS, 1),
    (5, 3,           48, True,  HS, 1),
    (5, 3,           48, True,  HS, 1),
    (5, 6,           96, True,  HS, 2),
    (5, 6,           96, True,  HS, 1),
    (5, 6,           96, True,  HS, 1),
)


def _v3_def(blocks, head_widths, minimalistic=False):
  """The conv defs of a MobileNet v3 from its block table.

  16-channel 3x3/2 stem, the blocks, a 1x1 conv to head_widths[0], a pool
  to 1x1 and a 1x1 conv without BatchNorm to head_widths[1]. Minimalistic:
  every kernel 3x3, no squeeze-excite, ReLU everywhere.
  """
  activation = RE if minimalistic else HS
  spec = [op(slim.conv2d, stride=2, num_outputs=16, kernel_size=(3, 3),
             activation_fn=activation)]
  for kernel, expansion, num_outputs, use_se, act, stride in blocks:
    if minimalistic:
      kernel, use_se, act = 3, False, RE
    spec.append(mbv3_op(ef=expansion, n=num_outputs, k=kernel, s=stride,
                        act=act, se=_se4 if use_se else None))
  spec += [
      op(slim.conv2d, stride=1, kernel_size=[1, 1],
         num_outputs=head_widths[0], activation_fn=activation),
      op(reduce_to_1x1, default_size=7, stride=1, padding='VALID'),
      op(slim.conv2d, stride=1, kernel_size=[1, 1],
         num_outputs=head_widths[1], normalizer_fn=None,
         activation_fn=activation),
  ]
  return dict(defaults=dict(DEFAULTS), spec=spec)


V3_LARGE = _v3_def(_LARGE_BLOCKS, (960, 1280))
V3_LARGE_MINIMALISTIC = _v3_def(_LARGE_BLOCKS, (960, 1280), minimalistic=True)
V3_SMALL = _v3_def(_SMALL_BLOCKS, (576, 1024))
V3_SMALL_MINIMALISTIC = _v3_def(_SMALL_BLOCKS, (576, 1024), minimalistic=True)

# MobileNet EdgeTPU: ReLU throughout, no squeeze-excite, fused blocks first.
V3_EDGETPU = dict(
    defaults=dict(DEFAULTS),
    spec=[
        op(slim.conv2d, stride=2, num_outputs=32, kernel_size=(3, 3)),
        mbv3_fused(k=3, s=1, ef=1, n=16),
        mbv3_fused(k=3, s=2, ef=8, n=32),
        mbv3_fused(k=3, s=1, ef=4, n=32),
        mbv3_fused(k=3, s=1, ef=4, n=32),
        mbv3_fused(k=3, s=1, ef=4, n=32),
        mbv3_fused(k=3, s=2, ef=8, n=48),
        mbv3_fused(k=3, s=1, ef=4, n=48),
        mbv3_fused(k=3, s=1, ef=4, n=48),
        mbv3_fused(k=3, s=1, ef=4, n=48),
        mbv3_op(k=3, s=2, ef=8, n=96),
        mbv3_op(k=3, s=1, ef=4, n=96),
        mbv3_op(k=3, s=1, ef=4, n=96),
        mbv3_op(k=3, s=1, ef=4, n=96),
        mbv3_op(k=3, s=1, ef=8, n=96, residual=False),
        mbv3_op(k=3, s=1, ef=4, n=96),
        mbv3_op(k=3, s=1, ef=4, n=96),
        mbv3_op(k=3, s=1, ef=4, n=96),
        mbv3_op(k=5, s=2, ef=8, n=160),
        mbv3_op(k=5, s=1, ef=4, n=160),
        mbv3_op(k=5, s=1, ef=4, n=160),
        mbv3_op(k=5, s=1, ef=4, n=160),
        mbv3_op(k=3, s=1, ef=8, n=192),
        op(slim.conv2d, stride=1, num_outputs=1280, kernel_size=(1, 1)),
    ])


@slim.add_arg_scope
def mobilenet(input_tensor,
              num_classes=1001,
              depth_multiplier=1.0,
              scope='MobilenetV3',
              conv_defs=None,
              finegrain_classification_mode=False,
              **kwargs):
  """MobileNet v3 classifier. Inference mode is created by default; build
  under `training_scope()` to train.

  Args:
    input_tensor: [batch, height, width, 3]; 224x224 for the checkpoints.
    num_classes: number of classes; 0 or None returns the pooled features.
    depth_multiplier: scales every layer's width.
    scope: variable scope of every variable.
    conv_defs: the table to build (default `V3_LARGE`), e.g. `V3_SMALL`.
    finegrain_classification_mode: the last layer keeps its full width
      whatever the multiplier. Has no effect when `final_endpoint` stops
      earlier.
    **kwargs: passed to `mobilenet.mobilenet` (prediction_fn, reuse,
      base_only, is_training, final_endpoint, output_stride,
      use_explicit_padding, use_reduce_mean_for_pooling, ...).

  Returns:
    (logits, end points).

  Raises:
    ValueError: on `multiplier=` (use depth_multiplier) or bad arguments.
  """
  conv_defs = V3_LARGE if conv_defs is None else conv_defs
  return lib.scaled_mobilenet(
      input_tensor, conv_defs, depth_multiplier, num_classes, scope,
      keep_last_layer_width=finegrain_classification_mode, **kwargs)


mobilenet.default_image_size = 224
training_scope = lib.training_scope


@slim.add_arg_scope
def mobilenet_base(input_tensor, depth_multiplier=1.0, **kwargs):
  """The layers of MobileNet v3 without pooling and logits."""
  return mobilenet(input_tensor, depth_multiplier=depth_multiplier,
                   base_only=True, **kwargs)


mobilenet_base.default_image_size = 224


def wrapped_partial(func, new_defaults=None, **kwargs):
  """`functools.partial(func, **kwargs)` whose `new_defaults` (e.g. a scope)
  the caller may still override, by keyword or position."""
  return lib.partial_network(func, kwargs=kwargs, defaults=new_defaults)


_EDGETPU_SCOPE = {'scope': 'MobilenetEdgeTPU'}

large = wrapped_partial(mobilenet, conv_defs=V3_LARGE)
small = wrapped_partial(mobilenet, conv_defs=V3_SMALL)
large_minimalistic = wrapped_partial(mobilenet, conv_defs=V3_LARGE_MINIMALISTIC)
small_minimalistic = wrapped_partial(mobilenet, conv_defs=V3_SMALL_MINIMALISTIC)
edge_tpu = wrapped_partial(mobilenet, new_defaults=_EDGETPU_SCOPE,
                           conv_defs=V3_EDGETPU)
edge_tpu_075 = wrapped_partial(mobilenet, new_defaults=_EDGETPU_SCOPE,
                               conv_defs=V3_EDGETPU, depth_multiplier=0.75,
                               finegrain_classification_mode=True)


def _reduce_consecutive_layers(conv_defs, start_id, end_id, multiplier=0.5):
  """`conv_defs` with layers start_id ... end_id (0-based, inclusive) made
  `multiplier` times as wide (the detection backbones' lighter last stage).

  Raises:
    KeyError: if one of those layers has no `num_outputs`.
  """
  spec = list(conv_defs['spec'])
  for index in range(start_id, end_id + 1):
    params = dict(spec[index].params)
    params['num_outputs'] = int(round(params['num_outputs'] * multiplier))
    spec[index] = spec[index]._replace(params=params)
  return dict(conv_defs, spec=spec)


V3_LARGE_DETECTION = _reduce_consecutive_layers(V3_LARGE, 13, 16)
V3_SMALL_DETECTION = _reduce_consecutive_layers(V3_SMALL, 9, 12)

__all__ = ['training_scope', 'mobilenet', 'V3_LARGE', 'V3_SMALL', 'large',
           'small', 'V3_LARGE_DETECTION', 'V3_SMALL_DETECTION']
