"""The ImageNet build tools on a miniature ILSVRC-2012 (tests/imagenet_fixture).

Sorting the validation folder, the box CSV, the shards read back through
both readers, the images the real set needs repaired, all-or-nothing output,
one-line errors, and the shell script on local archives.
"""

import collections
import glob
import io
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow.compat.v1 as tf
from PIL import Image

from datasets import build_imagenet_data
from datasets import dataset_factory
from datasets import input_pipeline
from datasets import preprocess_imagenet_validation_data as sort_validation
from datasets import process_bounding_boxes
import common_flags
import imagenet_fixture
import test_conversion_reliability

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATASETS_DIR = os.path.join(ROOT, 'datasets')
UserError = common_flags.UserError

Built = collections.namedtuple('Built', ['raw', 'out', 'sizes', 'logs'])


def _challenge_synsets():
  return set(build_imagenet_data.read_synsets(
      build_imagenet_data.DEFAULT_LABELS_FILE))


def _train_names(raw):
  return {name for name in raw.images if not name.startswith('ILSVRC')}


def _expected_boxes():
  boxes = collections.defaultdict(list)
  for line in imagenet_fixture.EXPECTED_BOX_LINES:
    name, *corners = line.split(',')
    boxes[name].append(tuple(float(value) for value in corners))
  return boxes


def _build(raw, out, logs, **kwargs):
  kwargs.setdefault('train_directory', raw.train_dir)
  kwargs.setdefault('validation_directory', raw.validation_dir)
  return build_imagenet_data.build(out, train_shards=2, validation_shards=1,
                                   num_threads=2, log=logs.append, **kwargs)


@pytest.fixture(scope='module')
def built(tmp_path_factory):
  """The miniature set sorted, its boxes extracted and built, in process."""
  root = tmp_path_factory.mktemp('imagenet')
  raw = imagenet_fixture.write_raw_data(root / 'raw')
  logs = []
  sort_validation.sort_validation_images(raw.validation_dir,
                                         raw.validation_labels, logs.append)
  lines, _ = process_bounding_boxes.process_annotations(
      raw.bbox_dir, _challenge_synsets(), warn=logs.append)
  box_file = str(root / 'boxes.csv')
  process_bounding_boxes.write_lines(lines, box_file)
  out = str(root / 'out')
  sizes = _build(raw, out, logs, bounding_box_file=box_file)
  return Built(raw, out, sizes, logs)


def _examples(out_dir, split_name):
  """{image/filename: feature map} of every record of a split."""
  examples = {}
  for path in sorted(glob.glob(os.path.join(out_dir, split_name + '-*'))):
    for record in tf.io.tf_record_iterator(path):
      feature = tf.train.Example.FromString(record).features.feature
      examples[feature['image/filename'].bytes_list.value[0].decode()] = (
          feature)
  return examples


def _ints(feature, key):
  return list(feature[key].int64_list.value)


def _text(feature, key):
  return feature[key].bytes_list.value[0].decode('utf-8')


# ---------------------------------------------------------------------------
# The shipped synset files.


def test_synset_list_is_the_1000_sorted_lsvrc_synsets_with_names():
  synsets = build_imagenet_data.read_synsets(
      build_imagenet_data.DEFAULT_LABELS_FILE)
  assert len(synsets) == 1000 == len(set(synsets))
  assert synsets == sorted(synsets)
  assert (synsets[0], synsets[-1]) == ('n01440764', 'n15075141')
  texts = build_imagenet_data.read_synset_texts(
      build_imagenet_data.DEFAULT_METADATA_FILE, synsets)
  assert len(texts) == 1000
  for synset, label in imagenet_fixture.SYNSET_LABELS.items():
    assert synsets[label - 1] == synset
    assert texts[synset] == imagenet_fixture.SYNSET_TEXTS[synset]


# ---------------------------------------------------------------------------
# The built shards.


