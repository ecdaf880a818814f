"""dataset_factory: datasets, the quiz format and converted-folder names."""

import io
import os

import numpy as np
import pytest
import tensorflow.compat.v1 as tf
import tf_slim
from PIL import Image

from datasets import dataset_factory
from datasets import dataset_utils
from datasets import flowers


def _jpeg(pixels):
  buffer = io.BytesIO()
  Image.fromarray(pixels).save(buffer, format='JPEG', quality=95)
  return buffer.getvalue()


def _course_quiz_example(encoded, label, with_format=True):
  """A record as the course's quiz converter wrote it: 320x320 whatever."""
  feature = {
      'image/encoded': dataset_utils.bytes_feature(encoded),
      'image/class/label': dataset_utils.int64_feature(label),
      'image/height': dataset_utils.int64_feature(320),
      'image/width': dataset_utils.int64_feature(320),
  }
  if with_format:
    feature['image/format'] = dataset_utils.bytes_feature(b'jpg')
  return tf.train.Example(features=tf.train.Features(feature=feature))


def _read_all(descriptor, channels=None):
  records = tf.data.TFRecordDataset(descriptor.data_sources)
  return [(image.numpy(), int(label)) for image, label in
          (descriptor.parse(r, channels) for r in records)]


def test_quiz_shards_written_the_course_way_read_with_class_names(tmp_path):
  # Real sizes differ from the 320x320 the records claim; flat colours
  # survive JPEG so the pixels can be checked.
  images = {label: np.full((17 + label, 23, 3), 40 * label + 10, np.uint8)
            for label in range(3)}
  for shard, labels in enumerate([[0, 1], [2]]):
    path = tmp_path / ('quiz_train_%05d-of-00002.tfrecord' % shard)
    with tf.io.TFRecordWriter(str(path)) as writer:
      for label in labels:
        writer.write(_course_quiz_example(
            _jpeg(images[label]), label,
            with_format=bool(label % 2)).SerializeToString())
  (tmp_path / 'labels.txt').write_text('0:cat\n1:dog\n2:tea pot\n')

  descriptor = dataset_factory.get_dataset('quiz', 'train', str(tmp_path))

  assert descriptor.num_classes == 200
  assert descriptor.num_samples == 50000  # slim's size: no metadata file
  assert descriptor.channels == 3
  assert descriptor.labels_to_names == {0: 'cat', 1: 'dog', 2: 'tea pot'}
  assert [os.path.basename(p) for p in descriptor.data_sources] == [
      'quiz_train_00000-of-00002.tfrecord',
      'quiz_train_00001-of-00002.tfrecord']
  decoded = _read_all(descriptor)
  assert [label for _, label in decoded] == [0, 1, 2]
  for image, label in decoded:
    assert image.shape == images[label].shape
    np.testing.assert_allclose(image, images[label], atol=2)


def test_registered_split_sizes_follow_slim():
  specs = dataset_factory.SPECS
  assert specs['quiz'].splits_to_sizes == {'train': 50000,
                                           'validation': 10000}
  assert specs['flowers'].splits_to_sizes == {'train': 3320,
                                              'validation': 350}
  assert specs['imagenet'].num_classes == 1001
  assert specs['fashion_mnist'].class_names[9] == 'Ankle boot'
  assert specs['fashion_mnist'].channels == 1


def test_unknown_name_without_metadata_says_how_to_convert(tmp_path):
  with pytest.raises(ValueError, match='download_and_convert_data.py'):
    dataset_factory.get_dataset('my_flower_5', 'train', str(tmp_path))


def test_metadata_makes_any_name_readable(tmp_path):
  dataset_utils.write_metadata(str(tmp_path), 'my_flower_5',
                               {'train': 7, 'validation': 3}, 5,
                               'my_flower_5_%s_*.tfrecord')
  (tmp_path / 'my_flower_5_validation_00000-of-00001.tfrecord').write_bytes(
      b'')
  dataset_utils.write_label_file({i: 'f%d' % i for i in range(5)},
                                 str(tmp_path))
  descriptor = dataset_factory.get_dataset('my_flower_5', 'validation',
                                           str(tmp_path))
  assert (descriptor.num_samples, descriptor.num_classes) == (3, 5)
  assert descriptor.labels_to_names[4] == 'f4'
  assert len(descriptor.data_sources) == 1


