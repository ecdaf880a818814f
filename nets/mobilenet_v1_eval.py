r"""Evaluates MobileNet v1 with upstream slim's nets/mobilenet_v1_eval.py flags.

    python nets/mobilenet_v1_eval.py --dataset_dir=/data/imagenet \
        --checkpoint_dir=/output/mobilenet_v1 --eval_dir=/output/eval \
        --depth_multiplier=0.5 --image_size=160
    # a checkpoint of quantization-aware training
    python nets/mobilenet_v1_eval.py ... --quantize=True

Evaluates the latest checkpoint of --checkpoint_dir (or the checkpoint it
names) once on --num_examples images of the validation split, with
eval_image_classifier.py's evaluation (deployment/evaluation.py): prints
`eval/Accuracy[...]` and `eval/Recall_5[...]` and writes the summaries to
--eval_dir. Beyond upstream: any dataset (--dataset_name,
--dataset_split_name); a split smaller than --num_examples is evaluated
whole.
"""

import math
import os
import sys
import types

# Run as a file (python nets/mobilenet_v1_eval.py), the repository root is
# not on the path; the modules below live there.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tf_compat  # noqa: E402,F401
import tensorflow.compat.v1 as tf  # noqa: E402

import common_flags  # noqa: E402
from deployment import checkpoints  # noqa: E402
from deployment import evaluation  # noqa: E402
import mobilenet_v1_flags  # noqa: E402

flags = tf.app.flags

mobilenet_v1_flags.define_flags(
    batch_size=250, split_name='validation',
    quantize_help='Evaluate a checkpoint of quantized training '
    '(mobilenet_v1_train.py --quantize): batch norm folded and weights and '
    'activations fake-quantized, as trained.')
flags.DEFINE_integer('num_examples', 50000, 'Number of examples to evaluate.')
flags.DEFINE_string('eval_dir', '',
                    'Directory for writing eval event logs (required).')
flags.adopt_module_key_flags(mobilenet_v1_flags)  # --help lists them too
common_flags.require_positive('num_examples')

FLAGS = flags.FLAGS


def eval_config(flags_obj):
  """The evaluation library's config for this script's flags."""
  values = mobilenet_v1_flags.data_and_network(flags_obj)
  values.update(
      max_num_batches=int(math.ceil(flags_obj.num_examples /
                                    float(flags_obj.batch_size))),
      moving_average_decay=None, num_preprocessing_threads=4,
      quantize=flags_obj.quantize)
  return types.SimpleNamespace(**values)


def main(argv):
  del argv  # run_main refuses unknown flags and arguments
  tf.logging.set_verbosity(tf.logging.INFO)
  common_flags.require_flag(FLAGS, 'checkpoint_dir',
                            'pass the checkpoint or its directory')
  common_flags.require_flag(FLAGS, 'eval_dir',
                            'pass a writable directory for the summaries')
  eval_graph, num_batches = common_flags.build_evaluation(
      eval_config(FLAGS), FLAGS.batch_size, FLAGS.image_size)
  evaluation.prepare_eval_dir(FLAGS.eval_dir)
  checkpoint = checkpoints.resolve_readable(FLAGS.checkpoint_dir)
  evaluation.evaluate_checkpoint(eval_graph, checkpoint, num_batches,
                                 FLAGS.eval_dir, FLAGS.master)


if __name__ == '__main__':
  common_flags.run_main(main)
