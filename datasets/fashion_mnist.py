"""Fashion-MNIST: 28x28 grayscale clothes, 10 classes, 60000 / 10000.

    dataset = fashion_mnist.get_split('test', '/data/fashion_mnist')

`download_and_convert_data.py --dataset_name=fashion_mnist` writes
`fashion_mnist_<split>.tfrecord` of PNGs and labels.txt.
"""

import tf_compat  # noqa: F401

from datasets import dataset_utils

NAME = 'fashion_mnist'
SPLITS_TO_SIZES = {'train': 60000, 'test': 10000}
CLASS_NAMES = ('T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat',
               'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot')
SPEC = dataset_utils.DatasetSpec(
    file_pattern='fashion_mnist_%s.tfrecord',
    splits_to_sizes=SPLITS_TO_SIZES,
    num_classes=10,
    channels=1,
    default_format='png',
    class_names=CLASS_NAMES,
    items_to_descriptions={
        'image': 'A [28 x 28 x 1] grayscale image.',
        'label': 'A single integer between 0 and 9',
    })


def get_split(split_name, dataset_dir, file_pattern=None, reader=None):
  """Returns one split as a `slim.dataset.Dataset`.

  Args:
    split_name: 'train' or 'test'.
    dataset_dir: the folder holding the converted file(s).
    file_pattern: overrides `fashion_mnist_%s.tfrecord` (%s = split name).
    reader: slim's reader class; default `tf.TFRecordReader`.

  Raises:
    ValueError: an unknown split, or no file matches.
  """
  decoder = dataset_utils.image_label_decoder('png', 1, [28, 28, 1])
  return dataset_utils.make_split(NAME, SPEC, split_name, dataset_dir,
                                  file_pattern, reader, decoder)
