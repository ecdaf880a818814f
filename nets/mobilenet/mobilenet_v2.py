"""MobileNet v2 (Sandler et al. 2018, "MobileNetV2: Inverted Residuals and
Linear Bottlenecks", https://arxiv.org/abs/1801.04381).

A 3x3 stride-2 convolution, 17 inverted residual bottlenecks
(`conv_blocks.expanded_conv`: 1x1 expansion, 3x3 depthwise, linear 1x1
projection; ReLU6 and BatchNorm elsewhere), a 1x1 convolution to 1280
channels, then `mobilenet.mobilenet`'s classifier. At 224x224 the released
`mobilenet_v2_1.0_224` checkpoint reaches 72% top-1 with 300M multiply-adds
and 3.4M parameters; it has 1001 classes (background first) and expects
inception preprocessing. Variables are named as in it, e.g.
`MobilenetV2/expanded_conv_3/depthwise/depthwise_weights`.

    with slim.arg_scope(mobilenet_v2.training_scope(is_training=False)):
      logits, end_points = mobilenet_v2.mobilenet(images)
"""

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets.mobilenet import conv_blocks as ops
from nets.mobilenet import mobilenet as lib

op = lib.op
expand_input = ops.expand_input_by_factor

# The layers' convolution functions, the key the activation lives under.
_CONV_FUNCTIONS = (slim.conv2d, slim.fully_connected, slim.separable_conv2d)

# Table 2 of the paper, one row (t, c, n, s) per stage: `n` bottlenecks with
# expansion factor `t` and `c` output channels, the first with stride `s`.
_BOTTLENECKS = (
    (1,  16, 1, 1),
    (6,  24, 2, 2),
    (6,  32, 3, 2),
    (6,  64, 4, 2),
    (6,  96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


def _bottleneck(expansion, num_outputs, stride):
  # Factor 1 must not round the width up (that would add an expand conv).
  divisible_by = 1 if expansion == 1 else 8
  return op(ops.expanded_conv, stride=stride, num_outputs=num_outputs,
            expansion_size=expand_input(expansion, divisible_by=divisible_by))


V2_DEF = dict(
    defaults={
        # Part of the architecture (the checkpoint has beta and gamma), hence
        # here rather than in training_scope.
        (slim.batch_norm,): {'center': True, 'scale': True},
        _CONV_FUNCTIONS: {
            'normalizer_fn': slim.batch_norm, 'activation_fn': tf.nn.relu6},
        (ops.expanded_conv,): {
            'split_expansion': 1, 'normalizer_fn': slim.batch_norm,
            'residual': True},
        (slim.conv2d, slim.separable_conv2d): {'padding': 'SAME'},
    },
    spec=(
        [op(slim.conv2d, stride=2, num_outputs=32, kernel_size=[3, 3])] +
        [_bottleneck(t, c, s if repeat == 0 else 1)
         for t, c, n, s in _BOTTLENECKS for repeat in range(n)] +
        [op(slim.conv2d, stride=1, kernel_size=[1, 1], num_outputs=1280)]),
)


def _with_activation(conv_defs, activation_fn):
  """`conv_defs` with `activation_fn` for every convolution."""
  defaults = dict(conv_defs['defaults'])
  defaults[_CONV_FUNCTIONS] = dict(defaults.get(_CONV_FUNCTIONS, {}),
                                   activation_fn=activation_fn)
  return dict(conv_defs, defaults=defaults)


@slim.add_arg_scope
def mobilenet(input_tensor,
              num_classes=1001,
              depth_multiplier=1.0,
              scope='MobilenetV2',
              conv_defs=None,
              finegrain_classification_mode=False,
              min_depth=None,
              divisible_by=None,
              activation_fn=None,
              **kwargs):
  """MobileNet v2 classifier (inference mode unless under training_scope).

  Args:
    input_tensor: [batch, height, width, 3]; 224x224 for the checkpoints.
    num_classes: number of classes; 0 or None returns the pooled features.
    depth_multiplier: scales every layer's width.
    scope: variable scope of every variable.
    conv_defs: the table to build (default `V2_DEF`).
    finegrain_classification_mode: with depth_multiplier < 1, keep the last
      layer at full width (the paper finds it loses less accuracy). Has no
      effect when `final_endpoint` stops earlier.
    min_depth: narrowest a scaled layer gets (default 8).
    divisible_by: scaled widths are multiples of it (default 8).
    activation_fn: activation of every convolution (default ReLU6).
    **kwargs: passed to `mobilenet.mobilenet` (prediction_fn, reuse,
      base_only, is_training, final_endpoint, output_stride,
      use_explicit_padding, ...).

  Returns:
    (logits, end points).

  Raises:
    ValueError: on `multiplier=` (use depth_multiplier) or bad arguments.
  """
  conv_defs = V2_DEF if conv_defs is None else conv_defs
  if activation_fn:
    conv_defs = _with_activation(conv_defs, activation_fn)
  return lib.scaled_mobilenet(
      input_tensor, conv_defs, depth_multiplier, num_classes, scope,
      keep_last_layer_width=(finegrain_classification_mode and
                             depth_multiplier < 1),
      min_depth=min_depth, divisible_by=divisible_by, **kwargs)


mobilenet.default_image_size = 224


def wrapped_partial(func, *args, **kwargs):
  """`functools.partial` keeping `func`'s name, docstring and attributes."""
  return lib.partial_network(func, args, kwargs)


# The released multipliers. Below 1.0 the last layer keeps its 1280 channels.
mobilenet_v2_140 = wrapped_partial(mobilenet, depth_multiplier=1.4)
mobilenet_v2_050 = wrapped_partial(mobilenet, depth_multiplier=0.50,
                                   finegrain_classification_mode=True)
mobilenet_v2_035 = wrapped_partial(mobilenet, depth_multiplier=0.35,
                                   finegrain_classification_mode=True)


@slim.add_arg_scope
def mobilenet_base(input_tensor, depth_multiplier=1.0, **kwargs):
  """The layers of MobileNet v2 without pooling and logits."""
  return mobilenet(input_tensor, depth_multiplier=depth_multiplier,
                   base_only=True, **kwargs)


mobilenet_base.default_image_size = 224


def training_scope(**kwargs):
  """`mobilenet.training_scope`: is_training, weight_decay, stddev,
  dropout_keep_prob, bn_decay."""
  return lib.training_scope(**kwargs)


__all__ = ['training_scope', 'mobilenet_base', 'mobilenet', 'V2_DEF']
