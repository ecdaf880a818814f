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
    file_pattern='flowers_%s_*.tfrecord',
    splits_to_sizes=SPLITS_TO_SIZES,
    num_classes=5,
    channels=3,
    default_format='png',
    class_names=None,
    items_to_descriptions={
        'image': 'A color image of varying size.',
        'label': 'A single integer between 0 and 4',
    })


def get_split(split_name, dataset_dir, file_pattern=None, reader=None):
  """Returns one split as a `slim.dataset.Dataset`.

  Args:
    split_name: 'train' or 'validation'.
    dataset_dir: the folder holding the converted shards and labels.txt.
    file_pattern: overrides `flowers_%s_*.tfrecord` (%s = split name).
    reader: slim's reader class; default `tf.TFRecordReader`.

  Raises:
    ValueError: an unknown split, or no shard matches.
  """
  return dataset_utils.make_split(NAME, SPEC, split_name, dataset_dir,
                                  file_pattern, reader)
