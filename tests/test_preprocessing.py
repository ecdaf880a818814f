"""Preprocessing: output size and range of each kind, and the name mapping."""

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from nets import nets_factory
from preprocessing import inception_preprocessing
from preprocessing import preprocessing_factory
from preprocessing import vgg_preprocessing


def _image(height=40, width=30, channels=3, seed=0):
  rng = np.random.RandomState(seed)
  return tf.constant(rng.randint(0, 256, (height, width, channels), np.uint8))


def test_every_registered_network_has_a_preprocessing():
  for name in nets_factory.network_names():
    fn = preprocessing_factory.get_preprocessing(name, is_training=False)
    assert fn(_image(), 17, 19).shape == (17, 19, 3), name
  assert preprocessing_factory.preprocessing_name_for('densenet_bc_mini') == (
      'inception')
  assert preprocessing_factory.preprocessing_name_for('resnet_v1_50') == 'vgg'


def test_unknown_name_lists_the_choices():
  with pytest.raises(ValueError, match='inception'):
    preprocessing_factory.get_preprocessing('alexnet')


@pytest.mark.parametrize('is_training', [True, False])
@pytest.mark.parametrize('channels', [1, 3])
def test_inception_range_and_size(is_training, channels):
  fn = preprocessing_factory.get_preprocessing('inception', is_training)
  for seed in range(3):
    out = fn(_image(channels=channels, seed=seed), 24, 24).numpy()
    assert out.shape == (24, 24, channels)
    assert out.dtype == np.float32
    assert -1.0 <= out.min() and out.max() <= 1.0
    assert out.max() - out.min() > 0.5


def test_inception_eval_is_the_central_crop():
  # Central 87.5% of a 16x16 image is its middle 14x14: resized back to 14
  # it must be exactly those pixels, scaled to [-1, 1].
  pixels = np.random.RandomState(1).randint(0, 256, (16, 16, 3), np.uint8)
  out = inception_preprocessing.preprocess_image(tf.constant(pixels), 14, 14)
  expected = pixels[1:15, 1:15].astype(np.float32) / 255.0 * 2 - 1
  np.testing.assert_allclose(out.numpy(), expected, atol=1e-5)


def test_inception_training_is_random():
  fn = preprocessing_factory.get_preprocessing('inception', True)
  image = _image()
  outputs = [fn(image, 16, 16).numpy() for _ in range(3)]
  assert not np.allclose(outputs[0], outputs[1]) or not np.allclose(
      outputs[1], outputs[2])


def test_grayscale_option_gives_one_channel():
  fn = preprocessing_factory.get_preprocessing('inception', False,
                                               use_grayscale=True)
  assert fn(_image(), 10, 10).shape == (10, 10, 1)


@pytest.mark.parametrize('is_training', [True, False])
def test_vgg_subtracts_the_means(is_training):
  flat = tf.fill([300, 260, 3], tf.constant(200, tf.uint8))
  fn = preprocessing_factory.get_preprocessing('vgg_16', is_training)
  out = fn(flat, 224, 224).numpy()
  assert out.shape == (224, 224, 3)
  np.testing.assert_allclose(out[100, 100],
                             200 - np.array(vgg_preprocessing.RGB_MEANS),
                             atol=1e-3)


@pytest.mark.parametrize('is_training', [True, False])
def test_cifarnet_standardises(is_training):
  fn = preprocessing_factory.get_preprocessing('cifarnet', is_training)
  out = fn(_image(32, 32), 28, 28).numpy()
  assert out.shape == (28, 28, 3)
  assert abs(out.mean()) < 1e-3 and abs(out.std() - 1) < 1e-2


def test_lenet_scales_to_unit_range():
  fn = preprocessing_factory.get_preprocessing('lenet')
  out = fn(tf.constant(np.array([[[0]], [[255]]], np.uint8)), 2, 1).numpy()
  np.testing.assert_allclose(out.ravel(), [-1.0, 127.0 / 128.0])
