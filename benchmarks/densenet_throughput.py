r"""Training throughput (images/sec) of a network on random in-memory data.

Measures the network alone (forward, backward, RMSProp update, BatchNorm
statistics), not the input pipeline:

  .venv/bin/python benchmarks/densenet_throughput.py \
      --model_name=densenet_bc_mini --batch_size=64 --image_size=28 \
      --channels=1 --threads=2
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tf_compat  # noqa: E402,F401
import numpy as np  # noqa: E402
import tensorflow.compat.v1 as tf  # noqa: E402
import tf_slim as slim  # noqa: E402

from benchmarks import benchmark_lib  # noqa: E402
from nets import nets_factory  # noqa: E402

flags = tf.app.flags
benchmark_lib.define_flags(model_name='densenet_bc_mini', batch_size=64,
                           image_size=28, channels=1, num_classes=10,
                           steps=30)
flags.DEFINE_integer('warmup_steps', 5, 'Untimed steps first.')
flags.DEFINE_integer('threads', 2, 'TensorFlow intra- and inter-op threads.')
FLAGS = flags.FLAGS


def build_train_op():
  rng = np.random.RandomState(0)
  images = tf.constant(rng.uniform(-1, 1, (
      FLAGS.batch_size, FLAGS.image_size, FLAGS.image_size,
      FLAGS.channels)).astype(np.float32))
  labels = tf.constant(rng.randint(0, FLAGS.num_classes, FLAGS.batch_size))
  network_fn = nets_factory.get_network_fn(
      FLAGS.model_name, FLAGS.num_classes, weight_decay=1e-4, is_training=True)
  logits, _ = network_fn(images)
  tf.losses.sparse_softmax_cross_entropy(labels, logits)
  optimizer = tf.train.RMSPropOptimizer(0.01, decay=0.9, momentum=0.9,
                                        epsilon=1.0)
  return slim.learning.create_train_op(tf.losses.get_total_loss(), optimizer)


def main(_):
  with tf.Graph().as_default():
    measure()


def measure():
  train_op = build_train_op()
  params = sum(int(np.prod(v.shape.as_list()))
               for v in tf.trainable_variables())
  config = tf.ConfigProto(intra_op_parallelism_threads=FLAGS.threads,
                          inter_op_parallelism_threads=FLAGS.threads)
  with tf.Session(config=config) as sess:
    sess.run(tf.global_variables_initializer())
    elapsed = sum(benchmark_lib.step_seconds(
        lambda: sess.run(train_op), FLAGS.warmup_steps, FLAGS.steps))
  print('%s: %d trainable parameters, batch %d of %dx%dx%d, %d threads: '
        '%.1f images/sec (%.1f ms/step)' %
        (FLAGS.model_name, params, FLAGS.batch_size, FLAGS.image_size,
         FLAGS.image_size, FLAGS.channels, FLAGS.threads,
         FLAGS.steps * FLAGS.batch_size / elapsed,
         1000 * elapsed / FLAGS.steps))


if __name__ == '__main__':
  tf.app.run()
