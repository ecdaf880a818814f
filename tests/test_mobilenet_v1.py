"""MobileNet v1: upstream's API, the trunk's options, the head, the variants.

Graphs are built from placeholders (cheap at any size); sessions run only on
tiny inputs or on a one-channel toy body.
"""

import inspect

import numpy as np
import pytest
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import mobilenet_v1
from nets.mobilenet_v1 import Conv, DepthSepConv

# Every end point of the default trunk, in build order.
_TRUNK_END_POINTS = ['Conv2d_0'] + [
    'Conv2d_%d_%s' % (index, kind)
    for index in range(1, 14) for kind in ('depthwise', 'pointwise')]

# A small body: three layers, each row type, a 5x5 depthwise kernel.
_SMALL_BODY = [
    Conv(kernel=[3, 3], stride=2, depth=16),
    DepthSepConv(kernel=[3, 3], stride=2, depth=32),
    DepthSepConv(kernel=[5, 5], stride=1, depth=24),
]

# The classifier stops its trunk at Conv2d_13_pointwise (as upstream), so its
# custom bodies have 14 rows: here the last block is 5x5 and narrower.
_CUSTOM_TOP = mobilenet_v1.MOBILENETV1_CONV_DEFS[:-1] + [
    DepthSepConv(kernel=[5, 5], stride=1, depth=256)]


def _images(shape=(2, 64, 64, 3)):
  return tf.placeholder(tf.float32, list(shape))


def _shape_scope():
  """No BatchNorm: a third of the build time, same shapes."""
  return mobilenet_v1.mobilenet_v1_arg_scope(normalizer_fn=None)


def _build(size=96, arg_scope=None, **kwargs):
  images = _images((2, size, size, 3))
  with slim.arg_scope(arg_scope or mobilenet_v1.mobilenet_v1_arg_scope()):
    return mobilenet_v1.mobilenet_v1(images, **kwargs)


def _build_fast(size=96, **kwargs):
  """`_build` for tests of shapes only."""
  return _build(size, _shape_scope(), **kwargs)


def _build_base(images, arg_scope=None, **kwargs):
  with slim.arg_scope(arg_scope or mobilenet_v1.mobilenet_v1_arg_scope()):
    return mobilenet_v1.mobilenet_v1_base(images, **kwargs)


def _shapes(end_points):
  return {name: t.shape.as_list() for name, t in end_points.items()}


def _defaults(func):
  return [(name, param.default)
          for name, param in inspect.signature(func).parameters.items()]


def test_signatures_follow_upstream():
  empty = inspect.Parameter.empty
  assert _defaults(mobilenet_v1.mobilenet_v1_base) == [
      ('inputs', empty), ('final_endpoint', 'Conv2d_13_pointwise'),
      ('min_depth', 8), ('depth_multiplier', 1.0), ('conv_defs', None),
      ('output_stride', None), ('use_explicit_padding', False),
      ('scope', None)]
  assert _defaults(mobilenet_v1.mobilenet_v1) == [
      ('inputs', empty), ('num_classes', 1000), ('dropout_keep_prob', 0.999),
      ('is_training', True), ('min_depth', 8), ('depth_multiplier', 1.0),
      ('conv_defs', None), ('prediction_fn', slim.softmax),
      ('spatial_squeeze', True), ('reuse', None), ('scope', 'MobilenetV1'),
      ('global_pool', False)]
  assert _defaults(mobilenet_v1.mobilenet_v1_arg_scope) == [
      ('is_training', True), ('weight_decay', 0.00004), ('stddev', 0.09),
      ('regularize_depthwise', False), ('batch_norm_decay', 0.9997),
      ('batch_norm_epsilon', 0.001),
      ('batch_norm_updates_collections', tf.GraphKeys.UPDATE_OPS),
      ('normalizer_fn', slim.batch_norm)]
  assert Conv._fields == DepthSepConv._fields == ('kernel', 'stride', 'depth')
  assert mobilenet_v1._CONV_DEFS is mobilenet_v1.MOBILENETV1_CONV_DEFS


def test_conv_defs_are_table_1_of_the_paper():
  defs = mobilenet_v1.MOBILENETV1_CONV_DEFS
  assert defs[0] == Conv([3, 3], 2, 32)
  assert all(isinstance(d, DepthSepConv) and d.kernel == [3, 3]
             for d in defs[1:])
  assert [(d.stride, d.depth) for d in defs[1:]] == [
      (1, 64), (2, 128), (1, 128), (2, 256), (1, 256), (2, 512),
      (1, 512), (1, 512), (1, 512), (1, 512), (1, 512), (2, 1024),
      (1, 1024)]


