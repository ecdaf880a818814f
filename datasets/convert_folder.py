"""Converts a folder of class sub-folders into train/validation TFRecords.

    source_dir/<class name>/<image files>   ->   dataset_dir/
        <name>_train_00000-of-00005.tfrecord ...
        <name>_validation_00000-of-00005.tfrecord ...
        <name>_labels.txt, <name>_metadata.json, <name>_conversion_report.txt
        labels.txt (only when the folder has none of another dataset's)

Classes get ids in sorted folder-name order; there must be at least 2, each
with at least one usable image, and their names must fit a labels file. Every
file is decoded once with Pillow: files that are empty, truncated, corrupt or
not images are skipped and listed in the report. RGB JPEG and RGB PNG files are stored byte for byte;
anything else (CMYK, grayscale, palette, alpha, GIF, BMP, 16-bit, ...) is
converted to RGB and stored as PNG, so no pixel is lost twice. Images longer
than `max_image_side` are downsized (JPEG stays JPEG) and listed in the report;
files in sub-folders of a class folder are not used and are listed as skipped.

The train/validation split depends only on the sorted file list and the seed;
it is drawn before decoding, so a skipped file shrinks its own split.
"""

import collections
import concurrent.futures
import dataclasses
import functools
import io
import math
import os
import random

import numpy as np
from PIL import Image

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf

from datasets import dataset_utils
from datasets import conversion_progress
from datasets import staged_output

DEFAULT_VALIDATION_FRACTION = 0.1
DEFAULT_NUM_SHARDS = 5
# White is what a viewer shows behind transparent pixels.
_BACKGROUND = (255, 255, 255)

# Longer side, in pixels, above which images are downsized when stored: a
# 144-megapixel photo would otherwise take ~430 MB per decode in training.
DEFAULT_MAX_IMAGE_SIDE = 4096

LoadedImage = collections.namedtuple(
    'LoadedImage', ['encoded', 'format', 'height', 'width',
                    'original_size'])  # original_size: (width, height)


class BadImage(Exception):
  """The file cannot be used as an image; the message says why."""


def _listdir(folder):
  try:
    return sorted(os.listdir(folder))
  except OSError as error:
    raise staged_output.ConversionError(
        'Cannot read folder %s (%s); make it readable or move it out of the '
        'source folder.' % (folder, error.strerror)) from error


def list_classes(source_dir):
  """Sorted names of the class sub-folders (hidden folders ignored)."""
  if not os.path.isdir(source_dir):
    raise staged_output.ConversionError(
        'Image folder %s does not exist; expected %s/<class name>/<images> '
        '(or pass --source_dir).' % (source_dir, source_dir))
  classes = [name for name in _listdir(source_dir)
             if not name.startswith('.')
             and os.path.isdir(os.path.join(source_dir, name))]
  if not classes:
    raise staged_output.ConversionError(
        'No class sub-folders in %s; expected %s/<class name>/<images>.' %
        (source_dir, source_dir))
  for name in classes:
    problem = dataset_utils.label_name_problem(name)
    if problem:
      raise staged_output.ConversionError(
          'Class folder %r in %s cannot be a class name (%s); rename it.' %
          (name, source_dir, problem))
  if len(classes) < 2:
    raise staged_output.ConversionError(
        '%s has only the class folder %r; a classifier needs at least 2 '
        'classes, one sub-folder each.' % (source_dir, classes[0]))
  return classes


def _nested_files(folder):
  """Files in the sub-folders of a class folder (not used, but reported)."""
  nested = []
  for name in _listdir(folder):
    path = os.path.join(folder, name)
    if os.path.isdir(path):
      for root, _, names in os.walk(path):
        nested.extend(os.path.join(root, n) for n in sorted(names))
  return nested


def list_files(source_dir, classes, skipped=None):
  """[(path, label)] of every plain file directly inside a class folder.

  Files further down go to `skipped` as (path, reason).

  Raises:
    staged_output.ConversionError: a class folder is unreadable or empty.
  """
  files = []
  for label, class_name in enumerate(classes):
    class_dir = os.path.join(source_dir, class_name)
    own = [os.path.join(class_dir, name) for name in _listdir(class_dir)]
    own = [path for path in own if os.path.isfile(path)]
    if not own:
      raise staged_output.ConversionError(
          'Class folder %s holds no files; add images of %r or remove the '
          'folder.' % (class_dir, class_name))
    files.extend((path, label) for path in own)
    if skipped is not None:
      skipped.extend(
          (path, 'in a sub-folder of the class folder; move it up to use it')
          for path in _nested_files(class_dir))
  return files


