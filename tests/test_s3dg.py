"""S3D-G and the 3-D blocks of nets/i3d_utils.py.

Graphs are built with placeholders (cheap at any size); sessions run only on
clips of a few 32x32 frames.
"""

import inspect

import numpy as np
import pytest
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import i3d_utils
from nets import s3dg


def _build(shape=(1, 8, 224, 224, 3), num_classes=5, **kwargs):
  clips = tf.placeholder(tf.float32, shape)
  with slim.arg_scope(s3dg.s3dg_arg_scope()):
    return s3dg.s3dg(clips, num_classes=num_classes, **kwargs)


def _shapes(prefix=''):
  """{variable name without 'InceptionV1/': shape} under `prefix`."""
  return {v.op.name[len('InceptionV1/'):]: v.shape.as_list()
          for v in tf.global_variables()
          if v.op.name.startswith('InceptionV1/' + prefix)}


def test_signatures_match_upstream():
  assert list(inspect.signature(s3dg.s3dg).parameters) == [
      'inputs', 'num_classes', 'first_temporal_kernel_size',
      'temporal_conv_startat', 'gating_startat', 'final_endpoint',
      'min_depth', 'depth_multiplier', 'dropout_keep_prob', 'is_training',
      'prediction_fn', 'spatial_squeeze', 'reuse', 'data_format', 'scope']
  assert list(inspect.signature(s3dg.s3dg_base).parameters) == [
      'inputs', 'first_temporal_kernel_size', 'temporal_conv_startat',
      'gating_startat', 'final_endpoint', 'min_depth', 'depth_multiplier',
      'data_format', 'scope']
  defaults = {name: p.default for name, p in
              inspect.signature(s3dg.s3dg).parameters.items()}
  assert (defaults['num_classes'], defaults['first_temporal_kernel_size'],
          defaults['gating_startat'], defaults['dropout_keep_prob'],
          defaults['scope']) == (1000, 3, 'Conv2d_2c_3x3', 0.8, 'InceptionV1')
  assert list(inspect.signature(s3dg.s3dg_arg_scope).parameters) == [
      'weight_decay', 'batch_norm_decay', 'batch_norm_epsilon']
  assert s3dg.s3dg.default_image_size == 224


def test_separable_layers_and_gates_from_conv2d_2c():
  with tf.Graph().as_default():
    _build()
    shapes = _shapes()
  assert shapes['Conv2d_1a_7x7/weights'] == [3, 7, 7, 3, 64]
  assert 'Conv2d_1a_7x7/temporal/weights' not in shapes
  assert shapes['Conv2d_2c_3x3/weights'] == [1, 3, 3, 64, 192]
  assert shapes['Conv2d_2c_3x3/temporal/weights'] == [3, 1, 1, 192, 192]
  assert shapes['Conv2d_2c_3x3/temporal/biases'] == [192]
  assert shapes['Conv2d_2c_3x3/self_gating/transformer_W/weights'] == [
      1, 1, 1, 192, 192]
  # Every branch of every module is gated, under its last layer's name.
  gates = [n for n in shapes if n.startswith('Mixed_5c') and 'gating' in n]
  assert sorted(g.split('/')[1] for g in gates) == [
      'Branch_0', 'Branch_1', 'Branch_2', 'Branch_3']


def test_switches_start_at_the_named_layer():
  with tf.Graph().as_default():
    _build(temporal_conv_startat='Mixed_4b', gating_startat='Mixed_4c')
    shapes = _shapes()
  assert shapes['Conv2d_2c_3x3/weights'] == [1, 3, 3, 64, 192]
  assert shapes['Mixed_3c/Branch_1/Conv2d_0b_3x3/weights'][0] == 1
  with_temporal = sorted({n.split('/')[0] for n in shapes if 'temporal' in n})
  gated = sorted({n.split('/')[0] for n in shapes if 'gating' in n})
  assert with_temporal == ['Mixed_4b', 'Mixed_4c', 'Mixed_4d', 'Mixed_4e',
                           'Mixed_4f', 'Mixed_5b', 'Mixed_5c']
  assert gated == with_temporal[1:]


def test_a_name_that_cannot_switch_leaves_the_network_2d_and_ungated():
  # MaxPool_4a_3x3 has no convolution: nothing switches on, as upstream.
  with tf.Graph().as_default():
    _build(temporal_conv_startat='MaxPool_4a_3x3', gating_startat=None)
    names = list(_shapes())
  assert not [n for n in names if 'temporal' in n or 'gating' in n]


def test_depth_multiplier_with_min_depth():
  with tf.Graph().as_default():
    _build(depth_multiplier=0.5)
    shapes = _shapes('Mixed_3b')
  assert shapes['Mixed_3b/Branch_0/Conv2d_0a_1x1/weights'][-1] == 32
  # 16 * 0.5 = 8 is raised to min_depth.
  assert shapes['Mixed_3b/Branch_2/Conv2d_0a_1x1/weights'][-1] == 16


