r"""Trains MobileNet v1 with upstream slim's nets/mobilenet_v1_train.py flags.

    python nets/mobilenet_v1_train.py --dataset_dir=/data/imagenet \
        --checkpoint_dir=/output/mobilenet_v1 --depth_multiplier=0.5 \
        --image_size=160
    # quantization-aware, from a float checkpoint (quantizes from step 0)
    python nets/mobilenet_v1_train.py --dataset_dir=/data/imagenet \
        --checkpoint_dir=/output/mobilenet_v1_quant --quantize=True \
        --fine_tune_checkpoint=/ckpt/mobilenet_v1_1.0_224.ckpt

Upstream's recipe: plain SGD, learning rate 0.045 (1e-4 when fine-tuning)
times 0.94 every 2.5 epochs, L2 weight decay 4e-5, Inception preprocessing;
with --quantize, the forward pass is fake-quantized from step 250000 (from
the start when fine-tuning). Training itself is train_image_classifier.py's
(deployment/training.py): rerunning the command resumes from the last
checkpoint in --checkpoint_dir, and --fine_tune_checkpoint only warm-starts a
new run, skipping variables it lacks (the quantization ranges of a float
checkpoint). Beyond upstream: any dataset (--dataset_name,
--dataset_split_name) and --checkpoint_exclude_scopes (a fine-tuning
checkpoint with another class count).
"""

import os
import sys
import types

# Run as a file (python nets/mobilenet_v1_train.py), the repository root is
# not on the path; the modules below live there.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tf_compat  # noqa: E402,F401
import tensorflow.compat.v1 as tf  # noqa: E402

import common_flags  # noqa: E402
from deployment import training  # noqa: E402
import mobilenet_v1_flags  # noqa: E402
import training_flags  # noqa: E402

# Read before this script's flags exist: several share the training flags'
# names (batch_size, master, ...).
TRAINING_DEFAULTS = training_flags.training_flag_defaults()

flags = tf.app.flags

mobilenet_v1_flags.define_flags(
    batch_size=64, split_name='train',
    quantize_help='Quantize training: fold batch norm and fake-quantize '
    'weights and activations (from step 250000, or from the start with '
    '--fine_tune_checkpoint).')
flags.DEFINE_integer('task', 0, 'Task id of this replica (0 is the chief).')
flags.DEFINE_integer('ps_tasks', 0, 'Number of ps.')
flags.DEFINE_integer('number_of_steps', None,
                     'Number of training steps to perform before stopping; '
                     'None trains until stopped.')
flags.DEFINE_string('fine_tune_checkpoint', '',
                    'Checkpoint from which to start finetuning (file or '
                    'directory); used only when --checkpoint_dir holds no '
                    'checkpoint yet.')
flags.DEFINE_string('checkpoint_exclude_scopes', None,
                    'Comma-separated scopes not to restore from '
                    '--fine_tune_checkpoint (e.g. MobilenetV1/Logits for '
                    'another class count).')
flags.DEFINE_integer('log_every_n_steps', 100, 'Number of steps per log.')
flags.DEFINE_integer('save_summaries_secs', 100,
                     'How often to save summaries, secs.')
flags.DEFINE_integer('save_interval_secs', 100,
                     'How often to save checkpoints, secs.')
flags.adopt_module_key_flags(mobilenet_v1_flags)  # --help lists them too
common_flags.require_positive('number_of_steps', 'log_every_n_steps')
common_flags.require_at_least(0, 'task', 'ps_tasks', 'save_summaries_secs',
                              'save_interval_secs')

FLAGS = flags.FLAGS

# Upstream's schedule and quantization delay.
LEARNING_RATE = 0.045
FINE_TUNE_LEARNING_RATE = 1e-4
LEARNING_RATE_DECAY_FACTOR = 0.94
NUM_EPOCHS_PER_DECAY = 2.5
WEIGHT_DECAY = 0.00004
QUANT_DELAY = 250000


def quant_delay(quantize, fine_tuning):
  """Global step from which to fake-quantize; -1: never (float training).

  A network trained from scratch first learns in float; a float checkpoint
  being fine-tuned is quantized from the first step.
  """
  if not quantize:
    return -1
  return 0 if fine_tuning else QUANT_DELAY


def training_config(flags_obj):
  """The training library's config for this script's flags."""
  fine_tuning = bool(flags_obj.fine_tune_checkpoint)
  values = dict(TRAINING_DEFAULTS)
  values.update(mobilenet_v1_flags.data_and_network(flags_obj))
  values.update(
      master=flags_obj.master, task=flags_obj.task,
      num_ps_tasks=flags_obj.ps_tasks, train_dir=flags_obj.checkpoint_dir,
      batch_size=flags_obj.batch_size, train_image_size=flags_obj.image_size,
      max_number_of_steps=flags_obj.number_of_steps,
      log_every_n_steps=flags_obj.log_every_n_steps,
      save_summaries_secs=flags_obj.save_summaries_secs,
      save_interval_secs=flags_obj.save_interval_secs,
      optimizer='sgd', learning_rate_decay_type='exponential',
      learning_rate=(FINE_TUNE_LEARNING_RATE if fine_tuning
                     else LEARNING_RATE),
      learning_rate_decay_factor=LEARNING_RATE_DECAY_FACTOR,
      num_epochs_per_decay=NUM_EPOCHS_PER_DECAY, weight_decay=WEIGHT_DECAY,
      checkpoint_path=flags_obj.fine_tune_checkpoint or None,
      checkpoint_exclude_scopes=flags_obj.checkpoint_exclude_scopes,
      # A float checkpoint has no quantization ranges: they start afresh.
      ignore_missing_vars=True,
      quantize_delay=quant_delay(flags_obj.quantize, fine_tuning))
  return types.SimpleNamespace(**values)


def main(argv):
  del argv  # run_main refuses unknown flags and arguments
  tf.logging.set_verbosity(tf.logging.INFO)
  common_flags.require_flag(FLAGS, 'checkpoint_dir', 'pass a writable '
                            'directory for checkpoints and summaries')
  config = training_config(FLAGS)
  tf.logging.info(
      'MobileNet v1, depth multiplier %g, %dx%d images: learning rate %g, '
      'quantize_delay %d', FLAGS.depth_multiplier, FLAGS.image_size,
      FLAGS.image_size, config.learning_rate, config.quantize_delay)
  training.train_from_flags(config)


if __name__ == '__main__':
  common_flags.run_main(main)
