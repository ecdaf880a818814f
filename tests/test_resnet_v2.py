"""ResNet v2: upstream's public API and the pre-activation layout (root
convolution without BatchNorm, 'postnorm', identity shortcuts)."""

import numpy as np
import pytest
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import resnet_utils
from nets import resnet_v2
import nets_helpers
from nets_helpers import EMPTY


@pytest.mark.parametrize('network_fn', [
    resnet_v2.resnet_v2_50, resnet_v2.resnet_v2_101, resnet_v2.resnet_v2_152,
    resnet_v2.resnet_v2_200])
def test_networks_keep_upstreams_signature(network_fn):
  # Unlike v1, upstream's v2 has no store_non_strided_activations or widths.
  assert nets_helpers.parameters(network_fn) == [
      ('inputs', EMPTY), ('num_classes', None), ('is_training', True),
      ('global_pool', True), ('output_stride', None),
      ('spatial_squeeze', True), ('reuse', None),
      ('scope', network_fn.__name__)]
  assert network_fn.default_image_size == 224


def test_builders_keep_upstreams_signatures():
  nets_helpers.assert_resnet_builders_are_upstreams(resnet_v2, 'v2')
  assert resnet_v2.resnet_arg_scope is resnet_utils.resnet_arg_scope


def test_positional_arguments_follow_upstreams_order():
  with tf.Graph().as_default():
    # num_classes, is_training, global_pool, output_stride, spatial_squeeze,
    # reuse, scope.
    logits, points = nets_helpers.build_resnet(
        resnet_v2, resnet_v2.resnet_v2_50, 10, False, False, 16, False, None,
        'net')
    assert not tf.get_collection(tf.GraphKeys.UPDATE_OPS)
  assert logits.shape.as_list() == [2, 4, 4, 10]
  assert points['net/logits'] is logits
  assert 'net/spatial_squeeze' not in points


def test_default_call_returns_normalised_pooled_features():
  with tf.Graph().as_default():
    net, points = nets_helpers.build_resnet(resnet_v2,
                                            resnet_v2.resnet_v2_50)
  assert net.shape.as_list() == [2, 1, 1, 2048]
  assert 'predictions' not in points
  # Pooled after the final BatchNorm+ReLU, so every feature is >= 0.
  assert net.op.inputs[0].op.name == 'resnet_v2_50/postnorm/Relu'


def test_custom_block_list_has_the_pre_activation_layout():
  with tf.Graph().as_default():
    logits, points = nets_helpers.build_resnet(
        resnet_v2, resnet_v2.resnet_v2,
        nets_helpers.resnet_custom_blocks(resnet_v2.resnet_v2_block), 5)
    names = {v.op.name for v in tf.global_variables()}
  assert logits.shape.as_list() == [2, 5]
  # The root convolution feeds the first unit's 'preact' BatchNorm directly.
  assert 'resnet_v2/conv1/biases' in names
  assert not [n for n in names if n.startswith('resnet_v2/conv1/BatchNorm')]
  unit = 'resnet_v2/block1/unit_1/bottleneck_v2/'
  assert {unit + 'preact/gamma', unit + 'shortcut/biases',
          unit + 'conv1/BatchNorm/gamma', unit + 'conv3/biases',
          'resnet_v2/postnorm/gamma'} <= names
  assert unit + 'conv3/BatchNorm/gamma' not in names
  assert points['resnet_v2/block1'].shape.as_list() == [2, 8, 8, 16]
  assert points['resnet_v2/block2/unit_1/bottleneck_v2'].shape.as_list() == [
      2, 8, 8, 32]


def test_identity_shortcut_adds_the_raw_input_not_its_pre_activation():
  inputs = np.random.RandomState(0).randn(1, 4, 4, 8).astype(np.float32)
  with tf.Graph().as_default():
    # Zero convolutions leave only the shortcut.
    with slim.arg_scope(resnet_v2.resnet_arg_scope()), \
        slim.arg_scope([slim.conv2d],
                       weights_initializer=tf.zeros_initializer()):
      output = resnet_v2.bottleneck(tf.constant(inputs), 8, 2, 1)
      strided = resnet_v2.bottleneck(tf.constant(inputs), 8, 2, 2)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      output, strided = sess.run([output, strided])
  assert (inputs < 0).any()
  np.testing.assert_allclose(output, inputs)
  np.testing.assert_allclose(strided, inputs[:, ::2, ::2])
