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

Each network's case is a FineTuneCase below; its test file subclasses
FineTuneChecks with it, which fine-tunes once per class and runs the three
checks.
"""

import collections
import os

import numpy as np
import pytest
import tensorflow.compat.v1 as tf
import tf_slim as slim

import deployment_helpers
from datasets import fake_data
from nets import nets_factory

SOURCE_CLASSES = 1001
NUM_CLASSES = 5

# How the run was made, the source and fine-tuned checkpoints
# (tf.train.CheckpointReader) and the names of the network's trainable
# variables (the same at any class count).
FineTuneRun = collections.namedtuple('FineTuneRun', [
    'model_name', 'exclude', 'trainable', 'source', 'result',
    'trainable_names'])

# One network's fine-tuning: its flags, the classifier weights the excluded
# scopes must re-create, how many trainable variables must stay frozen, and
# the variables that are restored yet trained (loaded, then moved).
FineTuneCase = collections.namedtuple('FineTuneCase', [
    'model_name', 'exclude', 'trainable', 'image_size', 'classifier_weights',
    'min_frozen', 'restored_and_trained'])

# The course's Inception-v4 baseline, with the course's exclude scopes.
INCEPTION_V4 = FineTuneCase(
    model_name='inception_v4',
    exclude=['InceptionV4/Logits', 'InceptionV4/AuxLogits/Aux_logits'],
    trainable=['InceptionV4/Logits', 'InceptionV4/AuxLogits'],
    image_size=75,  # the smallest input Inception-v4 accepts: keeps it cheap
    classifier_weights=['InceptionV4/Logits/Logits/weights',
                        'InceptionV4/AuxLogits/Aux_logits/weights'],
    min_frozen=200,
    # The aux head's convolutions are restored (not excluded) but trainable:
    # loaded, then moved by training.
    restored_and_trained=['InceptionV4/AuxLogits/Conv2d_1b_1x1/weights'])

# NASNet-A Mobile with a fresh classifier (`final_layer`) and auxiliary head
# (`aux_7`). The head's 5x5 pooling needs cell_7 (about 1/16 of the input)
# to be at least 5x5: 67 is the smallest input that allows it.
NASNET_MOBILE = FineTuneCase(
    model_name='nasnet_mobile', exclude=['final_layer', 'aux_7'],
    trainable=['final_layer', 'aux_7'], image_size=67,
    classifier_weights=['final_layer/FC/weights',
                        'aux_7/aux_logits/FC/weights'],
    min_frozen=700, restored_and_trained=[])


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
  deployment_helpers.succeeds(
      'train_image_classifier.py', '--dataset_name=quiz',
      '--dataset_dir=' + dataset_dir, '--model_name=' + model_name,
      '--checkpoint_path=' + source,
      '--checkpoint_exclude_scopes=' + ','.join(exclude),
      '--trainable_scopes=' + ','.join(trainable),
      '--train_dir=' + train_dir, '--learning_rate=0.01',
      '--optimizer=rmsprop', '--batch_size=2', '--max_number_of_steps=2',
      '--train_image_size=%d' % image_size, '--clone_on_cpu=True',
      '--num_readers=1', '--num_preprocessing_threads=1', *extra_flags,
      # Building NASNet's graph alone takes minutes on a busy 2-core machine.
      timeout=900)
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


def assert_only_trainable_scopes_change(run, restored_and_trained=()):
  """Restored trainable variables move a little (loaded, then trained);
  excluded ones differ from the checkpoint (a fresh start). Each of
  `restored_and_trained` must be one of the former."""
  trained = [name for name in run.trainable_names
             if in_scopes(name, run.trainable)]
  assert trained
  assert set(restored_and_trained) <= {
      name for name in trained if not in_scopes(name, run.exclude)}
  source_shapes = run.source.get_variable_to_shape_map()
  for name in trained:
    new, old = run.result.get_tensor(name), run.source.get_tensor(name)
    if in_scopes(name, run.exclude):
      assert (list(new.shape) != source_shapes[name] or
              not np.array_equal(new, old)), name
    else:
      assert 0 < np.abs(new - old).max() < 0.5, name


class FineTuneChecks:
  """The three checks of a fine-tuning run, for a Test* class setting CASE."""

  CASE = None  # a FineTuneCase

  @pytest.fixture(scope='class')
  @classmethod
  def finetuned(cls, tmp_path_factory):
    case = cls.CASE
    return finetune(tmp_path_factory.mktemp('finetune'), case.model_name,
                    case.exclude, case.trainable, case.image_size)

  def test_excluded_scopes_start_fresh_with_the_new_class_count(self,
                                                                finetuned):
    assert_excluded_scopes_start_fresh(finetuned,
                                       self.CASE.classifier_weights)

  def test_every_other_trainable_variable_keeps_its_checkpoint_value(
      self, finetuned):
    assert_frozen_variables_keep_checkpoint_values(finetuned,
                                                   self.CASE.min_frozen)

  def test_only_the_trainable_scopes_change(self, finetuned):
    assert_only_trainable_scopes_change(finetuned,
                                        self.CASE.restored_and_trained)