def _graph_def(build):
  with tf.Graph().as_default() as graph:
    with slim.arg_scope(mobilenet_v1.mobilenet_v1_arg_scope()):
      outputs = build(_images())
  return graph.as_graph_def(), outputs, graph


def test_classifier_positional_arguments_in_upstream_order():
  positional, (logits, end_points), graph = _graph_def(
      lambda images: mobilenet_v1.mobilenet_v1(
          images, 7, 0.5, False, 24, 0.5, _CUSTOM_TOP, None, False, None,
          'Net', True))
  keyword, _, _ = _graph_def(lambda images: mobilenet_v1.mobilenet_v1(
      images, num_classes=7, dropout_keep_prob=0.5, is_training=False,
      min_depth=24, depth_multiplier=0.5, conv_defs=_CUSTOM_TOP,
      prediction_fn=None, spatial_squeeze=False, reuse=None, scope='Net',
      global_pool=True))
  assert positional == keyword
  assert logits.shape.as_list() == [2, 1, 1, 7]
  assert 'global_pool' in end_points and 'Predictions' not in end_points
  # min_depth 24 beats 32 * 0.5; the last block from the custom body.
  assert end_points['Conv2d_0'].shape.as_list() == [2, 32, 32, 24]
  assert end_points['global_pool'].shape.as_list() == [2, 1, 1, 128]
  names = {v.op.name: v.shape.as_list()
           for v in graph.get_collection(tf.GraphKeys.GLOBAL_VARIABLES)}
  assert names['Net/Conv2d_13_depthwise/depthwise_weights'] == [5, 5, 512, 1]
  assert not graph.get_collection(tf.GraphKeys.UPDATE_OPS)  # is_training


def test_base_positional_arguments_in_upstream_order():
  positional, (net, end_points), graph = _graph_def(
      lambda images: mobilenet_v1.mobilenet_v1_base(
          images, 'Conv2d_2_pointwise', 24, 0.5, _SMALL_BODY, 8, True,
          'Base'))
  keyword, _, _ = _graph_def(lambda images: mobilenet_v1.mobilenet_v1_base(
      images, final_endpoint='Conv2d_2_pointwise', min_depth=24,
      depth_multiplier=0.5, conv_defs=_SMALL_BODY, output_stride=8,
      use_explicit_padding=True, scope='Base'))
  assert positional == keyword
  assert net.shape.as_list() == [2, 16, 16, 24]
  assert sorted(end_points) == ['Conv2d_0', 'Conv2d_1_depthwise',
                                'Conv2d_1_pointwise', 'Conv2d_2_depthwise',
                                'Conv2d_2_pointwise']
  assert graph.get_operation_by_name('Base/Conv2d_0/Conv2D').get_attr(
      'padding') == b'VALID'


def test_every_final_endpoint_stops_the_trunk_there():
  with tf.Graph().as_default():
    _, full = _build_base(_images(), _shape_scope())
    full_shapes = _shapes(full)
  assert full_shapes['Conv2d_13_pointwise'] == [2, 2, 2, 1024]
  for index, name in enumerate(_TRUNK_END_POINTS):
    # A fresh graph each time: slim graphs slow down as variables pile up.
    with tf.Graph().as_default():
      net, end_points = _build_base(_images(), _shape_scope(),
                                    final_endpoint=name)
      scopes = {v.op.name.split('/')[1] for v in tf.global_variables()}
    built = _TRUNK_END_POINTS[:index + 1]
    assert list(end_points) == built
    assert scopes == set(built)
    assert net is end_points[name]
    assert _shapes(end_points) == {n: full_shapes[n] for n in built}


def test_invalid_trunk_arguments_raise():
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match='Unknown final endpoint'):
      _build_base(_images(), final_endpoint='Conv2d_14_pointwise')
    with pytest.raises(ValueError, match='output_stride'):
      _build_base(_images(), output_stride=4)
    with pytest.raises(ValueError, match='Unknown convolution type'):
      _build_base(_images(), conv_defs=[('not', 'a', 'row')])
    with pytest.raises(ValueError, match='rank'):
      mobilenet_v1.mobilenet_v1(tf.placeholder(tf.float32, [64, 64, 3]))
    assert not tf.global_variables()  # nothing built before raising


