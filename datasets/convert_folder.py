"""Converts a folder of class sub-folders into train/validation TFRecords.

    source_dir/<class name>/<image files>   ->   dataset_dir/
        <name>_train_00000-of-00005.tfrecord ...
        <name>_validation_00000-of-00005.tfrecord ...
        labels.txt, <name>_metadata.json, <name>_conversion_report.txt

Classes get ids in sorted folder-name order. Every file is decoded once with
Pillow: files that are empty, truncated, corrupt or not images are skipped and
listed in the report. RGB JPEG and RGB PNG files are stored byte for byte;
anything else (CMYK, grayscale, palette, alpha, GIF, BMP, 16-bit, ...) is
converted to RGB and stored as PNG, so no pixel is lost twice.

The train/validation split depends only on the sorted file list and the seed;
it is drawn before decoding, so a skipped file shrinks its own split.
"""

import collections
import concurrent.futures
import io
import os
import random

import numpy as np
from PIL import Image

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf

from datasets import dataset_utils
from datasets import staged_output

DEFAULT_VALIDATION_FRACTION = 0.1
DEFAULT_NUM_SHARDS = 5
# White is what a viewer shows behind transparent pixels.
_BACKGROUND = (255, 255, 255)

LoadedImage = collections.namedtuple('LoadedImage',
                                     ['encoded', 'format', 'height', 'width'])


class BadImage(Exception):
  """The file cannot be used as an image; the message says why."""


def list_classes(source_dir):
  """Sorted names of the class sub-folders (hidden folders ignored)."""
  if not os.path.isdir(source_dir):
    raise staged_output.ConversionError(
        'Image folder %s does not exist; expected %s/<class name>/<images> '
        '(or pass --source_dir).' % (source_dir, source_dir))
  classes = sorted(name for name in os.listdir(source_dir)
                   if not name.startswith('.')
                   and os.path.isdir(os.path.join(source_dir, name)))
  if not classes:
    raise staged_output.ConversionError(
        'No class sub-folders in %s; expected %s/<class name>/<images>.' %
        (source_dir, source_dir))
  return classes


def list_files(source_dir, classes):
  """[(path, label)] of every plain file directly inside a class folder."""
  files = []
  for label, class_name in enumerate(classes):
    class_dir = os.path.join(source_dir, class_name)
    for name in sorted(os.listdir(class_dir)):
      path = os.path.join(class_dir, name)
      if os.path.isfile(path):
        files.append((path, label))
  return files


def validation_count(validation_size, num_files):
  """Resolves a count (int >= 1) or a fraction (0 <= x < 1) to a count."""
  if validation_size is None:
    validation_size = DEFAULT_VALIDATION_FRACTION
  validation_size = float(validation_size)
  if validation_size < 0:
    raise staged_output.ConversionError(
        '--validation_size must be a count or a fraction in [0, 1), got %s' %
        validation_size)
  if validation_size < 1:
    count = int(round(validation_size * num_files))
  elif validation_size == int(validation_size):
    count = int(validation_size)
  else:
    raise staged_output.ConversionError(
        '--validation_size must be a whole count or a fraction in [0, 1), got '
        '%s' % validation_size)
  if count >= num_files:
    raise staged_output.ConversionError(
        '--validation_size %s leaves no training images (%d files found).' %
        (validation_size, num_files))
  return count


def split_files(files, validation_size, seed):
  """Deterministic {'train': [...], 'validation': [...]} of (path, label)."""
  shuffled = sorted(files)
  random.Random(seed).shuffle(shuffled)
  count = validation_count(validation_size, len(shuffled))
  return {'validation': shuffled[:count], 'train': shuffled[count:]}


def _to_rgb(image):
  """Converts any Pillow mode to RGB, flattening transparency onto white."""
  if image.mode == 'P' and 'transparency' in image.info:
    image = image.convert('RGBA')
  if image.mode in ('RGBA', 'LA', 'PA', 'RGBa', 'La'):
    rgba = image.convert('RGBA')
    background = Image.new('RGB', rgba.size, _BACKGROUND)
    background.paste(rgba, mask=rgba.getchannel('A'))
    return background
  if image.mode in ('I;16', 'I;16B', 'I;16L', 'I'):
    pixels = np.asarray(image, dtype=np.float64)
    top = 65535.0 if pixels.max() > 255 else 255.0
    gray = np.clip(np.round(pixels * 255.0 / top), 0, 255).astype(np.uint8)
    return Image.fromarray(gray).convert('RGB')
  return image.convert('RGB')


