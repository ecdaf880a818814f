"""MNIST: 28x28 grayscale digits, 60000 train / 10000 test.

    dataset = mnist.get_split('train', '/data/mnist')

`download_and_convert_data.py --dataset_name=mnist` writes
`mnist_<split>.tfrecord` of PNGs and labels.txt.
"""

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf
import tf_slim as slim

from datasets import dataset_utils

NAME = 'mnist'
SPLITS_TO_SIZES = {'train': 60000, 'test': 10000}
SPEC = dataset_utils.DatasetSpec(
    file_pattern='mnist_%s.tfrecord',
    splits_to_sizes=SPLITS_TO_SIZES,
    num_classes=10,
    channels=1,
    # slim's original MNIST records held raw pixels without a format.
    default_format='raw',
    class_names=tuple(str(digit) for digit in range(10)),
    items_to_descriptions={
        'image': 'A [28 x 28 x 1] grayscale image.',
        'label': 'A single integer between 0 and 9',
    })


def _decoder():
  # As upstream: the label is read as a 1-vector and handed out as a scalar.
  keys_to_features = {
      'image/encoded': tf.FixedLenFeature((), tf.string, default_value=''),
      'image/format': tf.FixedLenFeature((), tf.string, default_value='raw'),
      # A plain default, not a tensor: see dataset_utils.image_label_decoder.
      'image/class/label': tf.FixedLenFeature([1], tf.int64,
                                              default_value=[0]),
  }
  items_to_handlers = {
      'image': slim.tfexample_decoder.Image(shape=[28, 28, 1], channels=1),
      'label': slim.tfexample_decoder.Tensor('image/class/label', shape=[]),
  }
  return slim.tfexample_decoder.TFExampleDecoder(keys_to_features,
                                                 items_to_handlers)


def get_split(split_name, dataset_dir, file_pattern=None, reader=None):
  """Returns one split as a `slim.dataset.Dataset`.

  Args:
    split_name: 'train' or 'test'.
    dataset_dir: the folder holding the converted file(s).
    file_pattern: overrides `mnist_%s.tfrecord` (%s = split name).
    reader: slim's reader class; default `tf.TFRecordReader`.

  Raises:
    ValueError: an unknown split, or no file matches.
  """
  return dataset_utils.make_split(NAME, SPEC, split_name, dataset_dir,
                                  file_pattern, reader, _decoder())
