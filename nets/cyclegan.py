"""CycleGAN's ResNet generator (Zhu et al. 2017), with upstream slim's API.

An image-to-image network, not a classifier, so it is not in nets_factory:

    from nets import cyclegan
    translated, end_points = cyclegan.cyclegan_generator_resnet(images)

A 7x7 input stage, two stride-2 encoder convolutions, `num_resnet_blocks`
residual blocks, two 2x upsampling decoder stages and a 7x7 output
convolution give an output of the input's shape (height and width must be
multiples of 4), squashed to (-1, 1) by tanh. Every convolution pads by
reflection rather than with zeros, as the paper's Torch code does; instance
normalisation comes from `cyclegan_arg_scope`. The generator opens no scope
of its own: the caller's variable scope names its variables
(`input/Conv/weights`, `residual_blocks/block_0/Conv/weights`, ...).
"""

import numpy as np

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf
import tf_slim as slim

UPSAMPLE_METHODS = ('nn_upsample_conv', 'bilinear_upsample_conv',
                    'conv2d_transpose')

# Reflection padding that keeps the size through a 'VALID' 3x3 (7x7)
# convolution.
_PAD_1 = np.array([[0, 0], [1, 1], [1, 1], [0, 0]])
_PAD_3 = np.array([[0, 0], [3, 3], [3, 3], [0, 0]])


def cyclegan_arg_scope(instance_norm_center=True,
                       instance_norm_scale=True,
                       instance_norm_epsilon=0.001,
                       weights_init_stddev=0.02,
                       weight_decay=0.0):
  """Instance normalisation and N(0, stddev) weights for every conv2d.

  Args:
    instance_norm_center: instance normalisation learns an offset.
    instance_norm_scale: instance normalisation learns a scale.
    instance_norm_epsilon: added to the variance before dividing by it.
    weights_init_stddev: standard deviation of the initial kernels.
    weight_decay: L2 regularisation of the kernels; 0 (or None) adds none.

  Returns:
    The arg scope.
  """
  regularizer = None
  if weight_decay and weight_decay > 0.0:
    regularizer = slim.l2_regularizer(weight_decay)
  with slim.arg_scope(
      [slim.conv2d],
      normalizer_fn=slim.instance_norm,
      normalizer_params={'center': instance_norm_center,
                         'scale': instance_norm_scale,
                         'epsilon': instance_norm_epsilon},
      weights_initializer=tf.random_normal_initializer(
          0, weights_init_stddev),
      weights_regularizer=regularizer) as scope:
    return scope


def cyclegan_upsample(net, num_outputs, stride, method='conv2d_transpose',
                      pad_mode='REFLECT', align_corners=False):
  """Scales `net` up by `stride` and maps it to `num_outputs` channels.

  Args:
    net: [batch, height, width, channels].
    num_outputs: channels of the result.
    stride: [height factor, width factor] (a list or a 2-element tensor).
    method: 'conv2d_transpose' (a 3x3 transposed convolution), or a resize
      ('nn_upsample_conv': nearest neighbour, 'bilinear_upsample_conv')
      followed by a padded 3x3 convolution.
    pad_mode: tf.pad mode of the resize methods' padding: 'CONSTANT',
      'REFLECT' or 'SYMMETRIC'.
    align_corners: 'bilinear_upsample_conv' keeps the corner pixels' values.

  Returns:
    [batch, height * stride[0], width * stride[1], num_outputs].

  Raises:
    ValueError: for an unknown `method`.
  """
  with tf.variable_scope('upconv'):
    if method == 'conv2d_transpose':
      net = slim.conv2d_transpose(net, num_outputs, kernel_size=[3, 3],
                                  stride=stride, padding='valid')
      # A 'valid' transposed convolution gives one extra row and column;
      # dropping the first ones aligns its output with the input's pixels.
      return net[:, 1:, 1:, :]
    if method not in UPSAMPLE_METHODS:
      raise ValueError('Unknown method: [%s]' % method)
    shape = tf.shape(net)
    size = [stride[0] * shape[1], stride[1] * shape[2]]
    if method == 'nn_upsample_conv':
      net = tf.image.resize(net, size,
                            method=tf.image.ResizeMethod.NEAREST_NEIGHBOR)
    else:
      net = tf.image.resize_bilinear(net, size, align_corners=align_corners)
    net = tf.pad(net, _PAD_1, mode=pad_mode)
    return slim.conv2d(net, num_outputs, kernel_size=[3, 3], padding='valid')


def _check_multiple_of_four(images):
  height, width = images.shape.as_list()[1:3]
  if height and height % 4 != 0:
    raise ValueError('The input height must be a multiple of 4.')
  if width and width % 4 != 0:
    raise ValueError('The input width must be a multiple of 4.')


