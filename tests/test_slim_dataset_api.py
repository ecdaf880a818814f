"""slim's dataset API: get_split modules, the factory, DatasetDataProvider."""

import contextlib
import inspect
import os
import subprocess
import sys
import textwrap
import urllib.error
import zipfile

import numpy as np
import pytest
import tensorflow.compat.v1 as tf
import tf_slim as slim
from PIL import Image

import deployment_helpers
from datasets import cifar10
from datasets import convert_dataset
from datasets import dataset_factory
from datasets import dataset_utils
from datasets import download_and_convert_cifar10
from datasets import download_and_convert_flowers
from datasets import download_and_convert_mnist
from datasets import download_and_convert_visualwakewords
from datasets import fake_data
from datasets import fashion_mnist
from datasets import flowers
from datasets import imagenet
from datasets import mnist
from datasets import quiz
from datasets import staged_output
from datasets import visualwakewords

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# name: (module, upstream's split sizes, classes, items, one stored file)
UPSTREAM = {
    'flowers': (flowers, {'train': 3320, 'validation': 350}, 5,
                {'image', 'label'}, 'flowers_train_00000-of-00005.tfrecord'),
    'cifar10': (cifar10, {'train': 50000, 'test': 10000}, 10,
                {'image', 'label'}, 'cifar10_train.tfrecord'),
    'mnist': (mnist, {'train': 60000, 'test': 10000}, 10,
              {'image', 'label'}, 'mnist_train.tfrecord'),
    'imagenet': (imagenet, {'train': 1281167, 'validation': 50000}, 1001,
                 {'image', 'label', 'label_text', 'object/bbox',
                  'object/label'}, 'train-00000-of-01024'),
    'quiz': (quiz, {'train': 50000, 'validation': 10000}, 200,
             {'image', 'label'}, 'quiz_train_00000-of-00004.tfrecord'),
    'fashion_mnist': (fashion_mnist, {'train': 60000, 'test': 10000}, 10,
                      {'image', 'label'}, 'fashion_mnist_train.tfrecord'),
    'visualwakewords': (visualwakewords, {'train': 82783, 'val': 40504}, 2,
                        {'image', 'label', 'object/bbox'},
                        'train.record-00000-of-00100'),
}


def _provide(dataset, items, count):
  """Reads `count` examples through slim's queue-based provider."""
  with tf.Graph().as_default():
    provider = slim.dataset_data_provider.DatasetDataProvider(
        dataset, shuffle=False, num_readers=1)
    tensors = provider.get(items)
    with tf.Session() as sess, slim.queues.QueueRunners(sess):
      return [sess.run(tensors) for _ in range(count)]


@pytest.mark.parametrize('name', sorted(UPSTREAM))
def test_get_split_is_a_slim_dataset_with_upstream_facts(tmp_path, name):
  module, sizes, num_classes, items, train_file = UPSTREAM[name]
  assert list(inspect.signature(module.get_split).parameters) == [
      'split_name', 'dataset_dir', 'file_pattern', 'reader']
  assert module.SPLITS_TO_SIZES == sizes
  (tmp_path / 'labels.txt').write_text('0:zero\n1:one\n')
  for split_name, size in sizes.items():
    stored_file = train_file.replace('train', split_name)
    (tmp_path / stored_file).write_bytes(b'')
    dataset = module.get_split(split_name, str(tmp_path))
    assert isinstance(dataset, slim.dataset.Dataset)
    assert (dataset.name, dataset.split_name) == (name, split_name)
    assert dataset.num_samples == size
    assert dataset.num_classes == num_classes
    assert dataset.reader is tf.TFRecordReader
    assert isinstance(dataset.decoder, slim.tfexample_decoder.TFExampleDecoder)
    assert set(dataset.decoder.list_items()) == items
    assert set(dataset.items_to_descriptions) == items
    assert dataset.labels_to_names == {0: 'zero', 1: 'one'}
    assert dataset.data_sources == [str(tmp_path / stored_file)]
    via_factory = dataset_factory.get_dataset(name, split_name, str(tmp_path),
                                              reader=tf.WholeFileReader)
    assert type(via_factory) is type(dataset)
    assert via_factory.reader is tf.WholeFileReader
    assert (via_factory.num_samples, via_factory.data_sources) == (
        dataset.num_samples, dataset.data_sources)
  with pytest.raises(ValueError, match='split name nope was not recognized'):
    module.get_split('nope', str(tmp_path))


