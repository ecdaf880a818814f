"""CIFAR-10: 32x32 colour images of 10 classes, 50000 train / 10000 test.

    dataset = cifar10.get_split('test', '/data/cifar10')

`download_and_convert_data.py --dataset_name=cifar10` writes
`cifar10_<split>.tfrecord` of PNGs and labels.txt.
"""

import tf_compat  # noqa: F401

from datasets import dataset_utils

NAME = 'cifar10'
SPLITS_TO_SIZES = {'train': 50000, 'test': 10000}
CLASS_NAMES = ('airplane', 'automobile', 'bird', 'cat', 'deer', 'dog',
               'frog', 'horse', 'ship', 'truck')
SPEC = dataset_utils.DatasetSpec(
    file_pattern='cifar10_%s.tfrecord',
    splits_to_sizes=SPLITS_TO_SIZES,
    num_classes=10,
    channels=3,
    default_format='png',
    class_names=CLASS_NAMES,
    items_to_descriptions={
        'image': 'A [32 x 32 x 3] color image.',
        'label': 'A single integer between 0 and 9',
    })


def get_split(split_name, dataset_dir, file_pattern=None, reader=None):
  """Returns one split as a `slim.dataset.Dataset`.

  slim's decoder gives [32, 32, 3] images, as upstream's.

  Args:
    split_name: 'train' or 'test'.
    dataset_dir: the folder holding the converted file(s).
    file_pattern: overrides `cifar10_%s.tfrecord` (%s = split name).
    reader: slim's reader class; default `tf.TFRecordReader`.

  Raises:
    ValueError: an unknown split, or no file matches.
  """
  decoder = dataset_utils.image_label_decoder('png', 3, [32, 32, 3])
  return dataset_utils.make_split(NAME, SPEC, split_name, dataset_dir,
                                  file_pattern, reader, decoder)
