"""CycleGAN's generator: upstream's API, shapes, variables, size checks and a
few adversarial steps against a PatchGAN discriminator."""

import functools

import numpy as np
import pytest
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import cyclegan
from nets import nets_factory
from nets import pix2pix
import nets_helpers

EMPTY = nets_helpers.EMPTY


def test_public_api_is_upstreams():
  assert nets_helpers.parameters(cyclegan.cyclegan_generator_resnet) == [
      ('images', EMPTY), ('arg_scope_fn', cyclegan.cyclegan_arg_scope),
      ('num_resnet_blocks', 6), ('num_filters', 64),
      ('upsample_fn', cyclegan.cyclegan_upsample), ('kernel_size', 3),
      ('tanh_linear_slope', 0.0), ('is_training', False)]
  assert nets_helpers.parameters(cyclegan.cyclegan_arg_scope) == [
      ('instance_norm_center', True), ('instance_norm_scale', True),
      ('instance_norm_epsilon', 0.001), ('weights_init_stddev', 0.02),
      ('weight_decay', 0.0)]
  assert nets_helpers.parameters(cyclegan.cyclegan_upsample) == [
      ('net', EMPTY), ('num_outputs', EMPTY), ('stride', EMPTY),
      ('method', 'conv2d_transpose'), ('pad_mode', 'REFLECT'),
      ('align_corners', False)]
  # An image-to-image network, not a classifier: outside the factory.
  assert not any(row.module == 'nets.cyclegan'
                 for row in nets_factory.NETWORKS.values())


def test_default_generator_variables_and_end_points():
  with tf.Graph().as_default():
    output, end_points = cyclegan.cyclegan_generator_resnet(
        tf.zeros([2, 32, 32, 3]))
    variables = {v.op.name: v.shape.as_list() for v in tf.global_variables()}
  assert output is end_points['predictions']
  assert nets_helpers.end_point_shapes(end_points) == {
      'encoder_0': [2, 32, 32, 64], 'encoder_1': [2, 16, 16, 128],
      'encoder_2': [2, 8, 8, 256],
      **{'resnet_block_%d' % i: [2, 8, 8, 256] for i in range(6)},
      'decoder1': [2, 16, 16, 128], 'decoder2': [2, 32, 32, 64],
      'logits': [2, 32, 32, 3], 'predictions': [2, 32, 32, 3]}
  # Instance norm (beta, gamma) replaces the biases of every conv2d; the
  # transposed convolutions and the output layer keep biases.
  assert len(variables) == 51
  assert variables['input/Conv/weights'] == [7, 7, 3, 64]
  assert variables['encoder/Conv_1/InstanceNorm/gamma'] == [256]
  assert variables['residual_blocks/block_5/Conv_1/weights'] == [
      3, 3, 256, 256]
  assert variables[
      'decoder/decoder2/upconv/Conv2d_transpose/weights'] == [3, 3, 64, 128]
  assert variables['output/Conv/biases'] == [3]
  assert sum(np.prod(shape) for shape in variables.values()) == 7841219


@pytest.mark.parametrize('shape', [[4, 32, 32, 3], [1, 16, 64, 1],
                                   [2, 80, 400, 3]])
def test_output_has_the_input_shape(shape):
  with tf.Graph().as_default():
    output, _ = cyclegan.cyclegan_generator_resnet(
        tf.ones(shape), num_filters=4, num_resnet_blocks=1)
  assert output.shape.as_list() == shape


def test_unknown_batch_and_width_stay_unknown_and_run():
  with tf.Graph().as_default():
    images = tf.placeholder(tf.float32, [None, 32, None, 3])
    output, _ = cyclegan.cyclegan_generator_resnet(images, num_filters=4,
                                                   num_resnet_blocks=1)
    assert output.shape.as_list() == [None, 32, None, 3]
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      values = sess.run(output, {images: np.ones([3, 32, 12, 3])})
  assert values.shape == (3, 32, 12, 3)
  assert np.all(np.abs(values) <= 1.0)  # tanh


@pytest.mark.parametrize('kernel_size', [3, 4, 5, 6, [3, 5]])
def test_any_kernel_size_keeps_the_shape(kernel_size):
  with tf.Graph().as_default():
    images = tf.placeholder(tf.float32, [None, 32, 32, 3])
    output, _ = cyclegan.cyclegan_generator_resnet(
        images, kernel_size=kernel_size, num_filters=4, num_resnet_blocks=1)
  assert output.shape.as_list() == [None, 32, 32, 3]


@pytest.mark.parametrize('size', [29, 30, 31])
def test_height_and_width_must_be_multiples_of_four(size):
  with tf.Graph().as_default():
    with pytest.raises(ValueError,
                       match='The input height must be a multiple of 4.'):
      cyclegan.cyclegan_generator_resnet(
          tf.placeholder(tf.float32, [None, size, 32, 3]))
    with pytest.raises(ValueError,
                       match='The input width must be a multiple of 4.'):
      cyclegan.cyclegan_generator_resnet(
          tf.placeholder(tf.float32, [None, 32, size, 3]))
    assert tf.global_variables() == []  # refused before building


@pytest.mark.parametrize('method', ['nn_upsample_conv',
                                    'bilinear_upsample_conv',
                                    'conv2d_transpose'])
def test_upsample_methods_double_the_size(method):
  with tf.Graph().as_default():
    net = tf.placeholder(tf.float32, [2, 5, 7, 6])
    with slim.arg_scope(cyclegan.cyclegan_arg_scope()):
      up = cyclegan.cyclegan_upsample(net, 4, [2, 2], method=method)
    names = [v.op.name for v in tf.global_variables()]
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      shape = sess.run(tf.shape(up), {net: np.ones([2, 5, 7, 6])})
  assert list(shape) == [2, 10, 14, 4]
  assert all(name.startswith('upconv/') for name in names)


def test_unknown_upsample_method_is_refused():
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match=r'Unknown method: \[bicubic\]'):
      cyclegan.cyclegan_upsample(tf.zeros([1, 4, 4, 2]), 2, [2, 2],
                                 method='bicubic')


def test_weight_decay_and_tanh_linear_slope():
  with tf.Graph().as_default():
    _, end_points = cyclegan.cyclegan_generator_resnet(
        tf.random_uniform([1, 8, 8, 3]), num_filters=2, num_resnet_blocks=2,
        arg_scope_fn=functools.partial(cyclegan.cyclegan_arg_scope,
                                       weight_decay=0.01),
        tanh_linear_slope=0.5)
    # Every conv2d is decayed (input, 2 encoder, 2 per block, output); the
    # scope leaves the transposed convolutions alone.
    assert len(tf.losses.get_regularization_losses()) == 1 + 2 + 4 + 1
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      logits, predictions = sess.run([end_points['logits'],
                                      end_points['predictions']])
  np.testing.assert_allclose(predictions, np.tanh(logits) + 0.5 * logits,
                             rtol=1e-5, atol=1e-6)


def test_trains_against_a_patch_discriminator():
  real = np.random.RandomState(0).uniform(-1, 1, [2, 8, 8, 3])
  source = np.random.RandomState(1).uniform(-1, 1, [2, 8, 8, 3])

  def discriminate(images):
    with slim.arg_scope(pix2pix.pix2pix_arg_scope()):
      return pix2pix.pix2pix_discriminator(images, [4, 8])[0]

  nets_helpers.assert_adversarial_steps_move(
      lambda: cyclegan.cyclegan_generator_resnet(
          tf.constant(source, tf.float32), num_filters=4,
          num_resnet_blocks=1)[0],
      discriminate, real.astype(np.float32), steps=2)
