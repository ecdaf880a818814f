"""S3D-G, the gated separable 3-D Inception-v1 (Xie et al. 2017, "Rethinking
Spatiotemporal Feature Learning for Video Understanding",
https://arxiv.org/abs/1712.04851), and the trunk it shares with I3D.

The trunk is Inception-v1 with every layer in 3-D, written as a table. Two
switches turn the paper's variants on from a named layer onwards:

* `temporal_conv_startat`: from there, the 3x3 convolutions see 3 frames
  (t = 3; before it t = 1, 2-D in effect). Separable (S3D) or full 3-D (I3D)
  is the arg scope's choice;
* `gating_startat`: from there, each branch output is multiplied by a
  sigmoid gate computed from its own clip-wide average (`self_gating`).

Only the layers that can use a switch (Conv2d_2c_3x3 and the Mixed modules)
turn it on; any other name, or None, leaves it off throughout.
"""

import collections
import functools

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import i3d_utils
from nets import inception_utils

# Placeholders for a kernel's temporal size in the table.
_FIRST = 'first_temporal_kernel_size'
_SWITCHED = 'temporal'  # 3 once temporal convolutions started, else 1

Conv = collections.namedtuple('Conv', ['name', 'depth', 'kernel', 'stride',
                                       'separable'], defaults=[None])
Pool = collections.namedtuple('Pool', ['name', 'kernel', 'stride'])
# Depths in inception_block_v1_3d's order: 0_0a, 1_0a, 1_0b, 2_0a, 2_0b, 3_0b.
Mixed = collections.namedtuple('Mixed', ['name', 'depths'])

_STAGES = (
    # Separable is slow on the full-resolution 3-channel input, and the
    # released models never split this layer.
    Conv('Conv2d_1a_7x7', 64, [_FIRST, 7, 7], 2, separable=False),
    Pool('MaxPool_2a_3x3', [1, 3, 3], [1, 2, 2]),
    Conv('Conv2d_2b_1x1', 64, [1, 1, 1], 1),
    Conv('Conv2d_2c_3x3', 192, [_SWITCHED, 3, 3], 1),
    Pool('MaxPool_3a_3x3', [1, 3, 3], [1, 2, 2]),
    Mixed('Mixed_3b', (64, 96, 128, 16, 32, 32)),
    Mixed('Mixed_3c', (128, 128, 192, 32, 96, 64)),
    Pool('MaxPool_4a_3x3', [3, 3, 3], [2, 2, 2]),
    Mixed('Mixed_4b', (192, 96, 208, 16, 48, 64)),
    Mixed('Mixed_4c', (160, 112, 224, 24, 64, 64)),
    Mixed('Mixed_4d', (128, 128, 256, 24, 64, 64)),
    Mixed('Mixed_4e', (112, 144, 288, 32, 64, 64)),
    Mixed('Mixed_4f', (256, 160, 320, 32, 128, 128)),
    Pool('MaxPool_5a_2x2', [2, 2, 2], [2, 2, 2]),
    Mixed('Mixed_5b', (256, 160, 320, 32, 128, 128)),
    Mixed('Mixed_5c', (384, 192, 384, 48, 128, 128)),
)

END_POINTS = tuple(stage.name for stage in _STAGES)


def s3dg_arg_scope(weight_decay=1e-7, batch_norm_decay=0.999,
                   batch_norm_epsilon=0.001):
  """Arg scope of S3D-G: `i3d_utils.video_arg_scope` with separable convs."""
  return i3d_utils.video_arg_scope(weight_decay, batch_norm_decay,
                                   batch_norm_epsilon, separable_conv3d=True)


def self_gating(input_tensor, scope, data_format='NDHWC'):
  """Feature gating: each channel scaled by a gate from the whole clip.

  The clip-wide average of every channel goes through a 1x1x1 linear map
  (`scope/self_gating/transformer_W`, no biases) and a sigmoid; the result
  multiplies the input at every frame and position.

  Args:
    input_tensor: 5-D tensor in `data_format`.
    scope: name of the layer being gated.
    data_format: 'NDHWC' or 'NCDHW'.

  Returns:
    A tensor of the input's shape.
  """
  channels = i3d_utils.channel_axis(data_format)
  clip_axes = [axis for axis in range(1, 5) if axis != channels]
  average = tf.reduce_mean(input_tensor, clip_axes, keepdims=True)
  gate = slim.conv3d(
      average, input_tensor.shape.as_list()[channels], [1, 1, 1],
      activation_fn=None, normalizer_fn=None, biases_initializer=None,
      weights_initializer=tf.truncated_normal_initializer(stddev=0.01),
      data_format=data_format, scope=scope + '/self_gating/transformer_W')
  # The gate broadcasts over frames and positions.
  return tf.multiply(tf.sigmoid(gate), input_tensor)


