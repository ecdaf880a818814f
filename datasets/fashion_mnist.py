"""Fashion-MNIST: 28x28 grayscale clothes, 10 classes, 60000 / 10000.

    dataset = fashion_mnist.get_split('test', '/data/fashion_mnist')

`download_and_convert_data.py --dataset_name=fashion_mnist` writes
`fashion_mnist_<split>.tfrecord` of PNGs and labels.txt.
"""

import tf_compat  # noqa: F401

from datasets import dataset_utils
from datasets import mnist

NAME = 'fashion_mnist'
SPLITS_TO_SIZES = {'train': 60000, 'test': 10000}
CLASS_NAMES = ('T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat',
               'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot')
# MNIST's layout and image size, stored as PNG.
SPEC = mnist.SPEC._replace(file_pattern='fashion_mnist_%s.tfrecord',
                           splits_to_sizes=SPLITS_TO_SIZES,
                           default_format='png', class_names=CLASS_NAMES)
get_split = dataset_utils.split_getter(NAME, SPEC)
