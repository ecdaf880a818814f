"""ResNet v1: upstream's public API (signatures, custom block lists as DeepLab
builds them), widths, non-strided activations and the v1 bottleneck."""

import numpy as np
import pytest
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import resnet_utils
from nets import resnet_v1
import nets_helpers
from nets_helpers import EMPTY

_WIDTH_ARGS = [('min_base_depth', 8), ('depth_multiplier', 1),
               ('reuse', None)]
# Upstream puts store_non_strided_activations after spatial_squeeze in
# ResNet-50/101 and before it in ResNet-152/200.
_SHALLOW_ORDER = [('inputs', EMPTY), ('num_classes', None),
                  ('is_training', True), ('global_pool', True),
                  ('output_stride', None), ('spatial_squeeze', True),
                  ('store_non_strided_activations', False)] + _WIDTH_ARGS
_DEEP_ORDER = (_SHALLOW_ORDER[:5] + [_SHALLOW_ORDER[6], _SHALLOW_ORDER[5]] +
               _WIDTH_ARGS)
_NETWORKS = [(resnet_v1.resnet_v1_50, _SHALLOW_ORDER),
             (resnet_v1.resnet_v1_101, _SHALLOW_ORDER),
             (resnet_v1.resnet_v1_152, _DEEP_ORDER),
             (resnet_v1.resnet_v1_200, _DEEP_ORDER)]


@pytest.mark.parametrize('network_fn, order', _NETWORKS)
def test_networks_keep_upstreams_signature(network_fn, order):
  assert nets_helpers.parameters(network_fn) == order + [
      ('scope', network_fn.__name__)]
  assert network_fn.default_image_size == 224


def test_builders_keep_upstreams_signatures():
  nets_helpers.assert_resnet_builders_are_upstreams(
      resnet_v1, 'v1',
      builder_extra=[('store_non_strided_activations', False)],
      unit_extra=[('use_bounded_activations', False)])
  assert resnet_v1.resnet_arg_scope is resnet_utils.resnet_arg_scope


def _build(network_fn, *args, **kwargs):
  return nets_helpers.build_resnet(resnet_v1, network_fn, *args, **kwargs)


def test_positional_arguments_follow_upstreams_order():
  with tf.Graph().as_default():
    # num_classes, is_training, global_pool, output_stride, spatial_squeeze.
    logits, points = _build(resnet_v1.resnet_v1_50, 10, False, False, 16,
                            False)
    assert not tf.get_collection(tf.GraphKeys.UPDATE_OPS)
  assert logits.shape.as_list() == [2, 4, 4, 10]
  assert 'resnet_v1_50/spatial_squeeze' not in points


def test_default_call_returns_pooled_features():
  with tf.Graph().as_default():
    net, points = _build(resnet_v1.resnet_v1_50)
    names = nets_helpers.variable_names()
  assert net.shape.as_list() == [2, 1, 1, 2048]
  assert points['global_pool'] is net
  assert 'predictions' not in points
  assert not [n for n in names if 'logits' in n]


def test_classifier_has_upstreams_end_points_only():
  with tf.Graph().as_default():
    logits, points = _build(resnet_v1.resnet_v1_50, 7,
                            shape=(None, None, None, 3))
  assert logits.shape.as_list() == [None, 7]
  assert points['resnet_v1_50/spatial_squeeze'] is logits
  assert points['predictions'].op.name == 'resnet_v1_50/predictions/Reshape_1'
  # Upstream's testEndpointNames: no 'Logits'/'Predictions' aliases.
  assert not {'Logits', 'Predictions'} & set(points)
  assert points['resnet_v1_50/logits'].shape.as_list() == [None, 1, 1, 7]
  assert points['resnet_v1_50/block4'].shape.as_list() == [None, None, None,
                                                           2048]


def _custom_blocks():
  return nets_helpers.resnet_custom_blocks(resnet_v1.resnet_v1_block)