def test_build_writes_upstreams_shards_labels_and_true_sizes(built):
  names = sorted(os.listdir(built.out))
  assert names == ['imagenet_labels.txt', 'imagenet_metadata.json',
                   'labels.txt', 'train-00000-of-00002', 'train-00001-of-00002',
                   'validation-00000-of-00001']
  assert built.sizes == {'train': len(_train_names(built.raw)),
                         'validation': 5}
  with open(os.path.join(built.out, 'imagenet_metadata.json')) as f:
    metadata = json.load(f)
  assert metadata['splits_to_sizes'] == built.sizes
  assert metadata['num_classes'] == 1001
  with open(os.path.join(built.out, 'labels.txt')) as f:
    lines = f.read().splitlines()
  assert len(lines) == 1001
  assert lines[0] == '0:background'
  assert lines[231] == '231:Shetland sheepdog, Shetland sheep dog, Shetland'
  # One count over both splits (16 images), to the last one.
  test_conversion_reliability.progress_counts(built.logs, 16)


def test_records_carry_labels_synsets_texts_and_boxes(built):
  examples = dict(_examples(built.out, 'train'),
                  **_examples(built.out, 'validation'))
  assert set(examples) == set(built.raw.images)
  boxes = _expected_boxes()
  assert set(boxes) <= _train_names(built.raw)
  for name, feature in examples.items():
    info = built.raw.images[name]
    label = imagenet_fixture.SYNSET_LABELS[info.synset]
    assert _ints(feature, 'image/class/label') == [label], name
    assert _text(feature, 'image/class/synset') == info.synset
    assert (_text(feature, 'image/class/text') ==
            imagenet_fixture.SYNSET_TEXTS[info.synset])
    assert _text(feature, 'image/format') == 'JPEG'
    assert _text(feature, 'image/colorspace') == 'RGB'
    assert _ints(feature, 'image/channels') == [3]
    assert _ints(feature, 'image/height') == [info.height]
    assert _ints(feature, 'image/width') == [info.width]
    want = boxes.get(name, [])
    for index, key in enumerate(('xmin', 'ymin', 'xmax', 'ymax')):
      got = feature['image/object/bbox/' + key].float_list.value
      np.testing.assert_allclose(got, [box[index] for box in want],
                                 atol=1e-6)
    for key in ('image/object/bbox/label', 'image/object/class/label'):
      assert _ints(feature, key) == [label] * len(want)


def test_png_and_cmyk_become_rgb_jpegs_by_content(built):
  examples = _examples(built.out, 'train')
  for name in _train_names(built.raw):
    info = built.raw.images[name]
    with open(os.path.join(built.raw.train_dir, info.synset, name),
              'rb') as f:
      original = f.read()
    stored = examples[name]['image/encoded'].bytes_list.value[0]
    image = Image.open(io.BytesIO(stored))
    assert image.format == 'JPEG'
    assert image.size == (info.width, info.height)
    if info.kind in ('png', 'cmyk'):
      assert image.mode == 'RGB', name
      source = np.asarray(Image.open(io.BytesIO(original)).convert('RGB'),
                          np.float32)
      assert np.abs(np.asarray(image, np.float32) - source).mean() < 4.0
    else:
      assert stored == original, name  # RGB and grey JPEGs kept as they are
  reencoded = [line for line in built.logs if line.startswith('Re-encoded')]
  assert len(reencoded) == 2
  assert any('n02105855_7.JPEG (PNG data)' in line for line in reencoded)
  assert any('n01739381_7.JPEG (CMYK JPEG)' in line for line in reencoded)


def test_training_reader_reads_the_build(built):
  dataset = dataset_factory.get_dataset('imagenet', 'train', built.out)
  assert dataset.num_samples == built.sizes['train']  # not 1,281,167
  assert dataset.num_classes == 1001
  assert dataset.labels_to_names[1] == 'tench, Tinca tinca'
  ds = input_pipeline.make_dataset(
      dataset, lambda image, height, width: tf.image.resize(
          tf.cast(image, tf.float32), [height, width]),
      batch_size=4, is_training=False, image_size=16)
  labels = []
  for images, batch_labels in ds:
    assert images.shape[1:] == (16, 16, 3)
    labels.extend(int(label) for label in batch_labels)
  assert sorted(labels) == sorted(
      imagenet_fixture.SYNSET_LABELS[built.raw.images[name].synset]
      for name in _train_names(built.raw))
  validation = dataset_factory.get_dataset('imagenet', 'validation',
                                           built.out)
  parsed = [validation.parse(record) for record in
            tf.data.TFRecordDataset(validation.data_sources)]
  assert sorted(int(label) for _, label in parsed) == sorted(
      imagenet_fixture.SYNSET_LABELS[synset]
      for synset in imagenet_fixture.VALIDATION_SYNSETS)
  assert all(image.shape[2] == 3 for image, _ in parsed)