def test_custom_conv_defs_build_their_own_body():
  with tf.Graph().as_default():
    net, end_points = _build_base(_images(), conv_defs=_SMALL_BODY,
                                  final_endpoint='Conv2d_2_pointwise')
    variables = {v.op.name: v.shape.as_list() for v in tf.global_variables()
                 if 'BatchNorm' not in v.op.name}
  assert net.shape.as_list() == [2, 16, 16, 24]
  assert list(end_points) == ['Conv2d_0', 'Conv2d_1_depthwise',
                              'Conv2d_1_pointwise', 'Conv2d_2_depthwise',
                              'Conv2d_2_pointwise']
  assert variables == {
      'MobilenetV1/Conv2d_0/weights': [3, 3, 3, 16],
      'MobilenetV1/Conv2d_1_depthwise/depthwise_weights': [3, 3, 16, 1],
      'MobilenetV1/Conv2d_1_pointwise/weights': [1, 1, 16, 32],
      'MobilenetV1/Conv2d_2_depthwise/depthwise_weights': [5, 5, 32, 1],
      'MobilenetV1/Conv2d_2_pointwise/weights': [1, 1, 32, 24],
  }


def test_depth_multiplier_scales_every_width_down_to_min_depth():
  with tf.Graph().as_default():
    _, end_points = _build_fast(num_classes=4, depth_multiplier=0.25)
  assert end_points['Conv2d_0'].shape.as_list()[-1] == 8
  assert end_points['Conv2d_1_pointwise'].shape.as_list()[-1] == 16
  assert end_points['Conv2d_13_pointwise'].shape.as_list() == [2, 3, 3, 256]
  with tf.Graph().as_default():
    _, end_points = _build_fast(num_classes=4, depth_multiplier=0.25,
                                min_depth=64)
  assert end_points['Conv2d_0'].shape.as_list()[-1] == 64
  assert end_points['Conv2d_1_pointwise'].shape.as_list()[-1] == 64
  assert end_points['Conv2d_6_pointwise'].shape.as_list()[-1] == 128
  with tf.Graph().as_default():
    _, end_points = _build_fast(num_classes=4, depth_multiplier=2.0,
                                min_depth=128)
  assert end_points['Conv2d_0'].shape.as_list()[-1] == 128
  assert end_points['Conv2d_13_pointwise'].shape.as_list()[-1] == 2048
  for bad in (0, -0.5):
    with tf.Graph().as_default():
      with pytest.raises(ValueError, match='depth_multiplier'):
        _build_fast(num_classes=4, depth_multiplier=bad)


@pytest.mark.parametrize('output_stride, size', [(None, 2), (32, 2),
                                                 (16, 4), (8, 8)])
def test_output_stride_keeps_the_map_at_that_ratio(output_stride, size):
  with tf.Graph().as_default():
    net, end_points = _build_base(_images(), _shape_scope(),
                                  output_stride=output_stride)
  assert net.shape.as_list() == [2, size, size, 1024]
  # Layers before the target ratio keep the table's strides.
  assert end_points['Conv2d_3_pointwise'].shape.as_list() == [2, 16, 16, 128]


def _ones_scope():
  """Weights 1, no BatchNorm, no activation: outputs count input pixels."""
  with slim.arg_scope([slim.conv2d, slim.separable_conv2d],
                      weights_initializer=tf.ones_initializer(),
                      normalizer_fn=None, activation_fn=None) as sc:
    return sc


def _run(tensors, feed):
  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    return sess.run(tensors, feed)


def test_output_stride_dilates_the_layers_after_the_target():
  # A 1x1/8 layer reaches stride 8 at once; the next (stride 2) layer then
  # keeps stride 1 and the one after it is dilated by 2.
  body = [Conv([1, 1], 8, 1), DepthSepConv([3, 3], 2, 1),
          DepthSepConv([3, 3], 1, 1)]
  with tf.Graph().as_default():
    images = _images((1, 72, 72, 1))
    net, end_points = _build_base(images, arg_scope=_ones_scope(),
                                  conv_defs=body, output_stride=8,
                                  min_depth=1,
                                  final_endpoint='Conv2d_2_pointwise')
    impulse = np.zeros([1, 72, 72, 1], np.float32)
    impulse[0, 32, 32, 0] = 1
    first, last = _run([end_points['Conv2d_1_pointwise'], net],
                       {images: impulse})
  assert first.shape == last.shape == (1, 9, 9, 1)
  # 3x3 then a 3x3 kernel with holes of 1: the impulse spreads to 7x7.
  assert np.count_nonzero(first) == 9
  assert np.count_nonzero(last) == 49


