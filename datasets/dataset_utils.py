"""Helpers shared by the dataset modules, converters and fake data.

Covers the on-disk conventions of a converted dataset:
  * `tf.train.Example` records with slim's keys (`image/encoded`,
    `image/format`, `image/class/label`, `image/height`, `image/width`);
  * `<dataset_name>_labels.txt` (or, for datasets converted elsewhere, the
    shared `labels.txt`), one `id:name` line per class;
  * `<dataset_name>_metadata.json`, the split sizes and class count that let
    the reader use a dataset nobody wrote a module for;
  * shard file names;
and the `slim.dataset.Dataset` every dataset module returns, which feeds
both slim's `DatasetDataProvider` and the tf.data reader
(`input_pipeline.py`). A dataset module only declares its facts:

    SPEC = dataset_utils.DatasetSpec('flowers_%s_*.tfrecord',
                                     {'train': 3320, 'validation': 350}, 5)
    get_split = dataset_utils.split_getter('flowers', SPEC)

and `make_split` builds every split from them, its decoder reading exactly
the items the spec describes (`spec_decoder`).
"""

import collections
import glob
import json
import os
import zipfile

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf
from tensorflow.python.util import deprecation
import tf_slim as slim

from deployment import output_files

LABELS_FILENAME = 'labels.txt'
LABELS_SUFFIX = '_labels.txt'
METADATA_SUFFIX = '_metadata.json'
METADATA_VERSION = 1


def _as_list(values):
  return list(values) if isinstance(values, (tuple, list)) else [values]


def int64_feature(values):
  """A `tf.train.Feature` of one int or a list of ints."""
  return tf.train.Feature(int64_list=tf.train.Int64List(
      value=_as_list(values)))


def float_feature(values):
  """A `tf.train.Feature` of one float or a list of floats."""
  return tf.train.Feature(float_list=tf.train.FloatList(
      value=_as_list(values)))


def float_list_feature(values):
  """A `tf.train.Feature` of a list of floats (may be empty)."""
  return float_feature(values)


def bytes_feature(values):
  """A `tf.train.Feature` of one byte string (or a list of them)."""
  return tf.train.Feature(bytes_list=tf.train.BytesList(
      value=_as_list(values)))


def bytes_list_feature(values):
  """A `tf.train.Feature` of a list of byte strings (may be empty)."""
  return bytes_feature(values)


def image_to_tfexample(image_data, image_format, height, width, class_id):
  """Builds the record every converter writes (slim's layout).

  Args:
    image_data: the encoded image bytes.
    image_format: 'jpeg', 'png', ... (bytes or str).
    height: the height stored in the record. Readers ignore it: the course's
      quiz converter wrote 320 whatever the real size was.
    width: as `height`.
    class_id: the integer class id.

  Returns:
    A `tf.train.Example`.
  """
  if isinstance(image_format, str):
    image_format = image_format.encode('ascii')
  return tf.train.Example(features=tf.train.Features(feature={
      'image/encoded': bytes_feature(image_data),
      'image/format': bytes_feature(image_format),
      'image/class/label': int64_feature(int(class_id)),
      'image/height': int64_feature(int(height)),
      'image/width': int64_feature(int(width)),
  }))


def download_url(url, dataset_dir):
  """Downloads `url` into `dataset_dir` (kept if already there).

  Returns:
    The path of the downloaded file.

  Raises:
    staged_output.ConversionError: one line saying how to work offline.
  """
  # Imported here: sources -> staged_output -> dataset_factory -> this module.
  from datasets import sources  # pylint: disable=g-import-not-at-top
  return sources.download(url, dataset_dir)


def download_and_uncompress_tarball(tarball_url, dataset_dir):
  """Downloads a .tar(.gz) and unpacks it into `dataset_dir`."""
  from datasets import sources  # pylint: disable=g-import-not-at-top
  sources.extract_tar(download_url(tarball_url, dataset_dir), dataset_dir)


