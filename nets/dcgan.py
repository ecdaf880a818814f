"""DCGAN's generator and discriminator (Radford et al. 2015), upstream's API.

Not classifiers, so not in nets_factory:

    from nets import dcgan
    images, _ = dcgan.generator(noise, final_size=32)    # [batch, 32, 32, 3]
    logits, _ = dcgan.discriminator(images)              # [batch, 1]

The generator turns a noise vector into an image by 4x4 transposed
convolutions, each doubling the size and halving the channels; the
discriminator mirrors it with stride-2 4x4 convolutions and leaky ReLUs down
to 1x1. Both normalise with slim's (unfused by default) batch norm with a
zero-debiased moving mean, as upstream does: GAN losses that differentiate
gradients (e.g. a gradient penalty) need the unfused kernel's second
derivative. Image sides are powers of two.
"""

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf
import tf_slim as slim


def _is_power_of_two(size):
  return int(size) == size and size > 0 and int(size) & (int(size) - 1) == 0


def _log2(size):
  return int(size).bit_length() - 1


def _batch_norm_scope(is_training, fused_batch_norm):
  return slim.arg_scope([slim.batch_norm], is_training=is_training,
                        zero_debias_moving_mean=True, fused=fused_batch_norm)


def _validate_image_inputs(inputs):
  """Raises ValueError unless `inputs` is [batch, N, N, channels], N = 2^k."""
  inputs.get_shape().assert_has_rank(4)
  inputs.get_shape()[1:3].assert_is_fully_defined()
  height, width = inputs.get_shape().as_list()[1:3]
  if height != width:
    raise ValueError('Input tensor does not have equal width and height: '
                     '%dx%d' % (height, width))
  if not _is_power_of_two(width):
    raise ValueError('Input tensor `width` is not a power of 2: %d' % width)


def discriminator(inputs,
                  depth=64,
                  is_training=True,
                  reuse=None,
                  scope='Discriminator',
                  fused_batch_norm=False):
  """DCGAN's discriminator: an image in, one logit (real vs fake) out.

  log2(size) stride-2 4x4 convolutions with leaky ReLU take the image down
  to 1x1, doubling the channels from `depth` each time (batch norm on all
  but the first); a 1x1 convolution gives the logit.

  Args:
    inputs: float [batch, size, size, channels], size a power of 2 known
      when the graph is built.
    depth: channels of the first convolution.
    is_training: batch norm uses (and updates) batch statistics.
    reuse: reuse the variables of `scope` (e.g. for the fake images).
    scope: variable scope.
    fused_batch_norm: use the fused batch norm kernel.

  Returns:
    (logits [batch, 1], end_points 'conv1'.. 'conv<log2(size)>', 'logits').

  Raises:
    ValueError: if `inputs` is not of rank 4, its size is unknown, not
      square or not a power of 2.
  """
  _validate_image_inputs(inputs)
  num_layers = _log2(inputs.get_shape().as_list()[1])
  end_points = {}
  with tf.variable_scope(scope, values=[inputs], reuse=reuse), \
      _batch_norm_scope(is_training, fused_batch_norm), \
      slim.arg_scope([slim.conv2d], stride=2, kernel_size=4,
                     activation_fn=tf.nn.leaky_relu):
    net = inputs
    for index in range(num_layers):
      name = 'conv%d' % (index + 1)
      net = slim.conv2d(net, depth * 2**index, scope=name,
                        normalizer_fn=slim.batch_norm if index else None)
      end_points[name] = net
    logits = slim.conv2d(net, 1, kernel_size=1, stride=1, padding='VALID',
                         normalizer_fn=None, activation_fn=None)
    logits = tf.reshape(logits, [-1, 1])
    end_points['logits'] = logits
  return logits, end_points


def _check_final_size(final_size):
  if not _is_power_of_two(final_size):
    raise ValueError('`final_size` (%s) must be a power of 2.' % final_size)
  if final_size < 8:
    raise ValueError('`final_size` (%d) must be greater than 8 or equal to 8.'
                     % final_size)


def generator(inputs,
              depth=64,
              final_size=32,
              num_outputs=3,
              is_training=True,
              reuse=None,
              scope='Generator',
              fused_batch_norm=False):
  """DCGAN's generator: a noise vector in, a final_size^2 image out.

  `deconv1` maps the vector to 4x4 with `depth * 2^(n-2)` channels (n =
  log2(final_size)); each further 4x4 stride-2 transposed convolution
  doubles the size and halves the channels (batch norm and ReLU on all but
  the last, which has `depth` channels); a 1x1 convolution gives
  `num_outputs` channels, unbounded (apply tanh for images in (-1, 1)).

  Args:
    inputs: float [batch, noise_size].
    depth: channels of the last transposed convolution.
    final_size: side of the output, a power of 2, at least 8.
    num_outputs: channels of the output.
    is_training: batch norm uses (and updates) batch statistics.
    reuse: reuse the variables of `scope`.
    scope: variable scope.
    fused_batch_norm: use the fused batch norm kernel.

  Returns:
    (logits [batch, final_size, final_size, num_outputs], end_points
    'deconv1'..'deconv<n-1>', 'logits').

  Raises:
    ValueError: if `inputs` is not of rank 2, or `final_size` is not a
      power of 2 or below 8.
  """
  inputs.get_shape().assert_has_rank(2)
  _check_final_size(final_size)
  num_layers = _log2(final_size) - 1
  end_points = {}
  with tf.variable_scope(scope, values=[inputs], reuse=reuse), \
      _batch_norm_scope(is_training, fused_batch_norm), \
      slim.arg_scope([slim.conv2d_transpose], normalizer_fn=slim.batch_norm,
                     stride=2, kernel_size=4):
    net = tf.expand_dims(tf.expand_dims(inputs, 1), 1)
    # The first layer turns the 1x1 vector into a 4x4 map.
    net = end_points['deconv1'] = slim.conv2d_transpose(
        net, depth * 2**(num_layers - 1), stride=1, padding='VALID',
        scope='deconv1')
    for index in range(2, num_layers):
      name = 'deconv%d' % index
      net = end_points[name] = slim.conv2d_transpose(
          net, depth * 2**(num_layers - index), scope=name)
    name = 'deconv%d' % num_layers
    net = end_points[name] = slim.conv2d_transpose(
        net, depth, normalizer_fn=None, activation_fn=None, scope=name)
    logits = end_points['logits'] = slim.conv2d(
        net, num_outputs, normalizer_fn=None, activation_fn=None,
        kernel_size=1, stride=1, padding='VALID', scope='logits')
  logits.get_shape().assert_is_compatible_with(
      [None, final_size, final_size, num_outputs])
  return logits, end_points
