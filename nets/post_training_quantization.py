r"""Writes a fully int8 LiteRT model (int8 input and output) from a checkpoint.

Upstream slim's post-training quantization, with upstream's flags, reading
the calibration images from this project's datasets (any dataset_factory
name or your own converted folder; no TFDS download):

    python nets/post_training_quantization.py --model_name=mobilenet_v2 \
      --checkpoint_path=/tmp/mobilenet_v2_1.0_224.ckpt \
      --dataset_name=imagenet --dataset_dir=/data/imagenet \
      --dataset_split=validation --output_tflite=/tmp/mobilenet_v2_int8.tflite

--num_steps images of --dataset_split calibrate the ranges. They are
preprocessed as upstream does (central crop with 32 px padding, bicubic
resize, scaled to [-1, 1]) or, with --use_model_specific_preprocessing, with
the network's own evaluation preprocessing. The .tflite records the
network's evaluation preprocessing, its image size, the class names and the
labels offset (the dataset's classes minus --num_classes), so label_image.py,
server.py and eval_image_classifier.py --model_file use it as it is. The
conversion is export_inference_graph.py --output_format=tflite
--tflite_quantization=int8's.
"""

import os
import sys

# Run as `python nets/post_training_quantization.py` (upstream's usage):
# the packages live one folder up.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

import tf_compat  # noqa: E402,F401
import tensorflow.compat.v1 as tf  # noqa: E402

import common_flags  # noqa: E402
from deployment import inference  # noqa: E402
from deployment import model_conversion  # noqa: E402
from deployment import pipeline  # noqa: E402

flags = tf.app.flags
flags.DEFINE_string('model_name', None,
                    'The name of the architecture to quantize.')
flags.DEFINE_string('checkpoint_path', None,
                    'Path to the training checkpoint (or its directory).')
flags.DEFINE_string('dataset_name', 'imagenet2012',
                    'Name of the dataset to use for quantization calibration '
                    '(a dataset_factory name or your converted folder\'s; '
                    'imagenet2012, TFDS\'s name, reads imagenet).')
flags.DEFINE_string('dataset_dir', None, 'Dataset location.')
flags.DEFINE_string('dataset_split', 'train',
                    'The dataset split (train, validation etc.) to use for '
                    'calibration.')
flags.DEFINE_string('output_tflite', None, 'Path to output tflite file.')
flags.DEFINE_boolean('use_model_specific_preprocessing', False,
                     'When true, uses the preprocessing corresponding to the '
                     'model as specified in preprocessing factory.')
flags.DEFINE_boolean('enable_ema', True,
                     'Load exponential moving average version of variables.')
flags.DEFINE_integer('num_steps', 1000,
                     'Number of post-training quantization calibration steps '
                     'to run.')
flags.DEFINE_integer('image_size', 224, 'Size of the input image.')
flags.DEFINE_integer('num_classes', 1001,
                     'Number of output classes for the model.')
common_flags.require_positive('num_steps', 'image_size', 'num_classes')
FLAGS = flags.FLAGS

# TFDS names upstream's default uses, and the dataset each is here.
_TFDS_NAMES = {'imagenet2012': 'imagenet'}
_CROP_PADDING = 32


def _upstream_preprocessing(image, height, width):
  """Upstream's calibration preprocessing: the central square shrunk by
  `_CROP_PADDING` px (at the output size), bicubic resize, [-1, 1]."""
  shape = tf.shape(image)
  side = tf.cast(tf.cast(tf.minimum(shape[0], shape[1]), tf.float32) *
                 (height / float(height + _CROP_PADDING)), tf.int32)
  image = tf.image.crop_to_bounding_box(
      image, (shape[0] - side + 1) // 2, (shape[1] - side + 1) // 2, side,
      side)
  image = tf.image.resize([image], [height, width],
                          method=tf.image.ResizeMethod.BICUBIC)[0]
  return (tf.cast(image, tf.float32) - 127.5) / 127.5


def _spec(dataset):
  labels_offset = dataset.num_classes - FLAGS.num_classes
  if labels_offset < 0:
    raise common_flags.UserError(
        '--num_classes=%d is more than the %d classes of --dataset_name=%s' %
        (FLAGS.num_classes, dataset.num_classes, FLAGS.dataset_name))
  return inference.make_spec(
      FLAGS.model_name, FLAGS.num_classes, image_size=FLAGS.image_size,
      channels=dataset.channels, labels_offset=labels_offset,
      labels_to_names=dataset.labels_to_names)


def _frozen(graph_def, info):
  try:
    return inference.freeze_graph_def(
        graph_def, FLAGS.checkpoint_path, [info['output_node']],
        moving_averages=FLAGS.enable_ema)
  except common_flags.UserError as error:
    if FLAGS.enable_ema and 'no moving averages' in str(error):
      raise common_flags.UserError(
          '--checkpoint_path=%s holds no moving averages; pass '
          '--enable_ema=false' % FLAGS.checkpoint_path) from error
    raise


def main(_):
  for name in ('model_name', 'checkpoint_path', 'dataset_dir',
               'output_tflite'):
    common_flags.require_flag(FLAGS, name, 'see --help')
  dataset = pipeline.load_dataset(
      _TFDS_NAMES.get(FLAGS.dataset_name, FLAGS.dataset_name),
      FLAGS.dataset_split, FLAGS.dataset_dir)
  graph_def, info = inference.export_graph_def(_spec(dataset))
  frozen = _frozen(graph_def, info)
  calibration = model_conversion.CalibrationSet(
      dataset, info, FLAGS.num_steps,
      preprocess_fn=(None if FLAGS.use_model_specific_preprocessing
                     else _upstream_preprocessing))
  data = model_conversion.tflite_model(frozen, info, 'int8', calibration)
  model_conversion.write_model(data, FLAGS.output_tflite, '--output_tflite')
  print('tflite model written to %s' % FLAGS.output_tflite)


if __name__ == '__main__':
  common_flags.run_main(main)