def test_final_endpoint_stops_the_trunk():
  with tf.Graph().as_default():
    clips = tf.placeholder(tf.float32, [1, 8, 64, 64, 3])
    net, end_points = s3dg.s3dg_base(clips, final_endpoint='Mixed_3b')
  assert list(end_points) == list(s3dg.END_POINTS[:6])
  assert net.shape.as_list() == [1, 4, 8, 8, 256]


@pytest.mark.parametrize('kwargs,message', [
    ({'final_endpoint': 'Mixed_6a'}, 'final_endpoint'),
    ({'first_temporal_kernel_size': 4}, 'first_temporal_kernel_size'),
    ({'depth_multiplier': 0}, 'depth_multiplier'),
    ({'data_format': 'NHWC'}, 'data_format'),
])
def test_bad_arguments_raise(kwargs, message):
  with tf.Graph().as_default():
    clips = tf.placeholder(tf.float32, [1, 8, 32, 32, 3])
    with pytest.raises(ValueError, match=message):
      s3dg.s3dg_base(clips, **kwargs)


def test_channels_first_has_the_same_variables():
  with tf.Graph().as_default():
    _build()
    channels_last = _shapes()
  with tf.Graph().as_default():
    logits, end_points = _build(shape=(1, 3, 8, 224, 224),
                                data_format='NCDHW')
    assert _shapes() == channels_last
  assert end_points['Mixed_5c'].shape.as_list() == [1, 1024, 1, 7, 7]
  assert logits.shape.as_list() == [1, 5]


def test_zero_classes_returns_clip_features():
  with tf.Graph().as_default():
    features, end_points = _build(shape=(2, None, None, None, 3),
                                  num_classes=0)
    names = list(_shapes('Logits'))
  assert features.shape.as_list() == [2, 1024]
  assert 'Logits' not in end_points and names == []


def test_tiny_clip_runs_and_trains_batch_norm():
  with tf.Graph().as_default():
    logits, end_points = _build(shape=(2, 4, 32, 32, 3), num_classes=3)
    updates = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    moving = tf.get_collection('moving_vars')
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      probabilities = sess.run(end_points['Predictions'], {
          logits.graph.get_tensor_by_name('Placeholder:0'):
              np.random.RandomState(0).rand(2, 4, 32, 32, 3)})
  assert np.isfinite(probabilities).all()
  np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
  # One moving mean and variance per BatchNorm, each with its update.
  assert updates and len(moving) == len(updates)


def test_self_gating_scales_each_channel_by_a_sigmoid_of_its_clip_mean():
  values = np.random.RandomState(1).rand(2, 3, 4, 5, 6).astype(np.float32)
  weights = np.random.RandomState(2).randn(1, 1, 1, 6, 6).astype(np.float32)
  with tf.Graph().as_default(), tf.Session() as sess:
    gated = s3dg.self_gating(tf.constant(values), 'Layer')
    kernel = tf.global_variables()[0]
    assert kernel.op.name == 'Layer/self_gating/transformer_W/weights'
    sess.run(kernel.assign(weights))
    result = sess.run(gated)
  mean = values.mean(axis=(1, 2, 3))
  gate = 1 / (1 + np.exp(-mean @ weights[0, 0, 0]))
  np.testing.assert_allclose(result, values * gate[:, None, None, None],
                             rtol=1e-5)


def test_center_initializer_makes_the_temporal_conv_an_identity():
  values = np.random.RandomState(3).rand(1, 5, 4, 4, 8).astype(np.float32)
  with tf.Graph().as_default(), tf.Session() as sess:
    net = slim.conv3d(tf.constant(values), 8, [3, 1, 1], activation_fn=None,
                      biases_initializer=None,
                      weights_initializer=i3d_utils.center_initializer())
    sess.run(tf.global_variables_initializer())
    np.testing.assert_allclose(sess.run(net), values, rtol=1e-6)


@pytest.mark.parametrize('shape,message', [
    ([2, 1, 1, 8, 8], 'odd temporal size'),
    ([3, 3, 3, 8, 8], '1x1 spatial'),
    ([3, 1, 1, 8, 4], 'as many output as input'),
])
def test_center_initializer_rejects_kernels_it_cannot_center(shape, message):
  with pytest.raises(ValueError, match=message):
    i3d_utils.center_initializer()(shape)


def test_separable_conv_of_temporal_size_one_is_a_single_conv():
  with tf.Graph().as_default():
    clips = tf.placeholder(tf.float32, [1, 4, 8, 8, 3])
    i3d_utils.conv3d_spatiotemporal(clips, 4, [1, 3, 3], separable=True,
                                    scope='Conv')
    names = [v.op.name for v in tf.global_variables()]
  assert sorted(names) == ['Conv/biases', 'Conv/weights']


def test_reduced_kernel_size_3d_fits_small_and_unknown_inputs():
  with tf.Graph().as_default():
    small = tf.placeholder(tf.float32, [1, 1, 3, 9, 8])
    unknown = tf.placeholder(tf.float32, [1, None, None, 4, 8])
  assert i3d_utils.reduced_kernel_size_3d(small, [2, 7, 7]) == [1, 3, 7]
  assert i3d_utils.reduced_kernel_size_3d(unknown, [2, 7, 7]) == [2, 7, 4]
