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
  # The factory's function for a network is its row's module's, unchanged.
  image = _image()
  for name in nets_factory.network_names():
    fn = preprocessing_factory.get_preprocessing(name, is_training=False)
    module = preprocessing_factory.PREPROCESSORS[
        nets_factory.preprocessing_name(name)]
    out = fn(image, 17, 19).numpy()
    assert out.shape == (17, 19, 3), name
    np.testing.assert_array_equal(
        out, module.preprocess_image(image, 17, 19).numpy(), err_msg=name)
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


def _position_coded(height, width):
  """uint8 [H, W, 3]: each pixel holds its own (row, column, 0)."""
  rows, columns = np.meshgrid(np.arange(height), np.arange(width),
                              indexing='ij')
  return np.stack([rows, columns, np.zeros_like(rows)], -1).astype(np.uint8)


def test_inception_training_crops_differ_and_stay_inside_the_image():
  coded = _position_coded(40, 30)
  tf.set_random_seed(7)
  boxes = set()
  for _ in range(40):
    crop, _ = inception_preprocessing.distorted_bounding_box_crop(
        tf.constant(coded))
    crop = crop.numpy()
    top, left = int(crop[0, 0, 0]), int(crop[0, 0, 1])
    height, width = crop.shape[:2]
    # One contiguous block of the image, pixel for pixel: inside it.
    np.testing.assert_array_equal(
        crop, coded[top:top + height, left:left + width])
    # At least 10% of the object (the whole image), aspect 3/4 to 4/3 (up
    # to the rounding to whole pixels).
    assert height * width >= 0.1 * 40 * 30
    assert 0.7 <= width / height <= 1.4, (height, width)
    boxes.add((top, left, height, width))
  assert len(boxes) >= 30  # a new crop each time, nearly always


def test_inception_training_flips_half_the_time_and_shifts_brightness():
  # A 1-channel ramp kept clear of 0 and 255: without the crop, training is
  # the image (a same-size resize), maybe mirrored, plus one brightness
  # shift of at most 32/255 that never needs clipping.
  ramp = np.tile(np.linspace(64, 191, 16).round().astype(np.uint8)[None, :,
                                                                   None],
                 (16, 1, 1))
  signed = ramp / 255.0 * 2 - 1
  tf.set_random_seed(3)
  flips, shifts = 0, set()
  for _ in range(40):
    out = inception_preprocessing.preprocess_image(
        tf.constant(ramp), 16, 16, is_training=True, crop_image=False,
        add_image_summaries=False).numpy()
    assert out.shape == (16, 16, 1) and out.dtype == np.float32
    flipped = np.ptp(out - signed[:, ::-1]) < 1e-5
    assert flipped or np.ptp(out - signed) < 1e-5, 'not a shifted ramp'
    flips += flipped
    shift = float(np.mean(out - (signed[:, ::-1] if flipped else signed)))
    assert abs(shift) <= 2 * 32 / 255.0 + 1e-5
    shifts.add(round(shift, 5))
  # Binomial(40, 1/2) falls outside 10..30 about twice in a thousand seeds.
  assert 10 <= flips <= 30
  assert len(shifts) >= 35


@pytest.mark.parametrize('name', sorted(preprocessing_factory.PREPROCESSORS))
def test_evaluation_is_deterministic(name):
  fn = preprocessing_factory.get_preprocessing(name, is_training=False)
  image = _image(48, 40)
  tf.set_random_seed(8)
  first = fn(image, 24, 24).numpy()
  np.testing.assert_array_equal(fn(image, 24, 24).numpy(), first)


def test_vgg_eval_is_the_central_crop_minus_the_means():
  # The smallest side already at resize_side_min: the resize keeps every
  # pixel, the central 24x24 of 32x40 is rows 4-27, columns 8-31.
  pixels = np.random.RandomState(9).randint(0, 256, (32, 40, 3), np.uint8)
  out = vgg_preprocessing.preprocess_image(tf.constant(pixels), 24, 24,
                                           resize_side_min=32).numpy()
  expected = pixels[4:28, 8:32] - np.array(vgg_preprocessing.RGB_MEANS)
  np.testing.assert_allclose(out, expected, atol=1e-3)


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
