"""MobileNet v2 and the conv-defs builder it shares with v3 (graph only).

The variables and end points of the released widths are checked against the
checkpoints in test_zoo_manifests.py; these tests cover the arguments.
"""

import pytest
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import nets_factory
from nets.mobilenet import conv_blocks
from nets.mobilenet import mobilenet as lib
from nets.mobilenet import mobilenet_v2
import nets_helpers


def _images(shape=(2, 64, 64, 3)):
  return tf.placeholder(tf.float32, shape)


def _channels(end_points, name):
  return end_points[name].shape.as_list()[-1]


def _build(network=mobilenet_v2.mobilenet, *args, shape=(2, 64, 64, 3),
           **kwargs):
  with slim.arg_scope(mobilenet_v2.training_scope()):
    return network(_images(shape), *args, **kwargs)


def _variable_names():
  return {v.op.name for v in tf.global_variables()}


# A three-layer network in the table format, for the builder's own tests.
_TINY_DEF = dict(
    defaults={
        (slim.conv2d, slim.separable_conv2d): {
            'normalizer_fn': slim.batch_norm, 'activation_fn': tf.nn.relu6},
        (conv_blocks.expanded_conv,): {'normalizer_fn': slim.batch_norm},
    },
    spec=[
        lib.op(slim.conv2d, stride=2, num_outputs=16, kernel_size=[3, 3]),
        lib.op(conv_blocks.expanded_conv, stride=2, num_outputs=24),
        lib.op(slim.conv2d, stride=1, num_outputs=40, kernel_size=[1, 1]),
    ])


def test_positional_arguments_follow_upstream_order():
  # (input_tensor, num_classes, depth_multiplier, scope)
  with tf.Graph().as_default():
    logits, end_points = mobilenet_v2.mobilenet(_images(), 7, 0.5, 'Net')
    names = _variable_names()
  assert logits.shape.as_list() == [2, 7]
  assert _channels(end_points, 'layer_1') == 16
  assert 'Net/Conv/weights' in names
  assert 'Net/Logits/Conv2d_1c_1x1/weights' in names


def test_final_endpoint_stops_the_base():
  with tf.Graph().as_default():
    net, end_points = _build(mobilenet_v2.mobilenet_base,
                             final_endpoint='layer_5')
    names = _variable_names()
  assert net is end_points['layer_5']
  assert net.shape.as_list() == [2, 8, 8, 32]
  assert 'layer_6' not in end_points
  assert end_points['layer_5/expansion_output'].shape.as_list()[-1] == 144
  assert not [n for n in names if 'expanded_conv_4/' in n]
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match='final_endpoint'):
      _build(mobilenet_v2.mobilenet_base, final_endpoint='layer_20')


def test_conv_defs_override_builds_only_that_table():
  with tf.Graph().as_default():
    logits, end_points = _build(conv_defs=_TINY_DEF, num_classes=3)
    names = _variable_names()
  assert logits.shape.as_list() == [2, 3]
  assert end_points['layer_3'].shape.as_list() == [2, 16, 16, 40]
  # expand_input_by_factor(6) is expanded_conv's own default.
  assert _channels(end_points, 'layer_2/expansion_output') == 96
  assert 'layer_4' not in end_points
  assert {n.split('/')[1] for n in names} == {
      'Conv', 'expanded_conv', 'Conv_1', 'Logits'}


def test_depth_multiplier_rounds_to_divisible_by_and_min_depth():
  with tf.Graph().as_default():
    _, default = _build(mobilenet_v2.mobilenet_base, depth_multiplier=0.25)
  with tf.Graph().as_default():
    _, coarse = _build(mobilenet_v2.mobilenet_base, depth_multiplier=0.25,
                       min_depth=32, divisible_by=16)
  layers = ['layer_%d' % i for i in range(1, 20)]
  # 16 * 0.25 = 4 -> 8 by default (min_depth 8), 32 with min_depth 32;
  # 96 * 0.25 = 24 stays 24 with divisible_by 8, becomes 32 with 16.
  assert [_channels(default, n) for n in layers] == (
      [8, 8, 8, 8, 8, 8, 8, 16, 16, 16, 16, 24, 24, 24, 40, 40, 40, 80, 320])
  assert [_channels(coarse, n) for n in layers] == (
      [32] * 14 + [48, 48, 48, 80, 320])
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match='multiplier'):
      _build(depth_multiplier=0)
    with pytest.raises(ValueError, match='depth_multiplier'):
      _build(multiplier=0.5)


