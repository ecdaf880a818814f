r"""Trains and evaluates in turn, one epoch at a time (the course's script).

    python train_eval_image_classifier.py --dataset_name=quiz \
        --dataset_dir=/data/quiz --model_name=densenet \
        --train_dir=/output/ckpt --learning_rate=0.1 \
        --dataset_split_name=validation --eval_dir=/output/eval \
        --max_num_batches=128 --clone_on_cpu=True

One process trains (epoch = step * batch_size / training examples) and, at
the last step of every epoch, saves a checkpoint and evaluates it on
`--dataset_split_name`; the eval lines `eval/Accuracy[...]` and
`eval/Recall_5[...]` appear after each epoch. `<eval_dir>/train_eval.csv`
gets (step, epoch, loss, lr, accuracy, recall_5) and
`<eval_dir>/train_eval.png` shows the curves. Rerunning the same command
resumes from the last checkpoint in --train_dir.

It takes every flag of train_image_classifier.py (--learning_rate,
--optimizer, --clone_on_cpu, --checkpoint_path, ...), with
--dataset_split_name naming the evaluated split and --train_split_name the
trained one, plus the evaluation flags below.
"""

import functools

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf

import common_flags
from deployment import checkpoints
from deployment import evaluation
from deployment import pipeline
from deployment import train_eval
from deployment import training
import training_flags

flags = tf.app.flags

training_flags.define_training_flags(default_split_name='validation')
flags.DEFINE_string('eval_dir', None,
                    'Directory for the eval summaries, the CSV and the PNG; '
                    'by default <train_dir>/eval.')
flags.DEFINE_string('train_split_name', 'train',
                    'The split to train on (--dataset_split_name is the one '
                    'evaluated).')
flags.DEFINE_integer('eval_batch_size', None,
                     'Eval batch size; by default --batch_size.')
flags.DEFINE_integer('max_num_batches', None,
                     'Batches per evaluation; by default the whole split.')
flags.DEFINE_integer('eval_image_size', None,
                     'Eval image size; by default the network\'s.')
flags.DEFINE_integer('epochs', 10, 'Number of epochs to train (each followed '
                     'by an evaluation).')
common_flags.require_non_empty('eval_dir')
flags.adopt_module_key_flags(common_flags)  # --help lists them too
flags.adopt_module_key_flags(training_flags)

FLAGS = flags.FLAGS


def check_flags():
  common_flags.require_flag(FLAGS, 'train_dir',
                            'pass a writable directory (e.g. /output/ckpt)')


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
  train_split = _checked_split('train_split_name')
  _checked_split('dataset_split_name')
  return train_split.num_samples


def _checked_split(flag):
  """The split flag `flag` names; UserError naming that flag if empty."""
  dataset = pipeline.load_dataset(FLAGS.dataset_name, getattr(FLAGS, flag),
                                  FLAGS.dataset_dir)
  try:
    training.check_has_records(dataset, dataset.split_name)
  except common_flags.UserError as error:
    raise common_flags.UserError(
        str(error).replace('--dataset_split_name', '--' + flag, 1)) from error
  return dataset


def build_evaluation(eval_dir):
  """`fn(checkpoint) -> EvalResult` over --dataset_split_name, built once."""
  eval_graph, num_batches = common_flags.build_evaluation(
      FLAGS, FLAGS.eval_batch_size or FLAGS.batch_size, FLAGS.eval_image_size)
  return functools.partial(evaluation.evaluate_checkpoint, eval_graph,
                           num_batches=num_batches, eval_dir=eval_dir)


def newest_step():
  return checkpoints.step_from_name(
      checkpoints.latest_listed(FLAGS.train_dir)) or 0


def main(argv):
  del argv  # run_main refuses unknown flags and arguments
  check_flags()
  tf.logging.set_verbosity(tf.logging.INFO)
  # One graph-mode process: the training's Supervisor threads need it.
  tf.disable_eager_execution()
  eval_dir = FLAGS.eval_dir or FLAGS.train_dir.rstrip('/') + '/eval'
  evaluation.prepare_eval_dir(eval_dir)
  num_samples = check_inputs()
  images_per_step = FLAGS.batch_size * FLAGS.num_clones
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
  evaluate = build_evaluation(eval_dir)
  recorder = train_eval.Recorder(eval_dir, images_per_step, num_samples,
                                 title=FLAGS.model_name)
  if train_eval.is_epoch_end(start_step, epoch_steps, final_step) and (
      start_step not in recorder.recorded_steps()):
    # Saved, then stopped before its evaluation: evaluate it now.
    recorder.record(start_step, evaluate(
        checkpoints.resolve_readable(FLAGS.train_dir)).metrics)
  elif not targets:
    tf.logging.info('%s is already at the final step; evaluating only',
                    FLAGS.train_dir)
    evaluate(checkpoints.resolve_readable(FLAGS.train_dir))
  if targets:
    training.train_from_flags(
        training_flags.config_from_flags(
            FLAGS, dataset_split_name=FLAGS.train_split_name,
            max_number_of_steps=final_step),
        after_step=train_eval.EvaluateAtEpochEnds(targets, evaluate,
                                                  recorder))


if __name__ == '__main__':
  common_flags.run_main(main)
