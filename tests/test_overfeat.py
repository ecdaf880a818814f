"""OverFeat: upstream's signature, layer sizes, fully convolutional use."""

import inspect

import numpy as np
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import overfeat


def _build(shape, *args, **kwargs):
  images = tf.placeholder(tf.float32, shape)
  with slim.arg_scope(overfeat.overfeat_arg_scope()):
    return overfeat.overfeat(images, *args, **kwargs)


def test_signature_is_upstreams():
  parameters = inspect.signature(overfeat.overfeat).parameters
  assert [(p.name, p.default) for p in parameters.values()] == [
      ('inputs', inspect.Parameter.empty), ('num_classes', 1000),
      ('is_training', True), ('dropout_keep_prob', 0.5),
      ('spatial_squeeze', True), ('scope', 'overfeat'),
      ('global_pool', False)]
  assert overfeat.overfeat.default_image_size == 231


def test_positional_call_in_upstream_order():
  with tf.Graph().as_default():
    # num_classes, is_training, dropout_keep_prob, spatial_squeeze, scope,
    # global_pool
    logits, end_points = _build([1, 231, 231, 3], 7, False, 0.9, False,
                                'my_overfeat', True)
    names = [v.op.name for v in tf.global_variables()]
  assert len(names) == 16 and all(n.startswith('my_overfeat/') for n in names)
  assert logits.shape.as_list() == [1, 1, 1, 7]
  assert end_points['global_pool'].shape.as_list() == [1, 1, 1, 4096]


def test_every_end_point_at_the_default_size():
  with tf.Graph().as_default():
    logits, end_points = _build([None, 231, 231, 3], 1000)
  shapes = {name: t.shape.as_list() for name, t in end_points.items()}
  # 11x11/4 VALID: (231 - 11) // 4 + 1 = 56; 2x2/2 pools halve; conv2 is
  # 5x5 VALID (28 -> 24); the 6x6 VALID fc6 takes pool5's 6x6 to 1x1.
  assert shapes == {
      'overfeat/conv1': [None, 56, 56, 64],
      'overfeat/pool1': [None, 28, 28, 64],
      'overfeat/conv2': [None, 24, 24, 256],
      'overfeat/pool2': [None, 12, 12, 256],
      'overfeat/conv3': [None, 12, 12, 512],
      'overfeat/conv4': [None, 12, 12, 1024],
      'overfeat/conv5': [None, 12, 12, 1024],
      'overfeat/pool5': [None, 6, 6, 1024],
      'overfeat/fc6': [None, 1, 1, 3072],
      'overfeat/fc7': [None, 1, 1, 4096],
      'overfeat/fc8': [None, 1000],
      'Logits': [None, 1000],
      'Predictions': [None, 1000],
  }
  assert end_points['Logits'] is logits


def test_larger_image_gives_a_map_of_predictions():
  with tf.Graph().as_default():
    # 263: conv1 64, pool1 32, conv2 28, pool2 14, pool5 7, fc6 (6x6) 2.
    logits, _ = _build([1, 263, 263, 3], 5, spatial_squeeze=False)
  assert logits.shape.as_list() == [1, 2, 2, 5]


def test_zero_biases_except_fc6_and_fc7():
  with tf.Graph().as_default():
    _build([1, 231, 231, 3], 5)
    biases = {v.op.name.split('/')[1]: v.initial_value
              for v in tf.global_variables() if v.op.name.endswith('biases')}
    with tf.Session() as sess:
      values = sess.run(biases)
  for layer, value in values.items():
    np.testing.assert_array_equal(
        value, np.float32(0.1 if layer in ('fc6', 'fc7') else 0.0),
        err_msg=layer)
