"""Helpers shared by the dataset descriptors, converters and fake data.

Covers the on-disk conventions of a converted dataset:
  * `tf.train.Example` records with slim's keys (`image/encoded`,
    `image/format`, `image/class/label`, `image/height`, `image/width`);
  * `labels.txt`, one `id:name` line per class;
  * `<dataset_name>_metadata.json`, the split sizes and class count that let
    the reader use a dataset nobody wrote a descriptor for;
  * shard file names.
"""

import json
import os

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf

LABELS_FILENAME = 'labels.txt'
METADATA_SUFFIX = '_metadata.json'
METADATA_VERSION = 1


def int64_feature(values):
  if not isinstance(values, (tuple, list)):
    values = [values]
  return tf.train.Feature(int64_list=tf.train.Int64List(value=values))


def bytes_feature(values):
  if not isinstance(values, (tuple, list)):
    values = [values]
  return tf.train.Feature(bytes_list=tf.train.BytesList(value=values))


def image_to_tfexample(encoded, image_format, height, width, label):
  """Builds the record every converter writes (slim's layout).

  Args:
    encoded: the encoded image bytes.
    image_format: 'jpeg', 'png', ... (bytes or str).
    height: the height stored in the record. Readers ignore it: the course's
      quiz converter wrote 320 whatever the real size was.
    width: as `height`.
    label: the integer class id.

  Returns:
    A `tf.train.Example`.
  """
  if isinstance(image_format, str):
    image_format = image_format.encode('ascii')
  return tf.train.Example(features=tf.train.Features(feature={
      'image/encoded': bytes_feature(encoded),
      'image/format': bytes_feature(image_format),
      'image/class/label': int64_feature(int(label)),
      'image/height': int64_feature(int(height)),
      'image/width': int64_feature(int(width)),
  }))


def write_label_file(labels_to_names, dataset_dir,
                     filename=LABELS_FILENAME):
  """Writes `id:name` lines, sorted by id."""
  with open(os.path.join(dataset_dir, filename), 'w', encoding='utf-8') as f:
    for label in sorted(labels_to_names):
      f.write('%d:%s\n' % (label, labels_to_names[label]))


def has_labels(dataset_dir, filename=LABELS_FILENAME):
  return os.path.isfile(os.path.join(dataset_dir, filename))


def read_label_file(dataset_dir, filename=LABELS_FILENAME):
  """Reads `labels.txt` into {id: name}.

  Raises:
    ValueError: a line is not `id:name`, naming the file and the line.
  """
  path = os.path.join(dataset_dir, filename)
  labels_to_names = {}
  with open(path, encoding='utf-8') as f:
    for line_number, line in enumerate(f, 1):
      line = line.rstrip('\r\n')
      if not line.strip():
        continue
      label, sep, name = line.partition(':')
      if not sep or not label.strip().isdigit():
        raise ValueError('%s line %d is %r; every line must be "id:name". '
                         'Fix or delete the file.' % (path, line_number, line))
      labels_to_names[int(label)] = name
  return labels_to_names


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
  with open(path, 'w', encoding='utf-8') as f:
    json.dump(metadata, f, indent=2, sort_keys=True)
    f.write('\n')
  return path


def read_metadata(dataset_dir, dataset_name):
  """Returns the metadata dict, or None when the dataset has no such file.

  Raises:
    ValueError: the file exists but is not valid metadata.
  """
  path = metadata_path(dataset_dir, dataset_name)
  if not os.path.isfile(path):
    return None
  try:
    with open(path, encoding='utf-8') as f:
      metadata = json.load(f)
    sizes = {str(k): int(v) for k, v in metadata['splits_to_sizes'].items()}
    metadata['splits_to_sizes'] = sizes
    metadata['num_classes'] = int(metadata['num_classes'])
    metadata.setdefault('channels', 3)
    metadata.setdefault('file_pattern', dataset_name + '_%s_*.tfrecord')
  except (ValueError, KeyError, TypeError, AttributeError) as error:
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
