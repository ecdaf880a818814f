"""AlexNet v2: upstream's signature, layer sizes, fully convolutional use."""

import inspect

import numpy as np
import pytest
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import alexnet


def _build(shape, *args, **kwargs):
  images = tf.placeholder(tf.float32, shape)
  with slim.arg_scope(alexnet.alexnet_v2_arg_scope()):
    return alexnet.alexnet_v2(images, *args, **kwargs)


def test_signature_is_upstreams():
  parameters = inspect.signature(alexnet.alexnet_v2).parameters
  assert [(p.name, p.default) for p in parameters.values()] == [
      ('inputs', inspect.Parameter.empty), ('num_classes', 1000),
      ('is_training', True), ('dropout_keep_prob', 0.5),
      ('spatial_squeeze', True), ('scope', 'alexnet_v2'),
      ('global_pool', False)]
  assert alexnet.alexnet_v2.default_image_size == 224


def test_positional_call_in_upstream_order():
  with tf.Graph().as_default():
    # num_classes, is_training, dropout_keep_prob, spatial_squeeze, scope,
    # global_pool
    logits, end_points = _build([1, 224, 224, 3], 7, False, 0.9, False,
                                'my_alexnet', True)
    names = [v.op.name for v in tf.global_variables()]
  assert len(names) == 16 and all(n.startswith('my_alexnet/') for n in names)
  assert logits.shape.as_list() == [1, 1, 1, 7]
  assert end_points['global_pool'].shape.as_list() == [1, 1, 1, 4096]


def test_every_end_point_at_the_default_size():
  with tf.Graph().as_default():
    logits, end_points = _build([None, 224, 224, 3], 1000)
  shapes = {name: t.shape.as_list() for name, t in end_points.items()}
  # 11x11/4 VALID: (224 - 11) // 4 + 1 = 54; each 3x3/2 VALID pool:
  # (n - 3) // 2 + 1; the 5x5 VALID fc6 takes pool5's 5x5 to 1x1.
  assert shapes == {
      'alexnet_v2/conv1': [None, 54, 54, 64],
      'alexnet_v2/pool1': [None, 26, 26, 64],
      'alexnet_v2/conv2': [None, 26, 26, 192],
      'alexnet_v2/pool2': [None, 12, 12, 192],
      'alexnet_v2/conv3': [None, 12, 12, 384],
      'alexnet_v2/conv4': [None, 12, 12, 384],
      'alexnet_v2/conv5': [None, 12, 12, 256],
      'alexnet_v2/pool5': [None, 5, 5, 256],
      'alexnet_v2/fc6': [None, 1, 1, 4096],
      'alexnet_v2/fc7': [None, 1, 1, 4096],
      'alexnet_v2/fc8': [None, 1000],
      'Logits': [None, 1000],
      'Predictions': [None, 1000],
  }
  assert end_points['Logits'] is logits


def test_larger_image_gives_a_map_of_predictions():
  with tf.Graph().as_default():
    # 320: conv1 78, pool1 38, pool2 18, pool5 8, fc6 (5x5 VALID) 4.
    logits, end_points = _build([1, 320, 320, 3], 5, spatial_squeeze=False)
  assert logits.shape.as_list() == [1, 4, 4, 5]
  assert end_points['Predictions'].shape.as_list() == [1, 4, 4, 5]


def _initial_values(names):
  variables = {v.op.name: v for v in tf.global_variables()}
  with tf.Session() as sess:
    return sess.run([variables['alexnet_v2/' + n].initial_value
                     for n in names])


def test_cuda_convnet_initialisation_of_the_classifier():
  with tf.Graph().as_default():
    _build([1, 224, 224, 3], 5)
    conv1_biases, fc6_biases, fc8_biases, fc8_weights = _initial_values(
        ['conv1/biases', 'fc6/biases', 'fc8/biases', 'fc8/weights'])
  # conv1's from the arg scope, fc6's from the classifier's own scope.
  np.testing.assert_array_equal(conv1_biases, np.float32(0.1))
  np.testing.assert_array_equal(fc6_biases, np.float32(0.1))
  np.testing.assert_array_equal(fc8_biases, 0.0)
  # Normal(0, 0.005) truncated at two standard deviations.
  assert np.abs(fc8_weights).max() <= 0.01
  assert fc8_weights.std() == pytest.approx(0.005 * 0.88, rel=0.05)
