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


def _halves(height=32, width=32):
  """1-channel image: left half black, right half white."""
  pixels = np.zeros((height, width, 1), np.uint8)
  pixels[:, width // 2:] = 255
  return tf.constant(pixels)


def _graph_op_types(build):
  with tf.Graph().as_default() as graph:
    build()
  types = {op.type for op in graph.get_operations()}
  # Ops inside functional cond/case branches live in the function library.
  for function in graph.as_graph_def().library.function:
    types.update(node.op for node in function.node_def)
  return graph, types


def test_inception_fast_mode_is_the_default_and_skips_slow_steps():
  def build(**kwargs):
    return lambda: inception_preprocessing.preprocess_image(
        tf.zeros([20, 20, 3], tf.uint8), 16, 16, is_training=True,
        add_image_summaries=False, **kwargs)
  _, default = _graph_op_types(build())
  _, fast = _graph_op_types(build(fast_mode=True))
  _, slow = _graph_op_types(build(fast_mode=False))
  assert default == fast
  slow_ops = {'AdjustHue', 'AdjustContrastv2', 'ResizeBicubic', 'ResizeArea'}
  assert slow_ops <= slow
  assert not slow_ops & fast
  assert 'AdjustSaturation' in fast


@pytest.mark.parametrize('add_image_summaries', [True, False])
def test_inception_image_summaries_follow_the_argument(add_image_summaries):
  def build():
    inception_preprocessing.preprocess_image(
        tf.zeros([20, 20, 3], tf.uint8), 16, 16, is_training=True,
        add_image_summaries=add_image_summaries)
  graph, _ = _graph_op_types(build)
  names = [s.op.name for s in graph.get_collection(tf.GraphKeys.SUMMARIES)]
  if add_image_summaries:
    assert len(names) == 4 and 'final_distorted_image' in ' '.join(names)
  else:
    assert names == []


def test_inception_eval_without_crop_image_keeps_the_whole_image():
  pixels = np.random.RandomState(2).randint(0, 256, (16, 16, 3), np.uint8)
  out = inception_preprocessing.preprocess_image(
      tf.constant(pixels), 16, 16, crop_image=False).numpy()
  np.testing.assert_allclose(out, pixels / 255.0 * 2 - 1, atol=1e-5)


def _bright_fractions(runs, **kwargs):
  tf.set_random_seed(3)
  fractions = []
  for _ in range(runs):
    out = inception_preprocessing.preprocess_image(
        _halves(), 16, 16, is_training=True, **kwargs).numpy()
    fractions.append(float(np.mean(out > 0.0)))
  return fractions


def test_inception_training_without_crop_image_resizes_the_whole_image():
  # Flip and brightness keep one black and one white half; a crop does not.
  for fraction in _bright_fractions(8, crop_image=False):
    assert fraction == pytest.approx(0.5, abs=0.07)
  assert any(abs(f - 0.5) > 0.15 for f in _bright_fractions(40))


def test_inception_training_crop_keeps_part_of_the_bbox():
  # Only the top-left quarter is white, and it is the object box: every
  # crop must keep some of it, while crops of the whole image need not.
  pixels = np.zeros((32, 32, 1), np.uint8)
  pixels[:16, :16] = 255
  box = tf.constant([[[0.0, 0.0, 0.5, 0.5]]], tf.float32)

  def white_fraction(**kwargs):
    return float(np.mean(inception_preprocessing.preprocess_image(
        tf.constant(pixels), 16, 16, is_training=True, **kwargs).numpy() > 0))

  tf.set_random_seed(4)
  assert all(white_fraction(bbox=box) > 0.0 for _ in range(20))
  # Unconstrained crops miss the white quarter now and then (about one in
  # fifteen): 200 tries make missing it every time all but impossible.
  assert any(white_fraction() == 0.0 for _ in range(200))


def test_vgg_eval_resizes_the_smallest_side_to_resize_side_min():
  # A horizontal ramp: the central crop of a wider resize is flatter.
  ramp = np.tile(np.linspace(0, 255, 64, dtype=np.float32)[None, :, None],
                 (64, 1, 3)).astype(np.uint8)

  def spread(side):
    out = vgg_preprocessing.preprocess_image(
        tf.constant(ramp), 32, 32, resize_side_min=side).numpy()
    return out[:, -1].mean() - out[:, 0].mean()

  assert spread(32) > 1.9 * spread(64) > 0


def test_vgg_training_resize_range_follows_the_arguments():
  pixels = np.random.RandomState(5).randint(0, 256, (48, 48, 3), np.uint8)
  image = tf.constant(pixels)
  whole = vgg_preprocessing.preprocess_image(image, 24, 24,
                                             resize_side_min=24).numpy()
  for _ in range(3):
    # Smallest side fixed at the crop size: the crop is the whole image.
    out = vgg_preprocessing.preprocess_image(
        image, 24, 24, is_training=True, resize_side_min=24,
        resize_side_max=24).numpy()
    assert (np.allclose(out, whole, atol=1e-3) or
            np.allclose(out, whole[:, ::-1], atol=1e-3))
  tf.set_random_seed(6)
  default = [vgg_preprocessing.preprocess_image(image, 24, 24,
                                                is_training=True).numpy()
             for _ in range(3)]
  assert not any(np.allclose(out, whole, atol=1e-3) or
                 np.allclose(out, whole[:, ::-1], atol=1e-3)
                 for out in default)


def test_densenet_imagenet_is_scaled_mean_subtraction():
  flat = tf.fill([300, 260, 3], tf.constant(200, tf.uint8))
  for is_training in (True, False):
    fn = preprocessing_factory.get_preprocessing('densenet_imagenet',
                                                 is_training)
    out = fn(flat, 224, 224).numpy()
    assert out.shape == (224, 224, 3)
    np.testing.assert_allclose(
        out[100, 100], (200 - np.array(vgg_preprocessing.RGB_MEANS)) * 0.017,
        atol=1e-4)


def test_densenet_imagenet_eval_is_vgg_eval_scaled():
  image = _image(300, 260)
  vgg = vgg_preprocessing.preprocess_image(image, 224, 224).numpy()
  densenet = preprocessing_factory.get_preprocessing('densenet_imagenet')(
      image, 224, 224).numpy()
  np.testing.assert_allclose(densenet, vgg * 0.017, rtol=1e-5, atol=1e-5)


def test_preprocessing_names_never_change_a_network_name_meaning():
  # preprocessing_name_for checks preprocessing names first: a name that is
  # both must mean the network's own preprocessing.
  for name in preprocessing_factory.PREPROCESSORS:
    if name in nets_factory.NETWORKS:
      assert nets_factory.preprocessing_name(name) == name
  assert preprocessing_factory.preprocessing_name_for('densenet') == (
      'inception')
  assert preprocessing_factory.preprocessing_name_for(
      'densenet_imagenet') == 'densenet_imagenet'
  for name in ('densenet121', 'densenet161', 'densenet169'):
    assert preprocessing_factory.preprocessing_name_for(name) == 'inception'
