"""Converts the TensorFlow flowers photos (5 classes) to TFRecords.

The archive unpacks to `flower_photos/<class>/*.jpg`; the folder converter
does the rest with slim's split (350 validation images, seed 0, 5 shards),
giving `flowers_train_*` (3320) and `flowers_validation_*` (350).
`--source_dir` may be the archive, the `flower_photos` folder or its parent.
"""

import os
import shutil

from datasets import convert_folder
from datasets import sources
from datasets import staged_output

DATA_URL = 'http://download.tensorflow.org/example_images/flower_photos.tgz'
PHOTOS_FOLDER = 'flower_photos'
NUM_VALIDATION = 350
NUM_SHARDS = 5


def convert(dataset_dir, source_dir=None, validation_size=None, seed=0,
            num_shards=None, overwrite=False, log=print):
  work_dir = os.path.join(dataset_dir, '.flowers-download')
  if not overwrite and staged_output.existing_dataset_files(dataset_dir,
                                                            'flowers'):
    # Say so before spending minutes downloading and unpacking.
    raise staged_output.ConversionError(
        'Dataset flowers already exists in %s; pass --overwrite to replace '
        'it.' % dataset_dir)
  folder = sources.unpacked_folder(source_dir, work_dir, DATA_URL,
                                   PHOTOS_FOLDER, 'flowers archive', log)
  result = convert_folder.convert_folder(
      folder, dataset_dir, 'flowers',
      validation_size=NUM_VALIDATION if validation_size is None
      else validation_size,
      seed=seed, num_shards=num_shards or NUM_SHARDS, overwrite=overwrite,
      log=log)
  shutil.rmtree(work_dir, ignore_errors=True)
  return result


def run(dataset_dir):
  """slim's entry point: downloads the photos and converts them.

  Does nothing when flowers is already in `dataset_dir`, as upstream.
  """
  return staged_output.convert_unless_present(dataset_dir, 'flowers', convert,
                                              dataset_dir)
