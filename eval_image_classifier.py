r"""Evaluates a trained classifier on one split of a dataset.

Once (slim's behaviour): `--checkpoint_path` is a checkpoint or a directory,
whose latest checkpoint is evaluated:

    python eval_image_classifier.py --dataset_name=quiz \
        --dataset_dir=/data/quiz --dataset_split_name=validation \
        --model_name=densenet --checkpoint_path=/output/ckpt \
        --eval_dir=/output/eval --batch_size=32 --max_num_batches=128

In a loop, beside a running training: add `--eval_interval_secs=60`. Every
new checkpoint in the `--checkpoint_path` directory is evaluated; the loop
stops after the final step (`--max_number_of_steps`, or the step the training
records when it ends) or after `--eval_timeout_secs` without a new
checkpoint.

Prints `eval/Accuracy[...]` and `eval/Recall_5[...]` and writes TensorBoard
summaries to `--eval_dir`.

An exported model instead of a checkpoint: `--model_file` (a frozen .pb, a
.tflite or an .onnx from export_inference_graph.py or
nets/post_training_quantization.py) is evaluated in its own runtime with the
preprocessing, image size and labels offset it records (the model flags are
not needed), printing the same two lines:

    python eval_image_classifier.py --model_file=/tmp/densenet_int8.tflite \
        --dataset_name=fashion_mnist --dataset_dir=/data/fashion_mnist
"""

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf

import common_flags
from deployment import checkpoints
from deployment import distributed
from deployment import evaluation
from deployment import inference
from deployment import model_evaluation

flags = tf.app.flags

flags.DEFINE_integer('batch_size', 100, 'The number of samples in each batch.')
flags.DEFINE_integer('max_num_batches', None,
                     'Max number of batches to evaluate; by default the '
                     'whole split.')
flags.DEFINE_string('master', '', 'The address of the TensorFlow master to '
                    'use.')
flags.DEFINE_string('checkpoint_path', '/tmp/tfmodel/',
                    'The checkpoint to evaluate, or a directory: its latest '
                    'checkpoint (in loop mode: each new one).')
flags.DEFINE_string('eval_dir', '/tmp/tfmodel/',
                    'Directory where the results (summaries) are saved.')
flags.DEFINE_integer('eval_image_size', None,
                     'Eval image size; by default the network\'s.')
flags.DEFINE_integer('eval_interval_secs', None,
                     'When set, evaluate each new checkpoint in the '
                     '--checkpoint_path directory, at most once every this '
                     'many seconds, instead of evaluating once.')
flags.DEFINE_integer('eval_timeout_secs', None,
                     'Loop mode: stop after this many seconds without a new '
                     'checkpoint. By default wait until the training ends.')
flags.DEFINE_integer('max_number_of_steps', None,
                     'Loop mode: the final step of the training; stop after '
                     'evaluating it. By default read from the file the '
                     'training writes when it ends.')
common_flags.define_master_timeout_flag()
flags.DEFINE_string('model_file', '',
                    'Evaluate this exported model (.pb, .tflite, .onnx) '
                    'instead of --checkpoint_path; its recorded '
                    'preprocessing, image size and labels offset are used.')
flags.DEFINE_integer('num_threads', None,
                     'With --model_file: LiteRT/onnxruntime threads; None: '
                     'every core.')
common_flags.define_dataset_flags(default_split_name='test')
common_flags.define_model_flags()
common_flags.define_quantize_flag()
flags.adopt_module_key_flags(common_flags)  # --help lists them too
common_flags.require_non_empty('eval_dir', 'checkpoint_path')


FLAGS = flags.FLAGS


def checkpoint_dir_for_loop(path):
  if not path or not tf.gfile.IsDirectory(path):
    raise common_flags.UserError(
        '--checkpoint_path=%s must be the training directory when '
        '--eval_interval_secs is set' % path)
  return path


def evaluate_model_file():
  """--model_file: the exported model on the split, the grader lines."""
  runner = inference.open_runner(FLAGS.model_file, FLAGS.num_threads)
  dataset = common_flags.load_dataset(FLAGS)
  model_evaluation.evaluate_model_file(
      runner, dataset, FLAGS.batch_size, FLAGS.max_num_batches,
      FLAGS.num_preprocessing_threads)


def main(_):
  tf.logging.set_verbosity(tf.logging.INFO)
  if FLAGS.model_file:
    evaluate_model_file()
    return

  distributed.wait_for_master(FLAGS.master, FLAGS.master_timeout_secs)
  eval_graph, num_batches = common_flags.build_evaluation(
      FLAGS, FLAGS.batch_size, FLAGS.eval_image_size)
  evaluation.prepare_eval_dir(FLAGS.eval_dir)

  if FLAGS.eval_interval_secs is None:
    checkpoint = checkpoints.resolve_readable(FLAGS.checkpoint_path)
    evaluation.evaluate_checkpoint(eval_graph, checkpoint, num_batches,
                                   FLAGS.eval_dir, FLAGS.master)
    return
  evaluation.evaluation_loop(
      eval_graph, checkpoint_dir_for_loop(FLAGS.checkpoint_path), num_batches,
      FLAGS.eval_dir, FLAGS.eval_interval_secs, FLAGS.eval_timeout_secs,
      FLAGS.max_number_of_steps, FLAGS.master)


if __name__ == '__main__':
  common_flags.run_main(main)
