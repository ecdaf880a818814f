"""Dataset names -> slim's dataset modules, and your converted folders.

    dataset = dataset_factory.get_dataset('quiz', 'train', '/data/quiz')

`dataset` is the `slim.dataset.Dataset` the module's `get_split` returns
(`quiz.get_split('train', '/data/quiz')` is the same), so both readers take
it:

    provider = slim.dataset_data_provider.DatasetDataProvider(dataset)
    [image, label] = provider.get(['image', 'label'])       # slim's queues
    images, labels = input_pipeline.make_dataset(dataset, ...)  # tf.data

Registered datasets carry slim's split sizes. Any other name works when its
directory holds `<name>_metadata.json`, which `download_and_convert_data.py`
writes beside the shards it converts from a folder. When a registered dataset's
directory holds that file too (fake data, a re-split copy), its sizes win.
Class names come from `<name>_labels.txt`, else from the shared `labels.txt`
of datasets converted elsewhere (the course's quiz). A conversion that a kill
stopped while swapping files in is finished before the dataset is read.
"""

import os

import tf_compat  # noqa: F401

from datasets import cifar10
from datasets import dataset_utils
from datasets import fashion_mnist
from datasets import flowers
from datasets import imagenet
from datasets import mnist
from datasets import quiz
from datasets import visualwakewords

datasets_map = {
    'cifar10': cifar10,
    'fashion_mnist': fashion_mnist,
    'flowers': flowers,
    'imagenet': imagenet,
    'mnist': mnist,
    'quiz': quiz,
    'visualwakewords': visualwakewords,
}

# The registered datasets' facts, read by the converters, fake data and
# export; each module's SPEC is the only copy.
SPECS = {name: module.SPEC for name, module in datasets_map.items()}

DatasetSpec = dataset_utils.DatasetSpec
decode_image = dataset_utils.decode_image


def dataset_names():
  return sorted(datasets_map)


def get_dataset(name, split_name, dataset_dir, file_pattern=None,
                reader=None):
  """Returns one split as a `slim.dataset.Dataset` (a `SplitDataset`).

  Args:
    name: a registered dataset name, or the name of a dataset converted from
      a folder (its directory holds `<name>_metadata.json`).
    split_name: 'train', 'validation', 'test', ... as the dataset has.
    dataset_dir: the directory holding the shards; only written to finish a
      conversion that a kill stopped mid-swap.
    file_pattern: overrides the dataset's file pattern; may contain %s for
      the split name and is relative to `dataset_dir`.
    reader: slim's reader class; default `tf.TFRecordReader`.

  Raises:
    ValueError: with one line naming the bad name, split or directory.
  """
  if name in datasets_map:
    return datasets_map[name].get_split(split_name, dataset_dir,
                                        file_pattern, reader)
  if dataset_dir and os.path.isdir(dataset_dir):
    dataset_utils.finish_interrupted_conversion(dataset_dir, name)
  if (dataset_dir and os.path.isdir(dataset_dir) and
      dataset_utils.read_metadata(dataset_dir, name) is None):
    raise ValueError(
        'Unknown dataset_name %r: it is not one of %s and %s does not exist. '
        'Convert your folder first: python download_and_convert_data.py '
        '--dataset_name=%s --dataset_dir=%s' %
        (name, ', '.join(dataset_names()),
         dataset_utils.metadata_path(dataset_dir, name), name, dataset_dir))
  return dataset_utils.make_split(name, None, split_name, dataset_dir,
                                  file_pattern, reader)
