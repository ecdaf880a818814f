"""VGG A/D/E, and the builder VGG, AlexNet and OverFeat share.

The builder tests run over all five networks: each behaviour lives in
`vgg.fully_convolutional_network` once, and each network must show it.
"""

import inspect

import numpy as np
import pytest
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import alexnet
from nets import overfeat
from nets import vgg

# name: (network function, arg scope function, default image size)
NETWORKS = {
    'vgg_a': (vgg.vgg_a, vgg.vgg_arg_scope, 224),
    'vgg_16': (vgg.vgg_16, vgg.vgg_arg_scope, 224),
    'vgg_19': (vgg.vgg_19, vgg.vgg_arg_scope, 224),
    'alexnet_v2': (alexnet.alexnet_v2, alexnet.alexnet_v2_arg_scope, 224),
    'overfeat': (overfeat.overfeat, overfeat.overfeat_arg_scope, 231),
}
# Upstream slim's signature of every VGG function, in order.
VGG_PARAMETERS = [
    ('inputs', inspect.Parameter.empty), ('num_classes', 1000),
    ('is_training', True), ('dropout_keep_prob', 0.5),
    ('spatial_squeeze', True), ('reuse', None), ('scope', None),
    ('fc_conv_padding', 'VALID'), ('global_pool', False)]


def build(name, shape, *args, **kwargs):
  """Builds network `name` on a placeholder of `shape` under its arg scope."""
  network, arg_scope, _ = NETWORKS[name]
  images = tf.placeholder(tf.float32, shape)
  with slim.arg_scope(arg_scope()):
    return network(images, *args, **kwargs)


def _variable_names():
  return sorted(v.op.name for v in tf.global_variables())


@pytest.mark.parametrize('name', ['vgg_a', 'vgg_16', 'vgg_19'])
def test_signature_is_upstreams(name):
  parameters = inspect.signature(getattr(vgg, name)).parameters
  expected = [(p, name if p == 'scope' else default)
              for p, default in VGG_PARAMETERS]
  assert [(p.name, p.default) for p in parameters.values()] == expected
  assert getattr(vgg, name).default_image_size == 224


def test_positional_call_in_upstream_order():
  with tf.Graph().as_default():
    # num_classes, is_training, dropout_keep_prob, spatial_squeeze, reuse,
    # scope, fc_conv_padding, global_pool
    logits, end_points = build('vgg_16', [1, 224, 224, 3], 10, False, 0.8,
                               False, None, 'my_vgg', 'SAME', True)
    names = _variable_names()
  assert names and all(n.startswith('my_vgg/') for n in names)
  assert logits.shape.as_list() == [1, 1, 1, 10]  # not squeezed
  assert end_points['my_vgg/fc6'].shape.as_list() == [1, 7, 7, 4096]  # SAME
  assert end_points['global_pool'].shape.as_list() == [1, 1, 1, 4096]


def test_paper_names_are_aliases():
  assert vgg.vgg_d is vgg.vgg_16
  assert vgg.vgg_e is vgg.vgg_19


@pytest.mark.parametrize('name,weight_layers,last_conv', [
    ('vgg_a', 11, 'conv5/conv5_2'), ('vgg_16', 16, 'conv5/conv5_3'),
    ('vgg_19', 19, 'conv5/conv5_4')])
def test_configurations_have_the_papers_weight_layers(
    name, weight_layers, last_conv):
  with tf.Graph().as_default():
    _, end_points = build(name, [1, 224, 224, 3], 5)
    weights = [n for n in _variable_names() if n.endswith('/weights')]
  assert len(weights) == weight_layers
  assert end_points['%s/%s' % (name, last_conv)].shape.as_list() == [
      1, 14, 14, 512]
  conv5 = [k for k in end_points if k.startswith(name + '/conv5/')]
  assert len(conv5) == int(last_conv[-1])


