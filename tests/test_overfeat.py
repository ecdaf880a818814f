"""OverFeat: upstream's signature, layer sizes, fully convolutional use."""

import numpy as np
import tensorflow.compat.v1 as tf

from nets import overfeat
import nets_helpers


class TestOverFeat(nets_helpers.FullyConvolutionalChecks):
  network_fn = staticmethod(overfeat.overfeat)
  arg_scope_fn = staticmethod(overfeat.overfeat_arg_scope)
  scope = 'overfeat'
  image_size = 231
  # 11x11/4 VALID: (231 - 11) // 4 + 1 = 56; 2x2/2 pools halve; conv2 is
  # 5x5 VALID (28 -> 24); the 6x6 VALID fc6 takes pool5's 6x6 to 1x1.
  end_points = {
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
  }
  # 263: conv1 64, pool1 32, conv2 28, pool2 14, pool5 7, fc6 (6x6) 2.
  larger_size, larger_map = 263, 2


def test_zero_biases_except_fc6_and_fc7():
  with tf.Graph().as_default():
    nets_helpers.build(overfeat.overfeat, overfeat.overfeat_arg_scope(),
                       [1, 231, 231, 3], 5)
    biases = {v.op.name.split('/')[1]: v.initial_value
              for v in tf.global_variables() if v.op.name.endswith('biases')}
    with tf.Session() as sess:
      values = sess.run(biases)
  for layer, value in values.items():
    np.testing.assert_array_equal(
        value, np.float32(0.1 if layer in ('fc6', 'fc7') else 0.0),
        err_msg=layer)