def test_factory_maps_every_module_and_specs_come_from_them():
  assert dataset_factory.datasets_map['flowers'] is flowers
  assert set(dataset_factory.datasets_map) == set(UPSTREAM)
  for name, module in dataset_factory.datasets_map.items():
    assert dataset_factory.SPECS[name] is module.SPEC


def test_decoder_reads_the_described_items_and_refuses_unknown_ones():
  spec = dataset_utils.DatasetSpec(
      'x_%s', {'train': 1}, 2, items_to_descriptions=dict(
          dataset_utils.IMAGE_AND_LABEL_ITEMS, **{'object/bbox': 'boxes'}))
  assert set(dataset_utils.spec_decoder(spec).list_items()) == {
      'image', 'label', 'object/bbox'}
  with pytest.raises(ValueError, match="'mask'"):
    dataset_utils.spec_decoder(spec._replace(
        items_to_descriptions={'image': 'i', 'label': 'l', 'mask': 'm'}))


def _flower_photos(root, per_class=2):
  """PNG photos (lossless) in 5 class folders; returns {pixels: class}."""
  rng = np.random.RandomState(7)
  expected = {}
  for label, name in enumerate(['daisy', 'dandelion', 'roses', 'sunflowers',
                                'tulips']):
    os.makedirs(os.path.join(root, name))
    for i in range(per_class):
      pixels = rng.randint(0, 256, (6 + i, 9, 3), np.uint8)
      Image.fromarray(pixels).save(os.path.join(root, name, '%d.png' % i))
      expected[pixels.tobytes()] = label
  return expected


README_SNIPPET = textwrap.dedent('''\
    import sys
    import numpy as np
    import tensorflow.compat.v1 as tf
    import tf_slim as slim
    from datasets import flowers
    DATA_DIR = sys.argv[1]
    with tf.Graph().as_default():
      dataset = flowers.get_split('validation', DATA_DIR)
      provider = slim.dataset_data_provider.DatasetDataProvider(dataset)
      [image, label] = provider.get(['image', 'label'])
      with tf.Session() as sess:
        coord = tf.train.Coordinator()
        threads = tf.train.start_queue_runners(sess, coord)
        for _ in range(int(sys.argv[2])):
          pixels, class_id = sess.run([image, label])
          print('%d %s %s' % (class_id, pixels.shape, pixels.tobytes().hex()))
        coord.request_stop()
        coord.join(threads)
    ''')


def test_readme_snippet_reads_real_pixels_of_converted_flowers(tmp_path):
  expected = _flower_photos(str(tmp_path / 'photos' / 'flower_photos'))
  out = str(tmp_path / 'flowers')
  deployment_helpers.succeeds(
      'download_and_convert_data.py', '--dataset_name=flowers',
      '--dataset_dir=%s' % out, '--source_dir=%s' % (tmp_path / 'photos'),
      '--validation_size=4', timeout=120)
  (tmp_path / 'snippet.py').write_text(README_SNIPPET)
  result = subprocess.run(
      [sys.executable, str(tmp_path / 'snippet.py'), out, '60'], cwd=ROOT,
      capture_output=True, text=True, timeout=120,
      env=dict(os.environ, PYTHONPATH=ROOT))
  assert result.returncode == 0, result.stderr[-2000:]
  validation = flowers.get_split('validation', out)
  held_out = {image.numpy().tobytes() for image, _ in (
      validation.parse(record)
      for record in tf.data.TFRecordDataset(validation.data_sources))}
  seen = set()
  for line in result.stdout.splitlines():
    class_id, hex_pixels = int(line.split()[0]), line.split()[-1]
    assert expected[bytes.fromhex(hex_pixels)] == class_id
    seen.add(bytes.fromhex(hex_pixels))
  # The provider shuffles and repeats: 60 draws show each held-out image
  # (missing one has odds below 1e-6) and nothing else.
  assert len(held_out) == 4 and seen == held_out


