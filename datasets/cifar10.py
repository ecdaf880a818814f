"""CIFAR-10: 32x32 colour images of 10 classes, 50000 train / 10000 test.

    dataset = cifar10.get_split('test', '/data/cifar10')

`download_and_convert_data.py --dataset_name=cifar10` writes
`cifar10_<split>.tfrecord` of PNGs and labels.txt. slim's decoder gives
[32, 32, 3] images, as upstream's.
"""

import tf_compat  # noqa: F401

from datasets import dataset_utils

NAME = 'cifar10'
SPLITS_TO_SIZES = {'train': 50000, 'test': 10000}
CLASS_NAMES = ('airplane', 'automobile', 'bird', 'cat', 'deer', 'dog',
               'frog', 'horse', 'ship', 'truck')
SPEC = dataset_utils.DatasetSpec(
    'cifar10_%s.tfrecord', SPLITS_TO_SIZES, num_classes=10,
    class_names=CLASS_NAMES, image_shape=[32, 32, 3],
    items_to_descriptions={'image': 'A [32 x 32 x 3] color image.',
                           'label': 'A single integer between 0 and 9'})
get_split = dataset_utils.split_getter(NAME, SPEC)
