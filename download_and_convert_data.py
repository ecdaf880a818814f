r"""Downloads and converts a dataset, or converts your own image folder.

Registered datasets (downloaded from their published URLs unless
--source_dir points at the archive/files already on disk):

  python download_and_convert_data.py --dataset_name=flowers \
      --dataset_dir=/tmp/flowers [--source_dir=flower_photos.tgz]
  python download_and_convert_data.py --dataset_name=cifar10 ...
  python download_and_convert_data.py --dataset_name=mnist ...
  python download_and_convert_data.py --dataset_name=fashion_mnist \
      --dataset_dir=/tmp/fashion_mnist   # uses the Debian package if present
  python download_and_convert_data.py --dataset_name=visualwakewords \
      --dataset_dir=/tmp/vww --source_dir=/data/coco   # a COCO 2014 root

Your own photos, one sub-folder per class (the tutorial's my_flower_5):

  python download_and_convert_data.py --dataset_name=my_flower_5 \
      --dataset_dir=/data/flower   # converts /data/flower/my_flower_5/<class>/

then train with the same --dataset_name and --dataset_dir. A run either
writes the whole dataset or changes nothing; --overwrite never replaces a
dataset by one with an empty split, and a run killed while swapping the files
in is finished by the next run (or the next read).
"""

import signal

import tf_compat  # noqa: F401
from absl import flags

import common_flags
from datasets import convert_dataset
from datasets import convert_folder
from datasets import download_and_convert_visualwakewords
from datasets import staged_output
from deployment import interrupts

flags.DEFINE_string('dataset_name', None,
                    'flowers, cifar10, mnist, fashion_mnist, visualwakewords, '
                    'or the name of your own dataset (a folder of class '
                    'sub-folders).')
flags.DEFINE_string('dataset_dir', None,
                    'Where the TFRecords, labels and metadata are written.')
flags.DEFINE_string('source_dir', None,
                    'An archive or folder already on disk to convert instead '
                    'of downloading; for your own dataset, the folder of class '
                    'sub-folders (default <dataset_dir>/<dataset_name>); for '
                    'visualwakewords, the COCO 2014 root.')
flags.DEFINE_string('validation_size', None,
                    'Your own folder / flowers: images held out for '
                    'validation, a count (350) or a fraction (0.1). '
                    'Default: 350 for flowers, 0.1 otherwise.')
flags.DEFINE_integer('seed', 0, 'Seed of the train/validation split.')
flags.DEFINE_integer('num_shards', None, 'TFRecord files per split '
                     '(folder datasets: default 5; visualwakewords: 100 '
                     'train, 10 val).')
flags.DEFINE_integer(
    'max_image_side', convert_folder.DEFAULT_MAX_IMAGE_SIDE,
    'Your own folder / flowers: images whose longer side is above this many '
    'pixels are stored downsized to it (logged and listed in the report), '
    'which keeps memory bounded when reading.')
flags.DEFINE_float(
    'small_object_area_threshold',
    download_and_convert_visualwakewords.SMALL_OBJECT_AREA_THRESHOLD,
    'visualwakewords: an object counts when its area is above this fraction '
    'of the image area.')
flags.DEFINE_string(
    'foreground_class_of_interest',
    download_and_convert_visualwakewords.FOREGROUND_CLASS_OF_INTEREST,
    'visualwakewords: the COCO category the classifier detects.')
flags.DEFINE_boolean('overwrite', False,
                     'Replace an existing dataset of the same name.')

FLAGS = flags.FLAGS


def _validation_size(value):
  if value is None:
    return None
  try:
    return float(value)
  except ValueError:
    raise staged_output.ConversionError(
        '--validation_size=%s is neither a count nor a fraction.' % value)


def _convert():
  return convert_dataset.convert(
      FLAGS.dataset_name, FLAGS.dataset_dir, source_dir=FLAGS.source_dir,
      validation_size=_validation_size(FLAGS.validation_size),
      seed=FLAGS.seed, num_shards=FLAGS.num_shards,
      overwrite=FLAGS.overwrite, max_image_side=FLAGS.max_image_side,
      small_object_area_threshold=FLAGS.small_object_area_threshold,
      foreground_class_of_interest=FLAGS.foreground_class_of_interest)


def main(_):
  try:
    _convert()
  except staged_output.ConversionError as error:
    raise common_flags.UserError(error) from error
  except KeyboardInterrupt as error:  # Ctrl-C, SIGTERM
    raise interrupts.Interrupted(
        getattr(error, 'signum', signal.SIGINT),
        'the conversion stopped; --dataset_dir=%s holds the dataset it held '
        'before (or the whole new one, had the files been swapped in '
        'already); rerun to convert' % FLAGS.dataset_dir) from error


if __name__ == '__main__':
  common_flags.run_main(main)