def _same_size_padding(kernel_size):
  """Reflection padding that keeps the size through a 'VALID' convolution."""
  height, width = kernel_size
  return np.array([[0, 0], [(height - 1) // 2, height // 2],
                   [(width - 1) // 2, width // 2], [0, 0]], dtype=np.int32)


def _shape_of(tensor):
  """The static shape when fully known, else the runtime one."""
  if tensor.shape.is_fully_defined():
    return tensor.shape.as_list()
  return tf.shape(tensor)


def _reflect(net, paddings):
  return tf.pad(net, paddings, mode='REFLECT')


def _encoder(images, num_filters, paddings, kernel_size, end_points):
  with tf.variable_scope('input'):
    net = slim.conv2d(_reflect(images, _PAD_3), num_filters,
                      kernel_size=[7, 7], padding='VALID')
    end_points['encoder_0'] = net
  with tf.variable_scope('encoder'), slim.arg_scope(
      [slim.conv2d], kernel_size=kernel_size, stride=2,
      activation_fn=tf.nn.relu, padding='VALID'):
    for index, depth in ((1, num_filters * 2), (2, num_filters * 4)):
      net = slim.conv2d(_reflect(net, paddings), depth)
      end_points['encoder_%d' % index] = net
  return net


def _residual_blocks(net, num_blocks, depth, paddings, kernel_size,
                     end_points):
  with tf.variable_scope('residual_blocks'), slim.arg_scope(
      [slim.conv2d], kernel_size=kernel_size, stride=1,
      activation_fn=tf.nn.relu, padding='VALID'):
    for block_id in range(num_blocks):
      with tf.variable_scope('block_%d' % block_id):
        residual = slim.conv2d(_reflect(net, paddings), depth)
        residual = slim.conv2d(_reflect(residual, paddings), depth,
                               activation_fn=None)
        net += residual
        end_points['resnet_block_%d' % block_id] = net
  return net


def _decoder(net, num_filters, upsample_fn, kernel_size, end_points):
  with tf.variable_scope('decoder'), slim.arg_scope(
      [slim.conv2d], kernel_size=kernel_size, stride=1,
      activation_fn=tf.nn.relu):
    for name, depth in (('decoder1', num_filters * 2),
                        ('decoder2', num_filters)):
      with tf.variable_scope(name):
        net = upsample_fn(net, num_outputs=depth, stride=[2, 2])
      end_points[name] = net
  return net


def cyclegan_generator_resnet(images,
                              arg_scope_fn=cyclegan_arg_scope,
                              num_resnet_blocks=6,
                              num_filters=64,
                              upsample_fn=cyclegan_upsample,
                              kernel_size=3,
                              tanh_linear_slope=0.0,
                              is_training=False):
  """CycleGAN's ResNet generator: an image in, an image of its shape out.

  Args:
    images: [batch, height, width, channels]; height and width multiples of
      4 when known (an unknown size that is not fails when run).
    arg_scope_fn: returns the arg scope every layer is built under.
    num_resnet_blocks: residual blocks between encoder and decoder.
    num_filters: channels of the first layer (the encoder doubles them
      twice, the decoder halves them back).
    upsample_fn: `fn(net, num_outputs, stride)` of each decoder stage.
    kernel_size: int or [height, width] of the inner convolutions.
    tanh_linear_slope: adds `slope * logits` to the tanh of the output.
    is_training: unused (no dropout or batch norm); kept so that every
      generator takes it.

  Returns:
    (predictions: tanh of the logits, of `images`' shape, end_points with
    'encoder_0..2', 'resnet_block_<i>', 'decoder1', 'decoder2', 'logits'
    and 'predictions').

  Raises:
    ValueError: if a known height or width is not a multiple of 4.
  """
  del is_training
  _check_multiple_of_four(images)
  if not isinstance(kernel_size, (list, tuple)):
    kernel_size = [kernel_size, kernel_size]
  paddings = _same_size_padding(kernel_size)
  end_points = {}
  with slim.arg_scope(arg_scope_fn()):
    net = _encoder(images, num_filters, paddings, kernel_size, end_points)
    net = _residual_blocks(net, num_resnet_blocks, num_filters * 4, paddings,
                           kernel_size, end_points)
    net = _decoder(net, num_filters, upsample_fn, kernel_size, end_points)
    with tf.variable_scope('output'):
      logits = slim.conv2d(_reflect(net, _PAD_3), images.shape.as_list()[3],
                           [7, 7], activation_fn=None, normalizer_fn=None,
                           padding='valid')
      # Restores the static shape the resizes may have lost.
      logits = tf.reshape(logits, _shape_of(images))
      end_points['logits'] = logits
      end_points['predictions'] = (tf.tanh(logits) +
                                   logits * tanh_linear_slope)
  return end_points['predictions'], end_points