def load_image(path):
  """Decodes `path` once; returns a `LoadedImage` ready to store.

  Raises:
    BadImage: empty, unreadable, truncated or not an image.
  """
  try:
    with open(path, 'rb') as f:
      data = f.read()
  except OSError as error:
    raise BadImage('unreadable: %s' % error.strerror) from error
  if not data:
    raise BadImage('empty file')
  try:
    image = Image.open(io.BytesIO(data))
    image.load()
  except Image.DecompressionBombError as error:
    raise BadImage('too large to decode safely: %s' % error) from error
  except (OSError, SyntaxError, ValueError) as error:
    # Pillow says "cannot identify image file" for non-images and
    # "image file is truncated" for cut-off files.
    raise BadImage('not a readable image: %s' % error) from error
  width, height = image.size
  if image.mode == 'RGB' and image.format in ('JPEG', 'PNG'):
    return LoadedImage(data, image.format.lower(), height, width)
  buffer = io.BytesIO()
  _to_rgb(image).save(buffer, format='PNG')
  return LoadedImage(buffer.getvalue(), 'png', height, width)


def _load_or_reason(item):
  path, label = item
  try:
    return path, label, load_image(path), None
  except BadImage as error:
    return path, label, None, str(error)


def _write_split(staging_dir, dataset_name, split_name, files, num_shards,
                 skipped, executor):
  """Writes one split's shards; returns the number of records written."""
  written = 0
  ranges = dataset_utils.shard_ranges(len(files), num_shards)
  for shard_id, (start, end) in enumerate(ranges):
    path = os.path.join(staging_dir, dataset_utils.shard_filename(
        dataset_name, split_name, shard_id, len(ranges)))
    with tf.io.TFRecordWriter(path) as writer:
      for source, label, loaded, reason in executor.map(_load_or_reason,
                                                        files[start:end]):
        if loaded is None:
          skipped.append((source, reason))
          continue
        example = dataset_utils.image_to_tfexample(
            loaded.encoded, loaded.format, loaded.height, loaded.width, label)
        writer.write(example.SerializeToString())
        written += 1
  return written


def write_report(path, source_dir, splits_to_sizes, skipped):
  with open(path, 'w', encoding='utf-8') as f:
    f.write('source: %s\n' % source_dir)
    for split_name, size in sorted(splits_to_sizes.items()):
      f.write('%s: %d images\n' % (split_name, size))
    f.write('skipped: %d files\n' % len(skipped))
    for source, reason in skipped:
      f.write('  %s: %s\n' % (source, reason))


def convert_folder(source_dir, dataset_dir, dataset_name, validation_size=None,
                   seed=0, num_shards=None, overwrite=False, log=print):
  """Converts `source_dir/<class>/*` into the dataset `dataset_name`.

  Args:
    source_dir: folder with one sub-folder per class.
    dataset_dir: where the shards, labels.txt and metadata go.
    dataset_name: names the files (`<name>_train_*.tfrecord`).
    validation_size: count (>= 1) or fraction (< 1) of files held out;
      default 10%.
    seed: seed of the split.
    num_shards: files per split; default 5 (fewer for tiny splits).
    overwrite: replace an existing dataset of that name.
    log: where progress and the summary lines go.

  Returns:
    {'splits_to_sizes': ..., 'num_classes': ..., 'skipped': [(path, reason)],
     'report': report path}.

  Raises:
    staged_output.ConversionError: with a message for the user.
  """
  classes = list_classes(source_dir)
  files = list_files(source_dir, classes)
  if not files:
    raise staged_output.ConversionError('No files in the class folders of %s.'
                                        % source_dir)
  splits = split_files(files, validation_size, seed)
  num_shards = num_shards or DEFAULT_NUM_SHARDS
  skipped = []
  splits_to_sizes = {}
  report_name = dataset_name + staged_output.REPORT_SUFFIX
  with staged_output.StagedDataset(dataset_dir, dataset_name,
                                   overwrite) as staged:
    with concurrent.futures.ThreadPoolExecutor(
        max_workers=min(4, os.cpu_count() or 1)) as executor:
      for split_name in ('train', 'validation'):
        log('Converting %d %s files of %d classes from %s' %
            (len(splits[split_name]), split_name, len(classes), source_dir))
        splits_to_sizes[split_name] = _write_split(
            staged.path, dataset_name, split_name, splits[split_name],
            num_shards, skipped, executor)
    dataset_utils.write_label_file(dict(enumerate(classes)), staged.path)
    dataset_utils.write_metadata(
        staged.path, dataset_name, splits_to_sizes, len(classes),
        dataset_name + '_%s_*.tfrecord', channels=3, seed=seed,
        source_dir=os.path.abspath(source_dir))
    write_report(os.path.join(staged.path, report_name), source_dir,
                 splits_to_sizes, skipped)
  for source, reason in skipped:
    log('Skipped %s: %s' % (source, reason))
  report = os.path.join(dataset_dir, report_name)
  log('Wrote %s to %s: %s; %d classes; skipped %d files (listed in %s).' %
      (dataset_name, dataset_dir,
       ', '.join('%s %d' % item for item in sorted(splits_to_sizes.items())),
       len(classes), len(skipped), report))
  return {'splits_to_sizes': splits_to_sizes, 'num_classes': len(classes),
          'skipped': skipped, 'report': report}
