"""ResNet pieces: symmetric strided padding, blocks as tables, dense features,
and the network options v1 and v2 share (one builder, so tested on both)."""

import numpy as np
import pytest
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import resnet_utils
from nets import resnet_v1
from nets import resnet_v2

_VERSIONS = [(resnet_v1.resnet_v1, resnet_v1.resnet_v1_block),
             (resnet_v2.resnet_v2, resnet_v2.resnet_v2_block)]


def _run(fetches, feed_dict=None):
  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    return sess.run(fetches, feed_dict)


def _ones_conv_scope():
  return slim.arg_scope([slim.conv2d], activation_fn=None,
                        weights_initializer=tf.ones_initializer(),
                        biases_initializer=None)


def test_conv2d_same_pads_symmetrically_for_strided_convolutions():
  image = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
  with tf.Graph().as_default():
    with _ones_conv_scope():
      strided = resnet_utils.conv2d_same(tf.constant(image), 1, 3, stride=2)
    result = _run(strided)[0, :, :, 0]
  # One zero row/column before and after: windows centred on pixels 0 and 2.
  padded = np.pad(image[0, :, :, 0], 1)
  expected = [[padded[r:r + 3, c:c + 3].sum() for c in (0, 2)] for r in (0, 2)]
  np.testing.assert_allclose(result, expected)


@pytest.mark.parametrize('size', [4, 5])
def test_conv2d_same_equals_dense_convolution_then_subsample(size):
  image = np.random.RandomState(0).rand(1, size, size, 1).astype(np.float32)
  with tf.Graph().as_default():
    inputs = tf.constant(image)
    with _ones_conv_scope():
      strided = resnet_utils.conv2d_same(inputs, 1, 3, stride=2, scope='a')
      dense = resnet_utils.conv2d_same(inputs, 1, 3, stride=1, scope='b')
    dense = resnet_utils.subsample(dense, 2)
    # Plain SAME padding with stride 2 on an even input samples another grid.
    with _ones_conv_scope():
      plain = slim.conv2d(inputs, 1, 3, stride=2, padding='SAME', scope='c')
    strided, dense, plain = _run([strided, dense, plain])
  np.testing.assert_allclose(strided, dense, rtol=1e-6)
  assert (size % 2 == 1) == np.allclose(strided, plain)


def test_subsample_keeps_every_factor_th_pixel_and_is_identity_at_one():
  image = np.arange(25, dtype=np.float32).reshape(1, 5, 5, 1)
  with tf.Graph().as_default():
    inputs = tf.constant(image)
    assert resnet_utils.subsample(inputs, 1) is inputs
    result = _run(resnet_utils.subsample(inputs, 2))
  np.testing.assert_array_equal(result, image[:, ::2, ::2])


def test_bottleneck_block_strides_in_its_last_unit_only():
  block = resnet_v1.resnet_v1_block('block2', base_depth=16, num_units=3,
                                    stride=2)
  assert block.scope == 'block2'
  assert block.unit_fn is resnet_v1.bottleneck
  assert block.args == [
      {'depth': 64, 'depth_bottleneck': 16, 'stride': 1},
      {'depth': 64, 'depth_bottleneck': 16, 'stride': 1},
      {'depth': 64, 'depth_bottleneck': 16, 'stride': 2}]


def test_imagenet_blocks_follow_the_papers_table():
  blocks = resnet_utils.imagenet_blocks(resnet_v2.resnet_v2_block, 152)
  assert [b.scope for b in blocks] == ['block1', 'block2', 'block3', 'block4']
  assert [len(b.args) for b in blocks] == [3, 8, 36, 3]
  assert [b.args[0]['depth'] for b in blocks] == [256, 512, 1024, 2048]
  assert [b.args[-1]['stride'] for b in blocks] == [2, 2, 2, 1]
  thin = resnet_utils.imagenet_blocks(resnet_v2.resnet_v2_block, 50,
                                      depth_multiplier=0.25,
                                      min_base_depth=32)
  assert [b.args[0]['depth_bottleneck'] for b in thin] == [32, 32, 64, 128]


def _recording_unit(calls):
  def unit(net, depth, stride, rate):
    calls.append((tf.get_variable_scope().name, stride, rate))
    return net if stride == 1 else net[:, ::stride, ::stride]
  return unit


def _recorded_schedule(**kwargs):
  calls = []
  unit = _recording_unit(calls)
  blocks = [resnet_utils.Block('b%d' % (i + 1), unit,
                               [{'depth': 1, 'stride': 1},
                                {'depth': 1, 'stride': stride}])
            for i, stride in enumerate((2, 2, 2))]
  with tf.Graph().as_default():
    net = resnet_utils.stack_blocks_dense(tf.zeros([1, 16, 16, 1]), blocks,
                                          **kwargs)
  return net.shape.as_list()[1], calls