@pytest.mark.parametrize('name, shape, split', [
    ('cifar10', (32, 32, 3), 'test'),
    ('mnist', (28, 28, 1), 'test'),
    ('fashion_mnist', (28, 28, 1), 'train'),
    ('quiz', (12, 10, 3), 'validation'),
    ('my_photos', (8, 6, 3), 'train'),  # a folder dataset (metadata only)
])
def test_provider_reads_every_format_like_the_tfdata_reader(tmp_path, name,
                                                            shape, split):
  fake_data.write_fake_dataset(str(tmp_path), name, num_classes=3,
                               images_per_class={split: 1}, image_format='png',
                               image_shape=shape, num_shards=1)
  dataset = dataset_factory.get_dataset(name, split, str(tmp_path))
  assert dataset.num_samples == 3
  read = _provide(dataset, ['image', 'label'], 3)
  expected = [(image.numpy(), int(label)) for image, label in (
      dataset.parse(record)
      for record in tf.data.TFRecordDataset(dataset.data_sources))]
  for (image, label), (want_image, want_label) in zip(read, expected):
    assert label == want_label
    np.testing.assert_array_equal(image, want_image)
  assert sorted(label for _, label in read) == [0, 1, 2]


def _imagenet_record(pixels, label, boxes):
  ymin, xmin, ymax, xmax = (list(column) for column in zip(*boxes))
  feature = dict(dataset_utils.image_to_tfexample(
      fake_data.encode_image(pixels, 'png'), 'png', pixels.shape[0],
      pixels.shape[1], label).features.feature)
  feature.update({
      'image/class/text': dataset_utils.bytes_feature(b'tench'),
      'image/object/bbox/ymin': dataset_utils.float_list_feature(ymin),
      'image/object/bbox/xmin': dataset_utils.float_list_feature(xmin),
      'image/object/bbox/ymax': dataset_utils.float_list_feature(ymax),
      'image/object/bbox/xmax': dataset_utils.float_list_feature(xmax),
      'image/object/class/label': dataset_utils.int64_feature(
          [label] * len(boxes)),
  })
  return tf.train.Example(features=tf.train.Features(feature=feature))


def test_imagenet_provider_gives_text_boxes_and_object_labels(tmp_path):
  pixels = np.random.RandomState(1).randint(0, 256, (5, 7, 3), np.uint8)
  boxes = [(0.1, 0.2, 0.5, 0.6), (0.0, 0.0, 1.0, 1.0)]
  with tf.io.TFRecordWriter(str(tmp_path / 'validation-00000-of-00001')) as w:
    w.write(_imagenet_record(pixels, 1, boxes).SerializeToString())
  (tmp_path / 'labels.txt').write_text('0:background\n1:tench\n')
  dataset = imagenet.get_split('validation', str(tmp_path))
  [(image, label, text, bbox, object_label)] = _provide(
      dataset, ['image', 'label', 'label_text', 'object/bbox',
                'object/label'], 1)
  np.testing.assert_array_equal(image, pixels)
  assert (label, text) == (1, b'tench')
  np.testing.assert_allclose(bbox, boxes)
  assert object_label.tolist() == [1, 1]


def _fake_synsets(url):
  synsets = ['n%08d' % i for i in range(1000)]
  if url == imagenet.SYNSETS_URL:
    return synsets
  return ['%s\tthing %s' % (synset, synset) for synset in synsets] + [
      'n99999999\tnot in ILSVRC']


def test_imagenet_names_are_fetched_once_and_cached(tmp_path, monkeypatch):
  (tmp_path / 'train-00000-of-00001').write_bytes(b'')
  monkeypatch.setattr(imagenet, '_fetch_lines', _fake_synsets)
  dataset = imagenet.get_split('train', str(tmp_path))
  assert dataset.labels_to_names[0] == 'background'
  assert dataset.labels_to_names[1000] == 'thing n00000999'
  assert len(dataset.labels_to_names) == 1001
  assert dataset_utils.read_label_file(str(tmp_path)) == (
      dataset.labels_to_names)


def test_imagenet_offline_without_labels_has_no_names(tmp_path, monkeypatch):
  (tmp_path / 'train-00000-of-00001').write_bytes(b'')

  def offline(url):
    raise urllib.error.URLError('no network for %s' % url)
  monkeypatch.setattr(imagenet, '_fetch_lines', offline)
  assert imagenet.get_split('train', str(tmp_path)).labels_to_names is None
  assert not (tmp_path / 'labels.txt').exists()
  monkeypatch.setattr(imagenet, 'LOAD_READABLE_NAMES', False)
  monkeypatch.setattr(imagenet, '_fetch_lines', _fake_synsets)
  assert imagenet.get_split('train', str(tmp_path)).labels_to_names is None


