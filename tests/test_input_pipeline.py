"""input_pipeline.make_dataset: batches, order, channels, graph mode."""

import io

import numpy as np
import pytest
import tensorflow.compat.v1 as tf
from PIL import Image

from datasets import dataset_factory
from datasets import fake_data
from datasets import input_pipeline
from preprocessing import preprocessing_factory


@pytest.fixture(scope='module')
def quiz_dir(tmp_path_factory):
  directory = tmp_path_factory.mktemp('quiz')
  fake_data.write_fake_dataset(str(directory), 'quiz', num_classes=5,
                               images_per_class={'train': 4,
                                                 'validation': 2},
                               image_format='png', image_shape=(20, 24, 3))
  return str(directory)


def _identity_resize(image, height, width):
  return tf.image.resize(tf.cast(image, tf.float32), [height, width],
                         method='nearest')


def _file_order_labels(descriptor):
  records = tf.data.TFRecordDataset(descriptor.data_sources)
  return [int(descriptor.parse(r)[1]) for r in records]


def test_eval_keeps_order_and_last_partial_batch(quiz_dir):
  descriptor = dataset_factory.get_dataset('quiz', 'validation', quiz_dir)
  batches = list(input_pipeline.make_dataset(
      descriptor, _identity_resize, batch_size=4, is_training=False,
      image_size=8))
  assert [len(labels) for _, labels in batches] == [4, 4, 2]
  labels = np.concatenate([labels.numpy() for _, labels in batches])
  assert labels.tolist() == _file_order_labels(descriptor)


def test_training_shuffles_repeats_and_drops_remainder(quiz_dir):
  descriptor = dataset_factory.get_dataset('quiz', 'train', quiz_dir)
  dataset = input_pipeline.make_dataset(
      descriptor, preprocessing_factory.get_preprocessing('densenet', True),
      batch_size=6, is_training=True, image_size=16, seed=3)
  assert dataset.element_spec[0].shape.as_list() == [6, 16, 16, 3]
  labels = np.concatenate([l.numpy() for _, l in dataset.take(10)])
  assert len(labels) == 60  # 3 epochs of 20: it repeats
  assert labels[:20].tolist() != _file_order_labels(descriptor)
  assert sorted(labels[:20].tolist()) != labels[:20].tolist()
  np.testing.assert_array_equal(np.bincount(labels[:60], minlength=5) > 0,
                                [True] * 5)


def test_seeded_training_order_repeats(quiz_dir):
  descriptor = dataset_factory.get_dataset('quiz', 'train', quiz_dir)

  def first_labels():
    dataset = input_pipeline.make_dataset(
        descriptor, _identity_resize, batch_size=5, is_training=True,
        image_size=8, seed=11)
    return [l.numpy().tolist() for _, l in dataset.take(4)]

  assert first_labels() == first_labels()


def test_num_epochs_and_labels_offset(quiz_dir):
  descriptor = dataset_factory.get_dataset('quiz', 'train', quiz_dir)
  dataset = input_pipeline.make_dataset(
      descriptor, _identity_resize, batch_size=4, is_training=True,
      image_size=8, num_epochs=2, labels_offset=1)
  labels = np.concatenate([l.numpy() for _, l in dataset])
  assert len(labels) == 40
  assert labels.min() == -1 and labels.max() == 3


def _stored_pixels(descriptor):
  """uint8 [H, W, C] of every record, decoded by PIL, in file order."""
  pixels = []
  for record in tf.data.TFRecordDataset(descriptor.data_sources):
    feature = tf.train.Example.FromString(record.numpy()).features.feature
    encoded = feature['image/encoded'].bytes_list.value[0]
    image = np.asarray(Image.open(io.BytesIO(encoded)))
    pixels.append(image if image.ndim == 3 else image[..., None])
  return pixels


@pytest.mark.parametrize('stored, wanted', [(3, 1), (1, 3), (1, 1)])
def test_channels_are_converted_for_the_network(tmp_path, stored, wanted):
  fake_data.write_fake_dataset(str(tmp_path), 'fashion_mnist', num_classes=2,
                               images_per_class={'test': 2},
                               image_format='png', image_shape=(28, 28, stored))
  descriptor = dataset_factory.get_dataset('fashion_mnist', 'test',
                                           str(tmp_path))
  images, _ = next(iter(input_pipeline.make_dataset(
      descriptor, _identity_resize, 4, False, image_size=28,
      channels=wanted)))
  assert images.shape == (4, 28, 28, wanted)
  for image, pixels in zip(images.numpy(), _stored_pixels(descriptor)):
    pixels = pixels.astype(np.float32)
    if stored == 3 and wanted == 1:
      # ITU-R 601 luma, as tf.image.rgb_to_grayscale (within rounding).
      pixels = pixels.dot([0.2989, 0.5870, 0.1140])[..., None]
    np.testing.assert_allclose(image, np.broadcast_to(pixels, image.shape),
                               atol=1.0)


def test_graph_mode_one_shot_iterator(quiz_dir):
  descriptor = dataset_factory.get_dataset('quiz', 'validation', quiz_dir)
  preprocess = preprocessing_factory.get_preprocessing('inception_v4')
  with tf.Graph().as_default():
    dataset = input_pipeline.make_dataset(descriptor, preprocess, 3, False,
                                          image_size=12)
    images, labels = tf.data.make_one_shot_iterator(dataset).get_next()
    with tf.Session() as sess:
      image_values, label_values = sess.run([images, labels])
      seen = len(label_values)
      with pytest.raises(tf.errors.OutOfRangeError):
        while True:
          seen += len(sess.run(labels))
  assert image_values.shape == (3, 12, 12, 3)
  assert image_values.dtype == np.float32
  assert -1.0 <= image_values.min() and image_values.max() <= 1.0
  assert seen == 10


def test_bad_channels_value_is_refused(quiz_dir):
  descriptor = dataset_factory.get_dataset('quiz', 'train', quiz_dir)
  with pytest.raises(ValueError, match='channels'):
    input_pipeline.make_dataset(descriptor, _identity_resize, 2, True, 8,
                                channels=2)
