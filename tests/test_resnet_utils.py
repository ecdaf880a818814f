"""ResNet pieces: symmetric strided padding, dense features, v1/v2 heads."""

import numpy as np
import pytest
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import resnet_utils
from nets import resnet_v1
from nets import resnet_v2


def test_conv2d_same_pads_symmetrically_for_strided_convolutions():
  image = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
  with tf.Graph().as_default():
    with slim.arg_scope([slim.conv2d], activation_fn=None,
                        weights_initializer=tf.ones_initializer(),
                        biases_initializer=None):
      strided = resnet_utils.conv2d_same(tf.constant(image), 1, 3, stride=2)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      result = sess.run(strided)[0, :, :, 0]
  # One zero row/column before and after: windows centred on pixels 0 and 2.
  padded = np.pad(image[0, :, :, 0], 1)
  expected = [[padded[r:r + 3, c:c + 3].sum() for c in (0, 2)] for r in (0, 2)]
  np.testing.assert_allclose(result, expected)


def _build(network_fn, num_classes, size=64, **kwargs):
  images = tf.placeholder(tf.float32, [2, size, size, 3])
  with slim.arg_scope(resnet_utils.resnet_arg_scope()):
    return network_fn(images, num_classes=num_classes, **kwargs)


@pytest.mark.parametrize('network_fn', [resnet_v1.resnet_v1_50,
                                        resnet_v2.resnet_v2_50])
def test_small_inputs_give_logits_and_named_end_points(network_fn):
  with tf.Graph().as_default():
    logits, end_points = _build(network_fn, 6, dropout_keep_prob=0.5)
  scope = network_fn.__name__
  assert logits.shape.as_list() == [2, 6]
  assert end_points['Logits'] is logits
  assert end_points['predictions'] is end_points['Predictions']
  # 64 / 32 = 2: the network's total stride is 32.
  assert end_points[scope + '/block4'].shape.as_list() == [2, 2, 2, 2048]
  assert end_points[scope + '/block1/unit_3/bottleneck_%s' % scope[7:9]
                   ].shape.as_list() == [2, 8, 8, 256]


def test_zero_classes_returns_pooled_features():
  with tf.Graph().as_default():
    net, end_points = _build(resnet_v1.resnet_v1_50, 0)
    names = [v.op.name for v in tf.global_variables()]
  assert net.shape.as_list() == [2, 1, 1, 2048]
  assert 'Predictions' not in end_points
  assert not [n for n in names if 'logits' in n]


def test_output_stride_keeps_features_dense_with_the_same_variables():
  with tf.Graph().as_default():
    net, _ = _build(resnet_v2.resnet_v2_50, 0, global_pool=False,
                    output_stride=16)
    dense = {(v.op.name, tuple(v.shape)) for v in tf.global_variables()}
  with tf.Graph().as_default():
    _build(resnet_v2.resnet_v2_50, 0, global_pool=False)
    plain = {(v.op.name, tuple(v.shape)) for v in tf.global_variables()}
  assert net.shape.as_list() == [2, 4, 4, 2048]
  assert dense == plain
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match='output_stride'):
      _build(resnet_v2.resnet_v2_50, 0, output_stride=12)
