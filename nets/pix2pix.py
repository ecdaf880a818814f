"""pix2pix's U-Net generator and PatchGAN discriminator, upstream's API.

Image-to-Image Translation with Conditional Adversarial Networks (Isola,
Zhu, Zhou, Efros, 2017). Not classifiers, so not in nets_factory:

    from nets import pix2pix
    with slim.arg_scope(pix2pix.pix2pix_arg_scope()):
      outputs, _ = pix2pix.pix2pix_generator(images, num_outputs=3)
      patch_logits, _ = pix2pix.pix2pix_discriminator(pairs, [64, 128, 256])

The generator is an encoder of stride-2 4x4 convolutions, one per `Block`,
and a decoder that walks the blocks back, each stage reading the previous
stage concatenated with the encoder output of the same size (the U-Net skip
connections). The discriminator scores overlapping patches: its logits are
a map, one per patch. Neither opens a scope of its own; the caller's
variable scope names the variables (`encoder/Conv/weights`, `conv0/...`).
"""

import collections
import functools
import numbers

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf
import tf_slim as slim

UPSAMPLE_METHODS = ('nn_upsample_conv', 'conv2d_transpose')


def pix2pix_arg_scope():
  """Instance normalisation and N(0, 0.02) weights on every (de)convolution.

  The settings of the paper's public port (epsilon 1e-5, learned offset and
  scale).
  """
  with slim.arg_scope(
      [slim.conv2d, slim.conv2d_transpose],
      normalizer_fn=slim.instance_norm,
      normalizer_params={'center': True, 'scale': True, 'epsilon': 0.00001},
      weights_initializer=tf.random_normal_initializer(0, 0.02)) as scope:
    return scope


def upsample(net, num_outputs, kernel_size, method='nn_upsample_conv'):
  """Scales `net` up by `kernel_size` and maps it to `num_outputs` channels.

  Args:
    net: [batch, height, width, channels].
    num_outputs: channels of the result.
    kernel_size: [height factor, width factor] of the scaling (a list or a
      2-element tensor).
    method: 'nn_upsample_conv' (nearest-neighbour resize, then a 4x4
      convolution) or 'conv2d_transpose' (a 4x4 transposed convolution).

  Returns:
    [batch, height * kernel_size[0], width * kernel_size[1], num_outputs],
    without activation.

  Raises:
    ValueError: for an unknown `method`.
  """
  if method == 'nn_upsample_conv':
    shape = tf.shape(net)
    net = tf.image.resize(
        net, [kernel_size[0] * shape[1], kernel_size[1] * shape[2]],
        method=tf.image.ResizeMethod.NEAREST_NEIGHBOR)
    return slim.conv2d(net, num_outputs, [4, 4], activation_fn=None)
  if method == 'conv2d_transpose':
    return slim.conv2d_transpose(net, num_outputs, [4, 4], stride=kernel_size,
                                 activation_fn=None)
  raise ValueError('Unknown method: [%s]' % method)


class Block(
    collections.namedtuple('Block', ['num_filters', 'decoder_keep_prob'])):
  """One encoder layer and the decoder stage that reads its output.

  `num_filters`: channels of the encoder convolution and of the decoder
  stage's output. `decoder_keep_prob`: dropout keep probability after the
  decoder stage; 0 means no dropout. Unlike the original U-Net, each block
  is a single convolution, its output concatenated into the decoder.
  """
  __slots__ = ()


def _default_generator_blocks():
  """The paper's 256x256 generator: 7 blocks, dropout on the first three."""
  return [Block(64, 0.5), Block(128, 0.5), Block(256, 0.5), Block(512, 0),
          Block(512, 0), Block(512, 0), Block(512, 0)]


def _encode(net, blocks, end_points):
  """The encoder's convolutions; returns their outputs, first to last."""
  activations = []
  last = len(blocks) - 1
  with tf.variable_scope('encoder'), slim.arg_scope(
      [slim.conv2d], kernel_size=[4, 4], stride=2,
      activation_fn=tf.nn.leaky_relu):
    for block_id, block in enumerate(blocks):
      # The paper (section 5.1.1) normalises neither the first layer's input
      # nor the bottleneck, which also has no activation.
      if block_id == 0:
        net = slim.conv2d(net, block.num_filters, normalizer_fn=None)
      elif block_id < last:
        net = slim.conv2d(net, block.num_filters)
      else:
        net = slim.conv2d(net, block.num_filters, activation_fn=None,
                          normalizer_fn=None)
      activations.append(net)
      end_points['encoder%d' % block_id] = net
  return activations


