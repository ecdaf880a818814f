"""The flags both MobileNet v1 scripts take, and how they map onto the library.

nets/mobilenet_v1_train.py and nets/mobilenet_v1_eval.py keep upstream
slim's command lines (names, defaults), which differ from
train_image_classifier.py's: --checkpoint_dir, --image_size,
--depth_multiplier, --num_classes, ... This module defines the flags the two
share once and turns them into the fields of the plain config the library
reads (`deployment.pipeline.pipeline_from_config`):

    mobilenet_v1_flags.define_flags(batch_size=64, split_name='train',
                                    quantize_help='...')
    ...
    values = mobilenet_v1_flags.data_and_network(FLAGS)

Upstream reads only ImageNet; --dataset_name (default imagenet) and
--dataset_split_name open every dataset of dataset_factory and every
converted folder.
"""

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf

import common_flags
from deployment import pipeline

flags = tf.app.flags

MODEL_NAME = 'mobilenet_v1'


def define_flags(batch_size, split_name, quantize_help):
  """Defines the flags of both scripts; the arguments are their defaults."""
  flags.DEFINE_string('master', '', 'Session master (the address of the '
                      'TensorFlow master; empty: this process).')
  flags.DEFINE_integer('batch_size', batch_size, 'Batch size.')
  flags.DEFINE_integer('num_classes', 1001,
                       'Number of classes to distinguish: the dataset\'s '
                       'class count, or one less to leave out its class 0 '
                       '(ImageNet\'s background: 1000).')
  flags.DEFINE_integer('image_size', 224, 'Input image resolution.')
  flags.DEFINE_float('depth_multiplier', 1.0,
                     'Depth multiplier for mobilenet: every layer\'s width '
                     'is scaled by it (released checkpoints: 1.0, 0.75, '
                     '0.5, 0.25).')
  flags.DEFINE_bool('quantize', False, quantize_help)
  flags.DEFINE_string('checkpoint_dir', '',
                      'The directory for checkpoints (required).')
  flags.DEFINE_string('dataset_dir', '', 'Location of dataset (required). ' +
                      common_flags.DATASET_DIR_HELP)
  flags.DEFINE_string('dataset_name', 'imagenet',
                      'The name of the dataset (see dataset_factory, or your '
                      'own converted folder\'s).')
  flags.DEFINE_string('dataset_split_name', split_name,
                      'The split to read (upstream: ImageNet\'s %s).' %
                      split_name)
  common_flags.require_positive('batch_size', 'num_classes', 'image_size',
                                'depth_multiplier')


def labels_offset(dataset, num_classes):
  """The library's labels_offset for --num_classes on `dataset`.

  Raises:
    UserError: unless num_classes is the dataset's class count or one less.
  """
  offset = dataset.num_classes - num_classes
  if offset not in (0, 1):
    raise common_flags.UserError(
        '--num_classes=%d does not fit --dataset_name=%s, which has %d '
        'classes: pass --num_classes=%d (or %d to leave out its class 0, '
        'e.g. ImageNet\'s background)' %
        (num_classes, dataset.name, dataset.num_classes, dataset.num_classes,
         dataset.num_classes - 1))
  return offset


def data_and_network(flags_obj):
  """The config fields that name the data and the network.

  Raises:
    UserError: a missing --dataset_dir, an unknown dataset or split, or a
      --num_classes that does not fit.
  """
  dataset = pipeline.load_dataset(flags_obj.dataset_name,
                                  flags_obj.dataset_split_name,
                                  flags_obj.dataset_dir)
  return dict(
      dataset_name=flags_obj.dataset_name,
      dataset_split_name=flags_obj.dataset_split_name,
      dataset_dir=flags_obj.dataset_dir,
      labels_offset=labels_offset(dataset, flags_obj.num_classes),
      model_name=MODEL_NAME,
      network_kwargs={'depth_multiplier': flags_obj.depth_multiplier},
      # Upstream's 'mobilenet_v1' preprocessing is Inception's, which the
      # network's registry row names.
      preprocessing_name=None,
      use_grayscale=False,
      num_frames=None)