def test_custom_block_list_builds_under_the_default_scope():
  with tf.Graph().as_default():
    net, points = _build(resnet_v1.resnet_v1, _custom_blocks(), 5)
    shapes = {v.op.name: v.shape.as_list() for v in tf.global_variables()}
  assert net.shape.as_list() == [2, 5]
  unit = 'resnet_v1/block1/unit_1/bottleneck_v1'
  assert shapes[unit + '/shortcut/weights'] == [1, 1, 64, 16]
  assert shapes[unit + '/conv2/weights'] == [3, 3, 4, 4]
  assert shapes['resnet_v1/block2/unit_1/bottleneck_v1/conv3/weights'] == [
      1, 1, 8, 32]
  assert shapes['resnet_v1/logits/weights'] == [1, 1, 32, 5]
  assert points[unit + '/conv1'].shape.as_list() == [2, 16, 16, 4]
  # The last unit of block1 strides: 64 / 4 (root) / 2.
  assert points['resnet_v1/block1'].shape.as_list() == [2, 8, 8, 16]
  assert 'resnet_v1/pool1' not in points


def test_depth_multiplier_and_min_base_depth_set_the_widths():
  def conv3_widths(**kwargs):
    with tf.Graph().as_default():
      _build(resnet_v1.resnet_v1_50, 4, **kwargs)
      shapes = {v.op.name: v.shape.as_list() for v in tf.global_variables()}
    return [shapes['resnet_v1_50/block%d/unit_1/bottleneck_v1/conv3/weights'
                   % block][-1] for block in (1, 2, 3, 4)]

  assert conv3_widths() == [256, 512, 1024, 2048]
  assert conv3_widths(depth_multiplier=0.25) == [64, 128, 256, 512]
  assert conv3_widths(depth_multiplier=0.25, min_base_depth=32) == [
      128, 128, 256, 512]


def test_store_non_strided_activations_keeps_block_outputs_full_size():
  with tf.Graph().as_default():
    plain, plain_points = _build(resnet_v1.resnet_v1_50, None,
                                 global_pool=False)
    dense, dense_points = _build(resnet_v1.resnet_v1_50, None,
                                 global_pool=False,
                                 store_non_strided_activations=True,
                                 scope='dense')
  assert plain.shape.as_list() == dense.shape.as_list() == [2, 2, 2, 2048]
  for block, size in (('block1', 16), ('block2', 8), ('block3', 4)):
    assert plain_points['resnet_v1_50/' + block].shape.as_list()[1] == size // 2
    assert dense_points['dense/' + block].shape.as_list()[1] == size
    assert dense_points['dense/%s/unit_1/bottleneck_v1' % block].shape[1] == (
        plain_points['resnet_v1_50/%s/unit_1/bottleneck_v1' % block].shape[1])


def test_store_non_strided_activations_does_not_change_the_output():
  image = np.random.RandomState(0).rand(1, 33, 33, 3).astype(np.float32)
  with tf.Graph().as_default():
    tf.set_random_seed(0)
    with slim.arg_scope(resnet_v1.resnet_arg_scope()):
      outputs = [resnet_v1.resnet_v1(
          tf.constant(image), _custom_blocks(), is_training=False,
          global_pool=False, store_non_strided_activations=store,
          reuse=store, scope='net')[0] for store in (False, True)]
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      plain, dense = sess.run(outputs)
  assert plain.shape == (1, 5, 5, 32)
  np.testing.assert_allclose(dense, plain, rtol=1e-5, atol=1e-5)


def _bottleneck(inputs, depth, scope='unit', **kwargs):
  with slim.arg_scope(resnet_v1.resnet_arg_scope()):
    return resnet_v1.bottleneck(tf.constant(inputs), depth, 2, 1, scope=scope,
                                **kwargs)


def test_bottleneck_projects_the_shortcut_only_when_the_depth_changes():
  inputs = np.zeros([1, 4, 4, 8], np.float32)
  with tf.Graph().as_default():
    _bottleneck(inputs, 8)
    identity = {v.op.name for v in tf.global_variables()}
  with tf.Graph().as_default():
    _bottleneck(inputs, 16)
    projection = {v.op.name for v in tf.global_variables()}
  assert not [n for n in identity if 'shortcut' in n]
  assert projection - identity >= {'unit/shortcut/weights',
                                   'unit/shortcut/BatchNorm/beta'}


def test_bounded_activations_clip_the_unit_output_at_six():
  inputs = np.full([1, 4, 4, 8], 100.0, np.float32)
  with tf.Graph().as_default():
    unbounded = _bottleneck(inputs, 8)
    bounded = _bottleneck(inputs, 8, scope='bounded',
                          use_bounded_activations=True)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      unbounded, bounded = sess.run([unbounded, bounded])
  assert unbounded.max() > 6
  assert bounded.max() == 6
