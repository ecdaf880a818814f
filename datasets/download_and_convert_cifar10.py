"""Converts CIFAR-10 (the python pickle archive) to PNG TFRecords.

Writes `cifar10_train.tfrecord` (50000) and `cifar10_test.tfrecord` (10000)
of 32x32 RGB PNGs, as slim's converter, plus labels.txt and the metadata
file. `--source_dir` may be the archive or its unpacked folder; without it
the archive is downloaded.
"""

import io
import os
import pickle
import shutil

import numpy as np
from PIL import Image

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf

from datasets import conversion_progress
from datasets import dataset_factory
from datasets import dataset_utils
from datasets import sources
from datasets import staged_output

DATA_URL = 'https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz'
BATCHES_FOLDER = 'cifar-10-batches-py'
SPLIT_BATCHES = {
    'train': ['data_batch_%d' % i for i in range(1, 6)],
    'test': ['test_batch'],
}


def read_batch(path):
  """Returns (images uint8 [N, 32, 32, 3], labels [N]) of one pickle batch."""
  try:
    with open(path, 'rb') as f:
      batch = pickle.load(f, encoding='bytes')
    data = np.asarray(batch[b'data'], np.uint8)
    labels = np.asarray(batch[b'labels'], np.int64)
    # Rows are 1024 red, then 1024 green, then 1024 blue values.
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
  except FileNotFoundError as error:
    raise staged_output.ConversionError(
        '%s not found; --source_dir must be the CIFAR-10 python archive or '
        'its %s folder.' % (path, BATCHES_FOLDER)) from error
  except (OSError, EOFError, KeyError, ValueError, TypeError,
          pickle.UnpicklingError) as error:
    raise staged_output.ConversionError(
        '%s is not a CIFAR-10 python batch (%s); fetch the archive again.' %
        (path, error)) from error
  return images, labels


def encode_png(pixels):
  buffer = io.BytesIO()
  Image.fromarray(pixels).save(buffer, format='PNG')
  return buffer.getvalue()


def _read_splits(folder, log):
  """{split: [(batch name, images, labels)]}, every batch read up front."""
  splits = {}
  for split_name, batch_names in sorted(SPLIT_BATCHES.items()):
    splits[split_name] = []
    for batch_name in batch_names:
      images, labels = read_batch(os.path.join(folder, batch_name))
      log('Read %s (%d images)' % (batch_name, len(images)))
      splits[split_name].append((batch_name, images, labels))
  return splits


def _write_split(path, batches, progress):
  """Writes one split's batches as PNG records; returns the record count."""
  count = 0
  with tf.io.TFRecordWriter(path) as writer:
    for _, images, labels in batches:
      for pixels, label in zip(images, labels):
        writer.write(dataset_utils.image_to_tfexample(
            encode_png(pixels), 'png', 32, 32,
            int(label)).SerializeToString())
        progress.step()
      count += len(images)
  return count


def convert(dataset_dir, source_dir=None, overwrite=False, log=print):
  """Converts the CIFAR-10 batches into `dataset_dir`; returns the sizes.

  Every batch is read (and checked) before the first record is written; the
  log shows `Converted N/M images ... ETA` lines while the PNGs are made.
  """
  spec = dataset_factory.SPECS['cifar10']
  work_dir = os.path.join(dataset_dir, '.cifar10-download')
  splits_to_sizes = {}
  with staged_output.StagedDataset(dataset_dir, 'cifar10',
                                   overwrite) as staged:
    folder = sources.unpacked_folder(source_dir, work_dir, DATA_URL,
                                     BATCHES_FOLDER, 'CIFAR-10 archive', log)
    splits = _read_splits(folder, log)
    progress = conversion_progress.ConversionProgress(
        sum(len(images) for batches in splits.values()
            for _, images, _ in batches), log)
    for split_name, batches in sorted(splits.items()):
      splits_to_sizes[split_name] = _write_split(
          os.path.join(staged.path, spec.file_pattern % split_name), batches,
          progress)
    dataset_utils.write_dataset_labels(dict(enumerate(spec.class_names)),
                                       staged.path, dataset_dir, 'cifar10')
    dataset_utils.write_metadata(staged.path, 'cifar10', splits_to_sizes,
                                 spec.num_classes, spec.file_pattern)
  shutil.rmtree(work_dir, ignore_errors=True)
  log('Wrote cifar10 to %s: %s.' % (dataset_dir,
                                    dataset_utils.sizes_text(splits_to_sizes)))
  return splits_to_sizes


def run(dataset_dir):
  """slim's entry point: downloads the archive and converts it.

  Does nothing when cifar10 is already in `dataset_dir`, as upstream.
  """
  return staged_output.convert_unless_present(dataset_dir, 'cifar10', convert,
                                              dataset_dir)
