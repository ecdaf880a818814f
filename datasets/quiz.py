"""The course's quiz dataset: 200 classes, 50000 train / 10000 validation.

    dataset = quiz.get_split('train', '/data/quiz')

The course ships the shards (`quiz_<split>_*.tfrecord`, JPEG bytes whose
`image/height`/`image/width` say 320 whatever the real size); the readers
decode the bytes and ignore the stored size.
"""

import tf_compat  # noqa: F401

from datasets import dataset_utils

NAME = 'quiz'
SPLITS_TO_SIZES = {'train': 50000, 'validation': 10000}
SPEC = dataset_utils.DatasetSpec(
    file_pattern='quiz_%s_*.tfrecord',
    splits_to_sizes=SPLITS_TO_SIZES,
    num_classes=200,
    channels=3,
    default_format='png',
    class_names=None,
    items_to_descriptions={
        'image': 'A color image of varying size.',
        'label': 'A single integer between 0 and 199',
    })


def get_split(split_name, dataset_dir, file_pattern=None, reader=None):
  """Returns one split as a `slim.dataset.Dataset`.

  Args:
    split_name: 'train' or 'validation'.
    dataset_dir: the folder holding the shards (and labels.txt, if any).
    file_pattern: overrides `quiz_%s_*.tfrecord` (%s = split name).
    reader: slim's reader class; default `tf.TFRecordReader`.

  Raises:
    ValueError: an unknown split, or no shard matches.
  """
  return dataset_utils.make_split(NAME, SPEC, split_name, dataset_dir,
                                  file_pattern, reader)
