"""MobileNet v3 and EdgeTPU: activations, squeeze-excite, tables, wrappers.

The released networks' variables and end points are checked against the
checkpoints in test_zoo_manifests.py; mobilenet_edgetpu_075, which has no
manifest of its own, is checked here against mobilenet_edgetpu's.
"""

import json
import os

import numpy as np
import pytest
import tensorflow.compat.v1 as tf
import tf_slim as slim

from conftest import MANIFEST_DIR
from nets import nets_factory
from nets.mobilenet import conv_blocks
from nets.mobilenet import mobilenet_v3
import nets_helpers


def _images(shape=(1, 224, 224, 3)):
  return tf.placeholder(tf.float32, shape)


def _build(network, *args, shape=(1, 224, 224, 3), **kwargs):
  with slim.arg_scope(mobilenet_v3.training_scope()):
    return network(_images(shape), *args, **kwargs)


def _shapes(end_points):
  return {name: t.shape.as_list() for name, t in end_points.items()}


def _op_names():
  return [op.name for op in tf.get_default_graph().get_operations()]


def test_hard_sigmoid_and_hard_swish_values():
  x = np.array([-5., -3., -1.5, 0., 1.5, 3., 5.], np.float32)
  with tf.Graph().as_default(), tf.Session() as sess:
    sigmoid, swish = sess.run([mobilenet_v3.hard_sigmoid(tf.constant(x)),
                               mobilenet_v3.hard_swish(tf.constant(x))])
  expected = np.clip(x + 3, 0, 6) / 6
  np.testing.assert_allclose(sigmoid, expected, rtol=1e-6)
  np.testing.assert_allclose(swish, x * expected, rtol=1e-6)
  assert sigmoid[0] == 0 and sigmoid[-1] == 1


def test_squeeze_excite_scales_each_channel_by_one_gate():
  with tf.Graph().as_default():
    inputs = _images((None, None, None, 32))
    outputs = mobilenet_v3.squeeze_excite(inputs)
    shapes = {v.op.name: v.shape.as_list() for v in tf.global_variables()}
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      values = np.random.RandomState(0).uniform(0.5, 1.5, (2, 5, 3, 32))
      gated = sess.run(outputs, {inputs: values})
  # Squeezed to 32 / 4 = 8 channels, then back to 32.
  assert shapes == {'squeeze_excite/Conv/weights': [1, 1, 32, 8],
                    'squeeze_excite/Conv/biases': [8],
                    'squeeze_excite/Conv_1/weights': [1, 1, 8, 32],
                    'squeeze_excite/Conv_1/biases': [32]}
  gate = gated / values
  # One gate per image and channel, in [0, 1], the same at every position.
  np.testing.assert_allclose(
      gate, np.broadcast_to(gate[:, :1, :1, :], gate.shape), rtol=1e-5)
  assert gate.min() >= 0 and gate.max() <= 1
  assert not np.allclose(gate[0], gate[1])


def test_squeeze_excite_with_pool_gives_a_spatial_gate():
  with tf.Graph().as_default():
    inputs = _images((1, 8, 8, 16))
    outputs = conv_blocks.squeeze_excite(inputs, pool=4)
    resized = [n for n in _op_names() if 'resize' in n.lower()]
  assert outputs.shape.as_list() == [1, 8, 8, 16]
  assert resized


def test_reduce_to_1x1_pools_square_maps_whole():
  with tf.Graph().as_default():
    square = mobilenet_v3.reduce_to_1x1(_images((1, 7, 7, 8)))
    wide = mobilenet_v3.reduce_to_1x1(_images((1, 7, 10, 8)))
    free = mobilenet_v3.reduce_to_1x1(_images((None, None, None, 8)))
  assert square.shape.as_list() == [1, 1, 1, 8]
  # As upstream: other known sizes use the 7x7 window.
  assert wide.shape.as_list() == [1, 1, 4, 8]
  assert free.shape.as_list() == [None, 1, 1, 8]


def test_minimalistic_has_no_hard_swish_or_squeeze_excite():
  with tf.Graph().as_default():
    _build(mobilenet_v3.small_minimalistic, num_classes=5)
    names = _op_names()
  assert not [n for n in names if 'hard_swish' in n]
  assert not [n for n in names if 'squeeze_excite' in n]


def test_output_stride_passes_the_pool_layer():
  with tf.Graph().as_default():
    _, end_points = _build(mobilenet_v3.large, num_classes=5,
                           output_stride=16)
    names = _op_names()
  assert end_points['layer_17'].shape.as_list() == [1, 14, 14, 960]
  assert end_points['layer_18'].shape.as_list() == [1, 1, 1, 960]
  assert end_points['Logits'].shape.as_list() == [1, 5]
  assert [n for n in names if 'hard_swish' in n]


@pytest.mark.parametrize('name, network', [
    ('mobilenet_v3_small', mobilenet_v3.small),
    ('mobilenet_edgetpu', mobilenet_v3.edge_tpu)])