@pytest.mark.parametrize('output_stride', [8, 16])
def test_output_stride_dilates_instead_of_striding(output_stride):
  with tf.Graph().as_default():
    net, _ = _build(mobilenet_v2.mobilenet_base, shape=(1, 224, 224, 3),
                    output_stride=output_stride)
    # slim implements a dilated depthwise convolution with SpaceToBatchND.
    dilated = [op.name.split('/')[1]
               for op in tf.get_default_graph().get_operations()
               if op.type == 'SpaceToBatchND']
  assert net.shape.as_list() == [1, 224 // output_stride,
                                 224 // output_stride, 1280]
  # Every depthwise after the stride is reached (layer_9 / layer_16 on).
  first = 8 if output_stride == 8 else 15
  assert dilated == ['expanded_conv_%d' % i for i in range(first - 1, 17)]


def test_odd_output_stride_is_rejected():
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match='Output stride'):
      _build(output_stride=3)


def test_explicit_padding_gives_same_sizes_with_valid_convolutions():
  # Odd sizes at every stride: 33 -> 17 -> 9 -> 5 -> 3.
  kwargs = dict(shape=(1, 33, 33, 3), final_endpoint='layer_8')
  with tf.Graph().as_default():
    _, same = _build(mobilenet_v2.mobilenet_base, **kwargs)
  with tf.Graph().as_default():
    _, explicit = _build(mobilenet_v2.mobilenet_base,
                         use_explicit_padding=True, **kwargs)
    operations = tf.get_default_graph().get_operations()
    paddings = {op.get_attr('padding') for op in operations
                if op.type in ('Conv2D', 'DepthwiseConv2dNative')}
    pads = [op for op in operations if op.type == 'Pad']
  assert paddings == {b'VALID'}
  # The stem and 7 depthwise convolutions (1x1 convs need none).
  assert len(pads) == 8
  assert {n: t.shape.as_list() for n, t in explicit.items()} == {
      n: t.shape.as_list() for n, t in same.items()}


def test_base_only_returns_the_last_layer_without_classifier():
  with tf.Graph().as_default():
    net, end_points = _build(conv_defs=_TINY_DEF, base_only=True)
    names = _variable_names()
  assert net is end_points['layer_3']
  assert net.shape.as_list() == [2, 16, 16, 40]
  assert 'global_pool' not in end_points and 'Logits' not in end_points
  assert not [n for n in names if 'Logits' in n]


def test_zero_classes_returns_pooled_features():
  with tf.Graph().as_default():
    net, end_points = _build(conv_defs=_TINY_DEF, num_classes=0)
    names = _variable_names()
  assert net is end_points['global_pool']
  assert net.shape.as_list() == [2, 1, 1, 40]
  assert not [n for n in names if 'Logits' in n]


def test_reuse_shares_every_variable():
  with tf.Graph().as_default():
    images = _images()
    with slim.arg_scope(mobilenet_v2.training_scope()):
      first, _ = mobilenet_v2.mobilenet(images, num_classes=5,
                                        conv_defs=_TINY_DEF)
      count = len(tf.global_variables())
      second, end_points = mobilenet_v2.mobilenet(
          images, num_classes=5, conv_defs=_TINY_DEF, reuse=True)
    assert len(tf.global_variables()) == count
    assert first.name != second.name
    # End points of the second copy are its own tensors.
    assert end_points['Logits'] is second
    assert end_points['layer_2/output'].name.startswith('MobilenetV2_1/')


def test_unknown_batch_and_spatial_size_run():
  end_points = nets_helpers.assert_runs_at_any_size(
      mobilenet_v2.mobilenet_v2_035, 4, [(1, 32, 32, 3), (2, 40, 72, 3)])
  assert end_points['global_pool'].shape.as_list() == [None, 1, 1, 1280]


def _last_widths(depth_multiplier, finegrain):
  with tf.Graph().as_default():
    _, end_points = _build(conv_defs=_TINY_DEF, num_classes=0,
                           depth_multiplier=depth_multiplier,
                           finegrain_classification_mode=finegrain)
  return _channels(end_points, 'layer_2'), _channels(end_points, 'layer_3')


def test_finegrain_classification_mode_keeps_the_last_layer_width():
  # The tiny table's last two layers: 24 and 40 channels.
  assert _last_widths(0.5, False) == (16, 24)
  assert _last_widths(0.5, True) == (16, 40)
  # As upstream, multipliers of 1 and more scale the last layer anyway.
  assert _last_widths(1.4, True) == (32, 56)


