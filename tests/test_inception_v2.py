"""Inception-v2: trunk options, classifier head and initialisation.

The checkpoint's variables and end points are checked against its manifest
in test_zoo_manifests.py; reuse, unknown batch size and two trunks in one
graph in test_inception_api.py.
"""

import json
import os

import pytest
import tensorflow.compat.v1 as tf
import tf_slim as slim

from conftest import MANIFEST_DIR
from nets import inception
from nets_helpers import assert_each_final_endpoint
from nets_helpers import assert_rejects_depth_multiplier
from nets_helpers import dropout_is_active
from nets_helpers import images
from nets_helpers import shapes_only

_ROOT_END_POINTS = ['Conv2d_1a_7x7', 'MaxPool_2a_3x3', 'Conv2d_2b_1x1',
                    'Conv2d_2c_3x3', 'MaxPool_3a_3x3']
_MODULE_END_POINTS = ['Mixed_3b', 'Mixed_3c', 'Mixed_4a', 'Mixed_4b',
                      'Mixed_4c', 'Mixed_4d', 'Mixed_4e', 'Mixed_5a',
                      'Mixed_5b', 'Mixed_5c']


def _reference_shapes():
  """End point shapes of the checkpoint's network at 224x224, batch 1."""
  with open(os.path.join(MANIFEST_DIR, 'inception_v2.json')) as f:
    shapes = json.load(f)['end_point_shapes']
  return {name: shapes[name] for name in _ROOT_END_POINTS + _MODULE_END_POINTS}


def test_every_documented_final_endpoint():
  assert_each_final_endpoint(inception.inception_v2_base, 64, 'InceptionV2',
                             _ROOT_END_POINTS + _MODULE_END_POINTS)


def test_without_root_block_the_modules_take_the_input():
  assert_each_final_endpoint(inception.inception_v2_base, 28, 'InceptionV2',
                             _MODULE_END_POINTS, include_root_block=False)
  with tf.Graph().as_default(), shapes_only():
    _, end_points = inception.inception_v2_base(
        images(28, channels=192, batch=1), include_root_block=False)
    with pytest.raises(ValueError, match='Conv2d_1a_7x7'):
      inception.inception_v2_base(images(28, channels=192),
                                  final_endpoint='Conv2d_1a_7x7',
                                  include_root_block=False)
  expected = _reference_shapes()
  assert {name: net.shape.as_list() for name, net in end_points.items()} == {
      name: expected[name] for name in _MODULE_END_POINTS}


def test_plain_first_convolution_keeps_every_end_point_shape():
  with tf.Graph().as_default(), shapes_only() as variables:
    _, end_points = inception.inception_v2_base(images(224, batch=1),
                                                use_separable_conv=False)
  assert {name: net.shape.as_list()
          for name, net in end_points.items()} == _reference_shapes()
  first = {name: shape for name, shape in variables.items()
           if name.startswith('InceptionV2/Conv2d_1a_7x7/')}
  assert first == {'InceptionV2/Conv2d_1a_7x7/weights': [7, 7, 3, 64]}


@pytest.mark.parametrize('multiplier,depthwise,depth', [
    (1.0, 8, 64),    # capped at 8 channels per input channel
    (0.25, 5, 16),   # 3 * 5 <= 16 < 3 * 6
])
def test_separable_first_convolution_never_widens(multiplier, depthwise,
                                                  depth):
  with tf.Graph().as_default(), shapes_only() as variables:
    inception.inception_v2_base(images(64), final_endpoint='Conv2d_1a_7x7',
                                depth_multiplier=multiplier)
  assert variables['InceptionV2/Conv2d_1a_7x7/depthwise_weights'] == [
      7, 7, 3, depthwise]
  assert variables['InceptionV2/Conv2d_1a_7x7/pointwise_weights'] == [
      1, 1, 3 * depthwise, depth]


def test_nchw_end_points_are_transposed_nhwc_ones():
  with tf.Graph().as_default(), shapes_only():
    _, end_points = inception.inception_v2_base(
        tf.placeholder(tf.float32, [1, 3, 224, 224]),
        use_separable_conv=False, data_format='NCHW')
  expected = {name: [shape[0], shape[3], shape[1], shape[2]]
              for name, shape in _reference_shapes().items()}
  assert {name: net.shape.as_list()
          for name, net in end_points.items()} == expected


