"""Fine-tuning a 1001-class checkpoint to a 5-class dataset through
train_image_classifier.py, and the three properties a fine-tuning run must
have:

1. the excluded scopes start fresh (their classifiers have the new class
   count, so they cannot have been restored);
2. every trainable variable outside the trainable scopes keeps its value;
3. only the trainable scopes change: each restored variable in them moves a
   little from its checkpoint value, each excluded one differs from it.

The source checkpoint is a randomly initialised build of the same network, so
every restored value is distinguishable from a fresh initialisation.
"""

import collections
import os
import subprocess
import sys

import numpy as np
import tensorflow.compat.v1 as tf
import tf_slim as slim

from datasets import fake_data
from nets import nets_factory

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE_CLASSES = 1001
NUM_CLASSES = 5

# How the run was made, the source and fine-tuned checkpoints
# (tf.train.CheckpointReader) and the names of the network's trainable
# variables (the same at any class count).
FineTuneRun = collections.namedtuple('FineTuneRun', [
    'model_name', 'exclude', 'trainable', 'source', 'result',
    'trainable_names'])


def in_scopes(name, scopes):
  return any(name == s or name.startswith(s + '/') for s in scopes)


def write_checkpoint(model_name, path, image_size,
                     num_classes=SOURCE_CLASSES):
  """Saves a random initialisation of `model_name` (and a global step).

  Returns:
    the names of the network's trainable variables.
  """
  with tf.Graph().as_default():
    # Created first, as in a training graph, so the network can read it.
    tf.train.get_or_create_global_step()
    network_fn = nets_factory.get_network_fn(model_name, num_classes,
                                             is_training=True)
    network_fn(tf.zeros([1, image_size, image_size, 3]))
    saver = tf.train.Saver()
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      saver.save(sess, path, write_meta_graph=False)
    return [v.op.name for v in slim.get_trainable_variables()]


def finetune(base_dir, model_name, exclude, trainable, image_size,
             extra_flags=()):
  """Fine-tunes a fresh `model_name` checkpoint for 2 steps; a FineTuneRun."""
  base_dir = str(base_dir)
  dataset_dir = os.path.join(base_dir, 'quiz')
  fake_data.write_fake_dataset(dataset_dir, 'quiz', num_classes=NUM_CLASSES,
                               images_per_class={'train': 2, 'validation': 1})
  source = os.path.join(base_dir, model_name + '.ckpt')
  trainable_names = write_checkpoint(model_name, source, image_size)
  train_dir = os.path.join(base_dir, 'train')
  proc = subprocess.run(
      [sys.executable, os.path.join(ROOT, 'train_image_classifier.py'),
       '--dataset_name=quiz', '--dataset_dir=' + dataset_dir,
       '--model_name=' + model_name, '--checkpoint_path=' + source,
       '--checkpoint_exclude_scopes=' + ','.join(exclude),
       '--trainable_scopes=' + ','.join(trainable),
       '--train_dir=' + train_dir, '--learning_rate=0.01',
       '--optimizer=rmsprop', '--batch_size=2', '--max_number_of_steps=2',
       '--train_image_size=%d' % image_size, '--clone_on_cpu=True',
       '--num_readers=1', '--num_preprocessing_threads=1'] +
      list(extra_flags),
      cwd=ROOT, capture_output=True, text=True, timeout=300)
  assert proc.returncode == 0, proc.stdout + proc.stderr
  return FineTuneRun(
      model_name, list(exclude), list(trainable),
      tf.train.load_checkpoint(source),
      tf.train.load_checkpoint(tf.train.latest_checkpoint(train_dir)),
      trainable_names)


def assert_excluded_scopes_start_fresh(run, classifier_weights):
  """Each of `classifier_weights` (in the excluded scopes) has the new class
  count; the checkpoint's has SOURCE_CLASSES, so it was not restored."""
  source_shapes = run.source.get_variable_to_shape_map()
  result_shapes = run.result.get_variable_to_shape_map()
  for name in classifier_weights:
    assert in_scopes(name, run.exclude), name
    assert source_shapes[name][-1] == SOURCE_CLASSES, name
    assert result_shapes[name] == source_shapes[name][:-1] + [NUM_CLASSES]


def assert_frozen_variables_keep_checkpoint_values(run, min_frozen):
  frozen = [name for name in run.trainable_names
            if not in_scopes(name, run.trainable)]
  assert len(frozen) >= min_frozen
  for name in frozen:
    np.testing.assert_array_equal(run.result.get_tensor(name),
                                  run.source.get_tensor(name), err_msg=name)


def assert_only_trainable_scopes_change(run):
  """Restored trainable variables move a little (loaded, then trained);
  excluded ones differ from the checkpoint (a fresh start)."""
  trained = [name for name in run.trainable_names
             if in_scopes(name, run.trainable)]
  assert trained
  source_shapes = run.source.get_variable_to_shape_map()
  for name in trained:
    new, old = run.result.get_tensor(name), run.source.get_tensor(name)
    if in_scopes(name, run.exclude):
      assert (list(new.shape) != source_shapes[name] or
              not np.array_equal(new, old)), name
    else:
      assert 0 < np.abs(new - old).max() < 0.5, name