def download_and_uncompress_zipfile(zip_url, dataset_dir):
  """Downloads a .zip and unpacks it into `dataset_dir`.

  Members already unpacked are kept (COCO's archives are large, a rerun
  after an interruption should not unpack them again); members that would
  land outside `dataset_dir` are refused.
  """
  from datasets import staged_output  # pylint: disable=g-import-not-at-top
  path = download_url(zip_url, dataset_dir)
  root = os.path.realpath(dataset_dir)
  try:
    with zipfile.ZipFile(path) as archive:
      for member in archive.namelist():
        target = os.path.realpath(os.path.join(root, member))
        if os.path.commonpath([root, target]) != root:
          raise staged_output.ConversionError(
              '%s holds %r, a path outside %s; refusing to unpack it.' %
              (path, member, dataset_dir))
        if not os.path.exists(target):
          archive.extract(member, root)
  except (zipfile.BadZipFile, OSError, EOFError) as error:
    raise staged_output.ConversionError(
        'Cannot unpack %s (%s); delete it and download it again.' %
        (path, error)) from error


def open_sharded_output_tfrecords(exit_stack, base_path, num_shards):
  """Opens `<base_path>-00000-of-0000N` writers, closed by `exit_stack`.

  Args:
    exit_stack: a `contextlib.ExitStack`; closing it closes every writer.
    base_path: the path the shard suffix is appended to.
    num_shards: how many shards.

  Returns:
    The writers; writer k writes shard k.
  """
  return [exit_stack.enter_context(tf.io.TFRecordWriter(
      '%s-%05d-of-%05d' % (base_path, index, num_shards)))
          for index in range(num_shards)]


def write_label_file(labels_to_class_names, dataset_dir,
                     filename=LABELS_FILENAME):
  """Writes `id:name` lines, sorted by id, all at once or not at all.

  Written beside and renamed into place, so a kill never leaves half a file
  (imagenet.get_split caches names into a live dataset folder with it).
  """
  with output_files.replacing(os.path.join(dataset_dir, filename)) as f:
    f.write(label_file_text(labels_to_class_names))


def label_file_text(labels_to_class_names):
  """The labels file's contents: `id:name` lines sorted by id."""
  return ''.join('%d:%s\n' % (label, labels_to_class_names[label])
                 for label in sorted(labels_to_class_names))


def label_name_problem(name):
  """Why `name` cannot be a line of a labels file, or None when it can."""
  if not name or not name.strip():
    return 'it is blank'
  if not name.isprintable():
    return 'it holds a control character such as a newline or tab'
  try:
    name.encode('utf-8')
  except UnicodeEncodeError:
    return 'it is not valid UTF-8'
  return None


def labels_filename(dataset_name):
  """`<name>_labels.txt`: each dataset's own labels, beside its metadata."""
  return dataset_name + LABELS_SUFFIX


def labels_path(dataset_dir, dataset_name):
  return os.path.join(dataset_dir, labels_filename(dataset_name))


def has_labels(dataset_dir, filename=LABELS_FILENAME):
  return os.path.isfile(os.path.join(dataset_dir, filename))


def read_label_file(dataset_dir, filename=LABELS_FILENAME):
  """Reads `labels.txt` into {id: name}.

  Raises:
    ValueError: a line is not `id:name`, naming the file and the line.
  """
  path = os.path.join(dataset_dir, filename)
  labels_to_names = {}
  with open(path, 'rb') as f:
    data = f.read()
  try:
    text = data.decode('utf-8')
  except UnicodeDecodeError as error:
    raise ValueError('%s is not a labels file: byte %d is not UTF-8 text; a '
                     'labels file has "id:name" lines. Fix or delete the '
                     'file.' % (path, error.start)) from error
  for line_number, line in enumerate(text.split('\n'), 1):
    line = line.rstrip('\r')
    if not line.strip():
      continue
    label, sep, name = line.partition(':')
    if not sep or not label.strip().isdigit():
      raise ValueError('%s is not a labels file: line %d is %r; every line '
                       'must be "id:name". Fix or delete the file.' %
                       (path, line_number, line[:80]))
    labels_to_names[int(label)] = name
  return labels_to_names


