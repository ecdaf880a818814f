"""MNIST: 28x28 grayscale digits, 60000 train / 10000 test.

    dataset = mnist.get_split('train', '/data/mnist')

`download_and_convert_data.py --dataset_name=mnist` writes
`mnist_<split>.tfrecord` of PNGs and labels.txt.
"""

import tf_compat  # noqa: F401

from datasets import dataset_utils

NAME = 'mnist'
SPLITS_TO_SIZES = {'train': 60000, 'test': 10000}
SPEC = dataset_utils.DatasetSpec(
    'mnist_%s.tfrecord', SPLITS_TO_SIZES, num_classes=10, channels=1,
    # slim's original MNIST records held raw pixels without a format.
    default_format='raw', image_shape=[28, 28, 1],
    class_names=tuple(str(digit) for digit in range(10)),
    items_to_descriptions={'image': 'A [28 x 28 x 1] grayscale image.',
                           'label': 'A single integer between 0 and 9'})
get_split = dataset_utils.split_getter(NAME, SPEC)