def test_feature_helpers_and_sharded_writers(tmp_path):
  assert dataset_utils.float_list_feature([]).float_list.value == []
  assert dataset_utils.float_feature(0.5).float_list.value == [0.5]
  assert dataset_utils.bytes_list_feature([b'a', b'b']).bytes_list.value == [
      b'a', b'b']
  base = str(tmp_path / 'train.record')
  with contextlib.ExitStack() as stack:
    writers = dataset_utils.open_sharded_output_tfrecords(stack, base, 3)
    for index in range(7):
      writers[index % 3].write(b'%d' % index)
  counts = [sum(1 for _ in tf.data.TFRecordDataset(
      '%s-%05d-of-00003' % (base, shard))) for shard in range(3)]
  assert counts == [3, 2, 2]


def test_download_helpers_fetch_unpack_and_refuse_escaping_paths(tmp_path):
  source = tmp_path / 'site'
  source.mkdir()
  with zipfile.ZipFile(source / 'good.zip', 'w') as archive:
    archive.writestr('annotations/a.json', '{}')
  with zipfile.ZipFile(source / 'evil.zip', 'w') as archive:
    archive.writestr('../outside.txt', 'x')
  dest = tmp_path / 'dest'
  dest.mkdir()
  url = (source / 'good.zip').as_uri()
  assert dataset_utils.download_url(url, str(dest)) == str(dest / 'good.zip')
  dataset_utils.download_and_uncompress_zipfile(url, str(dest))
  assert (dest / 'annotations' / 'a.json').read_text() == '{}'
  with pytest.raises(staged_output.ConversionError, match='outside'):
    dataset_utils.download_and_uncompress_zipfile(
        (source / 'evil.zip').as_uri(), str(dest))
  assert not (tmp_path / 'outside.txt').exists()
  with pytest.raises(staged_output.ConversionError, match='--source_dir'):
    dataset_utils.download_url((source / 'missing.zip').as_uri(), str(dest))


@pytest.mark.parametrize('converter, name', [
    (download_and_convert_flowers, 'flowers'),
    (download_and_convert_cifar10, 'cifar10'),
    (download_and_convert_mnist, 'mnist'),
    (download_and_convert_visualwakewords, 'visualwakewords'),
])
def test_run_keeps_an_existing_dataset_without_downloading(tmp_path,
                                                           converter, name):
  fake_data.write_fake_dataset(str(tmp_path), name, num_classes=2,
                               images_per_class={'train': 1})
  before = sorted(os.listdir(tmp_path))
  assert converter.run(str(tmp_path)) is None
  assert sorted(os.listdir(tmp_path)) == before


def test_converted_folder_dataset_works_through_the_factory(tmp_path):
  expected = _flower_photos(str(tmp_path / 'pets'), per_class=1)
  convert_dataset.convert('pets', str(tmp_path), validation_size=0.2,
                          num_shards=1, log=lambda _: None)
  dataset = dataset_factory.get_dataset('pets', 'train', str(tmp_path))
  assert isinstance(dataset, slim.dataset.Dataset)
  assert (dataset.num_samples, dataset.num_classes) == (4, 5)
  for image, label in _provide(dataset, ['image', 'label'], 4):
    assert expected[image.tobytes()] == label


def test_imagenet_names_come_from_the_shipped_files_offline(tmp_path,
                                                            monkeypatch):
  shipped = os.path.join(ROOT, 'datasets', 'imagenet_metadata.txt')
  if not os.path.isfile(shipped):
    pytest.skip('this checkout ships no imagenet_metadata.txt')

  def no_network(*args, **kwargs):
    raise AssertionError('get_split went to the network: %r' % (args,))
  monkeypatch.setattr(imagenet.urllib.request, 'urlopen', no_network)
  (tmp_path / 'validation-00000-of-00001').write_bytes(b'')
  names = imagenet.get_split('validation', str(tmp_path)).labels_to_names
  assert (names[0], names[1]) == ('background', 'tench, Tinca tinca')
  assert len(names) == 1001
