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
    'quiz_%s_*.tfrecord', SPLITS_TO_SIZES, num_classes=200,
    items_to_descriptions={'image': 'A color image of varying size.',
                           'label': 'A single integer between 0 and 199'})
get_split = dataset_utils.split_getter(NAME, SPEC)
