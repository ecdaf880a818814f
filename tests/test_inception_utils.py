"""Inception table builder, and the Inception family's heads at small sizes."""

import numpy as np
import pytest
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import inception_utils as iu
from nets import inception_resnet_v2
from nets import inception_v1
from nets import inception_v3
from nets import inception_v4


def _names():
  return sorted(v.op.name for v in tf.global_variables())


def test_mixed_module_concatenates_named_branches():
  stages = [iu.Mixed('Mixed_x', [
      [iu.conv('Conv2d_0a_1x1', 3, [1, 1])],
      [iu.conv('Conv2d_0a_1x1', 2, [1, 1]),
       iu.fork(iu.conv('Conv2d_0b_1x3', 4, [1, 3]),
               iu.conv('Conv2d_0c_3x1', 5, [3, 1]))],
      [iu.max_pool('MaxPool_1a_3x3', [3, 3], stride=2, padding='VALID')],
  ])]
  with tf.Graph().as_default():
    with slim.arg_scope([slim.conv2d], stride=1, padding='SAME'):
      # Strided pool next to unstrided convs cannot be concatenated:
      with pytest.raises(ValueError):
        iu.build_trunk(tf.zeros([1, 9, 9, 6]), stages)
  stages[0].branches[2][0] = iu.max_pool('MaxPool_0a_3x3', [3, 3],
                                         padding='SAME')
  with tf.Graph().as_default():
    with slim.arg_scope([slim.conv2d], stride=1, padding='SAME'):
      net, end_points = iu.build_trunk(tf.zeros([1, 9, 9, 6]), stages)
    names = _names()
  assert net.shape.as_list() == [1, 9, 9, 3 + 4 + 5 + 6]
  assert end_points == {'Mixed_x': net}
  assert names == ['Mixed_x/Branch_0/Conv2d_0a_1x1/biases',
                   'Mixed_x/Branch_0/Conv2d_0a_1x1/weights',
                   'Mixed_x/Branch_1/Conv2d_0a_1x1/biases',
                   'Mixed_x/Branch_1/Conv2d_0a_1x1/weights',
                   'Mixed_x/Branch_1/Conv2d_0b_1x3/biases',
                   'Mixed_x/Branch_1/Conv2d_0b_1x3/weights',
                   'Mixed_x/Branch_1/Conv2d_0c_3x1/biases',
                   'Mixed_x/Branch_1/Conv2d_0c_3x1/weights']


def test_build_trunk_stops_at_final_endpoint_and_rejects_unknown_names():
  stages = [iu.conv('a', 2, [3, 3]), iu.conv('b', 2, [3, 3])]
  with tf.Graph().as_default():
    _, end_points = iu.build_trunk(tf.zeros([1, 5, 5, 1]), stages,
                                   final_endpoint='a')
    assert list(end_points) == ['a']
    assert _names() == ['a/biases', 'a/weights']
    with pytest.raises(ValueError, match="'c'.*a, b"):
      iu.build_trunk(tf.zeros([1, 5, 5, 1]), stages, final_endpoint='c')


def test_unnamed_call_stages_run_without_becoming_end_points():
  stages = [iu.conv('a', 2, [1, 1]), iu.call(None, lambda net: net * 2.0),
            iu.call('b', tf.nn.relu), iu.conv('c', 2, [1, 1])]
  assert iu.stage_names(stages) == ['a', 'b', 'c']
  with tf.Graph().as_default():
    net, end_points = iu.build_trunk(tf.zeros([1, 5, 5, 1]), stages,
                                     final_endpoint='b')
    assert _names() == ['a/biases', 'a/weights']
  assert list(end_points) == ['a', 'b']
  assert net is end_points['b'] and net.op.type == 'Relu'
  assert net.op.inputs[0].op.type == 'Mul'  # the unnamed stage ran


def test_channel_axis_concatenates_nchw_branches():
  stages = [iu.Mixed('Mixed_x', [[iu.conv('Conv2d_0a_1x1', 2, [1, 1])],
                                 [iu.conv('Conv2d_0a_1x1', 3, [1, 1])]])]
  with tf.Graph().as_default():
    with slim.arg_scope([slim.conv2d], data_format='NCHW'):
      net, _ = iu.build_trunk(tf.zeros([1, 4, 6, 6]), stages, channel_axis=1)
  assert net.shape.as_list() == [1, 5, 6, 6]


def test_scale_depths_maps_every_convolution_and_nothing_else():
  pool = iu.max_pool('MaxPool_0a_3x3', [3, 3])
  stage = iu.call(None, tf.nn.relu)
  table = [
      iu.separable_conv('Conv2d_1a_7x7', 64, [7, 7], 2, multiplier=8),
      iu.Mixed('Mixed_x', [
          [iu.conv('Conv2d_0a_1x1', 32, [1, 1], stddev=0.1)],
          [iu.fork(iu.conv('Conv2d_0b_1x3', 20, [1, 3]),
                   iu.conv('Conv2d_0c_3x1', 24, [3, 1]))],
          [pool]]),
      stage]
  scaled = iu.scale_depths(table, iu.depth_fn(0.5, min_depth=12))
  assert scaled[0] == table[0]._replace(depth=32)
  branches = scaled[1].branches
  assert scaled[1].name == 'Mixed_x'
  assert branches[0] == [iu.conv('Conv2d_0a_1x1', 16, [1, 1], stddev=0.1)]
  assert [layer.depth for layer in branches[1][0].layers] == [12, 12]
  assert branches[2] == [pool] and scaled[2] is stage
  assert table[1].branches[0][0].depth == 32  # the table itself is kept


