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


def _photos_folder(source):
  nested = os.path.join(source, PHOTOS_FOLDER)
  return nested if os.path.isdir(nested) else source


def convert(dataset_dir, source_dir=None, validation_size=None, seed=0,
            num_shards=None, overwrite=False, log=print):
  work_dir = os.path.join(dataset_dir, '.flowers-download')
  if not overwrite and staged_output.existing_dataset_files(dataset_dir,
                                                            'flowers'):
    # Say so before spending minutes downloading and unpacking.
    raise staged_output.ConversionError(
        'Dataset flowers already exists in %s; pass --overwrite to replace '
        'it.' % dataset_dir)
  if source_dir and os.path.isdir(source_dir):
    folder = _photos_folder(source_dir)
  else:
    archive = source_dir or sources.download(DATA_URL, work_dir, log)
    sources.require_file(archive, 'flowers archive (--source_dir)')
    sources.extract_tar(archive, work_dir)
    folder = _photos_folder(work_dir)
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
  if staged_output.existing_dataset_files(dataset_dir, 'flowers'):
    print('Dataset files already exist. Exiting without re-creating them.')
    return None
  return convert(dataset_dir)
