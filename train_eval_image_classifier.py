r"""Trains and evaluates in turn, one epoch at a time (the course's script).

    python train_eval_image_classifier.py --dataset_name=quiz \
        --dataset_dir=/data/quiz --model_name=densenet \
        --train_dir=/output/ckpt --learning_rate=0.1 \
        --dataset_split_name=validation --eval_dir=/output/eval \
        --max_num_batches=128 --clone_on_cpu=True

Each epoch runs train_image_classifier.py up to the epoch's last step
(epoch = step * batch_size / training examples), then eval_image_classifier.py
on `--dataset_split_name` of the newest checkpoint; both logs stream live and
the eval lines `eval/Accuracy[...]`, `eval/Recall_5[...]` appear after each
epoch. `<eval_dir>/train_eval.csv` gets (step, epoch, loss, lr, accuracy,
recall_5) and `<eval_dir>/train_eval.png` shows the curves.

The flags below are this script's. Any other flag (--learning_rate,
--optimizer, --clone_on_cpu, --checkpoint_exclude_scopes, ...; see
`python train_image_classifier.py --help`) goes to the training unchanged.
Optional flags reach the scripts only when given, so their defaults apply.
"""

import collections

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf

import common_flags
from deployment import checkpoints
from deployment import evaluation
from deployment import train_eval
from deployment import training

flags = tf.app.flags

flags.DEFINE_string('train_dir', '/tmp/tfmodel/',
                    'Directory where checkpoints and training summaries are '
                    'written (must be writable).')
flags.DEFINE_string('eval_dir', None,
                    'Directory for the eval summaries, the CSV and the PNG; '
                    'by default <train_dir>/eval.')
flags.DEFINE_string('train_split_name', 'train',
                    'The split to train on (--dataset_split_name is the one '
                    'evaluated).')
flags.DEFINE_string('checkpoint_path', None,
                    'Checkpoint (file or directory) to fine-tune from; used '
                    'only while --train_dir holds no checkpoint.')
flags.DEFINE_integer('batch_size', 32, 'Training batch size (per clone); '
                     'also the eval batch size unless --eval_batch_size.')
flags.DEFINE_integer('eval_batch_size', None,
                     'Eval batch size; by default --batch_size.')
flags.DEFINE_integer('max_num_batches', None,
                     'Batches per evaluation; by default the whole split.')
flags.DEFINE_integer('train_image_size', None,
                     'Train image size; by default the network\'s.')
flags.DEFINE_integer('eval_image_size', None,
                     'Eval image size; by default the network\'s.')
flags.DEFINE_integer('epochs', 10, 'Number of epochs to train (each followed '
                     'by an evaluation).')
flags.DEFINE_integer('max_number_of_steps', None,
                     'Stop at this global step even before --epochs.')
common_flags.define_dataset_flags(default_split_name='validation')
common_flags.define_model_flags()
flags.adopt_module_key_flags(common_flags)  # --help lists them too

FLAGS = flags.FLAGS

# Passed to both scripts, and only when given.
SHARED_OPTIONAL = ('dataset_name', 'dataset_dir', 'labels_offset',
                   'num_preprocessing_threads', 'model_name',
                   'preprocessing_name', 'use_grayscale',
                   'moving_average_decay')
TRAIN_OPTIONAL = ('batch_size', 'train_image_size', 'checkpoint_path')
EVAL_OPTIONAL = ('eval_image_size', 'max_num_batches')


def given(names):
  return {name: FLAGS[name].value for name in names if FLAGS[name].present}


def train_args(passthrough):
  values = given(SHARED_OPTIONAL + TRAIN_OPTIONAL)
  values.update(train_dir=FLAGS.train_dir,
                dataset_split_name=FLAGS.train_split_name)
  return train_eval.flag_args(values) + list(passthrough)


def eval_args(eval_dir):
  values = given(SHARED_OPTIONAL + EVAL_OPTIONAL)
  values.update(checkpoint_path=FLAGS.train_dir, eval_dir=eval_dir,
                dataset_split_name=FLAGS.dataset_split_name,
                batch_size=FLAGS.eval_batch_size or FLAGS.batch_size)
  return train_eval.flag_args(values)


def check_flags():
  for name in ('batch_size', 'eval_batch_size', 'max_num_batches', 'epochs',
               'max_number_of_steps'):
    value = getattr(FLAGS, name)
    if value is not None and value < 1:
      raise common_flags.UserError('--%s=%s must be at least 1' %
                                   (name, value))
  common_flags.require_flag(FLAGS, 'train_dir',
                            'pass a writable directory (e.g. /output/ckpt)')


def _split(split_name):
  """The dataset descriptor of one split; UserError when it is missing."""
  split_flags = collections.namedtuple(
      'SplitFlags', 'dataset_name dataset_split_name dataset_dir')
  return common_flags.load_dataset(split_flags(
      FLAGS.dataset_name, split_name, FLAGS.dataset_dir))


def check_inputs():
  """Checks both splits and the model before the first step.

  Returns:
    The number of training examples.

  Raises:
    UserError: for a missing or empty split or an unknown --model_name.
  """
  from nets import nets_factory  # pylint: disable=g-import-not-at-top
  if FLAGS.model_name not in nets_factory.networks_map:
    raise common_flags.UserError(
        '--model_name=%s is not a known network (e.g. %s)' %
        (FLAGS.model_name, ', '.join(sorted(nets_factory.networks_map)[:8])))
  train_split = _split(FLAGS.train_split_name)
  eval_split = _split(FLAGS.dataset_split_name)
  for dataset, flag in ((train_split, 'train_split_name'),
                        (eval_split, 'dataset_split_name')):
    try:
      training.check_has_records(dataset, dataset.split_name)
    except common_flags.UserError as error:
      raise common_flags.UserError(
          str(error).replace('--dataset_split_name', '--' + flag, 1)
      ) from error
  return train_split.num_samples


def newest_step():
  return checkpoints.step_from_name(
      checkpoints.latest_listed(FLAGS.train_dir)) or 0


def main(argv):
  train_eval.exit_on_sigterm()
  passthrough = argv[1:]
  check_flags()
  tf.logging.set_verbosity(tf.logging.INFO)
  eval_dir = FLAGS.eval_dir or FLAGS.train_dir.rstrip('/') + '/eval'
  evaluation.prepare_eval_dir(eval_dir)

  num_samples = check_inputs()
  num_clones = int(train_eval.flag_value(passthrough, 'num_clones', 1))
  images_per_step = FLAGS.batch_size * num_clones
  epoch_steps = train_eval.steps_per_epoch(num_samples, images_per_step)
  final_step = FLAGS.epochs * epoch_steps
  if FLAGS.max_number_of_steps:
    final_step = min(final_step, FLAGS.max_number_of_steps)
  start_step = newest_step()
  targets = train_eval.epoch_targets(start_step, epoch_steps, final_step)
  tf.logging.info('train_eval: %d examples, %d steps per epoch, final step '
                  '%d, starting at step %d: %d epoch(s) to run',
                  num_samples, epoch_steps, final_step, start_step,
                  len(targets))
  if not targets:
    tf.logging.info('%s is already at the final step; evaluating only',
                    FLAGS.train_dir)
  try:
    if targets:
      train_eval.run_epochs(train_args(passthrough), eval_args(eval_dir),
                            targets, eval_dir, images_per_step, num_samples,
                            newest_step, title=FLAGS.model_name)
    else:
      train_eval.evaluate(eval_args(eval_dir))
  except train_eval.ChildFailedError as error:
    raise common_flags.UserError(str(error)) from error


if __name__ == '__main__':
  common_flags.run_main(main)