def test_stack_blocks_dense_dilates_instead_of_striding_past_output_stride():
  size, calls = _recorded_schedule()
  assert size == 2
  assert [c[1:] for c in calls] == [(1, 1), (2, 1)] * 3
  assert calls[-1][0] == 'b3/unit_2'
  size, calls = _recorded_schedule(output_stride=2)
  assert size == 8
  # Strides stop at 2; each stride replaced multiplies the later rates.
  assert [c[1:] for c in calls] == [(1, 1), (2, 1), (1, 1), (1, 1),
                                    (1, 2), (1, 2)]


def test_stack_blocks_dense_rejects_an_unreachable_output_stride():
  for output_stride in (3, 16):
    with pytest.raises(ValueError, match='output_stride cannot be reached'):
      _recorded_schedule(output_stride=output_stride)


def test_stack_blocks_dense_can_subsample_after_collecting_each_block():
  with tf.Graph().as_default():
    blocks = [resnet_v1.resnet_v1_block('block%d' % (i + 1), 2, 2, 2)
              for i in range(2)]
    inputs = tf.placeholder(tf.float32, [1, 16, 16, 8])
    net = resnet_utils.stack_blocks_dense(
        inputs, blocks, store_non_strided_activations=True,
        outputs_collections='blocks')
    collected = slim.utils.convert_collection_to_dict('blocks')
  assert net.shape.as_list() == [1, 4, 4, 8]
  assert collected['block1'].shape.as_list() == [1, 16, 16, 8]
  assert collected['block2'].shape.as_list() == [1, 8, 8, 8]


def _small_blocks(block_fn):
  return [block_fn('block1', 2, 2, 2), block_fn('block2', 4, 2, 2),
          block_fn('block3', 4, 2, 1)]


@pytest.mark.parametrize('network_fn, block_fn', _VERSIONS)
def test_dense_features_equal_the_strided_ones_where_both_exist(network_fn,
                                                                block_fn):
  image = np.random.RandomState(1).rand(2, 17, 17, 8).astype(np.float32)
  outputs = {}
  with tf.Graph().as_default():
    tf.set_random_seed(0)
    inputs = tf.constant(image)
    with slim.arg_scope(resnet_utils.resnet_arg_scope()):
      for output_stride in (None, 1, 2):
        outputs[output_stride], _ = network_fn(
            inputs, _small_blocks(block_fn), is_training=False,
            global_pool=False, include_root_block=False,
            output_stride=output_stride, reuse=output_stride is not None,
            scope='small')
    outputs = _run(outputs)
  assert outputs[None].shape == (2, 5, 5, 16)
  assert outputs[1].shape == (2, 17, 17, 16)
  np.testing.assert_allclose(outputs[1][:, ::4, ::4], outputs[None],
                             rtol=1e-4, atol=1e-4)
  np.testing.assert_allclose(outputs[2][:, ::2, ::2], outputs[None],
                             rtol=1e-4, atol=1e-4)


def _build_small(network_fn, block_fn, shape=(2, 64, 64, 3), **kwargs):
  images = tf.placeholder(tf.float32, shape)
  with slim.arg_scope(resnet_utils.resnet_arg_scope()):
    return images, network_fn(images, _small_blocks(block_fn), **kwargs)


@pytest.mark.parametrize('network_fn, block_fn', _VERSIONS)
def test_output_stride_is_relative_to_the_image_with_the_root_block(
    network_fn, block_fn):
  with tf.Graph().as_default():
    _, (plain, _) = _build_small(network_fn, block_fn, global_pool=False)
    plain_variables = {(v.op.name, tuple(v.shape)) for v in
                       tf.global_variables()}
  with tf.Graph().as_default():
    _, (dense, _) = _build_small(network_fn, block_fn, global_pool=False,
                                 output_stride=8)
    dense_variables = {(v.op.name, tuple(v.shape)) for v in
                       tf.global_variables()}
  assert plain.shape.as_list() == [2, 4, 4, 16]  # Nominal stride 16.
  assert dense.shape.as_list() == [2, 8, 8, 16]
  assert dense_variables == plain_variables
  for output_stride in (6, 32):
    with tf.Graph().as_default(), pytest.raises(ValueError,
                                                match='output_stride'):
      _build_small(network_fn, block_fn, output_stride=output_stride)


@pytest.mark.parametrize('network_fn, block_fn', _VERSIONS)
def test_features_and_logits_layouts(network_fn, block_fn):
  with tf.Graph().as_default():
    _, (features, points) = _build_small(network_fn, block_fn)
    assert features.shape.as_list() == [2, 1, 1, 16]
    assert points['global_pool'] is features
    assert not {'predictions', 'Predictions', 'Logits'} & set(points)
  with tf.Graph().as_default():
    _, (spatial, points) = _build_small(network_fn, block_fn,
                                        num_classes=5, global_pool=False,
                                        spatial_squeeze=False)
    assert spatial.shape.as_list() == [2, 4, 4, 5]
    assert 'global_pool' not in points
  with tf.Graph().as_default():
    _, (logits, points) = _build_small(network_fn, block_fn, num_classes=5,
                                       spatial_squeeze=False, scope='net')
    assert logits.shape.as_list() == [2, 1, 1, 5]
    assert points['net/logits'] is logits
    assert 'net/spatial_squeeze' not in points
    assert points['predictions'].shape.as_list() == [2, 1, 1, 5]
  with tf.Graph().as_default():
    _, (logits, points) = _build_small(network_fn, block_fn, num_classes=5,
                                       scope='net')
    assert logits.shape.as_list() == [2, 5]
    assert points['net/spatial_squeeze'] is logits
    assert points['predictions'].shape.as_list() == [2, 5]
    assert not {'Predictions', 'Logits'} & set(points)


