"""I3D: upstream's API, full 3-D convolutions without gating, a tiny run."""

import inspect

import numpy as np
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import i3d
from nets import s3dg


def _build(shape=(1, 8, 224, 224, 3), arg_scope=None, **kwargs):
  clips = tf.placeholder(tf.float32, shape)
  with slim.arg_scope(arg_scope or i3d.i3d_arg_scope()):
    return clips, i3d.i3d(clips, num_classes=5, **kwargs)


def _shapes():
  return {v.op.name[len('InceptionV1/'):]: v.shape.as_list()
          for v in tf.global_variables()}


def test_signatures_match_upstream():
  parameters = inspect.signature(i3d.i3d).parameters
  assert list(parameters) == [
      'inputs', 'num_classes', 'dropout_keep_prob', 'is_training',
      'prediction_fn', 'spatial_squeeze', 'reuse', 'scope']
  assert [p.default for p in parameters.values()][1:] == [
      1000, 0.8, True, slim.softmax, True, None, 'InceptionV1']
  assert list(inspect.signature(i3d.i3d_base).parameters) == [
      'inputs', 'final_endpoint', 'scope']
  assert list(inspect.signature(i3d.i3d_arg_scope).parameters) == [
      'weight_decay', 'batch_norm_decay', 'batch_norm_epsilon', 'use_renorm',
      'separable_conv3d']
  assert i3d.i3d.default_image_size == 224


def test_full_3d_convolutions_and_no_gating():
  with tf.Graph().as_default():
    _, (logits, end_points) = _build()
    shapes = _shapes()
  assert shapes['Conv2d_1a_7x7/weights'] == [7, 7, 7, 3, 64]
  assert shapes['Conv2d_2c_3x3/weights'] == [3, 3, 3, 64, 192]
  assert shapes['Mixed_5c/Branch_1/Conv2d_0b_3x3/weights'] == [
      3, 3, 3, 192, 384]
  assert not [n for n in shapes if 'temporal' in n or 'gating' in n]
  assert end_points['Mixed_5c'].shape.as_list() == [1, 1, 7, 7, 1024]
  assert logits.shape.as_list() == [1, 5]


def test_separable_arg_scope_makes_s3d_without_gates():
  with tf.Graph().as_default():
    _build(arg_scope=i3d.i3d_arg_scope(separable_conv3d=True))
    shapes = _shapes()
  assert shapes['Conv2d_1a_7x7/weights'] == [7, 7, 7, 3, 64]
  assert shapes['Conv2d_2c_3x3/weights'] == [1, 3, 3, 64, 192]
  assert shapes['Conv2d_2c_3x3/temporal/weights'] == [3, 1, 1, 192, 192]
  assert not [n for n in shapes if 'gating' in n]


def test_renorm_adds_its_statistics():
  with tf.Graph().as_default():
    _build(arg_scope=i3d.i3d_arg_scope(use_renorm=True))
    names = list(_shapes())
  assert 'Conv2d_1a_7x7/BatchNorm/renorm_mean' in names


def test_base_is_the_trunk_of_the_classifier():
  with tf.Graph().as_default():
    clips = tf.placeholder(tf.float32, [1, 8, 64, 64, 3])
    net, end_points = i3d.i3d_base(clips, final_endpoint='Mixed_4b')
  assert list(end_points) == list(s3dg.END_POINTS[:9])
  assert net.shape.as_list() == [1, 2, 4, 4, 512]


def test_reuse_shares_every_variable():
  with tf.Graph().as_default():
    clips, _ = _build()
    count = len(tf.global_variables())
    with slim.arg_scope(i3d.i3d_arg_scope()):
      i3d.i3d(clips, num_classes=5, reuse=True)
    assert len(tf.global_variables()) == count


def test_tiny_clip_computes_probabilities():
  # Training mode: BatchNorm normalises with the batch's statistics, which
  # keeps the activations of freshly initialised (std 0.01) weights alive.
  with tf.Graph().as_default():
    clips, (_, end_points) = _build(shape=(2, 8, 32, 32, 3),
                                    dropout_keep_prob=1.0)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      feed = np.random.RandomState(0).rand(2, 8, 32, 32, 3)
      probabilities = sess.run(end_points['Predictions'], {clips: feed})
  assert probabilities.shape == (2, 5) and np.isfinite(probabilities).all()
  np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
  # The two clips get different predictions: the input reaches the logits.
  assert not np.allclose(probabilities[0], probabilities[1])
