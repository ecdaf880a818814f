"""Converts MNIST and Fashion-MNIST (IDX files) to PNG TFRecords.

Writes `<name>_train.tfrecord` (60000) and `<name>_test.tfrecord` (10000) of
28x28 grayscale PNGs, like slim's MNIST converter, plus labels.txt and the
metadata file. The IDX files come from `--source_dir`, else (Fashion-MNIST)
from the Debian package `dataset-fashion-mnist`, else from the published URLs.
"""

import gzip
import io
import os
import shutil
import struct

import numpy as np
from PIL import Image

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf

from datasets import conversion_progress
from datasets import dataset_factory
from datasets import dataset_utils
from datasets import sources
from datasets import staged_output

URLS = {
    'mnist': 'https://storage.googleapis.com/cvdf-datasets/mnist/',
    'fashion_mnist':
        'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/',
}
# Where `apt-get install dataset-fashion-mnist` puts the files.
DEBIAN_DIRS = {'fashion_mnist': '/usr/share/datasets/fashion-mnist'}
SPLIT_FILES = {
    'train': ('train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz'),
    'test': ('t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'),
}
IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049


def _open_idx(path):
  return gzip.open(path, 'rb') if path.endswith('.gz') else open(path, 'rb')


def _read_idx(path, magic, header_dims):
  """Returns (dims, payload bytes) of an IDX file, checking its header."""
  try:
    with _open_idx(path) as f:
      data = f.read()
  except (OSError, EOFError) as error:
    raise staged_output.ConversionError(
        'Cannot read %s (%s); fetch the file again.' % (path, error)
    ) from error
  header_size = 4 * (1 + header_dims)
  if len(data) < header_size:
    raise staged_output.ConversionError('%s is too short for an IDX file.' %
                                        path)
  values = struct.unpack('>%dI' % (1 + header_dims), data[:header_size])
  if values[0] != magic:
    raise staged_output.ConversionError(
        '%s is not an IDX file of the expected kind (magic %d, want %d).' %
        (path, values[0], magic))
  dims = values[1:]
  payload = data[header_size:]
  if len(payload) != int(np.prod(dims)):
    raise staged_output.ConversionError(
        '%s holds %d bytes of data, its header says %d; the file is truncated '
        'or corrupt.' % (path, len(payload), int(np.prod(dims))))
  return dims, payload


def read_images(path):
  """uint8 [N, rows, cols] from an idx3 file."""
  (count, rows, cols), payload = _read_idx(path, IMAGES_MAGIC, 3)
  return np.frombuffer(payload, np.uint8).reshape(count, rows, cols)


def read_labels(path):
  """uint8 [N] from an idx1 file."""
  (count,), payload = _read_idx(path, LABELS_MAGIC, 1)
  return np.frombuffer(payload, np.uint8).reshape(count)


def _find_file(directory, name):
  """Accepts the file gzipped (as published) or already gunzipped."""
  for candidate in (name, name[:-len('.gz')]):
    path = os.path.join(directory, candidate)
    if os.path.isfile(path):
      return path
  raise staged_output.ConversionError(
      '%s not found in %s; it needs the four IDX files %s.' %
      (name, directory, ', '.join(n for pair in SPLIT_FILES.values()
                                  for n in pair)))


def _locate_source(dataset_name, source_dir, download_dir, log):
  if source_dir:
    return source_dir
  debian_dir = DEBIAN_DIRS.get(dataset_name)
  if debian_dir and os.path.isdir(debian_dir):
    log('Using the Debian package files in %s' % debian_dir)
    return debian_dir
  for pair in SPLIT_FILES.values():
    for name in pair:
      sources.download(URLS[dataset_name] + name, download_dir, log)
  return download_dir


def encode_png(pixels):
  buffer = io.BytesIO()
  Image.fromarray(pixels, mode='L').save(buffer, format='PNG')
  return buffer.getvalue()


def _write_split(path, images, labels, progress):
  height, width = images.shape[1:]
  with tf.io.TFRecordWriter(path) as writer:
    for pixels, label in zip(images, labels):
      example = dataset_utils.image_to_tfexample(
          encode_png(pixels), 'png', height, width, int(label))
      writer.write(example.SerializeToString())
      progress.step()


def _read_splits(source, num_classes):
  """{split: (images, labels)} of every split, read and checked up front."""
  splits = {}
  for split_name, (images_name, labels_name) in sorted(SPLIT_FILES.items()):
    images = read_images(_find_file(source, images_name))
    labels = read_labels(_find_file(source, labels_name))
    _check_split(source, split_name, images, labels, num_classes)
    splits[split_name] = images, labels
  return splits


def convert(dataset_name, dataset_dir, source_dir=None, overwrite=False,
            log=print):
  """Converts `dataset_name` ('mnist' or 'fashion_mnist') into dataset_dir.

  Both splits are read and checked before the first record is written; the
  log shows `Converted N/M images ... ETA` lines while the PNGs are made.
  """
  spec = dataset_factory.SPECS[dataset_name]
  # Downloads stay there until the conversion succeeds, so a retry after a
  # failure does not fetch them again.
  download_dir = os.path.join(dataset_dir, '.%s-download' % dataset_name)
  with staged_output.StagedDataset(dataset_dir, dataset_name,
                                   overwrite) as staged:
    source = _locate_source(dataset_name, source_dir, download_dir, log)
    splits = _read_splits(source, spec.num_classes)
    splits_to_sizes = {split_name: len(images)
                       for split_name, (images, _) in splits.items()}
    progress = conversion_progress.ConversionProgress(
        sum(splits_to_sizes.values()), log)
    for split_name, (images, labels) in sorted(splits.items()):
      log('Converting %d %s images from %s' % (len(images), split_name,
                                               source))
      _write_split(os.path.join(staged.path, spec.file_pattern % split_name),
                   images, labels, progress)
    dataset_utils.write_dataset_labels(dict(enumerate(spec.class_names)),
                                       staged.path, dataset_dir, dataset_name)
    dataset_utils.write_metadata(staged.path, dataset_name, splits_to_sizes,
                                 spec.num_classes, spec.file_pattern,
                                 channels=1)
  shutil.rmtree(download_dir, ignore_errors=True)
  log('Wrote %s to %s: %s.' % (dataset_name, dataset_dir,
                               dataset_utils.sizes_text(splits_to_sizes)))
  return splits_to_sizes


def _check_split(source, split_name, images, labels, num_classes):
  if len(images) != len(labels):
    raise staged_output.ConversionError(
        '%s: the %s split has %d images but %d labels.' %
        (source, split_name, len(images), len(labels)))
  if len(labels) and labels.max() >= num_classes:
    raise staged_output.ConversionError(
        '%s: the %s labels go up to %d; expected 0..%d.' %
        (source, split_name, labels.max(), num_classes - 1))


def run(dataset_dir, dataset_name='mnist'):
  """slim's entry point: downloads the IDX files and converts them.

  Does nothing when the dataset is already in `dataset_dir`, as upstream.
  """
  return staged_output.convert_unless_present(dataset_dir, dataset_name,
                                              convert, dataset_name,
                                              dataset_dir)
