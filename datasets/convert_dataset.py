"""Picks the converter for a dataset name (download_and_convert_data.py).

flowers, cifar10, mnist, fashion_mnist and visualwakewords have their own
converters; any
other name converts the folder `<dataset_dir>/<name>/` (or `source_dir`)
of class sub-folders, the way the course's tutorial converts `my_flower_5`.
"""

import os

from datasets import convert_folder
from datasets import download_and_convert_cifar10
from datasets import download_and_convert_flowers
from datasets import download_and_convert_mnist
from datasets import download_and_convert_visualwakewords
from datasets import staged_output

NOT_CONVERTIBLE = {
    'quiz': 'the course ships quiz as TFRecords already; point --dataset_dir '
            'at them',
    'imagenet': 'build it with datasets/download_and_preprocess_imagenet.sh '
                '(or datasets/build_imagenet_data.py on extracted folders)',
}


# Characters a dataset name cannot hold: it becomes file names and glob and
# %-patterns (`<name>_%s_*.tfrecord`), and must come back unchanged.
_NAME_BREAKERS = '/\\%*?[]'


def check_dataset_name(dataset_name):
  """Refuses a --dataset_name that would not round-trip through file names.

  Raises:
    staged_output.ConversionError: one line saying what to change.
  """
  if (dataset_name.startswith('.') or not dataset_name.isprintable() or
      any(char in _NAME_BREAKERS for char in dataset_name) or
      dataset_name != dataset_name.strip()):
    raise staged_output.ConversionError(
        '--dataset_name=%r cannot name dataset files: use letters, digits, '
        '"_" and "-" (no path separators, leading ".", spaces at the ends, '
        'or any of %s).' % (dataset_name, _NAME_BREAKERS))


def _check_options(dataset_name, dataset_dir, num_shards, max_image_side):
  if not dataset_name or not dataset_dir:
    raise staged_output.ConversionError(
        'Both --dataset_name and --dataset_dir are required.')
  check_dataset_name(dataset_name)
  if num_shards is not None and num_shards < 1:
    raise staged_output.ConversionError(
        '--num_shards=%d: a split needs at least 1 file; leave it unset for '
        'the default.' % num_shards)
  if max_image_side is not None and max_image_side < 1:
    raise staged_output.ConversionError(
        '--max_image_side=%d must be a positive number of pixels.' %
        max_image_side)


def convert(dataset_name, dataset_dir, source_dir=None, validation_size=None,
            seed=0, num_shards=None, overwrite=False, log=print,
            max_image_side=convert_folder.DEFAULT_MAX_IMAGE_SIDE,
            **visualwakewords_options):
  """Converts one dataset into `dataset_dir`.

  `max_image_side` applies to folder datasets (flowers and your own);
  `visualwakewords_options` (small_object_area_threshold,
  foreground_class_of_interest) go to the Visual Wake Words converter only.

  Raises:
    staged_output.ConversionError: with one line for the user.
  """
  _check_options(dataset_name, dataset_dir, num_shards, max_image_side)
  if dataset_name in NOT_CONVERTIBLE:
    raise staged_output.ConversionError(
        '--dataset_name=%s cannot be converted here: %s.' %
        (dataset_name, NOT_CONVERTIBLE[dataset_name]))
  if dataset_name == 'flowers':
    return download_and_convert_flowers.convert(
        dataset_dir, source_dir, validation_size, seed, num_shards, overwrite,
        log)
  if dataset_name == 'cifar10':
    return download_and_convert_cifar10.convert(dataset_dir, source_dir,
                                                overwrite, log)
  if dataset_name == 'visualwakewords':
    return download_and_convert_visualwakewords.convert(
        dataset_dir, source_dir, num_shards=num_shards, overwrite=overwrite,
        log=log, **visualwakewords_options)
  if dataset_name in download_and_convert_mnist.URLS:
    return download_and_convert_mnist.convert(dataset_name, dataset_dir,
                                              source_dir, overwrite, log)
  return convert_folder.convert_folder(
      source_dir or os.path.join(dataset_dir, dataset_name), dataset_dir,
      dataset_name, validation_size=validation_size, seed=seed,
      num_shards=num_shards, overwrite=overwrite, log=log,
      max_image_side=max_image_side)
