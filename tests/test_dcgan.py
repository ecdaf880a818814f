"""DCGAN: upstream's API, layer shapes and names, the input checks, and a
generator and a discriminator trained a few steps against each other."""

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from nets import dcgan
from nets import nets_factory
import nets_helpers

EMPTY = nets_helpers.EMPTY


def test_public_api_is_upstreams():
  assert nets_helpers.parameters(dcgan.generator) == [
      ('inputs', EMPTY), ('depth', 64), ('final_size', 32),
      ('num_outputs', 3), ('is_training', True), ('reuse', None),
      ('scope', 'Generator'), ('fused_batch_norm', False)]
  assert nets_helpers.parameters(dcgan.discriminator) == [
      ('inputs', EMPTY), ('depth', 64), ('is_training', True),
      ('reuse', None), ('scope', 'Discriminator'),
      ('fused_batch_norm', False)]
  assert not any(row.module == 'nets.dcgan'
                 for row in nets_factory.NETWORKS.values())


@pytest.mark.parametrize('log_size,batch', [(3, 3), (4, 4), (5, 5), (6, 6)])
def test_generator_layers_halve_depth_and_double_size(log_size, batch):
  final_size = 2**log_size
  with tf.Graph().as_default():
    image, end_points = dcgan.generator(tf.random_normal([batch, 64]),
                                        depth=32, final_size=final_size)
  assert image.shape.as_list() == [batch, final_size, final_size, 3]
  names = ['deconv%d' % j for j in range(1, log_size)]
  assert set(end_points) == set(names + ['logits'])
  for j, name in enumerate(names, start=1):
    assert end_points[name].shape.as_list() == [
        batch, 2**(j + 1), 2**(j + 1), 32 * 2**(log_size - j - 1)]


def test_generator_variables():
  with tf.Graph().as_default():
    dcgan.generator(tf.zeros([2, 10]), depth=4, final_size=16,
                    num_outputs=1)
    variables = {v.op.name: v.shape.as_list() for v in tf.global_variables()}
    trainable = {v.op.name for v in tf.trainable_variables()}
  # Batch-normalised layers have no biases (beta instead); the last
  # transposed convolution and the 1x1 logits keep theirs.
  assert trainable == {
      'Generator/deconv1/weights', 'Generator/deconv1/BatchNorm/beta',
      'Generator/deconv2/weights', 'Generator/deconv2/BatchNorm/beta',
      'Generator/deconv3/weights', 'Generator/deconv3/biases',
      'Generator/logits/weights', 'Generator/logits/biases'}
  assert variables['Generator/deconv1/weights'] == [4, 4, 16, 10]
  assert variables['Generator/deconv3/weights'] == [4, 4, 4, 8]
  assert variables['Generator/logits/weights'] == [1, 1, 4, 1]
  # The zero-debiased moving mean keeps its biased value and a step count.
  assert sum('moving_mean/local_step' in name for name in variables) == 2


def test_generator_refuses_bad_inputs():
  with tf.Graph().as_default():
    with pytest.raises(ValueError):
      dcgan.generator(tf.zeros([5, 32, 32]))
    with pytest.raises(ValueError, match='must be a power of 2'):
      dcgan.generator(tf.zeros([3, 2]), final_size=30)
    with pytest.raises(ValueError, match='must be greater than 8'):
      dcgan.generator(tf.zeros([3, 2]), final_size=4)
    dcgan.generator(tf.zeros([3, 2]), final_size=8)  # 8 itself is fine
    assert tf.global_variables()


@pytest.mark.parametrize('log_size,batch', [(1, 3), (2, 4), (3, 5), (5, 7)])
def test_discriminator_layers_double_depth_down_to_one_logit(log_size, batch):
  size = 2**log_size
  with tf.Graph().as_default():
    logits, end_points = dcgan.discriminator(
        tf.random_uniform([batch, size, size, 3], -1, 1), depth=32)
  assert logits.shape.as_list() == [batch, 1]
  names = ['conv%d' % j for j in range(1, log_size + 1)]
  assert set(end_points) == set(names + ['logits'])
  for j, name in enumerate(names, start=1):
    assert end_points[name].shape.as_list()[-1] == 32 * 2**(j - 1)
  assert end_points[names[-1]].shape.as_list()[1:3] == [1, 1]


def test_discriminator_refuses_bad_inputs():
  with tf.Graph().as_default():
    with pytest.raises(ValueError):
      dcgan.discriminator(tf.zeros([5, 32, 32]))
    with pytest.raises(ValueError):
      dcgan.discriminator(tf.placeholder(tf.float32, [5, 32, None, 3]))
    with pytest.raises(ValueError, match='not have equal width and height'):
      dcgan.discriminator(tf.zeros([5, 32, 16, 3]))
    with pytest.raises(ValueError, match='not a power of 2'):
      dcgan.discriminator(tf.zeros([5, 30, 30, 3]))
    assert tf.global_variables() == []


def test_reuse_shares_the_discriminator_and_inference_mode_updates_nothing():
  with tf.Graph().as_default():
    dcgan.discriminator(tf.zeros([2, 8, 8, 3]), depth=4)
    count = len(tf.global_variables())
    dcgan.discriminator(tf.ones([2, 8, 8, 3]), depth=4, reuse=True)
    assert len(tf.global_variables()) == count
  with tf.Graph().as_default():
    dcgan.generator(tf.zeros([2, 4]), depth=4, final_size=8,
                    is_training=False)
    assert tf.get_collection(tf.GraphKeys.UPDATE_OPS) == []
  with tf.Graph().as_default():
    dcgan.generator(tf.zeros([2, 4]), depth=4, final_size=8,
                    fused_batch_norm=True)
    types = {op.type for op in tf.get_default_graph().get_operations()}
    assert 'FusedBatchNormV3' in types


def test_generator_and_discriminator_train_against_each_other():
  noise = np.random.RandomState(0).normal(size=[4, 8]).astype(np.float32)
  real = np.random.RandomState(1).uniform(-1, 1, [4, 8, 8, 1])

  def generate():
    logits, _ = dcgan.generator(tf.constant(noise), depth=4, final_size=8,
                                num_outputs=1)
    return tf.tanh(logits)

  nets_helpers.assert_adversarial_steps_move(
      generate, lambda images: dcgan.discriminator(images, depth=4)[0],
      real.astype(np.float32))
