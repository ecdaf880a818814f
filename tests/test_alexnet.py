"""AlexNet v2: upstream's signature, layer sizes, fully convolutional use."""

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from nets import alexnet
import nets_helpers


class TestAlexNetV2(nets_helpers.FullyConvolutionalChecks):
  network_fn = staticmethod(alexnet.alexnet_v2)
  arg_scope_fn = staticmethod(alexnet.alexnet_v2_arg_scope)
  scope = 'alexnet_v2'
  image_size = 224
  # 11x11/4 VALID: (224 - 11) // 4 + 1 = 54; each 3x3/2 VALID pool:
  # (n - 3) // 2 + 1; the 5x5 VALID fc6 takes pool5's 5x5 to 1x1.
  end_points = {
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
  }
  # 320: conv1 78, pool1 38, pool2 18, pool5 8, fc6 (5x5 VALID) 4.
  larger_size, larger_map = 320, 4


def _initial_values(names):
  variables = {v.op.name: v for v in tf.global_variables()}
  with tf.Session() as sess:
    return sess.run([variables['alexnet_v2/' + n].initial_value
                     for n in names])


def test_cuda_convnet_initialisation_of_the_classifier():
  with tf.Graph().as_default():
    nets_helpers.build(alexnet.alexnet_v2, alexnet.alexnet_v2_arg_scope(),
                       [1, 224, 224, 3], 5)
    conv1_biases, fc6_biases, fc8_biases, fc8_weights = _initial_values(
        ['conv1/biases', 'fc6/biases', 'fc8/biases', 'fc8/weights'])
  # conv1's from the arg scope, fc6's from the classifier's own scope.
  np.testing.assert_array_equal(conv1_biases, np.float32(0.1))
  np.testing.assert_array_equal(fc6_biases, np.float32(0.1))
  np.testing.assert_array_equal(fc8_biases, 0.0)
  # Normal(0, 0.005) truncated at two standard deviations.
  assert np.abs(fc8_weights).max() <= 0.01
  assert fc8_weights.std() == pytest.approx(0.005 * 0.88, rel=0.05)
