r"""Converts Keras' ImageNet DenseNet weights into a checkpoint for our nets.

Online (Keras downloads the weights to ~/.keras/models):

  python convert_keras_densenet.py --model_name=densenet121 \
      --output_path=/tmp/keras-densenet121/model.ckpt

Offline, from a weights file Keras downloaded earlier:

  python convert_keras_densenet.py --model_name=densenet169 \
      --keras_weights=densenet169_weights_tf_dim_ordering_tf_kernels.h5 \
      --output_path=/tmp/keras-densenet169/model.ckpt

Then fine-tune with `--model_name=densenet169
--checkpoint_path=/tmp/keras-densenet169/model.ckpt
--checkpoint_exclude_scopes=densenet169/logits`. By default the checkpoint
expects the inception preprocessing ([-1, 1] input) the scripts use for
DenseNets; see nets/densenet_keras_weights.py.
"""

import os

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf

import common_flags
from nets import densenet_keras_weights

flags = tf.app.flags
flags.DEFINE_string('model_name', 'densenet121',
                    'One of: %s.' % ', '.join(
                        sorted(densenet_keras_weights.KERAS_APPLICATIONS)))
flags.DEFINE_string('keras_weights', 'imagenet',
                    "'imagenet' to let Keras download them, or the path of a "
                    'Keras DenseNet weights file (.h5; "notop" files give a '
                    'checkpoint without the logits layer).')
flags.DEFINE_string('output_path', None, 'Checkpoint prefix to write.')
flags.DEFINE_enum('input_preprocessing', 'inception',
                  list(densenet_keras_weights.INPUT_PREPROCESSING),
                  "'inception': the checkpoint takes [-1, 1] images; "
                  "'keras': it takes Keras-preprocessed images.")
FLAGS = flags.FLAGS


def _check_flags():
  """Raises UserError, one line, for flags that cannot give a checkpoint."""
  if FLAGS.model_name not in densenet_keras_weights.KERAS_APPLICATIONS:
    raise common_flags.UserError(
        '--model_name=%s: Keras only has ImageNet weights for %s' % (
            FLAGS.model_name,
            ', '.join(sorted(densenet_keras_weights.KERAS_APPLICATIONS))))
  common_flags.require_flag(FLAGS, 'output_path',
                            'a checkpoint prefix to write')
  if (FLAGS.keras_weights != 'imagenet' and
      not os.path.isfile(FLAGS.keras_weights)):
    raise common_flags.UserError(
        '--keras_weights=%s: no such file; give the .h5 file Keras '
        "downloaded or 'imagenet'" % FLAGS.keras_weights)


def main(_):
  _check_flags()
  output_dir = os.path.dirname(os.path.abspath(FLAGS.output_path))
  try:
    os.makedirs(output_dir, exist_ok=True)
  except OSError as error:
    raise common_flags.UserError(
        '--output_path=%s: cannot create %s (%s)' % (
            FLAGS.output_path, output_dir, error.strerror)) from error
  try:
    path = densenet_keras_weights.convert(FLAGS.model_name, FLAGS.output_path,
                                          FLAGS.keras_weights,
                                          FLAGS.input_preprocessing)
  except (OSError, ValueError) as error:  # unreadable or mismatched file
    raise common_flags.UserError('--keras_weights=%s: %s' % (
        FLAGS.keras_weights, error)) from error
  print('Wrote %s (%s, %s input)' % (path, FLAGS.model_name,
                                     FLAGS.input_preprocessing))


if __name__ == '__main__':
  common_flags.run_main(main)
