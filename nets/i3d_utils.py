"""Building blocks shared by the video networks I3D and S3D-G.

Both networks inflate Inception-v1 to 3-D (Carreira & Zisserman 2017, "Quo
Vadis, Action Recognition? A New Model and the Kinetics Dataset"; Xie et al.
2017, "Rethinking Spatiotemporal Feature Learning for Video Understanding").
Their layers keep Inception-v1's names (`Conv2d_...`, `Mixed_...`) so an image
checkpoint's weights can be inflated into them. Inputs are 5-D clips,
`[batch, frames, height, width, channels]` (or NCDHW).

* `conv3d_spatiotemporal`: a k_t x k x k convolution, either full 3-D (I3D)
  or separable into 1 x k x k then k_t x 1 x 1 (S3D);
* `inception_block_v1_3d`: the four-branch Inception module in 3-D, with an
  optional gate on every branch (S3D-G);
* `video_arg_scope`: the arg scope both networks are trained with;
* `still_clips`: images as clips of one repeated frame, so image data can
  drive a video network (tool chain, no video dataset in slim).
"""

import numpy as np

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf
import tf_slim as slim

_DATA_FORMATS = ('NDHWC', 'NCDHW')


def channel_axis(data_format):
  """Index of the channel dimension of a 5-D tensor in `data_format`."""
  if data_format not in _DATA_FORMATS:
    raise ValueError('data_format must be one of %s, got %r' %
                     (', '.join(_DATA_FORMATS), data_format))
  return data_format.index('C')