def write_dataset_labels(labels_to_names, staging_dir, dataset_dir,
                         dataset_name):
  """Writes `<name>_labels.txt`, and `labels.txt` unless another owns it.

  Both go to `staging_dir`, to be moved into `dataset_dir`. The plain
  `labels.txt` is for tools expecting slim's layout; it is written only when
  `dataset_dir` has none yet or this dataset wrote the one there, so a second
  dataset in the folder never renames the first one's classes.
  """
  write_label_file(labels_to_names, staging_dir, labels_filename(dataset_name))
  shared = os.path.join(dataset_dir, LABELS_FILENAME)
  own = labels_path(dataset_dir, dataset_name)
  if not os.path.isfile(shared) or (
      os.path.isfile(own) and _same_bytes(shared, own)):
    write_label_file(labels_to_names, staging_dir)


def _same_bytes(path_a, path_b):
  with open(path_a, 'rb') as a, open(path_b, 'rb') as b:
    return a.read() == b.read()


def dataset_labels(dataset_dir, dataset_name):
  """{id: name} of `dataset_name`, or None when the folder names no classes.

  The dataset's own `<name>_labels.txt` wins over the shared `labels.txt`,
  which datasets converted elsewhere (the course's quiz, slim's converters)
  have.
  """
  for filename in (labels_filename(dataset_name), LABELS_FILENAME):
    if has_labels(dataset_dir, filename):
      return read_label_file(dataset_dir, filename)
  return None


def metadata_path(dataset_dir, dataset_name):
  return os.path.join(dataset_dir, dataset_name + METADATA_SUFFIX)


def write_metadata(dataset_dir, dataset_name, splits_to_sizes, num_classes,
                   file_pattern, channels=3, **extra):
  """Writes the metadata file that makes a converted dataset readable."""
  metadata = dict(extra, version=METADATA_VERSION, dataset_name=dataset_name,
                  splits_to_sizes=dict(splits_to_sizes),
                  num_classes=int(num_classes), file_pattern=file_pattern,
                  channels=int(channels))
  path = metadata_path(dataset_dir, dataset_name)
  with output_files.replacing(path) as f:
    json.dump(metadata, f, indent=2, sort_keys=True)
    f.write('\n')
  return path


def _check_metadata(metadata):
  """Raises ValueError naming the first field readers could not use."""
  for split, size in metadata['splits_to_sizes'].items():
    if size < 0:
      raise ValueError('split %r has %d images' % (split, size))
  if metadata['num_classes'] < 1:
    raise ValueError('num_classes is %d' % metadata['num_classes'])
  if metadata['channels'] not in (1, 3):
    raise ValueError('channels is %r, not 1 or 3' % (metadata['channels'],))
  pattern = metadata['file_pattern']
  if not isinstance(pattern, str) or not pattern:
    raise ValueError('file_pattern is %r, not a file name pattern' %
                     (pattern,))
  if os.path.isabs(pattern) or '..' in pattern.split('/'):
    raise ValueError('file_pattern %r points outside the folder' % pattern)
  if '%' in pattern.replace('%s', ''):
    raise ValueError('file_pattern %r may hold %%s (the split) and no other '
                     '%%' % pattern)


def read_json(path):
  """The JSON value in `path`, or None when there is no such file.

  Raises:
    ValueError: the file is not JSON.
    OSError: it cannot be read.
  """
  if not os.path.isfile(path):
    return None
  with open(path, encoding='utf-8') as f:
    return json.load(f)


def read_metadata(dataset_dir, dataset_name):
  """Returns the metadata dict, or None when the dataset has no such file.

  Raises:
    ValueError: the file exists but is not valid metadata.
  """
  path = metadata_path(dataset_dir, dataset_name)
  try:
    metadata = read_json(path)
    if metadata is None:
      return None
    sizes = {str(k): int(v) for k, v in metadata['splits_to_sizes'].items()}
    metadata['splits_to_sizes'] = sizes
    metadata['num_classes'] = int(metadata['num_classes'])
    metadata.setdefault('channels', 3)
    metadata.setdefault('file_pattern', dataset_name + '_%s_*.tfrecord')
    _check_metadata(metadata)
  except (ValueError, KeyError, TypeError, AttributeError,
          OverflowError) as error:
    raise ValueError('%s is not valid dataset metadata (%s); re-run '
                     'download_and_convert_data.py with --overwrite.' %
                     (path, error)) from error
  return metadata


