"""Visual Wake Words: COCO 2014 images labelled person (1) / not-person (0).

    dataset = visualwakewords.get_split('val', '/data/vww')
    provider = slim.dataset_data_provider.DatasetDataProvider(dataset)
    image, label, bboxes = provider.get(['image', 'label', 'object/bbox'])

An image is 'person' when at least one person annotation covers more than
0.5% of the image (`small_object_area_threshold`); its boxes are those
persons'. `download_and_convert_data.py --dataset_name=visualwakewords
--source_dir=<COCO root>` writes `train.record-*` (from train2014) and
`val.record-*` (from val2014), labels.txt and the metadata file.
"""

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf
import tf_slim as slim

from datasets import dataset_utils

NAME = 'visualwakewords'
SPLITS_TO_SIZES = {'train': 82783, 'val': 40504}
SPEC = dataset_utils.DatasetSpec(
    file_pattern='%s.record-*',
    splits_to_sizes=SPLITS_TO_SIZES,
    num_classes=2,
    channels=3,
    default_format='jpeg',
    # What the converter writes to labels.txt (upstream's names).
    class_names=('background', 'person'),
    items_to_descriptions={
        'image': 'A color image of varying height and width.',
        'label': 'The label id of the image, an integer in {0, 1}',
        'object/bbox': 'A list of bounding boxes.',
    })


def _decoder():
  keys_to_features = {
      'image/encoded': tf.FixedLenFeature((), tf.string, default_value=''),
      'image/format': tf.FixedLenFeature((), tf.string, default_value='jpeg'),
      'image/class/label': tf.FixedLenFeature([], tf.int64, default_value=-1),
      'image/object/bbox/xmin': tf.VarLenFeature(tf.float32),
      'image/object/bbox/ymin': tf.VarLenFeature(tf.float32),
      'image/object/bbox/xmax': tf.VarLenFeature(tf.float32),
      'image/object/bbox/ymax': tf.VarLenFeature(tf.float32),
  }
  items_to_handlers = {
      'image': slim.tfexample_decoder.Image('image/encoded', 'image/format'),
      'label': slim.tfexample_decoder.Tensor('image/class/label'),
      'object/bbox': slim.tfexample_decoder.BoundingBox(
          ['ymin', 'xmin', 'ymax', 'xmax'], 'image/object/bbox/'),
  }
  return slim.tfexample_decoder.TFExampleDecoder(keys_to_features,
                                                 items_to_handlers)


def get_split(split_name, dataset_dir, file_pattern=None, reader=None):
  """Returns one split as a `slim.dataset.Dataset`.

  Args:
    split_name: 'train' or 'val'.
    dataset_dir: the folder the converter wrote.
    file_pattern: overrides `%s.record-*` (%s = split name).
    reader: slim's reader class; default `tf.TFRecordReader`.

  Raises:
    ValueError: an unknown split, or no shard matches.
  """
  return dataset_utils.make_split(NAME, SPEC, split_name, dataset_dir,
                                  file_pattern, reader, _decoder())