def test_activation_fn_replaces_relu6_everywhere():
  with tf.Graph().as_default():
    _build(conv_defs=_TINY_DEF, activation_fn=tf.nn.relu)
    types = {op.type for op in tf.get_default_graph().get_operations()}
  assert 'Relu' in types and 'Relu6' not in types


@pytest.mark.parametrize('use_reduce_mean, pool_type', [
    (False, 'AvgPool'), (True, 'Mean')])
def test_pooling_choice(use_reduce_mean, pool_type):
  with tf.Graph().as_default():
    _, end_points = _build(conv_defs=_TINY_DEF, num_classes=0,
                           use_reduce_mean_for_pooling=use_reduce_mean)
  assert end_points['global_pool'].op.type == pool_type


def test_custom_pooling_fn():
  def max_pool(net):
    return tf.reduce_max(net, [1, 2], keepdims=True)

  with tf.Graph().as_default():
    _, end_points = _build(conv_defs=_TINY_DEF, num_classes=0,
                           pooling_fn=max_pool)
  assert end_points['global_pool'].op.type == 'Max'


def test_training_scope_controls_batch_norm_dropout_and_decay():
  with tf.Graph().as_default():
    images = _images()
    with slim.arg_scope(mobilenet_v2.training_scope(is_training=False)):
      mobilenet_v2.mobilenet(images, conv_defs=_TINY_DEF, num_classes=3)
    operations = tf.get_default_graph().get_operations()
    assert not tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    assert not [op for op in operations if 'Dropout' in op.name and
                op.type == 'RandomUniform']
    # One L2 loss per conv2d (3 + expand/project of the block - the
    # depthwise, which is not decayed).
    assert len(tf.losses.get_regularization_losses()) == 5
  with tf.Graph().as_default():
    with slim.arg_scope(mobilenet_v2.training_scope(is_training=True)):
      mobilenet_v2.mobilenet(_images(), conv_defs=_TINY_DEF, num_classes=3)
    assert tf.get_collection(tf.GraphKeys.UPDATE_OPS)


@pytest.mark.parametrize('is_training', [False, True])
def test_registered_networks_accept_is_training(is_training):
  network_fn = nets_factory.get_network_fn('mobilenet_v2_035', 10,
                                           is_training=is_training)
  with tf.Graph().as_default():
    logits, _ = network_fn(_images())
    has_updates = bool(tf.get_collection(tf.GraphKeys.UPDATE_OPS))
  assert logits.shape.as_list() == [2, 10]
  assert has_updates == is_training


def test_every_function_has_default_image_size():
  for network in (mobilenet_v2.mobilenet, mobilenet_v2.mobilenet_v2_140,
                  mobilenet_v2.mobilenet_v2_050, mobilenet_v2.mobilenet_v2_035,
                  mobilenet_v2.mobilenet_base):
    assert network.default_image_size == 224
  assert 'MobileNet v2 classifier' in mobilenet_v2.mobilenet_v2_035.__doc__


def test_make_divisible_never_rounds_down_by_more_than_ten_percent():
  assert conv_blocks._make_divisible(11.2, 8) == 16  # 8 would be 29% less
  assert conv_blocks._make_divisible(5.6, 8) == 8
  assert conv_blocks._make_divisible(1792.0, 8) == 1792
  assert conv_blocks._split_divisible(48, 3, 8) == [16, 16, 16]
  assert conv_blocks._split_divisible(40, 3, 8) == [16, 16, 8]


def test_split_conv_splits_into_groups():
  with tf.Graph().as_default():
    net = conv_blocks.split_conv(_images((1, 4, 4, 32)), 48, num_ways=2,
                                 scope='proj')
    shapes = {v.op.name: v.shape.as_list() for v in tf.global_variables()}
  assert net.shape.as_list() == [1, 4, 4, 48]
  assert shapes == {'proj_part_0/weights': [1, 1, 16, 24],
                    'proj_part_0/biases': [24],
                    'proj_part_1/weights': [1, 1, 16, 24],
                    'proj_part_1/biases': [24]}


def test_safe_arg_scope_drops_none_values():
  assert isinstance(lib.safe_arg_scope([slim.dropout], keep_prob=None),
                    lib.NoOpScope)
  with lib.safe_arg_scope([slim.dropout], keep_prob=0.5, is_training=None):
    scope = slim.current_arg_scope()
  assert list(scope.values()) == [{'keep_prob': 0.5}]