def shard_filename(dataset_name, split_name, shard_id, num_shards):
  """`<name>_<split>_00001-of-00005.tfrecord`, slim's flowers naming."""
  return '%s_%s_%05d-of-%05d.tfrecord' % (dataset_name, split_name, shard_id,
                                          num_shards)


def shard_ranges(num_items, num_shards):
  """Splits range(num_items) into `num_shards` contiguous, near-equal parts."""
  num_shards = max(1, min(num_shards, num_items)) if num_items else 1
  bounds = [num_items * i // num_shards for i in range(num_shards + 1)]
  return list(zip(bounds[:-1], bounds[1:]))


def sizes_text(splits_to_sizes):
  """'test 10000, train 60000': the split sizes for a summary line."""
  return ', '.join('%s %d' % item for item in sorted(splits_to_sizes.items()))


# ---------------------------------------------------------------------------
# The dataset a module's `get_split` returns.

IMAGE_AND_LABEL_ITEMS = {
    'image': 'A color image of varying size.',
    'label': 'The integer class id of the image.',
}

DatasetSpec = collections.namedtuple('DatasetSpec', [
    'file_pattern',           # with %s for the split name
    'splits_to_sizes',
    'num_classes',
    'channels',               # what the stored images are: 1 or 3
    'default_format',         # `image/format` when a record lacks it
    'class_names',            # used when labels.txt is absent; None = unnamed
    'items_to_descriptions',  # what DatasetDataProvider.get() can return
    'image_shape',            # [h, w, c] when every image has it, else None
    'missing_label',          # the label slim gives a record without one
], defaults=(3, 'png', None, IMAGE_AND_LABEL_ITEMS, None, 0))


# The two features every record must have (`SplitDataset.parse` reads them).
ENCODED_KEY = 'image/encoded'
LABEL_KEY = 'image/class/label'
# How the formats `decode_image` reads begin (JPEG, PNG, GIF, BMP).
IMAGE_SIGNATURES = (b'\xff\xd8\xff', b'\x89PNG\r\n\x1a\n', b'GIF87a',
                    b'GIF89a', b'BM')



def read_examples(paths, limit=None):
  """[(encoded image bytes, label)] of the records of `paths`, in order; at
  most `limit` of them. For tools that handle the images themselves (a
  benchmark uploading them, tests writing them to files)."""
  examples = []
  # The one reader that needs no session; its deprecation notice would show
  # in every caller's log.
  with deprecation.silence():
    for path in paths:
      for record in tf.io.tf_record_iterator(path):
        if limit is not None and len(examples) >= limit:
          return examples
        feature = tf.train.Example.FromString(record).features.feature
        examples.append((feature[ENCODED_KEY].bytes_list.value[0],
                         feature[LABEL_KEY].int64_list.value[0]))
  return examples

def decode_image(encoded, channels):
  """Decodes JPEG/PNG/GIF/BMP bytes to uint8 [H, W, channels] (1 or 3)."""
  if channels == 3:
    # DecodeImage itself turns grey into RGB and drops alpha for every format.
    image = tf.io.decode_image(encoded, channels=3, expand_animations=False)
  elif channels == 1:
    # GIF and BMP cannot be decoded to one channel directly.
    image = tf.io.decode_image(encoded, channels=0, expand_animations=False)
    image = tf.cond(tf.equal(tf.shape(image)[-1], 1),
                    lambda: image,
                    lambda: tf.image.rgb_to_grayscale(image[:, :, :3]))
  else:
    raise ValueError('channels must be 1 or 3, got %r' % (channels,))
  image.set_shape([None, None, channels])
  return image


class SplitDataset(slim.dataset.Dataset):
  """A `slim.dataset.Dataset` that the tf.data reader can use as well.

  slim's attributes (`data_sources`, `reader`, `decoder`, `num_samples`,
  `items_to_descriptions`, `num_classes`, `labels_to_names`) feed
  `slim.dataset_data_provider.DatasetDataProvider`; `name`, `split_name`,
  `channels` and `parse` feed `input_pipeline.make_dataset`.
  """

  def __repr__(self):
    return ('SplitDataset(%s/%s: %d samples, %d classes, %d files)' %
            (self.name, self.split_name, self.num_samples, self.num_classes,
             len(self.data_sources)))

  def parse(self, serialized, channels=None):
    """Parses one serialized `tf.train.Example` for the tf.data reader.

    Unlike slim's decoder this trusts the image bytes, not `image/format`
    or the stored height/width: the course's quiz records claim 320x320
    whatever their size, and GIF/BMP/grey images are converted to
    `channels` instead of failing.

    Args:
      serialized: a scalar string tensor.
      channels: 1 or 3 to convert to; defaults to `self.channels`.

    Returns:
      (image uint8 [H, W, channels], label int64 scalar).
    """
    features = tf.io.parse_single_example(serialized, {
        ENCODED_KEY: tf.io.FixedLenFeature((), tf.string),
        LABEL_KEY: tf.io.FixedLenFeature((), tf.int64),
    })
    image = decode_image(features[ENCODED_KEY], channels or self.channels)
    return image, features[LABEL_KEY]


_BOX_CORNERS = ['ymin', 'xmin', 'ymax', 'xmax']


def _optional_item(item):
  """(features, slim handler) of an item beyond `image` and `label`."""
  tfexample = slim.tfexample_decoder
  if item == 'label_text':
    return ({'image/class/text': tf.FixedLenFeature([], tf.string,
                                                    default_value='')},
            tfexample.Tensor('image/class/text'))
  if item == 'object/bbox':
    return ({'image/object/bbox/' + corner: tf.VarLenFeature(tf.float32)
             for corner in _BOX_CORNERS},
            tfexample.BoundingBox(_BOX_CORNERS, 'image/object/bbox/'))
  if item == 'object/label':
    return ({'image/object/class/label': tf.VarLenFeature(tf.int64)},
            tfexample.Tensor('image/object/class/label'))
  raise ValueError('no record key holds the item %r' % item)


def spec_decoder(spec):
  """slim's decoder of exactly the items `spec` describes.

  `image` and `label` are in every record; `label_text`, `object/bbox` and
  `object/label` are read from the keys build_imagenet_data.py and the
  Visual Wake Words converter write.
  """
  keys_to_features = {
      'image/encoded': tf.FixedLenFeature((), tf.string, default_value=''),
      # 'raw' makes slim reshape the bytes (slim's original MNIST records).
      'image/format': tf.FixedLenFeature((), tf.string,
                                         default_value=spec.default_format),
      # Plain defaults, not tensors: the decoder may be built eagerly and
      # used in a graph (DatasetDataProvider) later.
      'image/class/label': tf.FixedLenFeature(
          [], tf.int64, default_value=spec.missing_label),
  }
  items_to_handlers = {
      'image': slim.tfexample_decoder.Image(shape=spec.image_shape,
                                            channels=spec.channels),
      'label': slim.tfexample_decoder.Tensor('image/class/label'),
  }
  for item in sorted(set(spec.items_to_descriptions) - {'image', 'label'}):
    features, items_to_handlers[item] = _optional_item(item)
    keys_to_features.update(features)
  return slim.tfexample_decoder.TFExampleDecoder(keys_to_features,
                                                 items_to_handlers)


def spec_with_metadata(dataset_dir, name, spec):
  """`spec` with the sizes a `<name>_metadata.json` in the folder gives.

  Converters and fake data write that file, so a small or re-split copy of a
  registered dataset reports its real sizes. Returns `spec` (may be None)
  when there is no such file.
  """
  metadata = read_metadata(dataset_dir, name)
  if metadata is None:
    return spec
  # A folder dataset nobody wrote a module for has the defaults.
  base = spec or DatasetSpec(None, None, None)
  return base._replace(file_pattern=metadata['file_pattern'],
                       splits_to_sizes=metadata['splits_to_sizes'],
                       num_classes=metadata['num_classes'],
                       channels=int(metadata['channels']))


def _labels_to_names(dataset_dir, name, spec):
  labels_to_names = dataset_labels(dataset_dir, name)
  if labels_to_names is not None:
    return labels_to_names
  if spec.class_names:
    return dict(enumerate(spec.class_names))
  return None


def _data_sources(dataset_dir, file_pattern, split_name):
  if '%s' in file_pattern:
    file_pattern = file_pattern % split_name
  pattern = os.path.join(dataset_dir, file_pattern)
  files = sorted(glob.glob(pattern))
  if not files:
    raise ValueError(
        'No files match %s. Check --dataset_dir and --dataset_split_name, or '
        'convert the data first with download_and_convert_data.py.' % pattern)
  return files


def finish_interrupted_conversion(dataset_dir, name):
  """Completes a conversion a kill stopped mid-swap, before reading."""
  # Imported here: staged_output -> dataset_factory -> this module.
  from datasets import staged_output  # pylint: disable=g-import-not-at-top
  try:
    staged_output.recover(dataset_dir, name)
  except staged_output.ConversionError as error:
    raise ValueError(str(error)) from error


def make_split(name, spec, split_name, dataset_dir, file_pattern=None,
               reader=None, labels_fallback=None):
  """The `SplitDataset` of one split; every `get_split` ends here.

  Args:
    name: the dataset name (its metadata file is `<name>_metadata.json`).
    spec: the dataset's `DatasetSpec`, before any metadata file; None for a
      dataset converted from a folder.
    split_name: one of the spec's splits.
    dataset_dir: the folder holding the shards; only written to finish a
      conversion that a kill stopped mid-swap.
    file_pattern: overrides the spec's; may hold %s for the split name and
      is relative to `dataset_dir`.
    reader: slim's reader class; default `tf.TFRecordReader`.
    labels_fallback: `fn(dataset_dir)` giving {id: name} or None, asked
      when neither a labels file nor the spec names the classes.

  Raises:
    ValueError: one line naming the bad directory, split or pattern.
  """
  if not dataset_dir or not os.path.isdir(dataset_dir):
    raise ValueError('--dataset_dir %r is not a directory; point it at the '
                     'folder holding the TFRecord files.' % (dataset_dir,))
  finish_interrupted_conversion(dataset_dir, name)
  spec = spec_with_metadata(dataset_dir, name, spec)
  if split_name not in spec.splits_to_sizes:
    raise ValueError('split name %s was not recognized: dataset %r has no '
                     'split %r; valid splits: %s' %
                     (split_name, name, split_name,
                      ', '.join(sorted(spec.splits_to_sizes))))
  labels_to_names = _labels_to_names(dataset_dir, name, spec)
  if labels_to_names is None and labels_fallback is not None:
    labels_to_names = labels_fallback(dataset_dir)
  return SplitDataset(
      data_sources=_data_sources(dataset_dir, file_pattern or spec.file_pattern,
                                 split_name),
      reader=reader or tf.TFRecordReader,
      decoder=spec_decoder(spec),
      num_samples=spec.splits_to_sizes[split_name],
      items_to_descriptions=spec.items_to_descriptions,
      num_classes=spec.num_classes,
      labels_to_names=labels_to_names,
      name=name,
      split_name=split_name,
      channels=spec.channels,
      default_format=spec.default_format)


_GET_SPLIT_DOC = """The %(name)s split `split_name`, a `slim.dataset.Dataset`.

  Args:
    split_name: %(splits)s.
    dataset_dir: the folder holding the converted files (and labels.txt).
    file_pattern: overrides `%(pattern)s` (%%s = split name).
    reader: slim's reader class; default `tf.TFRecordReader`.

  Raises:
    ValueError: an unknown split, or no file matches.
  """


def split_getter(name, spec, labels_fallback=None):
  """The `get_split` of a dataset module: slim's signature over `make_split`.

      get_split = dataset_utils.split_getter(NAME, SPEC)
      dataset = get_split('train', '/data/flowers')

  Args:
    name: the dataset name.
    spec: its `DatasetSpec`.
    labels_fallback: see `make_split`.

  Returns:
    `get_split(split_name, dataset_dir, file_pattern=None, reader=None)`.
  """
  def get_split(split_name, dataset_dir, file_pattern=None, reader=None):
    return make_split(name, spec, split_name, dataset_dir, file_pattern,
                      reader, labels_fallback)

  get_split.__qualname__ = 'get_split'
  get_split.__doc__ = _GET_SPLIT_DOC % {
      'name': name, 'pattern': spec.file_pattern,
      'splits': ' or '.join(repr(split) for split in spec.splits_to_sizes)}
  return get_split