def test_depth_fn_rejects_non_positive_multipliers():
  assert iu.depth_fn(2.0, 16)(48) == 96
  for multiplier in (0.0, -1.0):
    with pytest.raises(ValueError, match='depth_multiplier'):
      iu.depth_fn(multiplier, 16)


@pytest.mark.parametrize('size,conv_kernel,kernel', [
    (17, 5, [5, 5]), (23, 5, [5, 5]), (23, None, [7, 7]), (8, None, [2, 2]),
    (4, None, [1, 1])])
def test_aux_head_kernel_and_names(size, conv_kernel, kernel):
  head = iu.AuxHead(pool_name='Pool', conv_name='Conv2d_2a_{}x{}',
                    conv_kernel=conv_kernel, conv_stddev=None,
                    logits_name='Logits', logits_stddev=None,
                    logits_as_conv=False)
  with tf.Graph().as_default():
    iu.aux_logits(tf.zeros([1, size, size, 8]), 3, head,
                  depth=lambda width: width // 64)
    shapes = {v.op.name: v.shape.as_list() for v in tf.global_variables()}
  conv_weights = 'AuxLogits/Conv2d_2a_%dx%d/weights' % tuple(kernel)
  assert shapes[conv_weights] == kernel + [2, 12]  # depth() thins 128, 768
  pooled = (size - min(size, 5)) // 3 + 1
  features = 12 * (pooled - kernel[0] + 1) ** 2
  assert shapes['AuxLogits/Logits/weights'] == [features, 3]


def test_reduced_kernel_size_shrinks_to_small_maps():
  assert iu.reduced_kernel_size(tf.zeros([1, 3, 9, 1]), 5) == [3, 5]
  assert iu.reduced_kernel_size(tf.zeros([1, 8, 8, 1]), 5) == [5, 5]


_CLASSES = 11  # no layer of these networks has 11 channels or taps


def _build(network_fn, size, num_classes, **kwargs):
  images = tf.placeholder(tf.float32, [2, size, size, 3])
  with slim.arg_scope(iu.inception_arg_scope()):
    return network_fn(images, num_classes=num_classes, **kwargs)


# (network, smallest-ish input, the scopes fine-tuning must re-initialise:
#  the course excludes InceptionV4/Logits and InceptionV4/AuxLogits/Aux_logits)
_HEADS = [
    (inception_v1.inception_v1, 64, ['InceptionV1/Logits/Conv2d_0c_1x1']),
    (inception_v3.inception_v3, 75, ['InceptionV3/AuxLogits/Conv2d_2b_1x1',
                                     'InceptionV3/Logits/Conv2d_1c_1x1']),
    (inception_v4.inception_v4, 75, ['InceptionV4/AuxLogits/Aux_logits',
                                     'InceptionV4/Logits/Logits']),
    (inception_resnet_v2.inception_resnet_v2, 75,
     ['InceptionResnetV2/AuxLogits/Logits',
      'InceptionResnetV2/Logits/Logits']),
]


@pytest.mark.parametrize('network_fn,size,class_scopes', _HEADS,
                         ids=[h[0].__name__ for h in _HEADS])
def test_small_inputs_give_logits_aux_logits_and_class_scopes(
    network_fn, size, class_scopes):
  with tf.Graph().as_default():
    logits, end_points = _build(network_fn, size, _CLASSES)
    class_dependent = sorted(v.op.name for v in tf.global_variables()
                             if _CLASSES in v.shape.as_list())
    update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    batch_norms = [v for v in tf.global_variables()
                   if v.op.name.endswith('moving_mean')]
  assert logits.shape.as_list() == [2, _CLASSES]
  assert end_points['Predictions'].shape.as_list() == [2, _CLASSES]
  has_aux = len(class_scopes) == 2
  assert ('AuxLogits' in end_points) == has_aux
  if has_aux:
    assert end_points['AuxLogits'].shape.as_list() == [2, _CLASSES]
  # Excluding exactly these scopes re-initialises every class-sized variable.
  assert class_dependent == sorted(scope + suffix for scope in class_scopes
                                   for suffix in ('/biases', '/weights'))
  # Training mode: every BatchNorm registers its two moving-average updates.
  assert len(update_ops) == 2 * len(batch_norms) > 0


_FEATURES = [
    (inception_v1.inception_v1, 64, [2, 1, 1, 1024]),
    (inception_v3.inception_v3, 75, [2, 1, 1, 2048]),
    (inception_v4.inception_v4, 75, [2, 1, 1, 1536]),
]


@pytest.mark.parametrize('network_fn,size,features', _FEATURES,
                         ids=[f[0].__name__ for f in _FEATURES])
def test_zero_classes_returns_pooled_features_without_heads(
    network_fn, size, features):
  with tf.Graph().as_default():
    net, end_points = _build(network_fn, size, 0, is_training=False)
    names = _names()
    update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
  assert net.shape.as_list() == features
  assert not {'Logits', 'Predictions', 'AuxLogits'} & set(end_points)
  assert not [n for n in names if 'Logits' in n]
  assert update_ops == []  # inference: moving statistics are only read


def test_inception_v1_runs_and_predicts_a_distribution():
  batch = np.random.RandomState(0).uniform(-1, 1, (2, 64, 64, 3))
  with tf.Graph().as_default():
    images = tf.placeholder(tf.float32, [2, 64, 64, 3])
    with slim.arg_scope(inception_v1.inception_v1_arg_scope()):
      _, end_points = inception_v1.inception_v1(images, num_classes=4,
                                                is_training=False)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      probs = sess.run(end_points['Predictions'], {images: batch})
  assert probs.shape == (2, 4)
  np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
