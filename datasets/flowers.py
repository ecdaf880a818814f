"""The TensorFlow flowers photos: 5 classes, slim's 3320/350 split.

    dataset = flowers.get_split('validation', '/data/flowers')
    provider = slim.dataset_data_provider.DatasetDataProvider(dataset)
    [image, label] = provider.get(['image', 'label'])

`download_and_convert_data.py --dataset_name=flowers` writes the shards.
"""

import tf_compat  # noqa: F401

from datasets import dataset_utils

NAME = 'flowers'
SPLITS_TO_SIZES = {'train': 3320, 'validation': 350}
SPEC = dataset_utils.DatasetSpec(
    'flowers_%s_*.tfrecord', SPLITS_TO_SIZES, num_classes=5,
    items_to_descriptions={'image': 'A color image of varying size.',
                           'label': 'A single integer between 0 and 4'})
get_split = dataset_utils.split_getter(NAME, SPEC)
