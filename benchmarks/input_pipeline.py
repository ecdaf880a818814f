r"""Images/sec the tf.data reader delivers: 224x224, Inception preprocessing.

Generates a quiz-format JPEG dataset (320x320, like the course's images) in a
temporary folder, then times training batches (decode + distorted crop +
colour distortion + batching) after a warm-up, in graph mode as the training
script runs it.

  .venv/bin/python benchmarks/input_pipeline.py [--num_batches=50]
      [--batch_size=32] [--num_preprocessing_threads=4]
"""

import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tf_compat  # noqa: F401,E402
from absl import app  # noqa: E402
from absl import flags  # noqa: E402
import tensorflow.compat.v1 as tf  # noqa: E402

from benchmarks import benchmark_lib  # noqa: E402
from datasets import dataset_factory  # noqa: E402
from datasets import fake_data  # noqa: E402
from datasets import input_pipeline  # noqa: E402
from preprocessing import preprocessing_factory  # noqa: E402

benchmark_lib.define_flags(batch_size=32, image_size=224)
flags.DEFINE_integer('num_batches', 50, 'Timed batches.')
flags.DEFINE_integer('warmup_batches', 5, 'Untimed batches first.')
flags.DEFINE_integer('source_size', 320, 'Side of the generated JPEGs.')
flags.DEFINE_integer('num_images', 512, 'Generated training images.')
flags.DEFINE_integer('num_readers', 4, 'Shards read at once.')
flags.DEFINE_integer('num_preprocessing_threads', 4,
                     'Parallel decode/preprocess calls.')
FLAGS = flags.FLAGS

NUM_CLASSES = 8


def images_per_second(dataset_dir):
  descriptor = dataset_factory.get_dataset('quiz', 'train', dataset_dir)
  preprocess = preprocessing_factory.get_preprocessing('densenet121',
                                                       is_training=True)
  with tf.Graph().as_default():
    dataset = input_pipeline.make_dataset(
        descriptor, preprocess, FLAGS.batch_size, is_training=True,
        image_size=FLAGS.image_size, num_readers=FLAGS.num_readers,
        num_preprocessing_threads=FLAGS.num_preprocessing_threads)
    images, _ = tf.data.make_one_shot_iterator(dataset).get_next()
    # Reduce on device so the figure is the reader's, not a host copy's.
    checksum = tf.reduce_sum(images)
    with tf.Session() as sess:
      elapsed = sum(benchmark_lib.step_seconds(
          lambda: sess.run(checksum), FLAGS.warmup_batches,
          FLAGS.num_batches))
  return FLAGS.num_batches * FLAGS.batch_size / elapsed


def main(_):
  with tempfile.TemporaryDirectory() as dataset_dir:
    per_class = max(1, FLAGS.num_images // NUM_CLASSES)
    fake_data.write_fake_dataset(
        dataset_dir, 'quiz', num_classes=NUM_CLASSES,
        images_per_class={'train': per_class}, image_format='jpeg',
        image_shape=(FLAGS.source_size, FLAGS.source_size, 3), num_shards=4)
    rate = images_per_second(dataset_dir)
  print('input pipeline: %.1f images/sec (%dx%d inception preprocessing, '
        'batch %d, %d preprocessing threads, %d CPU cores, %d JPEGs of '
        '%dx%d)' % (rate, FLAGS.image_size, FLAGS.image_size,
                    FLAGS.batch_size, FLAGS.num_preprocessing_threads,
                    os.cpu_count(), per_class * NUM_CLASSES,
                    FLAGS.source_size, FLAGS.source_size))


if __name__ == '__main__':
  app.run(main)
