"""MobileNet v1: width multiplier, small inputs, classifier switch."""

import pytest
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import mobilenet_v1


def _build(size=96, **kwargs):
  images = tf.placeholder(tf.float32, [2, size, size, 3])
  with slim.arg_scope(mobilenet_v1.mobilenet_v1_arg_scope()):
    return mobilenet_v1.mobilenet_v1(images, **kwargs)


def test_depth_multiplier_scales_every_width_down_to_min_depth():
  with tf.Graph().as_default():
    _, end_points = _build(num_classes=4, depth_multiplier=0.25)
  assert end_points['Conv2d_0'].shape.as_list()[-1] == 8
  assert end_points['Conv2d_1_pointwise'].shape.as_list()[-1] == 16
  assert end_points['Conv2d_13_pointwise'].shape.as_list() == [2, 3, 3, 256]
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match='depth_multiplier'):
      _build(num_classes=4, depth_multiplier=0)


def test_small_inputs_pool_the_whole_map():
  with tf.Graph().as_default():
    logits, end_points = _build(num_classes=4)
  assert end_points['AvgPool_1a'].shape.as_list() == [2, 1, 1, 1024]
  assert logits.shape.as_list() == [2, 4]


def test_zero_classes_returns_pooled_features():
  with tf.Graph().as_default():
    net, end_points = _build(num_classes=0)
    names = [v.op.name for v in tf.global_variables()]
  assert net.shape.as_list() == [2, 1, 1, 1024]
  assert 'Logits' not in end_points
  assert not [n for n in names if 'Logits' in n]