@pytest.mark.parametrize('name, split, directory, message', [
    ('quiz', 'test', 'ok', "no split 'test'"),
    ('quiz', 'train', 'missing', 'is not a directory'),
    ('quiz', 'validation', 'ok', 'No files match'),
])
def test_bad_arguments_give_one_clear_line(tmp_path, name, split, directory,
                                           message):
  (tmp_path / 'quiz_train_00000-of-00001.tfrecord').write_bytes(b'')
  dataset_dir = str(tmp_path if directory == 'ok' else tmp_path / 'nope')
  with pytest.raises(ValueError, match=message):
    dataset_factory.get_dataset(name, split, dataset_dir)


def test_file_pattern_overrides_the_registered_one(tmp_path):
  (tmp_path / 'custom-train.rec').write_bytes(b'')
  descriptor = dataset_factory.get_dataset(
      'quiz', 'train', str(tmp_path), file_pattern='custom-%s.rec')
  assert [os.path.basename(p) for p in descriptor.data_sources] == [
      'custom-train.rec']


def test_known_class_names_are_used_without_labels_file(tmp_path):
  (tmp_path / 'cifar10_test.tfrecord').write_bytes(b'')
  descriptor = dataset_factory.get_dataset('cifar10', 'test', str(tmp_path))
  assert descriptor.labels_to_names[0] == 'airplane'
  assert descriptor.num_samples == 10000


def test_bad_labels_file_names_the_line(tmp_path):
  (tmp_path / 'quiz_train_0.tfrecord').write_bytes(b'')
  (tmp_path / 'labels.txt').write_text('0:cat\ndog\n')
  with pytest.raises(ValueError, match='line 2'):
    dataset_factory.get_dataset('quiz', 'train', str(tmp_path))


@pytest.mark.parametrize('pil_format, mode', [
    ('PNG', 'RGB'), ('PNG', 'L'), ('PNG', 'RGBA'), ('GIF', 'P'),
    ('BMP', 'RGB'), ('BMP', 'L')])
@pytest.mark.parametrize('channels', [1, 3])
def test_decode_image_handles_formats_and_channels(pil_format, mode,
                                                    channels):
  rng = np.random.RandomState(3)
  grey = rng.randint(0, 256, (5, 4), np.uint8)
  rgb = np.stack([grey] * 3, axis=-1)  # grey in RGB: exact in every format
  image = Image.fromarray(rgb).convert(mode)
  buffer = io.BytesIO()
  image.save(buffer, format=pil_format)
  decoded = dataset_factory.decode_image(tf.constant(buffer.getvalue()),
                                         channels).numpy()
  assert decoded.shape == (5, 4, channels)
  expected = np.asarray(image.convert('RGB'))
  if channels == 1:
    np.testing.assert_allclose(decoded[:, :, 0], expected[:, :, 0], atol=1)
  else:
    np.testing.assert_array_equal(decoded, expected)


def test_module_and_factory_give_the_same_metadata_sizes(tmp_path):
  dataset_utils.write_metadata(str(tmp_path), 'flowers',
                               {'train': 6, 'validation': 2}, 5,
                               'flowers_%s_*.tfrecord')
  (tmp_path / 'flowers_validation_00000-of-00001.tfrecord').write_bytes(b'')
  from_module = flowers.get_split('validation', str(tmp_path))
  from_factory = dataset_factory.get_dataset('flowers', 'validation',
                                             str(tmp_path))
  assert from_module.num_samples == from_factory.num_samples == 2
  assert from_module.data_sources == from_factory.data_sources
  assert isinstance(from_factory, tf_slim.dataset.Dataset)