def test_slim_descriptor_reads_texts_and_boxes(built):
  imagenet = pytest.importorskip('datasets.imagenet')
  import tf_slim as slim  # pylint: disable=g-import-not-at-top
  count = built.sizes['train']
  with tf.Graph().as_default():
    dataset = imagenet.get_split('train', built.out)
    assert dataset.num_samples == count
    provider = slim.dataset_data_provider.DatasetDataProvider(
        dataset, num_readers=1, shuffle=False)
    items = provider.get(['image', 'label', 'label_text', 'object/bbox',
                          'object/label'])
    with tf.Session() as sess:
      coord = tf.train.Coordinator()
      threads = tf.train.start_queue_runners(sess, coord)
      options = tf.RunOptions(timeout_in_ms=30000)
      rows = [sess.run(items, options=options) for _ in range(count)]
      coord.request_stop()
      coord.join(threads)
  got = sorted((int(label), text.decode(), tuple(map(tuple, np.round(
      bbox, 4))), tuple(object_labels), image.shape[2])
               for image, label, text, bbox, object_labels in rows)
  boxes = _expected_boxes()
  want = []
  for name in _train_names(built.raw):
    synset = built.raw.images[name].synset
    label = imagenet_fixture.SYNSET_LABELS[synset]
    # slim's BoundingBox item is [ymin, xmin, ymax, xmax].
    corners = tuple((b[1], b[0], b[3], b[2]) for b in boxes.get(name, []))
    want.append((label, imagenet_fixture.SYNSET_TEXTS[synset], corners,
                 (label,) * len(corners), 3))
  assert got == sorted(want)


# ---------------------------------------------------------------------------
# Bad input and all-or-nothing output.


@pytest.fixture
def raw(tmp_path):
  return imagenet_fixture.write_raw_data(tmp_path / 'raw')


def test_folder_that_is_no_synset_is_refused(raw, tmp_path):
  stray = os.path.join(raw.train_dir, 'n99999999')
  shutil.copytree(os.path.join(raw.train_dir, 'n01440764'), stray)
  with pytest.raises(UserError, match='folder n99999999 is not a synset'):
    _build(raw, str(tmp_path / 'out'), [], validation_directory=None)
  assert not os.path.exists(tmp_path / 'out')


def test_unsorted_validation_folder_is_refused(raw, tmp_path):
  with pytest.raises(UserError,
                     match='preprocess_imagenet_validation_data.py'):
    _build(raw, str(tmp_path / 'out'), [], train_directory=None)