def test_vgg_classifier_keeps_the_arg_scopes_initializers():
  with tf.Graph().as_default():
    build('vgg_a', [1, 224, 224, 3], 5)
    fc8 = {v.op.name: v for v in tf.global_variables() if '/fc8/' in v.op.name}
    with tf.Session() as sess:
      weights, biases = sess.run([fc8['vgg_a/fc8/weights'].initial_value,
                                  fc8['vgg_a/fc8/biases'].initial_value])
  # Glorot uniform over 4096 + 5 units, not AlexNet's truncated normal.
  assert weights.std() == pytest.approx(np.sqrt(2.0 / 4101), rel=0.05)
  assert not biases.any()


@pytest.mark.parametrize('name', sorted(NETWORKS))
def test_logits_with_unknown_batch(name):
  size = NETWORKS[name][2]
  with tf.Graph().as_default():
    logits, end_points = build(name, [None, size, size, 3], num_classes=5)
  assert logits.shape.as_list() == [None, 5]
  assert end_points[name + '/fc8'] is logits
  # Upstream's testEndPoints: no softmax end point, no 'Logits' alias.
  assert not {'Logits', 'Predictions', 'predictions'} & set(end_points)
  assert all(t.shape.as_list()[0] is None for t in end_points.values())
  assert end_points[name + '/fc7'].shape.as_list() == [None, 1, 1, 4096]
  assert 'global_pool' not in end_points


@pytest.mark.parametrize('name', sorted(NETWORKS))
def test_without_spatial_squeeze_logits_keep_the_1x1_dims(name):
  size = NETWORKS[name][2]
  with tf.Graph().as_default():
    logits, end_points = build(name, [2, size, size, 3], num_classes=5,
                               spatial_squeeze=False)
  assert logits.shape.as_list() == [2, 1, 1, 5]
  assert end_points[name + '/fc8'] is logits


@pytest.mark.parametrize('name', sorted(NETWORKS))
@pytest.mark.parametrize('num_classes', [0, None])
def test_no_classes_returns_fc7_features_without_fc8(name, num_classes):
  size = NETWORKS[name][2]
  with tf.Graph().as_default():
    net, end_points = build(name, [1, size, size, 3], num_classes=num_classes)
    names = _variable_names()
  assert net.shape.as_list() == [1, 1, 1, 4096]
  assert net is end_points[name + '/fc7']
  assert not {'Logits', 'Predictions', name + '/fc8'} & set(end_points)
  assert names and not [n for n in names if 'fc8' in n]


@pytest.mark.parametrize('name', sorted(NETWORKS))
def test_global_pool_averages_the_fc7_map_of_a_larger_image(name):
  size = NETWORKS[name][2] + 64
  with tf.Graph().as_default():
    logits, end_points = build(name, [1, size, size, 3], num_classes=3,
                               global_pool=True)
  height, width = end_points[name + '/fc7'].shape.as_list()[1:3]
  assert height == width > 1
  assert end_points['global_pool'].shape.as_list() == [1, 1, 1, 4096]
  assert logits.shape.as_list() == [1, 3]


@pytest.mark.parametrize('name', sorted(NETWORKS))
def test_global_pool_accepts_unknown_image_size(name):
  with tf.Graph().as_default():
    logits, end_points = build(name, [None, None, None, 3], num_classes=3,
                               global_pool=True)
  assert logits.shape.as_list() == [None, 3]
  assert end_points['global_pool'].shape.as_list() == [None, 1, 1, 4096]


def _reuse_second_call(name, images):
  """Builds `name` again on `images`, reusing the first call's variables."""
  network, arg_scope, _ = NETWORKS[name]
  with slim.arg_scope(arg_scope()):
    if name.startswith('vgg'):
      return network(images, 5, reuse=True)
    # Upstream's AlexNet and OverFeat take no `reuse`: reuse the outer scope.
    with tf.variable_scope(tf.get_variable_scope(), reuse=True):
      return network(images, 5)


@pytest.mark.parametrize('name', sorted(NETWORKS))
def test_reuse_shares_every_variable(name):
  size = NETWORKS[name][2]
  with tf.Graph().as_default():
    first, _ = build(name, [1, size, size, 3], 5)
    names = _variable_names()
    second, _ = _reuse_second_call(
        name, tf.placeholder(tf.float32, [3, size, size, 3]))
    assert _variable_names() == names
  assert second.shape.as_list() == [3, 5]
  assert second.op.name != first.op.name
