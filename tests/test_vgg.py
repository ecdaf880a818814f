"""VGG: classifier switch, fully convolutional use on other sizes."""

import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import vgg


def _build(size, **kwargs):
  images = tf.placeholder(tf.float32, [1, size, size, 3])
  with slim.arg_scope(vgg.vgg_arg_scope()):
    return vgg.vgg_16(images, **kwargs)


def test_logits_and_aliases_at_the_default_size():
  with tf.Graph().as_default():
    logits, end_points = _build(224, num_classes=5)
  assert logits.shape.as_list() == [1, 5]
  assert end_points['vgg_16/fc8'] is logits is end_points['Logits']
  assert end_points['Predictions'].shape.as_list() == [1, 5]


def test_zero_classes_returns_fc7_features_without_fc8():
  with tf.Graph().as_default():
    net, end_points = _build(224, num_classes=0)
    names = [v.op.name for v in tf.global_variables()]
  assert net.shape.as_list() == [1, 1, 1, 4096]
  assert 'Predictions' not in end_points
  assert not [n for n in names if 'fc8' in n]


def test_global_pool_with_same_padding_accepts_small_images():
  with tf.Graph().as_default():
    logits, end_points = _build(64, num_classes=3, global_pool=True,
                                fc_conv_padding='SAME')
  assert end_points['vgg_16/pool5'].shape.as_list() == [1, 2, 2, 512]
  assert logits.shape.as_list() == [1, 3]