def test_explicit_padding_keeps_same_shapes_at_any_parity():
  for size, stride in ((65, None), (64, 8)):
    shapes = []
    for explicit in (False, True):
      with tf.Graph().as_default():
        _, end_points = _build_base(_images((1, size, size, 3)),
                                    _shape_scope(), output_stride=stride,
                                    use_explicit_padding=explicit)
        shapes.append(_shapes(end_points))
    assert shapes[0] == shapes[1]
  assert shapes[1]['Conv2d_13_pointwise'] == [1, 8, 8, 1024]


def test_explicit_padding_pads_both_sides_evenly():
  with tf.Graph().as_default():
    images = _images((1, 4, 4, 1))
    same, _ = _build_base(images, arg_scope=_ones_scope(),
                          final_endpoint='Conv2d_0', scope='Same')
    explicit, _ = _build_base(images, arg_scope=_ones_scope(),
                              final_endpoint='Conv2d_0',
                              use_explicit_padding=True, scope='Explicit')
    same, explicit = _run([same, explicit],
                          {images: np.ones([1, 4, 4, 1], np.float32)})
  # SAME puts 4x4's one pixel of padding after the image, so its first 3x3
  # window lies inside; explicit padding puts a pixel before too.
  assert same[0, :, :, 0].tolist() == [[9, 6], [6, 4]]
  assert explicit[0, :, :, 0].tolist() == [[4, 6], [6, 9]]


def test_small_inputs_pool_the_whole_map():
  with tf.Graph().as_default():
    logits, end_points = _build(num_classes=4)
  assert end_points['AvgPool_1a'].shape.as_list() == [2, 1, 1, 1024]
  assert logits.shape.as_list() == [2, 4]
  assert end_points['Logits'] is logits
  assert end_points['Predictions'].op.name.startswith(
      'MobilenetV1/Predictions/')


def test_global_pool_averages_any_input_to_one_pixel():
  # 320x320 leaves a 10x10 map: the fixed 7x7 window (stride 2) gives 2x2.
  with tf.Graph().as_default():
    logits, end_points = _build_fast(size=320, num_classes=4,
                                     spatial_squeeze=False)
  assert 'global_pool' not in end_points
  assert end_points['AvgPool_1a'].shape.as_list() == [2, 2, 2, 1024]
  assert logits.shape.as_list() == [2, 2, 2, 4]
  with tf.Graph().as_default():
    logits, end_points = _build_fast(size=320, num_classes=4,
                                     global_pool=True)
  assert 'AvgPool_1a' not in end_points
  assert end_points['global_pool'].shape.as_list() == [2, 1, 1, 1024]
  assert logits.shape.as_list() == [2, 4]


def test_spatial_squeeze_false_keeps_the_1x1_map():
  with tf.Graph().as_default():
    logits, end_points = _build(num_classes=4, spatial_squeeze=False)
  assert logits.shape.as_list() == [2, 1, 1, 4]
  assert end_points['Predictions'].shape.as_list() == [2, 1, 1, 4]


def test_zero_classes_returns_pooled_features():
  for num_classes in (0, None):
    with tf.Graph().as_default():
      net, end_points = _build_fast(num_classes=num_classes)
      names = [v.op.name for v in tf.global_variables()]
    assert net.shape.as_list() == [2, 1, 1, 1024]
    assert net is end_points['AvgPool_1a']
    assert 'Logits' not in end_points and 'Predictions' not in end_points
    assert not [n for n in names if 'Logits' in n]


def test_reuse_shares_every_variable():
  with tf.Graph().as_default():
    _build(num_classes=4)
    count = len(tf.global_variables())
    logits, _ = _build(size=128, num_classes=4, reuse=True)
    assert len(tf.global_variables()) == count
    assert logits.shape.as_list() == [2, 4]
    with pytest.raises(ValueError):
      _build(num_classes=4, reuse=True, scope='Unbuilt')