def _decode(activations, blocks, upsample_fn, end_points):
  net = activations[-1]
  with tf.variable_scope('decoder'), slim.arg_scope(
      [slim.dropout], is_training=True):
    # Dropout stays on at test time too: it is the generator's noise source
    # (the paper, end of section 2.1).
    for block_id, block in enumerate(reversed(blocks)):
      if block_id > 0:
        net = tf.concat([net, activations[-block_id - 1]], axis=3)
      net = upsample_fn(tf.nn.relu(net), block.num_filters, [2, 2])
      if block.decoder_keep_prob > 0:
        net = slim.dropout(net, keep_prob=block.decoder_keep_prob)
      end_points['decoder%d' % block_id] = net
  return net


def _output_shape(net, num_outputs):
  """`net`'s shape with `num_outputs` channels (static where known)."""
  shape = net.get_shape().as_list()[:3] + [num_outputs]
  if None not in shape:
    return shape
  dynamic = tf.shape(net)
  return [dynamic[i] if size is None else size
          for i, size in enumerate(shape)]


def pix2pix_generator(net,
                      num_outputs,
                      blocks=None,
                      upsample_method='nn_upsample_conv',
                      is_training=False):  # pylint: disable=unused-argument
  """The U-Net generator: an image in, `num_outputs` channels per pixel out.

  Args:
    net: [batch, height, width, channels]; height and width divisible by
      2^len(blocks), and square.
    num_outputs: channels of the output.
    blocks: a list of `Block`, encoder order; None: the paper's 7 blocks.
    upsample_method: 'nn_upsample_conv' or 'conv2d_transpose'.
    is_training: unused: dropout runs in training and testing alike.

  Returns:
    (logits [batch, height, width, num_outputs], end_points 'encoder<i>',
    'decoder<i>', 'logits' and 'predictions' (tanh of the logits)).
  """
  blocks = blocks or _default_generator_blocks()
  output_shape = _output_shape(net, num_outputs)
  end_points = {}
  activations = _encode(net, blocks, end_points)
  net = _decode(activations, blocks,
                functools.partial(upsample, method=upsample_method),
                end_points)
  with tf.variable_scope('output'):
    # normalizer_fn=None overrides pix2pix_arg_scope: the output is raw.
    logits = slim.conv2d(net, num_outputs, [4, 4], activation_fn=None,
                         normalizer_fn=None)
    logits = tf.reshape(logits, output_shape)
    end_points['logits'] = logits
    end_points['predictions'] = tf.tanh(logits)
  return logits, end_points


def _check_padding(padding):
  if isinstance(padding, bool) or not isinstance(padding, numbers.Integral):
    raise TypeError('padding must be an int, got %r' % (padding,))
  if padding < 0:
    raise ValueError('padding must be 0 or more, got %d' % padding)


def pix2pix_discriminator(net, num_filters, padding=2, pad_mode='REFLECT',
                          activation_fn=tf.nn.leaky_relu, is_training=False):
  """The PatchGAN discriminator: a logit per overlapping image patch.

  One 4x4 convolution per entry of `num_filters` (stride 2, the last one
  stride 1; instance norm on all but the first), then a stride-1 4x4
  convolution to one channel. Each convolution is 'valid' after `padding`
  pixels of `pad_mode` padding on every side.

  Args:
    net: [batch, height, width, channels] (e.g. input and output images
      concatenated on channels).
    num_filters: channels of each layer; its length is the depth.
    padding: pixels padded on each side before every convolution (an int,
      0 or more).
    pad_mode: tf.pad mode: 'CONSTANT', 'REFLECT' or 'SYMMETRIC'.
    activation_fn: activation of every layer but the logits.
    is_training: unused (no dropout or batch norm).

  Returns:
    (logits [batch, N, N, 1], end_points 'conv0'..'conv<len-1>', 'logits'
    and 'predictions' (sigmoid of the logits)).

  Raises:
    TypeError: if `padding` is not an int.
    ValueError: if `padding` is negative.
  """
  del is_training
  _check_padding(padding)

  def padded(net, scope):
    if not padding:
      return net
    with tf.variable_scope(scope):
      return tf.pad(net, [[0, 0], [padding, padding], [padding, padding],
                          [0, 0]], pad_mode)

  end_points = {}
  last = len(num_filters) - 1
  with slim.arg_scope([slim.conv2d], kernel_size=[4, 4], stride=2,
                      padding='valid', activation_fn=activation_fn):
    for index, depth in enumerate(num_filters):
      name = 'conv%d' % index
      options = {'normalizer_fn': None} if index == 0 else {}
      if index == last:
        options['stride'] = 1
      net = end_points[name] = slim.conv2d(padded(net, name), depth,
                                           scope=name, **options)
    name = 'conv%d' % len(num_filters)
    logits = slim.conv2d(padded(net, name), 1, stride=1, activation_fn=None,
                         normalizer_fn=None, scope=name)
  end_points['logits'] = logits
  end_points['predictions'] = tf.sigmoid(logits)
  return logits, end_points