def test_unsupported_data_formats_are_rejected():
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match='NHWC or NCHW'):
      inception.inception_v2_base(images(224), data_format='NCWH')
    with pytest.raises(ValueError, match='separable'):
      inception.inception_v2_base(images(224), data_format='NCHW')
    assert tf.global_variables() == []


@pytest.mark.parametrize('multiplier', [0.5, 2.0])
def test_depth_multiplier_scales_every_end_point(multiplier):
  with tf.Graph().as_default(), shapes_only():
    _, end_points = inception.inception_v2(images(224, batch=1),
                                           num_classes=5,
                                           depth_multiplier=multiplier)
  for name, shape in _reference_shapes().items():
    assert end_points[name].shape.as_list() == shape[:3] + [
        shape[3] * multiplier], name


@pytest.mark.parametrize('multiplier', [0.0, -0.1])
def test_depth_multiplier_must_be_positive(multiplier):
  assert_rejects_depth_multiplier(
      [inception.inception_v2, inception.inception_v2_base],
      lambda: images(224), multiplier)


def test_positional_arguments():
  with tf.Graph().as_default(), shapes_only() as variables:
    logits, end_points = inception.inception_v2(
        images(224, 320), 7, True, 0.5, 32, 0.5, slim.softmax, False, None,
        'V2', True)
    assert dropout_is_active()
    base_net, base_end_points = inception.inception_v2_base(
        images(224), 'Mixed_4a', 16, 1.0, False, 'NHWC', True, 'B2')
  assert logits.shape.as_list() == [2, 1, 1, 7]
  assert end_points['global_pool'].shape.as_list() == [2, 1, 1, 512]
  # min_depth=32 floors the halved 32-deep pool projection.
  assert variables['V2/Mixed_3b/Branch_3/Conv2d_0b_1x1/weights'] == [
      1, 1, 96, 32]
  assert list(base_end_points)[-1] == 'Mixed_4a'
  assert base_net.shape.as_list() == [2, 14, 14, 576]
  assert variables['B2/Conv2d_1a_7x7/weights'] == [7, 7, 3, 64]


def test_pooling_window_names_and_shapes():
  # 224x320: 7x10 final map, 7x7 window with stride 2 -> 1x2.
  with tf.Graph().as_default(), shapes_only():
    windowed, windowed_end_points = inception.inception_v2(
        images(224, 320), num_classes=5, spatial_squeeze=False)
    small, small_end_points = inception.inception_v2(
        images(112), num_classes=5, scope='Small')
    pooled, pooled_end_points = inception.inception_v2(
        images(None, None, batch=1), num_classes=5, global_pool=True,
        scope='Pooled')
  assert windowed.shape.as_list() == [2, 1, 2, 5]
  assert windowed_end_points['PreLogits'].shape.as_list() == [2, 1, 2, 1024]
  assert windowed_end_points['AvgPool_1a'].op.name.startswith(
      'InceptionV2/Logits/AvgPool_1a_7x7/')
  # Half-size images: the window shrinks to the 4x4 map.
  assert small.shape.as_list() == [2, 5]
  assert small_end_points['Mixed_5c'].shape.as_list() == [2, 4, 4, 1024]
  assert small_end_points['AvgPool_1a'].op.name.startswith(
      'Small/Logits/AvgPool_1a_4x4/')
  assert pooled.shape.as_list() == [1, 5]
  assert pooled_end_points['global_pool'].shape.as_list() == [1, 1, 1, 1024]
  assert 'AvgPool_1a' not in pooled_end_points


def test_layers_start_from_the_checkpoints_initialisation():
  with tf.Graph().as_default():
    with slim.arg_scope(inception.inception_v2_arg_scope()):
      inception.inception_v2_base(images(64), final_endpoint='Mixed_3b')
    # N(0, stddev) truncated at 2 sigma has 0.88 * stddev of spread.
    expected = {
        'Conv2d_1a_7x7/depthwise_weights': 0.88 * 1.0,
        'Conv2d_2b_1x1/weights': 0.88 * 0.1,
        'Mixed_3b/Branch_1/Conv2d_0a_1x1/weights': 0.88 * 0.09,
        'Mixed_3b/Branch_3/Conv2d_0b_1x1/weights': 0.88 * 0.1,
    }
    weights = [tf.global_variables('InceptionV2/' + name)[0]
               for name in expected]
    with tf.Session() as sess:
      sess.run([w.initializer for w in weights])
      values = sess.run(weights)
  for (name, spread), value in zip(expected.items(), values):
    assert value.std() == pytest.approx(spread, rel=0.08), name