def test_unknown_batch_size():
  with tf.Graph().as_default():
    images = _images((None, 32, 32, 3))
    with slim.arg_scope(mobilenet_v1.mobilenet_v1_arg_scope()):
      logits, end_points = mobilenet_v1.mobilenet_v1(
          images, num_classes=5, depth_multiplier=0.25, is_training=False)
    assert logits.shape.as_list() == [None, 5]
    predictions = _run(end_points['Predictions'],
                       {images: np.random.rand(3, 32, 32, 3)})
  assert predictions.shape == (3, 5)
  np.testing.assert_allclose(predictions.sum(axis=1), 1, rtol=1e-5)


def test_unknown_spatial_size():
  with tf.Graph().as_default():
    images = _images((2, None, None, 3))
    with slim.arg_scope(mobilenet_v1.mobilenet_v1_arg_scope()):
      logits, end_points = mobilenet_v1.mobilenet_v1(
          images, num_classes=5, depth_multiplier=0.25, is_training=False,
          global_pool=True)
    assert end_points['Conv2d_13_pointwise'].shape.as_list() == [
        2, None, None, 256]
    assert logits.shape.as_list() == [2, 5]
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      for size in (40, 72):
        out = sess.run(logits, {images: np.random.rand(2, size, size, 3)})
        assert out.shape == (2, 5)


@pytest.mark.parametrize('name, multiplier, size, width', [
    ('mobilenet_v1_075', 0.75, 192, 768),
    ('mobilenet_v1_050', 0.50, 160, 512),
    ('mobilenet_v1_025', 0.25, 128, 256)])
def test_width_variants(name, multiplier, size, width):
  variant = getattr(mobilenet_v1, name)
  assert variant.default_image_size == size
  assert variant.__name__ == name
  assert variant.keywords == {'depth_multiplier': multiplier}
  assert mobilenet_v1.mobilenet_v1.default_image_size == 224
  with tf.Graph().as_default():
    with slim.arg_scope(mobilenet_v1.mobilenet_v1_arg_scope()):
      logits, end_points = variant(_images((1, size, size, 3)), 10)
  assert logits.shape.as_list() == [1, 10]
  assert end_points['Conv2d_13_pointwise'].shape.as_list() == [
      1, size // 32, size // 32, width]


def _regularized(**scope_kwargs):
  with tf.Graph().as_default():
    with slim.arg_scope(mobilenet_v1.mobilenet_v1_arg_scope(
        normalizer_fn=None, **scope_kwargs)):
      mobilenet_v1.mobilenet_v1(_images(), num_classes=4)
    return [loss.op.name for loss in tf.losses.get_regularization_losses()]


def test_arg_scope_decays_depthwise_filters_only_on_request():
  # Conv2d_0, 13 pointwise and the classifier; plus 13 depthwise on request.
  losses = _regularized()
  assert len(losses) == 15
  assert not [name for name in losses if 'depthwise' in name]
  assert len(_regularized(regularize_depthwise=True)) == 28


def _update_ops(collection=tf.GraphKeys.UPDATE_OPS, network_is_training=True,
                **scope_kwargs):
  with tf.Graph().as_default():
    with slim.arg_scope(mobilenet_v1.mobilenet_v1_arg_scope(**scope_kwargs)):
      mobilenet_v1.mobilenet_v1(_images(), num_classes=4,
                                is_training=network_is_training)
    return len(tf.get_collection(collection))


def test_arg_scope_batch_norm_options():
  # Two moving averages for each of the 27 BatchNorm layers.
  assert _update_ops() == 54
  # The network's own is_training wins over the arg scope's.
  assert _update_ops(network_is_training=False, is_training=True) == 0
  assert _update_ops(network_is_training=True, is_training=False) == 54
  assert _update_ops(network_is_training=True, is_training=None) == 54


def test_arg_scope_custom_updates_collection():
  assert _update_ops('bn_updates',
                     batch_norm_updates_collections='bn_updates') == 54
  assert _update_ops(batch_norm_updates_collections='bn_updates') == 0


def test_arg_scope_without_normalizer_uses_biases():
  with tf.Graph().as_default():
    with slim.arg_scope(mobilenet_v1.mobilenet_v1_arg_scope(
        normalizer_fn=None)):
      mobilenet_v1.mobilenet_v1(_images(), num_classes=4)
    names = [v.op.name for v in tf.global_variables()]
  assert not [n for n in names if 'BatchNorm' in n]
  assert 'MobilenetV1/Conv2d_0/biases' in names
  assert 'MobilenetV1/Conv2d_13_depthwise/biases' in names