def test_failed_rebuild_leaves_the_previous_build(raw, tmp_path):
  out = str(tmp_path / 'out')
  sort_validation.sort_validation_images(raw.validation_dir,
                                         raw.validation_labels, print)
  assert _build(raw, out, [], train_directory=None) == {'validation': 5}
  with pytest.raises(ValueError, match="no split 'train'"):
    dataset_factory.get_dataset('imagenet', 'train', out)
  before = {name: open(os.path.join(out, name), 'rb').read()
            for name in os.listdir(out)}
  with pytest.raises(UserError, match='--overwrite'):
    _build(raw, out, [])
  broken = os.path.join(raw.train_dir, 'n01443537', 'n01443537_2.JPEG')
  with open(broken, 'rb') as f:
    data = f.read()
  with open(broken, 'wb') as f:
    f.write(data[:len(data) // 2])
  with pytest.raises(UserError, match='n01443537_2.JPEG is not a readable'):
    _build(raw, out, [], overwrite=True)
  after = {name: open(os.path.join(out, name), 'rb').read()
           for name in os.listdir(out)}
  assert after == before  # no train shard, no staging folder left


def test_bad_side_files_are_one_line_errors(raw, tmp_path):
  box_file = tmp_path / 'boxes.csv'
  box_file.write_text('n01440764_1.JPEG,0.1,0.2,0.3,0.4\nnot,a,box\n')
  with pytest.raises(UserError, match='boxes.csv line 2'):
    _build(raw, str(tmp_path / 'out'), [], bounding_box_file=str(box_file))
  names = tmp_path / 'names.txt'
  names.write_text('n01440764\ttench\n')
  with pytest.raises(UserError, match='no name for 999 synsets'):
    _build(raw, str(tmp_path / 'out'), [],
           imagenet_metadata_file=str(names))
  with pytest.raises(UserError, match='--labels_file=.*no such file'):
    _build(raw, str(tmp_path / 'out'), [],
           labels_file=str(tmp_path / 'missing.txt'))
  assert not os.path.exists(tmp_path / 'out')


def test_build_script_reports_one_line(tmp_path):
  result = subprocess.run(
      [sys.executable, os.path.join(DATASETS_DIR, 'build_imagenet_data.py'),
       '--output_directory=%s' % (tmp_path / 'out'),
       '--validation_directory=%s' % (tmp_path / 'nowhere')],
      capture_output=True, text=True, timeout=120, cwd=str(tmp_path))
  assert result.returncode == 1
  assert 'Traceback' not in result.stderr
  assert result.stderr.strip().splitlines()[-1].startswith(
      'ERROR: --validation_directory=%s is not a directory' %
      (tmp_path / 'nowhere'))


# ---------------------------------------------------------------------------
# preprocess_imagenet_validation_data.py and process_bounding_boxes.py.


def test_validation_sorting_checks_first_and_resumes(raw):
  flat = sorted(os.listdir(raw.validation_dir))
  os.remove(os.path.join(raw.validation_dir, 'ILSVRC2012_val_00000004.JPEG'))
  with pytest.raises(UserError, match='1 of the 5 .*ILSVRC2012_val_00000004'):
    sort_validation.sort_validation_images(raw.validation_dir,
                                           raw.validation_labels, print)
  assert sorted(os.listdir(raw.validation_dir)) == [
      name for name in flat if not name.endswith('4.JPEG')]  # nothing moved
  with open(raw.validation_labels) as f:
    labels = f.read().splitlines()
  with open(raw.validation_labels, 'w') as f:
    f.write('\n'.join(labels[:3]) + '\n')
  with pytest.raises(UserError, match='beyond the 3 the labels file lists'):
    sort_validation.sort_validation_images(raw.validation_dir,
                                           raw.validation_labels, print)
  os.remove(os.path.join(raw.validation_dir, 'ILSVRC2012_val_00000005.JPEG'))
  assert sort_validation.sort_validation_images(
      raw.validation_dir, raw.validation_labels, print) == 3


def test_validation_sorting_moves_each_image_once(raw):
  moved = sort_validation.sort_validation_images(
      raw.validation_dir, raw.validation_labels, print)
  assert moved == 5
  for number, synset in enumerate(imagenet_fixture.VALIDATION_SYNSETS, 1):
    assert os.path.isfile(os.path.join(raw.validation_dir, synset,
                                       'ILSVRC2012_val_%08d.JPEG' % number))
  assert sort_validation.sort_validation_images(
      raw.validation_dir, raw.validation_labels, print) == 0
  with pytest.raises(UserError,
                     match='imagenet_2012_validation_synset_labels.txt'):
    sort_validation.sort_validation_images(raw.validation_dir,
                                           raw.root + '/missing.txt', print)


def test_bounding_boxes_as_upstream(raw):
  with open(os.path.join(raw.bbox_dir, 'n01443537', 'n01443537_9.xml'),
            'w') as f:
    f.write('<annotation><size>')  # cut off
  warnings = []
  lines, counts = process_bounding_boxes.process_annotations(
      raw.bbox_dir, _challenge_synsets(), warn=warnings.append)
  assert lines == imagenet_fixture.EXPECTED_BOX_LINES
  assert counts == dict(xml_files=7, skipped_files=4, skipped_boxes=1,
                        boxes=4, images=3)
  assert sorted(os.path.basename(line.split(':')[0]) for line in warnings) == [
      'n01440764_2.xml', 'n01443537_9.xml', 'n01739381_1.xml']
  # Without a synset list every box with an area is kept.
  lines, _ = process_bounding_boxes.process_annotations(
      raw.bbox_dir, warn=warnings.append)
  assert 'n00007846_1.JPEG,0.1000,0.1000,0.9000,0.9000' in lines
  assert 'n01739381_1.JPEG,0.1000,0.1000,0.9000,0.9000' in lines
  with pytest.raises(UserError, match='no <synset>/\\*.xml files'):
    process_bounding_boxes.process_annotations(raw.train_dir)


# ---------------------------------------------------------------------------
# The shell scripts.


def _run_script(data_dir, env_extra, *args):
  env = dict(os.environ, PYTHON=sys.executable, IMAGENET_SKIP_DOWNLOAD='1',
             **env_extra)
  env.pop('IMAGENET_USERNAME', None)
  return subprocess.run(
      ['bash', os.path.join(DATASETS_DIR,
                            'download_and_preprocess_imagenet.sh'),
       str(data_dir)] + list(args),
      capture_output=True, text=True, timeout=300, env=env,
      stdin=subprocess.DEVNULL)


def test_shell_script_builds_from_local_archives(raw, tmp_path):
  data_dir = tmp_path / 'data'
  imagenet_fixture.write_archives(raw, str(data_dir / 'raw-data'))
  result = _run_script(data_dir,
                       {'IMAGENET_VALIDATION_LABELS': raw.validation_labels},
                       '--train_shards=2', '--validation_shards=1',
                       '--num_threads=2')
  assert result.returncode == 0, result.stderr[-3000:]
  with open(data_dir / 'imagenet_metadata.json') as f:
    assert json.load(f)['splits_to_sizes'] == {
        'train': len(_train_names(raw)), 'validation': 5}
  with open(data_dir / 'raw-data' / 'imagenet_2012_bounding_boxes.csv') as f:
    assert f.read().splitlines() == imagenet_fixture.EXPECTED_BOX_LINES
  examples = dict(_examples(str(data_dir), 'train'),
                  **_examples(str(data_dir), 'validation'))
  assert {name: _ints(feature, 'image/class/label')[0]
          for name, feature in examples.items()} == {
              name: imagenet_fixture.SYNSET_LABELS[info.synset]
              for name, info in raw.images.items()}
  assert len(examples['n01443537_1.JPEG'].get(
      'image/object/bbox/xmin').float_list.value) == 2


def test_shell_script_refuses_truncated_or_missing_archives(raw, tmp_path):
  data_dir = tmp_path / 'data'
  archives = data_dir / 'raw-data'
  imagenet_fixture.write_archives(raw, str(archives))
  train_tar = archives / 'ILSVRC2012_img_train.tar'
  data = train_tar.read_bytes()
  train_tar.write_bytes(data[:len(data) // 2])
  env = {'IMAGENET_VALIDATION_LABELS': raw.validation_labels}
  result = _run_script(data_dir, env)
  assert result.returncode != 0
  assert ('ERROR: cannot unpack %s (truncated or corrupt?)' % train_tar
          in result.stderr)
  assert sorted(os.listdir(archives)) == sorted(
      ['ILSVRC2012_img_train.tar', 'ILSVRC2012_img_val.tar',
       'ILSVRC2012_bbox_train_v2.tar.gz'])  # no train/ that looks unpacked
  assert sorted(os.listdir(data_dir)) == ['raw-data']
  train_tar.unlink()
  result = _run_script(data_dir, env)
  assert result.returncode != 0
  assert 'ILSVRC2012_img_train.tar not found' in result.stderr
  result = _run_script(data_dir, {'IMAGENET_VALIDATION_LABELS':
                                  str(tmp_path / 'none.txt')})
  assert 'validation labels %s not found' % (tmp_path / 'none.txt') in (
      result.stderr)


def test_download_needs_credentials(tmp_path):
  env = {key: value for key, value in os.environ.items()
         if not key.startswith('IMAGENET_')}
  result = subprocess.run(
      ['bash', os.path.join(DATASETS_DIR, 'download_imagenet.sh'),
       str(tmp_path / 'raw')], capture_output=True, text=True, timeout=60,
      env=env, stdin=subprocess.DEVNULL)
  assert result.returncode == 1
  assert 'set IMAGENET_USERNAME and IMAGENET_ACCESS_KEY' in result.stderr
  assert not os.path.exists(tmp_path / 'raw')
