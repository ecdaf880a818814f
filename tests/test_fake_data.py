"""fake_data writes each registered format so the reader reads it back."""

import os

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from datasets import dataset_factory
from datasets import fake_data


def _labels_of(descriptor):
  records = tf.data.TFRecordDataset(descriptor.data_sources)
  return [int(descriptor.parse(r)[1]) for r in records]


def test_quiz_fake_dataset_matches_the_course_layout(tmp_path):
  names = fake_data.write_fake_dataset(str(tmp_path), 'quiz', num_classes=3,
                                       images_per_class={'train': 4,
                                                         'validation': 1})
  files = sorted(os.listdir(tmp_path))
  assert 'quiz_train_00000-of-00002.tfrecord' in files
  assert 'quiz_validation_00001-of-00002.tfrecord' in files
  train = dataset_factory.get_dataset('quiz', 'train', str(tmp_path))
  assert (train.num_samples, train.num_classes) == (12, 3)
  assert train.labels_to_names == names
  assert sorted(_labels_of(train)) == [0] * 4 + [1] * 4 + [2] * 4
  record = next(iter(tf.data.TFRecordDataset(train.data_sources)))
  example = tf.train.Example.FromString(record.numpy())
  assert example.features.feature['image/height'].int64_list.value == [320]
  image, _ = train.parse(record)
  assert image.shape == (32, 32, 3)


@pytest.mark.parametrize('name, shape, split, expected_file', [
    ('fashion_mnist', (28, 28, 1), 'test', 'fashion_mnist_test.tfrecord'),
    ('cifar10', (32, 32, 3), 'train', 'cifar10_train.tfrecord'),
    ('imagenet', (20, 24, 3), 'validation', 'validation-00000-of-00002'),
    ('my_photos', (16, 16, 3), 'train', 'my_photos_train_00001-of-00002'
     '.tfrecord'),
])
def test_each_naming_scheme_reads_back(tmp_path, name, shape, split,
                                       expected_file):
  fake_data.write_fake_dataset(str(tmp_path), name, num_classes=10,
                               images_per_class={split: 2},
                               image_format='png', image_shape=shape)
  assert expected_file in os.listdir(tmp_path)
  descriptor = dataset_factory.get_dataset(name, split, str(tmp_path))
  assert descriptor.num_samples == 20
  assert descriptor.channels == shape[2]
  image, _ = descriptor.parse(next(iter(
      tf.data.TFRecordDataset(descriptor.data_sources))))
  assert image.shape == shape


def test_classes_look_different_and_seed_repeats(tmp_path):
  rng = np.random.RandomState(0)
  means = [fake_data.fake_image(label, (16, 16, 3), rng).mean(axis=(0, 1))
           for label in range(5)]
  gaps = [np.abs(a - b).max() for i, a in enumerate(means)
          for b in means[i + 1:]]
  assert min(gaps) > 10
  fake_data.write_fake_dataset(str(tmp_path / 'a'), seed=4)
  fake_data.write_fake_dataset(str(tmp_path / 'b'), seed=4)
  for name in os.listdir(tmp_path / 'a'):
    assert (tmp_path / 'a' / name).read_bytes() == (
        tmp_path / 'b' / name).read_bytes()
