"""Shared set-up for the evaluation tests: data and checkpoints whose
metrics are known in advance.

A LeNet whose classifier weights are zero predicts its biases for every
image. With biases falling from class 0 to class n-1 it always answers class
0, and its top-5 holds classes 0-4, so on a split with equally many images of
each of 6 classes Accuracy is exactly 1/6 and Recall_5 exactly 5/6.
"""

import os

import numpy as np
import tensorflow.compat.v1 as tf

from datasets import fake_data
from nets import nets_factory

NUM_CLASSES = 6
IMAGES_PER_CLASS = {'train': 4, 'validation': 4}
EXPECTED_ACCURACY = np.float32(1) / np.float32(NUM_CLASSES)
EXPECTED_RECALL_5 = np.float32(5) / np.float32(NUM_CLASSES)


def write_dataset(dataset_dir, num_classes=NUM_CLASSES):
  return fake_data.write_fake_dataset(
      dataset_dir, 'quiz', num_classes=num_classes,
      images_per_class=IMAGES_PER_CLASS, image_shape=(32, 32, 3))


def falling_biases(num_classes=NUM_CLASSES):
  return np.arange(num_classes, 0, -1).astype(np.float32)


def write_biased_checkpoint(train_dir, step, biases=None,
                            num_classes=NUM_CLASSES, with_global_step=True):
  """Saves a LeNet that outputs `biases` as logits; returns the prefix."""
  biases = falling_biases(num_classes) if biases is None else biases
  with tf.Graph().as_default():
    network_fn = nets_factory.get_network_fn('lenet', num_classes)
    network_fn(tf.placeholder(tf.float32, [None, 28, 28, 3]))
    if with_global_step:
      global_step = tf.train.get_or_create_global_step()
    weights, bias = [v for v in tf.global_variables()
                     if v.op.name.startswith('LeNet/fc4/')]
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      sess.run([weights.assign(tf.zeros_like(weights)), bias.assign(biases)])
      if with_global_step:
        sess.run(global_step.assign(step))
      return tf.train.Saver().save(sess, os.path.join(train_dir, 'model.ckpt'),
                                   global_step=step)