def _can_switch(stage):
  """Whether `stage` may start temporal convolutions or gating."""
  return isinstance(stage, Mixed) or (isinstance(stage, Conv) and
                                      stage.kernel[0] == _SWITCHED)


def _apply_stage(net, stage, depth, temporal_sizes, gating_fn, data_format):
  """Runs one table row; `temporal_sizes` maps the kernel placeholders."""
  if isinstance(stage, Pool):
    return slim.max_pool3d(net, stage.kernel, stride=stage.stride,
                           scope=stage.name)
  if isinstance(stage, Mixed):
    return i3d_utils.inception_block_v1_3d(
        net, *[depth(d) for d in stage.depths],
        temporal_kernel_size=temporal_sizes[_SWITCHED],
        self_gating_fn=gating_fn, data_format=data_format, scope=stage.name)
  kernel = [temporal_sizes.get(stage.kernel[0], stage.kernel[0])]
  kwargs = {} if stage.separable is None else {'separable': stage.separable}
  net = i3d_utils.conv3d_spatiotemporal(
      net, depth(stage.depth), kernel + stage.kernel[1:], stride=stage.stride,
      scope=stage.name, **kwargs)
  if gating_fn is not None and _can_switch(stage):
    net = gating_fn(net, scope=stage.name)
  return net


def _check_base_args(first_temporal_kernel_size, depth_multiplier,
                     final_endpoint):
  if first_temporal_kernel_size not in (1, 3, 5, 7):
    raise ValueError('first_temporal_kernel_size must be 1, 3, 5 or 7, got '
                     '%r' % (first_temporal_kernel_size,))
  if depth_multiplier <= 0:
    raise ValueError('depth_multiplier must be greater than zero, got %r' %
                     (depth_multiplier,))
  if final_endpoint not in END_POINTS:
    raise ValueError('Unknown final_endpoint %r; valid: %s' %
                     (final_endpoint, ', '.join(END_POINTS)))


def _build_trunk(inputs, first_temporal_kernel_size, temporal_conv_startat,
                 gating_startat, final_endpoint, depth, data_format):
  """The table's stages in order; returns (net, end_points)."""
  temporal_sizes = {_FIRST: first_temporal_kernel_size, _SWITCHED: 1}
  gating_fn = None
  net, end_points = inputs, {}
  for stage in _STAGES:
    if _can_switch(stage) and stage.name == temporal_conv_startat:
      temporal_sizes[_SWITCHED] = 3
    if _can_switch(stage) and stage.name == gating_startat:
      gating_fn = functools.partial(self_gating, data_format=data_format)
    net = _apply_stage(net, stage, depth, temporal_sizes, gating_fn,
                       data_format)
    end_points[stage.name] = net
    if stage.name == final_endpoint:
      break
  return net, end_points


def s3dg_base(inputs, first_temporal_kernel_size=3,
              temporal_conv_startat='Conv2d_2c_3x3',
              gating_startat='Conv2d_2c_3x3', final_endpoint='Mixed_5c',
              min_depth=16, depth_multiplier=1.0, data_format='NDHWC',
              scope='InceptionV1'):
  """The I3D / S3D-G trunk up to `final_endpoint`.

  Args:
    inputs: float clips [batch, frames, height, width, channels] (NDHWC).
    first_temporal_kernel_size: frames seen by Conv2d_1a_7x7: 1, 3, 5 or 7
      (7 in I3D; 3 in S3D-G, as good and faster).
    temporal_conv_startat: first layer whose 3x3 convolutions are 3x3x3
      (see the module docstring).
    gating_startat: first layer with self-gating; None: no gating (I3D).
    final_endpoint: the last stage built (an `END_POINTS` name).
    min_depth: smallest depth any layer gets from `depth_multiplier`.
    depth_multiplier: scales every layer's depth (> 0).
    data_format: 'NDHWC' or 'NCDHW' (GPU only).
    scope: variable scope; `InceptionV1`, the names of the image model
      whose weights the 3-D ones are inflated from.

  Returns:
    (net, end_points).

  Raises:
    ValueError: for a bad first_temporal_kernel_size, depth_multiplier,
      final_endpoint or data_format.
  """
  i3d_utils.channel_axis(data_format)
  _check_base_args(first_temporal_kernel_size, depth_multiplier,
                   final_endpoint)

  def depth(d):
    return max(int(d * depth_multiplier), min_depth)

  # slim's BatchNorm names the two layouts by their 2-D names.
  batch_norm_format = 'NCHW' if data_format == 'NCDHW' else 'NHWC'
  layers = [slim.conv3d, slim.max_pool3d, i3d_utils.conv3d_spatiotemporal]
  with tf.variable_scope(scope, 'InceptionV1', [inputs]), slim.arg_scope(
      [slim.conv3d],
      weights_initializer=tf.truncated_normal_initializer(stddev=0.01)):
    with slim.arg_scope(layers, stride=1, padding='SAME',
                        data_format=data_format), slim.arg_scope(
                            [slim.batch_norm], data_format=batch_norm_format):
      return _build_trunk(inputs, first_temporal_kernel_size,
                          temporal_conv_startat, gating_startat,
                          final_endpoint, depth, data_format)


