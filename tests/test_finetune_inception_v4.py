"""The course's Inception-v4 baseline: fine-tune a 1001-class checkpoint to 5
classes through train_image_classifier.py with the course's exclude scopes.

The checkpoint is a randomly initialised slim-style build, so every restored
value is distinguishable from a fresh initialisation.
"""

import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow.compat.v1 as tf
import tf_slim as slim

from datasets import fake_data
from nets import nets_factory

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXCLUDE = ['InceptionV4/Logits', 'InceptionV4/AuxLogits/Aux_logits']
TRAINABLE = ['InceptionV4/Logits', 'InceptionV4/AuxLogits']
IMAGE_SIZE = 75  # the smallest input Inception-v4 accepts: keeps this cheap


def _write_imagenet_checkpoint(path):
  with tf.Graph().as_default():
    network_fn = nets_factory.get_network_fn('inception_v4', num_classes=1001,
                                             is_training=True)
    network_fn(tf.zeros([1, IMAGE_SIZE, IMAGE_SIZE, 3]))
    tf.train.get_or_create_global_step()
    saver = tf.train.Saver()
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      saver.save(sess, path, write_meta_graph=False)


def _in_scopes(name, scopes):
  return any(name == s or name.startswith(s + '/') for s in scopes)


@pytest.fixture(scope='module')
def finetuned(tmp_path_factory):
  base = tmp_path_factory.mktemp('finetune')
  dataset_dir = str(base / 'quiz')
  fake_data.write_fake_dataset(dataset_dir, 'quiz', num_classes=5,
                               images_per_class={'train': 2, 'validation': 1})
  source = str(base / 'inception_v4.ckpt')
  _write_imagenet_checkpoint(source)
  train_dir = str(base / 'train')
  proc = subprocess.run(
      [sys.executable, os.path.join(ROOT, 'train_image_classifier.py'),
       '--dataset_name=quiz', '--dataset_dir=' + dataset_dir,
       '--model_name=inception_v4', '--checkpoint_path=' + source,
       '--checkpoint_exclude_scopes=' + ','.join(EXCLUDE),
       '--trainable_scopes=' + ','.join(TRAINABLE),
       '--train_dir=' + train_dir, '--learning_rate=0.01',
       '--optimizer=rmsprop', '--batch_size=2', '--max_number_of_steps=2',
       '--train_image_size=%d' % IMAGE_SIZE, '--clone_on_cpu=True',
       '--num_readers=1', '--num_preprocessing_threads=1'],
      cwd=ROOT, capture_output=True, text=True, timeout=300)
  assert proc.returncode == 0, proc.stdout + proc.stderr
  return (tf.train.load_checkpoint(source),
          tf.train.load_checkpoint(tf.train.latest_checkpoint(train_dir)))


def test_excluded_scopes_start_fresh_with_the_new_class_count(finetuned):
  source, result = finetuned
  shapes = result.get_variable_to_shape_map()
  assert shapes['InceptionV4/Logits/Logits/weights'] == [1536, 5]
  assert shapes['InceptionV4/AuxLogits/Aux_logits/weights'] == [768, 5]
  assert source.get_variable_to_shape_map()[
      'InceptionV4/Logits/Logits/weights'] == [1536, 1001]


def test_every_other_trainable_variable_keeps_its_checkpoint_value(finetuned):
  source, result = finetuned
  with tf.Graph().as_default():
    nets_factory.get_network_fn('inception_v4', 5, is_training=True)(
        tf.zeros([1, IMAGE_SIZE, IMAGE_SIZE, 3]))
    trainable = [v.op.name for v in slim.get_trainable_variables()]
  frozen = [name for name in trainable if not _in_scopes(name, TRAINABLE)]
  assert len(frozen) > 200
  for name in frozen:
    np.testing.assert_array_equal(result.get_tensor(name),
                                  source.get_tensor(name), err_msg=name)


def test_only_the_trainable_scopes_change(finetuned):
  source, result = finetuned
  # Restored (not excluded) but trainable: loaded, then moved by training.
  name = 'InceptionV4/AuxLogits/Conv2d_1b_1x1/weights'
  assert not _in_scopes(name, EXCLUDE) and _in_scopes(name, TRAINABLE)
  restored_then_trained = result.get_tensor(name) - source.get_tensor(name)
  assert 0 < np.abs(restored_then_trained).max() < 0.5