def validation_count(validation_size, num_files):
  """Resolves a count (int >= 1) or a fraction (0 <= x < 1) to a count."""
  if validation_size is None:
    validation_size = DEFAULT_VALIDATION_FRACTION
  validation_size = float(validation_size)
  if validation_size < 0 or not math.isfinite(validation_size):
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


def _downsized(image, max_side):
  """`image` scaled so that its longer side is `max_side` (aspect kept)."""
  width, height = image.size
  scale = max_side / float(max(width, height))
  size = (max(1, int(round(width * scale))), max(1, int(round(height * scale))))
  # For JPEG, decode at a reduced scale first: a 144-megapixel photo then
  # never sits in memory at full size.
  image.draft('RGB', size)
  return _to_rgb(image).resize(size, Image.LANCZOS)


def _encode(image, source_format):
  buffer = io.BytesIO()
  if source_format == 'JPEG':
    image.save(buffer, format='JPEG', quality=95)
    return buffer.getvalue(), 'jpeg'
  image.save(buffer, format='PNG')
  return buffer.getvalue(), 'png'


def load_image(path, max_side=DEFAULT_MAX_IMAGE_SIDE):
  """Decodes `path` once; returns a `LoadedImage` ready to store.

  Images whose longer side exceeds `max_side` are downsized to it (the
  returned `original_size` then differs from height/width).

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
    original_size, source_format = image.size, image.format
    if max_side and max(image.size) > max_side:
      image = _downsized(image, max_side)
      encoded, image_format = _encode(image, source_format)
    else:
      image.load()
      encoded, image_format = None, None
  except Image.DecompressionBombError as error:
    raise BadImage('too large to decode safely: %s' % error) from error
  except (OSError, SyntaxError, ValueError) as error:
    # Pillow says "cannot identify image file" for non-images and
    # "image file is truncated" for cut-off files.
    raise BadImage('not a readable image: %s' % error) from error
  width, height = image.size
  if encoded is not None:
    return LoadedImage(encoded, image_format, height, width, original_size)
  if image.mode == 'RGB' and image.format in ('JPEG', 'PNG'):
    return LoadedImage(data, image.format.lower(), height, width,
                       original_size)
  buffer = io.BytesIO()
  _to_rgb(image).save(buffer, format='PNG')
  return LoadedImage(buffer.getvalue(), 'png', height, width, original_size)


def _load_or_reason(item, max_side):
  path, label = item
  try:
    return path, label, load_image(path, max_side), None
  except BadImage as error:
    return path, label, None, str(error)


@dataclasses.dataclass
class _SplitWriter(object):
  """Writes the shards of every split; keeps what was stored and skipped."""

  staging_dir: str
  dataset_name: str
  num_shards: int
  max_side: int
  executor: concurrent.futures.Executor
  progress: conversion_progress.ConversionProgress
  skipped: list = dataclasses.field(default_factory=list)  # (path, reason)
  # (path, (width, height) before, (width, height) stored)
  downsized: list = dataclasses.field(default_factory=list)
  per_class: collections.Counter = dataclasses.field(
      default_factory=collections.Counter)

  def _store(self, writer, label, loaded):
    example = dataset_utils.image_to_tfexample(
        loaded.encoded, loaded.format, loaded.height, loaded.width, label)
    writer.write(example.SerializeToString())
    self.per_class[label] += 1

  def write(self, split_name, files):
    """Writes one split; returns the number of records written."""
    written = 0
    ranges = dataset_utils.shard_ranges(len(files), self.num_shards)
    load = functools.partial(_load_or_reason, max_side=self.max_side)
    for shard_id, (start, end) in enumerate(ranges):
      path = os.path.join(self.staging_dir, dataset_utils.shard_filename(
          self.dataset_name, split_name, shard_id, len(ranges)))
      with tf.io.TFRecordWriter(path) as writer:
        for source, label, loaded, reason in self.executor.map(
            load, files[start:end]):
          self.progress.step()
          if loaded is None:
            self.skipped.append((source, reason))
            continue
          if loaded.original_size != (loaded.width, loaded.height):
            self.downsized.append((source, loaded.original_size,
                                   (loaded.width, loaded.height)))
          self._store(writer, label, loaded)
          written += 1
    return written


def write_report(path, source_dir, splits_to_sizes, skipped, downsized=()):
  with open(path, 'w', encoding='utf-8') as f:
    f.write('source: %s\n' % source_dir)
    for split_name, size in sorted(splits_to_sizes.items()):
      f.write('%s: %d images\n' % (split_name, size))
    f.write('skipped: %d files\n' % len(skipped))
    for source, reason in skipped:
      f.write('  %s: %s\n' % (source, reason))
    f.write('downsized: %d images\n' % len(downsized))
    for source, before, after in downsized:
      f.write('  %s: %dx%d -> %dx%d\n' % ((source,) + before + after))


def _check_every_class_stored(classes, per_class, source_dir):
  missing = [name for label, name in enumerate(classes)
             if not per_class[label]]
  if missing:
    raise staged_output.ConversionError(
        'No usable image in class folder(s) %s of %s (see the skipped files '
        'above); nothing was written.' % (', '.join(missing), source_dir))


def _log_skipped(log, writer):
  for source, reason in writer.skipped:
    log('Skipped %s: %s' % (source, reason))
  if writer.downsized:
    log('Downsized %d images to at most %d px on the longer side (e.g. %s, '
        '%dx%d); see --max_image_side.' %
        ((len(writer.downsized), writer.max_side, writer.downsized[0][0]) +
         writer.downsized[0][1]))


def _log_summary(log, dataset_name, dataset_dir, splits_to_sizes, classes,
                 writer, report):
  log('Wrote %s to %s: %s; %d classes; skipped %d files (listed in %s).' %
      (dataset_name, dataset_dir,
       dataset_utils.sizes_text(splits_to_sizes),
       len(classes), len(writer.skipped), report))


def _planned_splits(files, validation_size, seed, log):
  splits = split_files(files, validation_size, seed)
  if not splits['validation']:
    # Asked for (or rounded to) no validation images: no empty split.
    log('No validation split: --validation_size=%s of %d files is 0 images.'
        % (validation_size, len(files)))
    del splits['validation']
  return splits


def _write_splits(writer, splits, num_classes, source_dir, log):
  """Writes every split, train first; returns {split: records written}."""
  splits_to_sizes = {}
  for split_name in sorted(splits, reverse=True):
    log('Converting %d %s files of %d classes from %s' %
        (len(splits[split_name]), split_name, num_classes, source_dir))
    splits_to_sizes[split_name] = writer.write(split_name, splits[split_name])
  return splits_to_sizes


def convert_folder(source_dir, dataset_dir, dataset_name, validation_size=None,
                   seed=0, num_shards=None, overwrite=False, log=print,
                   max_image_side=DEFAULT_MAX_IMAGE_SIDE):
  """Converts `source_dir/<class>/*` into the dataset `dataset_name`.

  Args:
    source_dir: folder with one sub-folder per class (at least 2).
    dataset_dir: where the shards, labels and metadata go.
    dataset_name: names the files (`<name>_train_*.tfrecord`).
    validation_size: count (>= 1) or fraction (< 1) of files held out;
      default 10%; 0 writes no validation split.
    seed: seed of the split.
    num_shards: files per split; default 5 (fewer for tiny splits).
    overwrite: replace an existing dataset of that name.
    log: where progress and the summary lines go.
    max_image_side: longer side in pixels above which images are downsized.

  Returns:
    {'splits_to_sizes': ..., 'num_classes': ..., 'skipped': [(path, reason)],
     'downsized': [(path, (w, h), (w, h))], 'report': report path}.

  Raises:
    staged_output.ConversionError: with a message for the user.
  """
  classes = list_classes(source_dir)
  nested = []
  files = list_files(source_dir, classes, nested)
  splits = _planned_splits(files, validation_size, seed, log)
  report_name = dataset_name + staged_output.REPORT_SUFFIX
  report = os.path.join(dataset_dir, report_name)
  progress = conversion_progress.ConversionProgress(len(files), log)
  with staged_output.StagedDataset(dataset_dir, dataset_name,
                                   overwrite) as staged:
    with concurrent.futures.ThreadPoolExecutor(
        max_workers=min(4, os.cpu_count() or 1)) as executor:
      writer = _SplitWriter(staged.path, dataset_name,
                            num_shards or DEFAULT_NUM_SHARDS, max_image_side,
                            executor, progress, skipped=nested)
      splits_to_sizes = _write_splits(writer, splits, len(classes),
                                      source_dir, log)
    _log_skipped(log, writer)
    _check_every_class_stored(classes, writer.per_class, source_dir)
    dataset_utils.write_dataset_labels(dict(enumerate(classes)),
                                       staged.path, dataset_dir, dataset_name)
    dataset_utils.write_metadata(
        staged.path, dataset_name, splits_to_sizes, len(classes),
        dataset_name + '_%s_*.tfrecord', channels=3, seed=seed,
        source_dir=os.path.abspath(source_dir))
    write_report(os.path.join(staged.path, report_name), source_dir,
                 splits_to_sizes, writer.skipped, writer.downsized)
  _log_summary(log, dataset_name, dataset_dir, splits_to_sizes, classes,
               writer, report)
  return {'splits_to_sizes': splits_to_sizes, 'num_classes': len(classes),
          'skipped': writer.skipped, 'downsized': writer.downsized,
          'report': report}
