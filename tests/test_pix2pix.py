"""pix2pix: upstream's API, the U-Net's and the PatchGAN's shapes and names,
padding checks, and a few adversarial steps."""

import numpy as np
import pytest
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import nets_factory
from nets import pix2pix
import nets_helpers

EMPTY = nets_helpers.EMPTY


def _small_blocks(count=5):
  """The paper's blocks, 32 times thinner, the first `count` of them."""
  return [pix2pix.Block(block.num_filters // 32, block.decoder_keep_prob)
          for block in pix2pix._default_generator_blocks()][:count]


def _generator(images, num_outputs, **kwargs):
  with slim.arg_scope(pix2pix.pix2pix_arg_scope()):
    return pix2pix.pix2pix_generator(images, num_outputs, **kwargs)


def _discriminator(images, num_filters, **kwargs):
  with slim.arg_scope(pix2pix.pix2pix_arg_scope()):
    return pix2pix.pix2pix_discriminator(images, num_filters, **kwargs)


def test_public_api_is_upstreams():
  assert nets_helpers.parameters(pix2pix.pix2pix_generator) == [
      ('net', EMPTY), ('num_outputs', EMPTY), ('blocks', None),
      ('upsample_method', 'nn_upsample_conv'), ('is_training', False)]
  assert nets_helpers.parameters(pix2pix.pix2pix_discriminator) == [
      ('net', EMPTY), ('num_filters', EMPTY), ('padding', 2),
      ('pad_mode', 'REFLECT'), ('activation_fn', tf.nn.leaky_relu),
      ('is_training', False)]
  assert nets_helpers.parameters(pix2pix.pix2pix_arg_scope) == []
  assert pix2pix.Block._fields == ('num_filters', 'decoder_keep_prob')
  assert [tuple(b) for b in pix2pix._default_generator_blocks()] == [
      (64, 0.5), (128, 0.5), (256, 0.5), (512, 0), (512, 0), (512, 0),
      (512, 0)]
  assert not any(row.module == 'nets.pix2pix'
                 for row in nets_factory.NETWORKS.values())


@pytest.mark.parametrize('method', ['nn_upsample_conv', 'conv2d_transpose'])
def test_generator_output_has_the_input_size(method):
  with tf.Graph().as_default():
    logits, end_points = _generator(tf.ones([2, 32, 32, 3]), 4,
                                    blocks=_small_blocks(),
                                    upsample_method=method)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      values = sess.run(logits)
  assert values.shape == (2, 32, 32, 4)
  shapes = nets_helpers.end_point_shapes(end_points)
  assert shapes['encoder0'] == [2, 16, 16, 2]
  assert shapes['encoder4'] == [2, 1, 1, 16]
  # Each decoder stage doubles the size back, with its block's channels.
  assert shapes['decoder0'] == [2, 2, 2, 16]
  assert shapes['decoder4'] == [2, 32, 32, 2]
  assert shapes['predictions'] == [2, 32, 32, 4]


def test_block_count_sets_the_depth_and_names_the_variables():
  blocks = [pix2pix.Block(4, 0.5), pix2pix.Block(8, 0)]
  with tf.Graph().as_default():
    _, end_points = _generator(tf.ones([2, 16, 16, 3]), 1, blocks=blocks)
    variables = {v.op.name: v.shape.as_list() for v in tf.global_variables()}
  assert sorted(end_points) == ['decoder0', 'decoder1', 'encoder0',
                                'encoder1', 'logits', 'predictions']
  # No normalisation on the first and the last encoder layers; the decoder
  # (nearest neighbour + conv) is normalised; the output layer is raw.
  assert variables == {
      'encoder/Conv/weights': [4, 4, 3, 4], 'encoder/Conv/biases': [4],
      'encoder/Conv_1/weights': [4, 4, 4, 8], 'encoder/Conv_1/biases': [8],
      'decoder/Conv/weights': [4, 4, 8, 8],
      'decoder/Conv/InstanceNorm/beta': [8],
      'decoder/Conv/InstanceNorm/gamma': [8],
      'decoder/Conv_1/weights': [4, 4, 12, 4],
      'decoder/Conv_1/InstanceNorm/beta': [4],
      'decoder/Conv_1/InstanceNorm/gamma': [4],
      'output/Conv/weights': [4, 4, 4, 1], 'output/Conv/biases': [1]}


def test_generator_dropout_is_on_even_for_inference_and_batch_may_vary():
  with tf.Graph().as_default():
    images = tf.placeholder(tf.float32, [None, 16, 16, 3])
    logits, _ = _generator(images, 2, blocks=_small_blocks(4),
                           is_training=False)
    assert nets_helpers.dropout_is_active()
    assert logits.shape.as_list() == [None, 16, 16, 2]
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      feed = {images: np.ones([3, 16, 16, 3])}
      first, second = sess.run(logits, feed), sess.run(logits, feed)
  assert first.shape == (3, 16, 16, 2)
  assert not np.allclose(first, second)  # fresh dropout masks each run


def _patch_size(size, stride=2, pad=2, kernel=4):
  return (size + 2 * pad - kernel) // stride + 1


@pytest.mark.parametrize('padding', [2, 0])
def test_discriminator_scores_patches(padding):
  size = 96
  for stride in (2, 2, 2, 1, 1):
    size = _patch_size(size, stride, padding)
  with tf.Graph().as_default():
    logits, end_points = _discriminator(tf.ones([2, 96, 96, 3]),
                                        [4, 8, 16, 32], padding=padding)
    names = {v.op.name for v in tf.global_variables()}
  assert logits.shape.as_list() == [2, size, size, 1]
  assert end_points['predictions'].shape.as_list() == [2, size, size, 1]
  assert sorted(end_points) == ['conv0', 'conv1', 'conv2', 'conv3', 'logits',
                                'predictions']
  assert {'conv0/biases', 'conv3/InstanceNorm/gamma',
          'conv4/biases'} <= names
  assert 'conv0/InstanceNorm/beta' not in names


def test_discriminator_refuses_bad_padding_before_building():
  with tf.Graph().as_default():
    with pytest.raises(TypeError):
      _discriminator(tf.ones([2, 32, 32, 3]), [4, 8], padding=1.5)
    with pytest.raises(ValueError):
      _discriminator(tf.ones([2, 32, 32, 3]), [4, 8], padding=-1)
    assert tf.global_variables() == []


def test_discriminator_pad_mode_and_activation():
  with tf.Graph().as_default():
    _discriminator(tf.ones([1, 16, 16, 3]), [2, 4], pad_mode='CONSTANT',
                   activation_fn=tf.nn.elu)
    types = [op.type for op in tf.get_default_graph().get_operations()]
  assert 'Elu' in types and 'LeakyRelu' not in types
  assert 'Pad' in types and 'MirrorPad' not in types


def test_generator_and_discriminator_train_against_each_other():
  rng = np.random.RandomState(0)
  source = rng.uniform(-1, 1, [2, 8, 8, 3]).astype(np.float32)
  target = rng.uniform(-1, 1, [2, 8, 8, 3]).astype(np.float32)
  # No dropout, so only the training changes the losses.
  blocks = [pix2pix.Block(4, 0), pix2pix.Block(8, 0), pix2pix.Block(8, 0)]

  def generate():
    logits, _ = _generator(tf.constant(source), 3, blocks=blocks)
    return tf.tanh(logits)

  nets_helpers.assert_adversarial_steps_move(
      generate, lambda images: _discriminator(images, [4, 8])[0], target,
      steps=2)