@pytest.mark.parametrize('network_fn, block_fn', _VERSIONS)
def test_without_root_block_the_blocks_read_the_inputs(network_fn, block_fn):
  with tf.Graph().as_default():
    _, (net, points) = _build_small(network_fn, block_fn,
                                    shape=(2, 16, 16, 8), global_pool=False,
                                    include_root_block=False, output_stride=2,
                                    scope='net')
    names = {v.op.name for v in tf.global_variables()}
  assert net.shape.as_list() == [2, 8, 8, 16]
  assert not [n for n in names if n.startswith('net/conv1')]
  assert 'net/conv1' not in points


@pytest.mark.parametrize('network_fn, block_fn', _VERSIONS)
def test_reuse_shares_every_variable(network_fn, block_fn):
  with tf.Graph().as_default():
    images, _ = _build_small(network_fn, block_fn, num_classes=3, scope='net')
    count = len(tf.global_variables())
    with slim.arg_scope(resnet_utils.resnet_arg_scope()):
      network_fn(images, _small_blocks(block_fn), 3, reuse=True, scope='net')
      assert len(tf.global_variables()) == count
      with pytest.raises(ValueError, match='already exists'):
        network_fn(images, _small_blocks(block_fn), 3, scope='net')


@pytest.mark.parametrize('network_fn, block_fn', _VERSIONS)
def test_unknown_batch_and_spatial_size(network_fn, block_fn):
  with tf.Graph().as_default():
    images = tf.placeholder(tf.float32, [None, None, None, 3])
    with slim.arg_scope(resnet_utils.resnet_arg_scope()):
      logits, _ = network_fn(images, _small_blocks(block_fn), 3,
                             is_training=False, scope='classifier')
      features, _ = network_fn(images, _small_blocks(block_fn),
                               is_training=False, global_pool=False,
                               output_stride=8, scope='dense')
    assert logits.shape.as_list() == [None, 3]
    assert features.shape.as_list() == [None, None, None, 16]
    image = np.zeros([3, 33, 33, 3], np.float32)
    logits, features = _run([logits, features], {images: image})
  assert logits.shape == (3, 3)
  # 33 -> 17 (conv1) -> 9 (pool1) -> 5 (block1), then dilated.
  assert features.shape == (3, 5, 5, 16)


@pytest.mark.parametrize('network_fn, block_fn', _VERSIONS)
def test_batch_norm_mode_can_come_from_an_enclosing_scope(network_fn,
                                                          block_fn):
  def update_ops(is_training, outer_is_training):
    with tf.Graph().as_default():
      with slim.arg_scope([slim.batch_norm], is_training=outer_is_training):
        _build_small(network_fn, block_fn, is_training=is_training)
      return len(tf.get_collection(tf.GraphKeys.UPDATE_OPS))

  training_updates = update_ops(True, False)
  assert training_updates > 0
  assert update_ops(False, True) == 0
  assert update_ops(None, False) == 0
  assert update_ops(None, True) == training_updates


def _build_with_arg_scope(**kwargs):
  """(variable names, regularisation losses, ops in 'bn_updates')."""
  with tf.Graph().as_default():
    images = tf.placeholder(tf.float32, [1, 32, 32, 3])
    with slim.arg_scope(resnet_utils.resnet_arg_scope(**kwargs)):
      resnet_v1.resnet_v1(images, _small_blocks(resnet_v1.resnet_v1_block),
                          scope='net')
    return ({v.op.name for v in tf.global_variables()},
            len(tf.losses.get_regularization_losses()),
            len(tf.get_collection('bn_updates')))


def test_arg_scope_options_reach_the_layers():
  names, losses, _ = _build_with_arg_scope()
  assert 'net/conv1/BatchNorm/gamma' in names
  assert losses == len([n for n in names if n.endswith('/weights')])
  names, _, _ = _build_with_arg_scope(use_batch_norm=False)
  assert not [n for n in names if 'BatchNorm' in n]
  assert 'net/conv1/biases' in names
  names, _, _ = _build_with_arg_scope(batch_norm_scale=False)
  assert 'net/conv1/BatchNorm/beta' in names
  assert 'net/conv1/BatchNorm/gamma' not in names


# Needs tf_compat repair 4 (slim's BatchNorm outside UPDATE_OPS).
def test_arg_scope_sends_batch_norm_updates_to_the_given_collection():
  _, _, updates = _build_with_arg_scope(
      batch_norm_updates_collections='bn_updates')
  # Two moving averages per BatchNorm: conv1 and 3 per unit in 6 units, plus
  # the 2 projection shortcuts (block1 from 64 channels, block2 from 8).
  assert updates == 2 * (1 + 3 * 6 + 2)