def test_explicit_padding_keeps_every_shape(name, network):
  # Blocks (squeeze-excite, fused 3x3 expansions) and the pool layer too.
  with tf.Graph().as_default():
    _, end_points = _build(network, use_explicit_padding=True)
    paddings = {op.get_attr('padding')
                for op in tf.get_default_graph().get_operations()
                if op.type in ('Conv2D', 'DepthwiseConv2dNative') and
                '/Logits/' not in op.name}  # the classifier is not the base's
  assert paddings == {b'VALID'}
  with open(os.path.join(MANIFEST_DIR, name + '.json')) as f:
    assert _shapes(end_points) == json.load(f)['end_point_shapes']


def test_unknown_batch_and_spatial_size_run():
  nets_helpers.assert_runs_at_any_size(mobilenet_v3.small, 3,
                                       [(1, 64, 64, 3), (2, 96, 80, 3)])


def test_base_only_stops_at_final_endpoint_with_free_input_size():
  with tf.Graph().as_default():
    net, end_points = mobilenet_v3.mobilenet(
        _images((None, None, None, 3)), conv_defs=mobilenet_v3.V3_LARGE,
        base_only=True, final_endpoint='layer_17')
  assert net is end_points['layer_17']
  assert net.shape.as_list() == [None, None, None, 960]
  assert 'layer_18' not in end_points and 'global_pool' not in end_points


def _make_divisible(value):
  return conv_blocks._make_divisible(value, 8)


def test_edgetpu_075_is_edgetpu_at_three_quarter_width():
  with open(os.path.join(MANIFEST_DIR, 'mobilenet_edgetpu.json')) as f:
    full = json.load(f)['end_point_shapes']
  network_fn = nets_factory.get_network_fn('mobilenet_edgetpu_075', 1001,
                                           is_training=False)
  with tf.Graph().as_default():
    logits, end_points = network_fn(_images())
    names = {v.op.name for v in tf.global_variables()}
    has_updates = bool(tf.get_collection(tf.GraphKeys.UPDATE_OPS))
  shapes = _shapes(end_points)
  layers = ['layer_%d' % i for i in range(1, 24)]
  assert [shapes[n][:3] for n in layers] == [full[n][:3] for n in layers]
  # 32 -> 24, 16 -> 16 (12 would lose more than 10%), 48 -> 40, ...
  assert [shapes[n][3] for n in layers] == [
      _make_divisible(full[n][3] * 0.75) for n in layers]
  assert shapes['layer_1'][3] == 24 and shapes['layer_11'][3] == 72
  # Expansions scale the (already narrower) block input: 16 * 8 = 128.
  assert shapes['layer_3/expansion_output'][3] == 128
  # Fine-grain mode keeps the last layer at 1280.
  assert shapes['layer_24'] == full['layer_24'] == [1, 7, 7, 1280]
  assert logits.shape.as_list() == [1, 1001]
  assert {n.split('/')[0] for n in names} == {'MobilenetEdgeTPU'}
  assert not has_updates


def test_depth_multiplier_without_finegrain_scales_the_last_layer():
  with tf.Graph().as_default():
    _, end_points = _build(mobilenet_v3.small, depth_multiplier=0.5,
                           num_classes=0)
  assert end_points['layer_15'].shape.as_list() == [1, 1, 1, 512]
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match='depth_multiplier'):
      _build(mobilenet_v3.small, multiplier=0.5)


def test_edgetpu_scope_default_gives_way_to_keyword_and_position():
  for args, kwargs in [((), {'scope': 'Scope'}), ((0, 1.0, 'Scope'), {})]:
    with tf.Graph().as_default():
      net, end_points = mobilenet_v3.edge_tpu(
          _images(), *args, final_endpoint='layer_2', base_only=True,
          **kwargs)
    assert net.name.startswith('Scope/')
  with tf.Graph().as_default():
    net, _ = mobilenet_v3.edge_tpu(_images(), final_endpoint='layer_2',
                                   base_only=True)
  assert net.name.startswith('MobilenetEdgeTPU/')


def test_detection_defs_halve_the_last_stage():
  def widths(conv_defs):
    return [layer.params.get('num_outputs') for layer in conv_defs['spec']]

  large = widths(mobilenet_v3.V3_LARGE)
  detection = widths(mobilenet_v3.V3_LARGE_DETECTION)
  assert detection[:13] == large[:13] and detection[17:] == large[17:]
  assert detection[13:17] == [80, 80, 80, 480]
  assert widths(mobilenet_v3.V3_SMALL_DETECTION)[9:13] == [48, 48, 48, 288]
  # The tables they were made from are unchanged.
  assert large[13:17] == [160, 160, 160, 960]


def test_every_function_has_default_image_size_and_docstring():
  for name in ('mobilenet', 'mobilenet_base', 'large', 'small',
               'large_minimalistic', 'small_minimalistic', 'edge_tpu',
               'edge_tpu_075'):
    network = getattr(mobilenet_v3, name)
    assert network.default_image_size == 224, name
  assert 'Inference mode is created by default' in (
      mobilenet_v3.edge_tpu.__doc__)
