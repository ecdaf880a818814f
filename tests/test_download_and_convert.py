"""Converters: folder round trip, bad files, split, atomic writes, archives."""

import gzip
import io
import os
import pickle
import struct
import tarfile

import numpy as np
import pytest
import tensorflow.compat.v1 as tf
from PIL import Image

import deployment_helpers as helpers
from datasets import convert_dataset
from datasets import convert_folder
from datasets import dataset_factory
from datasets import download_and_convert_mnist
from datasets import staged_output


def _save(path, image, pil_format='PNG', **kwargs):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  image.save(path, format=pil_format, **kwargs)


def _random_rgb(rng, height, width):
  return Image.fromarray(rng.randint(0, 256, (height, width, 3), np.uint8))


def _records(dataset_dir, name, split):
  descriptor = dataset_factory.get_dataset(name, split, dataset_dir)
  return [(image.numpy(), int(label)) for image, label in (
      descriptor.parse(r)
      for r in tf.data.TFRecordDataset(descriptor.data_sources))]


def _make_folder(root, num_classes=3, per_class=4, seed=0):
  """root/<class>/img_<i>.png; returns {(label, pixel bytes)} expected."""
  rng = np.random.RandomState(seed)
  expected = set()
  for label in range(num_classes):
    for i in range(per_class):
      image = _random_rgb(rng, 5 + i, 7 + label)
      class_dir = os.path.join(root, 'class_%s' % 'abcdefgh'[label])
      _save(os.path.join(class_dir, 'img_%d.png' % i), image)
      expected.add((label, np.asarray(image).tobytes()))
  return expected


def _snapshot(directory):
  return {name: open(os.path.join(directory, name), 'rb').read()
          for name in sorted(os.listdir(directory))
          if os.path.isfile(os.path.join(directory, name))}


def test_folder_round_trip_gives_back_labels_and_pixels(tmp_path):
  expected = _make_folder(str(tmp_path / 'my_flower_5'))
  logs = []
  result = convert_dataset.convert('my_flower_5', str(tmp_path),
                                   validation_size=3, num_shards=2,
                                   log=logs.append)
  assert result['splits_to_sizes'] == {'train': 9, 'validation': 3}
  read = _records(str(tmp_path), 'my_flower_5', 'train') + _records(
      str(tmp_path), 'my_flower_5', 'validation')
  assert {(label, image.tobytes()) for image, label in read} == expected
  assert len(read) == 12
  descriptor = dataset_factory.get_dataset('my_flower_5', 'validation',
                                           str(tmp_path))
  assert descriptor.num_samples == 3 and descriptor.num_classes == 3
  assert descriptor.labels_to_names == {0: 'class_a', 1: 'class_b',
                                        2: 'class_c'}
  assert 'skipped 0 files' in logs[-1]