def center_initializer():
  """Initialiser making a k x 1 x 1 temporal convolution the identity.

  Only the middle frame's weights are set (to the identity matrix), so a
  separable block starts out as its spatial convolution alone; S3D trains
  badly from random temporal weights. Needs an odd temporal size and as many
  output as input channels.
  """

  def initializer(shape, dtype=tf.float32, partition_info=None):
    del partition_info  # variables are built whole, never partitioned
    if dtype not in (tf.float32, tf.bfloat16):
      raise ValueError('center_initializer makes float32 or bfloat16 weights, '
                       'not %s' % dtype)
    if len(shape) != 5:
      raise ValueError('center_initializer needs a 5-D kernel shape, got %s' %
                       (shape,))
    frames, height, width, in_channels, out_channels = shape
    if (height, width) != (1, 1):
      raise ValueError('center_initializer needs a 1x1 spatial kernel, got '
                       '%dx%d' % (height, width))
    if in_channels != out_channels:
      raise ValueError('center_initializer needs as many output as input '
                       'channels, got %d and %d' % (in_channels, out_channels))
    if frames % 2 == 0:
      raise ValueError('center_initializer needs an odd temporal size (a '
                       'middle frame), got %d' % frames)
    weights = np.zeros(shape, dtype=np.float32)
    weights[frames // 2, 0, 0] = np.eye(in_channels, dtype=np.float32)
    return tf.constant(weights, dtype=dtype)

  return initializer


def _triple(value):
  """`value` as [time, height, width]; an int applies to all three."""
  if isinstance(value, (list, tuple)):
    if len(value) != 3:
      raise ValueError('expected 3 values [time, height, width], got %s' %
                       (value,))
    return list(value)
  return [value] * 3


@slim.add_arg_scope
def conv3d_spatiotemporal(inputs, num_outputs, kernel_size, stride=1,
                          padding='SAME', activation_fn=None,
                          normalizer_fn=None, normalizer_params=None,
                          weights_regularizer=None, separable=False,
                          data_format='NDHWC', scope=''):
  """A 3-D convolution, optionally split into spatial then temporal parts.

  Separable (S3D): a 1 x k x k convolution named `scope` (with the
  normalizer), then a k_t x 1 x 1 one named `scope/temporal` with biases
  instead of the normalizer, starting as the identity (`center_initializer`).
  A kernel of temporal size 1 is always a single convolution.

  Args:
    inputs: 5-D tensor in `data_format`.
    num_outputs: output channels.
    kernel_size: [time, height, width] of the kernel.
    stride: int or [time, height, width].
    padding: 'SAME' or 'VALID'.
    activation_fn: applied after each convolution (None: linear).
    normalizer_fn: normalizer of the (spatial) convolution, e.g. BatchNorm.
    normalizer_params: its keyword arguments.
    weights_regularizer: regulariser of the (spatial) convolution's weights.
    separable: split the convolution as described above.
    data_format: 'NDHWC' or 'NCDHW'.
    scope: variable scope of the (spatial) convolution.

  Returns:
    The 5-D output tensor.
  """
  kernel_size = _triple(kernel_size)
  conv_args = dict(padding=padding, activation_fn=activation_fn,
                   data_format=data_format)
  if not separable or kernel_size[0] == 1:
    return slim.conv3d(inputs, num_outputs, kernel_size, stride=stride,
                       normalizer_fn=normalizer_fn,
                       normalizer_params=normalizer_params,
                       weights_regularizer=weights_regularizer, scope=scope,
                       **conv_args)
  time_kernel, height_kernel, width_kernel = kernel_size
  time_stride, height_stride, width_stride = _triple(stride)
  net = slim.conv3d(inputs, num_outputs, [1, height_kernel, width_kernel],
                    stride=[1, height_stride, width_stride],
                    normalizer_fn=normalizer_fn,
                    normalizer_params=normalizer_params,
                    weights_regularizer=weights_regularizer, scope=scope,
                    **conv_args)
  return slim.conv3d(net, num_outputs, [time_kernel, 1, 1],
                     stride=[time_stride, 1, 1], normalizer_fn=None,
                     weights_initializer=center_initializer(),
                     scope=scope + '/temporal', **conv_args)


@slim.add_arg_scope
def inception_block_v1_3d(inputs, num_outputs_0_0a, num_outputs_1_0a,
                          num_outputs_1_0b, num_outputs_2_0a,
                          num_outputs_2_0b, num_outputs_3_0b,
                          temporal_kernel_size=3, self_gating_fn=None,
                          data_format='NDHWC', scope=''):
  """Inception-v1's module in 3-D; the depths are named Branch_Layer.

  Branches: 1x1x1; 1x1x1 -> t x 3 x 3; 1x1x1 -> t x 3 x 3; 3x3x3 max pool ->
  1x1x1, concatenated on channels. The t x 3 x 3 convolutions go through
  `conv3d_spatiotemporal`, so the arg scope decides whether they are
  separable.

  Args:
    inputs: 5-D tensor in `data_format`.
    num_outputs_0_0a: depth of Branch_0/Conv2d_0a_1x1.
    num_outputs_1_0a: depth of Branch_1/Conv2d_0a_1x1.
    num_outputs_1_0b: depth of Branch_1/Conv2d_0b_3x3.
    num_outputs_2_0a: depth of Branch_2/Conv2d_0a_1x1.
    num_outputs_2_0b: depth of Branch_2/Conv2d_0b_3x3.
    num_outputs_3_0b: depth of Branch_3/Conv2d_0b_1x1.
    temporal_kernel_size: t above (1 makes the module 2-D in effect).
    self_gating_fn: `fn(net, scope) -> net`, applied to each branch's output
      under the name of its last layer; None: no gating.
    data_format: 'NDHWC' or 'NCDHW'.
    scope: variable scope of the module.

  Returns:
    5-D tensor with the four branches' depths summed as channels.
  """
  middle = [temporal_kernel_size, 3, 3]
  branches = [
      [(slim.conv3d, 'Conv2d_0a_1x1', num_outputs_0_0a, [1, 1, 1])],
      [(slim.conv3d, 'Conv2d_0a_1x1', num_outputs_1_0a, [1, 1, 1]),
       (conv3d_spatiotemporal, 'Conv2d_0b_3x3', num_outputs_1_0b, middle)],
      [(slim.conv3d, 'Conv2d_0a_1x1', num_outputs_2_0a, [1, 1, 1]),
       (conv3d_spatiotemporal, 'Conv2d_0b_3x3', num_outputs_2_0b, middle)],
      [(slim.max_pool3d, 'MaxPool_0a_3x3', None, [3, 3, 3]),
       (slim.conv3d, 'Conv2d_0b_1x1', num_outputs_3_0b, [1, 1, 1])],
  ]
  outputs = []
  with tf.variable_scope(scope):
    for index, layers in enumerate(branches):
      with tf.variable_scope('Branch_%d' % index):
        net = inputs
        for layer_fn, name, depth, kernel in layers:
          if depth is None:
            net = layer_fn(net, kernel, data_format=data_format, scope=name)
          else:
            net = layer_fn(net, depth, kernel, data_format=data_format,
                           scope=name)
        if self_gating_fn is not None:
          net = self_gating_fn(net, scope=name)
        outputs.append(net)
    return tf.concat(outputs, channel_axis(data_format))


def reduced_kernel_size_3d(input_tensor, kernel_size):
  """`kernel_size` ([time, height, width]) shrunk to a smaller input.

  Lets the classifier's fixed 2x7x7 pooling accept short or small clips; an
  unknown dimension keeps the requested size.
  """
  shape = input_tensor.shape.as_list()
  if len(shape) != 5 or len(kernel_size) != 3:
    raise ValueError('need a 5-D NDHWC tensor and a 3-D kernel, got %s and %s'
                     % (shape, kernel_size))
  return [size if dim is None else min(dim, size)
          for dim, size in zip(shape[1:4], kernel_size)]


def video_arg_scope(weight_decay=1e-7, batch_norm_decay=0.999,
                    batch_norm_epsilon=0.001, use_renorm=False,
                    separable_conv3d=False):
  """Arg scope of I3D and S3D-G: L2 decay, BatchNorm and ReLU on every conv.

  The BatchNorm has no gamma (ReLU follows, the next layer rescales) and is
  not fused: the fused kernel is 4-D only. Moving statistics also go to the
  `moving_vars` collection, as in the released training code.
  """
  batch_norm_params = {
      'decay': batch_norm_decay,
      'epsilon': batch_norm_epsilon,
      'fused': False,
      'renorm': use_renorm,
      'variables_collections': {
          'beta': None,
          'gamma': None,
          'moving_mean': ['moving_vars'],
          'moving_variance': ['moving_vars'],
      },
  }
  with slim.arg_scope([slim.conv3d, conv3d_spatiotemporal],
                      weights_regularizer=slim.l2_regularizer(weight_decay),
                      activation_fn=tf.nn.relu,
                      normalizer_fn=slim.batch_norm,
                      normalizer_params=batch_norm_params):
    with slim.arg_scope([conv3d_spatiotemporal],
                        separable=separable_conv3d) as scope:
      return scope


def still_clips(images, num_frames):
  """[batch, height, width, channels] -> [batch, num_frames, h, w, c].

  Each image repeated on a new frames axis: a clip without motion. Lets the
  image datasets and tools (training, evaluation, serving) feed a video
  network, e.g. to check a set-up or fine-tune on stills.
  """
  if num_frames < 1:
    raise ValueError('num_frames must be at least 1, got %r' % (num_frames,))
  clips = tf.expand_dims(images, 1)
  return tf.tile(clips, [1, num_frames, 1, 1, 1], name='still_clips')