def _classifier(net, end_points, num_classes, dropout_keep_prob,
                prediction_fn, spatial_squeeze, data_format):
  """The Logits scope: 2x7x7 average pool, 1x1x1 conv, mean over time.

  With no `num_classes`, returns the pooled features averaged over time.
  """
  with tf.variable_scope('Logits'):
    if data_format == 'NCDHW':
      net = tf.transpose(net, [0, 2, 3, 4, 1])
    net = slim.avg_pool3d(net, i3d_utils.reduced_kernel_size_3d(net, [2, 7, 7]),
                          stride=1, padding='VALID', data_format='NDHWC',
                          scope='AvgPool_0a_7x7')
    if num_classes:
      net = slim.dropout(net, dropout_keep_prob, scope='Dropout_0b')
      net = slim.conv3d(net, num_classes, [1, 1, 1], activation_fn=None,
                        normalizer_fn=None, data_format='NDHWC',
                        scope='Conv2d_0c_1x1')
    # One score per window of frames; the clip's is their mean.
    net = tf.reduce_mean(net, axis=1, name='TemporalMean')
    if spatial_squeeze:
      net = tf.squeeze(net, [1, 2], name='SpatialSqueeze')
    if not num_classes:
      return net, end_points
    end_points['Logits'] = net
    end_points['Predictions'] = prediction_fn(net, scope='Predictions')
  return net, end_points


def s3dg(inputs, num_classes=1000, first_temporal_kernel_size=3,
         temporal_conv_startat='Conv2d_2c_3x3', gating_startat='Conv2d_2c_3x3',
         final_endpoint='Mixed_5c', min_depth=16, depth_multiplier=1.0,
         dropout_keep_prob=0.8, is_training=True, prediction_fn=slim.softmax,
         spatial_squeeze=True, reuse=None, data_format='NDHWC',
         scope='InceptionV1'):
  """S3D-G classifier (also I3D's, with `nets.i3d`'s arguments).

  Args:
    inputs: float clips [batch, frames, height, width, 3], 224x224 frames
      for the released Kinetics models (64 frames).
    num_classes: number of classes; 0 or None returns the pooled 1024-d
      features, averaged over time, instead of logits.
    first_temporal_kernel_size, temporal_conv_startat, gating_startat,
    final_endpoint, min_depth, depth_multiplier: see `s3dg_base`.
    dropout_keep_prob: fraction of pooled features kept while training.
    is_training: BatchNorm uses batch statistics and dropout is active.
    prediction_fn: turns logits into `end_points['Predictions']`.
    spatial_squeeze: squeeze logits to [batch, num_classes].
    reuse: whether to reuse the variables of `scope`.
    data_format: 'NDHWC' or 'NCDHW' (GPU only).
    scope: variable scope of every variable.

  Returns:
    (logits, end_points).
  """
  with inception_utils.classifier_scope(scope, 'InceptionV1', inputs, reuse,
                                        is_training) as sc:
    net, end_points = s3dg_base(
        inputs, first_temporal_kernel_size=first_temporal_kernel_size,
        temporal_conv_startat=temporal_conv_startat,
        gating_startat=gating_startat, final_endpoint=final_endpoint,
        min_depth=min_depth, depth_multiplier=depth_multiplier,
        data_format=data_format, scope=sc)
    return _classifier(net, end_points, num_classes, dropout_keep_prob,
                       prediction_fn, spatial_squeeze, data_format)


s3dg.default_image_size = 224