def _write_bad_files(class_dir, rng):
  good = io.BytesIO()
  _random_rgb(rng, 40, 40).save(good, format='JPEG')
  png = io.BytesIO()
  _random_rgb(rng, 40, 40).save(png, format='PNG')
  bad = {
      'empty.jpg': b'',
      'truncated.jpg': good.getvalue()[:len(good.getvalue()) // 2],
      'truncated.png': png.getvalue()[:len(png.getvalue()) // 2],
      'notes.txt': b'not an image at all\n',
      'fake.png': b'\x89PNG\r\n\x1a\nthis is no png',
  }
  for name, data in bad.items():
    with open(os.path.join(class_dir, name), 'wb') as f:
      f.write(data)
  return sorted(bad)


def test_bad_files_are_skipped_and_reported(tmp_path):
  source = str(tmp_path / 'photos')
  expected = _make_folder(source, num_classes=2, per_class=3)
  bad_names = _write_bad_files(os.path.join(source, 'class_b'),
                               np.random.RandomState(1))
  logs = []
  result = convert_folder.convert_folder(source, str(tmp_path / 'out'),
                                         'photos', validation_size=0.25,
                                         log=logs.append)
  skipped = sorted(os.path.basename(path) for path, _ in result['skipped'])
  assert skipped == bad_names
  assert sum(result['splits_to_sizes'].values()) == 6
  report = open(result['report']).read()
  for name in bad_names:
    assert name in report
  assert 'skipped %d files' % len(bad_names) in logs[-1]
  read = _records(str(tmp_path / 'out'), 'photos', 'train') + _records(
      str(tmp_path / 'out'), 'photos', 'validation')
  assert {(label, image.tobytes()) for image, label in read} == expected


def test_odd_modes_become_rgb(tmp_path):
  rng = np.random.RandomState(2)
  source = tmp_path / 'odd'
  rgb = _random_rgb(rng, 6, 6)
  rgba = rgb.convert('RGBA')
  rgba.putpixel((0, 0), (10, 20, 30, 0))  # fully transparent -> white
  images = {
      'cmyk.jpg': (rgb.convert('CMYK'), 'JPEG'),
      'grey.png': (rgb.convert('L'), 'PNG'),
      'palette.gif': (rgb.convert('P'), 'GIF'),
      'alpha.png': (rgba, 'PNG'),
      'picture.bmp': (rgb, 'BMP'),
  }
  for name, (image, pil_format) in images.items():
    _save(str(source / 'only' / name), image, pil_format)
  _save(str(source / 'other' / 'plain.png'), rgb)  # a classifier needs 2
  convert_folder.convert_folder(str(source), str(tmp_path), 'odd',
                                validation_size=0, log=lambda _: None)
  read = _records(str(tmp_path), 'odd', 'train')
  assert len(read) == len(images) + 1
  decoded = [image for image, label in read if label == 0]
  assert all(image.shape == (6, 6, 3) for image in decoded)

  def stored_as(name):
    loaded = convert_folder.load_image(str(source / 'only' / name))
    assert loaded.format == 'png'
    return np.asarray(Image.open(io.BytesIO(loaded.encoded)))

  for name in images:
    assert any(np.array_equal(stored_as(name), image) for image in decoded)
  np.testing.assert_array_equal(stored_as('alpha.png')[0, 0], [255, 255, 255])
  cmyk_pixels = np.asarray(Image.open(str(source / 'only' / 'cmyk.jpg'))
                           .convert('RGB'))
  np.testing.assert_array_equal(stored_as('cmyk.jpg'), cmyk_pixels)


def test_rgb_jpeg_is_stored_byte_for_byte(tmp_path):
  path = str(tmp_path / 'a.jpg')
  _save(path, _random_rgb(np.random.RandomState(0), 8, 8), 'JPEG')
  loaded = convert_folder.load_image(path)
  assert loaded.format == 'jpeg'
  assert loaded.encoded == open(path, 'rb').read()


def test_split_is_deterministic_and_seeded():
  files = [('f%02d' % i, i % 3) for i in range(40)]
  first = convert_folder.split_files(files, 0.25, seed=5)
  again = convert_folder.split_files(list(reversed(files)), 0.25, seed=5)
  other = convert_folder.split_files(files, 0.25, seed=6)
  assert first == again
  assert len(first['validation']) == 10 and len(first['train']) == 30
  assert first['validation'] != other['validation']
  assert sorted(first['train'] + first['validation']) == sorted(files)
  assert len(convert_folder.split_files(files, 7, seed=5)['validation']) == 7
  with pytest.raises(staged_output.ConversionError, match='validation_size'):
    convert_folder.split_files(files, 40, seed=5)


def test_existing_dataset_needs_overwrite(tmp_path):
  _make_folder(str(tmp_path / 'pets'), per_class=2)
  quiet = lambda _: None  # noqa: E731
  convert_dataset.convert('pets', str(tmp_path), validation_size=0, log=quiet)
  before = _snapshot(str(tmp_path))
  with pytest.raises(staged_output.ConversionError, match='--overwrite'):
    convert_dataset.convert('pets', str(tmp_path), validation_size=0,
                            log=quiet)
  assert _snapshot(str(tmp_path)) == before
  result = convert_dataset.convert('pets', str(tmp_path), validation_size=2,
                                   overwrite=True, log=quiet)
  assert result['splits_to_sizes'] == {'train': 4, 'validation': 2}


class _Interrupted(Exception):
  pass


def _interrupt_after(monkeypatch, calls):
  real_load = convert_folder.load_image
  count = [0]

  def load_then_fail(path, *args):
    count[0] += 1
    if count[0] > calls:
      raise _Interrupted()
    return real_load(path, *args)

  monkeypatch.setattr(convert_folder, 'load_image', load_then_fail)


def test_interrupted_run_leaves_previous_dataset_intact(tmp_path, monkeypatch):
  _make_folder(str(tmp_path / 'pets'), per_class=4)
  quiet = lambda _: None  # noqa: E731
  convert_dataset.convert('pets', str(tmp_path), validation_size=3,
                          num_shards=2, log=quiet)
  before = _snapshot(str(tmp_path))
  _make_folder(str(tmp_path / 'pets'), per_class=6, seed=9)
  _interrupt_after(monkeypatch, calls=5)
  with pytest.raises(_Interrupted):
    convert_dataset.convert('pets', str(tmp_path), validation_size=3,
                            num_shards=2, overwrite=True, log=quiet)
  assert _snapshot(str(tmp_path)) == before
  assert sorted(os.listdir(tmp_path)) == sorted(list(before) + ['pets'])


def test_interrupted_first_run_leaves_no_dataset(tmp_path, monkeypatch):
  _make_folder(str(tmp_path / 'pets'), per_class=4)
  _interrupt_after(monkeypatch, calls=2)
  with pytest.raises(_Interrupted):
    convert_dataset.convert('pets', str(tmp_path), log=lambda _: None)
  assert os.listdir(tmp_path) == ['pets']
  with pytest.raises(ValueError, match='pets_metadata.json'):
    dataset_factory.get_dataset('pets', 'train', str(tmp_path))


def test_stale_staging_of_a_killed_run_is_swept(tmp_path):
  _make_folder(str(tmp_path / 'pets'), per_class=2)
  stale = tmp_path / '.pets.partial-999999'
  stale.mkdir()
  (stale / 'pets_train_00000-of-00001.tfrecord').write_bytes(b'junk')
  convert_dataset.convert('pets', str(tmp_path), validation_size=0,
                          log=lambda _: None)
  assert not stale.exists()


def _idx_gz(path, magic, array):
  header = struct.pack('>%dI' % (1 + array.ndim), magic, *array.shape)
  with gzip.open(path, 'wb') as f:
    f.write(header + array.astype(np.uint8).tobytes())


def _write_idx_files(directory, sizes, seed=0):
  rng = np.random.RandomState(seed)
  expected = {}
  for split, (images_name, labels_name) in (
      download_and_convert_mnist.SPLIT_FILES.items()):
    images = rng.randint(0, 256, (sizes[split], 28, 28))
    labels = rng.randint(0, 10, sizes[split])
    _idx_gz(os.path.join(directory, images_name), 2051, images)
    _idx_gz(os.path.join(directory, labels_name), 2049, labels)
    expected[split] = (images, labels)
  return expected


@pytest.mark.parametrize('name', ['mnist', 'fashion_mnist'])
def test_idx_files_convert_to_grayscale_png_records(tmp_path, name):
  source = tmp_path / 'idx'
  source.mkdir()
  expected = _write_idx_files(str(source), {'train': 6, 'test': 4})
  out = str(tmp_path / 'out')
  convert_dataset.convert(name, out, source_dir=str(source),
                          log=lambda _: None)
  for split, (images, labels) in expected.items():
    descriptor = dataset_factory.get_dataset(name, split, out)
    assert descriptor.num_samples == len(labels)
    assert descriptor.channels == 1
    read = _records(out, name, split)
    np.testing.assert_array_equal([label for _, label in read], labels)
    np.testing.assert_array_equal(np.stack([image for image, _ in read]),
                                  images[..., None])
  if name == 'fashion_mnist':
    assert dataset_factory.get_dataset(
        name, 'test', out).labels_to_names[0] == 'T-shirt/top'


def test_corrupt_idx_file_is_reported_not_half_written(tmp_path):
  source = tmp_path / 'idx'
  source.mkdir()
  _write_idx_files(str(source), {'train': 3, 'test': 2})
  images_path = source / 'train-images-idx3-ubyte.gz'
  images_path.write_bytes(images_path.read_bytes()[:30])
  out = tmp_path / 'out'
  with pytest.raises(staged_output.ConversionError, match='train-images'):
    convert_dataset.convert('mnist', str(out), source_dir=str(source),
                            log=lambda _: None)
  assert os.listdir(out) == []


DEBIAN_FASHION = download_and_convert_mnist.DEBIAN_DIRS['fashion_mnist']


@pytest.mark.skipif(not os.path.isdir(DEBIAN_FASHION),
                    reason='Debian package dataset-fashion-mnist not installed')
def test_debian_fashion_mnist_files_are_readable():
  images = download_and_convert_mnist.read_images(os.path.join(
      DEBIAN_FASHION, 't10k-images-idx3-ubyte.gz'))
  labels = download_and_convert_mnist.read_labels(os.path.join(
      DEBIAN_FASHION, 't10k-labels-idx1-ubyte.gz'))
  assert images.shape == (10000, 28, 28)
  assert np.bincount(labels).tolist() == [1000] * 10


def test_cifar10_archive_converts(tmp_path):
  rng = np.random.RandomState(0)
  folder = tmp_path / 'cifar-10-batches-py'
  folder.mkdir()
  batches = {}
  for name in ['data_batch_%d' % i for i in range(1, 6)] + ['test_batch']:
    data = rng.randint(0, 256, (2, 3072)).astype(np.uint8)
    labels = rng.randint(0, 10, 2).tolist()
    with open(folder / name, 'wb') as f:
      pickle.dump({b'data': data, b'labels': labels}, f)
    batches[name] = (data, labels)
  archive = str(tmp_path / 'cifar-10-python.tar.gz')
  with tarfile.open(archive, 'w:gz') as tar:
    tar.add(str(folder), arcname='cifar-10-batches-py')
  out = str(tmp_path / 'out')
  convert_dataset.convert('cifar10', out, source_dir=archive,
                          log=lambda _: None)
  read = _records(out, 'cifar10', 'test')
  data, labels = batches['test_batch']
  assert [label for _, label in read] == labels
  np.testing.assert_array_equal(read[0][0][0, 0], data[0, [0, 1024, 2048]])
  assert dataset_factory.get_dataset('cifar10', 'train', out).num_samples == 10
  assert sorted(os.listdir(out)) == ['cifar10_labels.txt',
                                     'cifar10_metadata.json',
                                     'cifar10_test.tfrecord',
                                     'cifar10_train.tfrecord', 'labels.txt']


def test_flowers_archive_converts_with_slim_naming(tmp_path):
  photos = tmp_path / 'src' / 'flower_photos'
  _make_folder(str(photos), num_classes=5, per_class=2)
  (photos / 'LICENSE.txt').write_text('CC-BY')
  archive = str(tmp_path / 'flower_photos.tgz')
  with tarfile.open(archive, 'w:gz') as tar:
    tar.add(str(photos), arcname='flower_photos')
  out = str(tmp_path / 'out')
  convert_dataset.convert('flowers', out, source_dir=archive,
                          validation_size=3, log=lambda _: None)
  descriptor = dataset_factory.get_dataset('flowers', 'validation', out)
  assert descriptor.num_samples == 3 and descriptor.num_classes == 5
  assert os.path.basename(descriptor.data_sources[0]) == (
      'flowers_validation_00000-of-00003.tfrecord')
  assert not any(name.startswith('.') for name in os.listdir(out))


def test_script_reports_bad_input_in_one_line(tmp_path):
  result = helpers.run_script('download_and_convert_data.py',
                              '--dataset_name=my_flower_5',
                              '--dataset_dir=%s' % tmp_path, timeout=120)
  error = helpers.error_line(result)
  assert error.startswith('ERROR: ') and 'my_flower_5' in error
  assert result.stderr.count('ERROR: ') == 1
