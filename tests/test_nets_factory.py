"""nets_factory: every upstream factory name, upstream's maps, one row each."""

import importlib

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from nets import inception
from nets import nets_factory
from nets.mobilenet import mobilenet_v2
from nets.nasnet import nasnet
from preprocessing import preprocessing_factory

# upstream slim's nets_factory names (research/slim/nets/nets_factory.py).
UPSTREAM_NAMES = (
    'alexnet_v2', 'cifarnet', 'overfeat', 'vgg_a', 'vgg_16', 'vgg_19',
    'inception_v1', 'inception_v2', 'inception_v3', 'inception_v4',
    'inception_resnet_v2', 'i3d', 's3dg', 'lenet', 'resnet_v1_50',
    'resnet_v1_101', 'resnet_v1_152', 'resnet_v1_200', 'resnet_v2_50',
    'resnet_v2_101', 'resnet_v2_152', 'resnet_v2_200', 'mobilenet_v1',
    'mobilenet_v1_075', 'mobilenet_v1_050', 'mobilenet_v1_025',
    'mobilenet_v2', 'mobilenet_v2_140', 'mobilenet_v2_035',
    'mobilenet_v3_small', 'mobilenet_v3_large',
    'mobilenet_v3_small_minimalistic', 'mobilenet_v3_large_minimalistic',
    'mobilenet_edgetpu', 'mobilenet_edgetpu_075', 'nasnet_cifar',
    'nasnet_mobile', 'nasnet_large', 'pnasnet_mobile', 'pnasnet_large')

# upstream's preprocessing_factory map, for the names it has.
UPSTREAM_PREPROCESSING = {
    'cifarnet': 'cifarnet', 'lenet': 'lenet', 'inception_v1': 'inception',
    'inception_v2': 'inception', 'inception_v3': 'inception',
    'inception_v4': 'inception', 'inception_resnet_v2': 'inception',
    'mobilenet_v1': 'inception', 'mobilenet_v2': 'inception',
    'mobilenet_v2_035': 'inception', 'mobilenet_v2_140': 'inception',
    'mobilenet_v3_small': 'inception', 'mobilenet_v3_large': 'inception',
    'mobilenet_v3_small_minimalistic': 'inception',
    'mobilenet_v3_large_minimalistic': 'inception',
    'mobilenet_edgetpu': 'inception', 'mobilenet_edgetpu_075': 'inception',
    'nasnet_mobile': 'inception', 'nasnet_large': 'inception',
    'pnasnet_mobile': 'inception', 'pnasnet_large': 'inception',
    'resnet_v1_50': 'vgg', 'resnet_v1_101': 'vgg', 'resnet_v1_152': 'vgg',
    'resnet_v1_200': 'vgg', 'resnet_v2_50': 'vgg', 'resnet_v2_101': 'vgg',
    'resnet_v2_152': 'vgg', 'resnet_v2_200': 'vgg', 'vgg_a': 'vgg',
    'vgg_16': 'vgg', 'vgg_19': 'vgg'}


# upstream's networks_map and arg_scopes_map, as (module, network function,
# arg scope function). Upstream's inception_v1/v2 rows name
# inception_v3_arg_scope, the same function as inception_v1_arg_scope and
# inception_v2_arg_scope.
UPSTREAM_ROWS = {
    'alexnet_v2': ('nets.alexnet', 'alexnet_v2', 'alexnet_v2_arg_scope'),
    'cifarnet': ('nets.cifarnet', 'cifarnet', 'cifarnet_arg_scope'),
    'overfeat': ('nets.overfeat', 'overfeat', 'overfeat_arg_scope'),
    **{name: ('nets.vgg', name, 'vgg_arg_scope')
       for name in ('vgg_a', 'vgg_16', 'vgg_19')},
    **{name: ('nets.inception', name, 'inception_v3_arg_scope')
       for name in ('inception_v1', 'inception_v2', 'inception_v3')},
    'inception_v4': ('nets.inception', 'inception_v4',
                     'inception_v4_arg_scope'),
    'inception_resnet_v2': ('nets.inception', 'inception_resnet_v2',
                            'inception_resnet_v2_arg_scope'),
    'i3d': ('nets.i3d', 'i3d', 'i3d_arg_scope'),
    's3dg': ('nets.s3dg', 's3dg', 's3dg_arg_scope'),
    'lenet': ('nets.lenet', 'lenet', 'lenet_arg_scope'),
    **{'resnet_v%d_%d' % (version, depth): (
        'nets.resnet_v%d' % version, 'resnet_v%d_%d' % (version, depth),
        'resnet_arg_scope')
       for version in (1, 2) for depth in (50, 101, 152, 200)},
    **{name: ('nets.mobilenet_v1', name, 'mobilenet_v1_arg_scope')
       for name in ('mobilenet_v1', 'mobilenet_v1_075', 'mobilenet_v1_050',
                    'mobilenet_v1_025')},
    'mobilenet_v2': ('nets.mobilenet.mobilenet_v2', 'mobilenet',
                     'training_scope'),
    'mobilenet_v2_140': ('nets.mobilenet.mobilenet_v2', 'mobilenet_v2_140',
                         'training_scope'),
    'mobilenet_v2_035': ('nets.mobilenet.mobilenet_v2', 'mobilenet_v2_035',
                         'training_scope'),
    **{name: ('nets.mobilenet.mobilenet_v3', function, 'training_scope')
       for name, function in (
           ('mobilenet_v3_small', 'small'), ('mobilenet_v3_large', 'large'),
           ('mobilenet_v3_small_minimalistic', 'small_minimalistic'),
           ('mobilenet_v3_large_minimalistic', 'large_minimalistic'),
           ('mobilenet_edgetpu', 'edge_tpu'),
           ('mobilenet_edgetpu_075', 'edge_tpu_075'))},
    **{name: ('nets.nasnet.nasnet', 'build_' + name, name + '_arg_scope')
       for name in ('nasnet_cifar', 'nasnet_mobile', 'nasnet_large')},
    **{name: ('nets.nasnet.pnasnet', 'build_' + name, name + '_arg_scope')
       for name in ('pnasnet_mobile', 'pnasnet_large')},
}

# Each network's default_image_size: upstream's, except the MobileNet v1
# width variants, which default to their released checkpoints' input size.
DEFAULT_IMAGE_SIZES = {
    'alexnet_v2': 224, 'cifarnet': 32, 'overfeat': 231, 'vgg_a': 224,
    'vgg_16': 224, 'vgg_19': 224, 'inception_v1': 224, 'inception_v2': 224,
    'inception_v3': 299, 'inception_v4': 299, 'inception_resnet_v2': 299,
    'i3d': 224, 's3dg': 224, 'lenet': 28,
    **{'resnet_v%d_%d' % (version, depth): 224
       for version in (1, 2) for depth in (50, 101, 152, 200)},
    'mobilenet_v1': 224, 'mobilenet_v1_075': 192, 'mobilenet_v1_050': 160,
    'mobilenet_v1_025': 128,
    **{name: 224 for name in UPSTREAM_NAMES if name.startswith(
        ('mobilenet_v2', 'mobilenet_v3', 'mobilenet_edgetpu'))},
    'nasnet_cifar': 32, 'nasnet_mobile': 224, 'nasnet_large': 331,
    'pnasnet_mobile': 224, 'pnasnet_large': 331,
}

# Names upstream's preprocessing map lacks: VGG's for the other ImageNet
# classics, CIFAR's for the CIFAR NASNet, Inception's for the MobileNet v1
# width variants (as MobileNet v1) and the video networks' frames.
PREPROCESSING_UPSTREAM_LACKS = {
    'alexnet_v2': 'vgg', 'overfeat': 'vgg', 'nasnet_cifar': 'cifarnet',
    'mobilenet_v1_075': 'inception', 'mobilenet_v1_050': 'inception',
    'mobilenet_v1_025': 'inception', 'i3d': 'inception', 's3dg': 'inception'}


def test_every_upstream_name_is_registered():
  assert set(UPSTREAM_NAMES) <= set(nets_factory.network_names())
  assert len(UPSTREAM_NAMES) == 40


def test_upstream_maps_hold_the_module_functions():
  assert nets_factory.networks_map['inception_v4'] is inception.inception_v4
  assert (nets_factory.arg_scopes_map['inception_resnet_v2'] is
          inception.inception_resnet_v2_arg_scope)
  assert nets_factory.networks_map['mobilenet_v2'] is mobilenet_v2.mobilenet
  assert (nets_factory.networks_map['nasnet_mobile'] is
          nasnet.build_nasnet_mobile)
  assert sorted(nets_factory.networks_map) == nets_factory.network_names()
  assert len(nets_factory.arg_scopes_map) == len(nets_factory.NETWORKS)
  with pytest.raises(KeyError):
    nets_factory.networks_map['alexnet']  # pylint: disable=pointless-statement


def test_every_row_resolves_to_its_module_functions():
  for name in nets_factory.network_names():
    row = nets_factory.NETWORKS[name]
    module = importlib.import_module(row.module)
    function, arg_scope = nets_factory.get_network_and_arg_scope(name)
    assert function is getattr(module, row.function), name
    assert arg_scope is getattr(module, row.arg_scope), name
    assert nets_factory.preprocessing_name(name) == row.preprocessing, name
    assert row.preprocessing in preprocessing_factory.PREPROCESSORS, name
    network_fn = nets_factory.get_network_fn(name, 3)
    assert network_fn.default_image_size == function.default_image_size, name
    assert network_fn.__name__ == function.__name__, name


@pytest.mark.parametrize('name', sorted(UPSTREAM_ROWS))
def test_upstream_rows_are_upstreams_functions(name):
  module_name, function_name, arg_scope_name = UPSTREAM_ROWS[name]
  module = importlib.import_module(module_name)
  function, arg_scope = nets_factory.get_network_and_arg_scope(name)
  assert function is getattr(module, function_name)
  assert arg_scope is getattr(module, arg_scope_name)
  assert nets_factory.networks_map[name] is function
  assert nets_factory.arg_scopes_map[name] is arg_scope
  assert (nets_factory.get_network_fn(name, 3).default_image_size ==
          DEFAULT_IMAGE_SIZES[name])
  assert nets_factory.preprocessing_name(name) == {
      **UPSTREAM_PREPROCESSING, **PREPROCESSING_UPSTREAM_LACKS}[name]


def test_upstream_tables_cover_every_upstream_name():
  assert set(UPSTREAM_ROWS) == set(UPSTREAM_NAMES) == set(DEFAULT_IMAGE_SIZES)
  assert set(UPSTREAM_NAMES) == (set(UPSTREAM_PREPROCESSING) |
                                 set(PREPROCESSING_UPSTREAM_LACKS))
  assert not set(UPSTREAM_PREPROCESSING) & set(PREPROCESSING_UPSTREAM_LACKS)


def test_preprocessing_is_upstreams_where_upstream_maps_the_name():
  ours = {name: preprocessing_factory.preprocessing_name_for(name)
          for name in UPSTREAM_PREPROCESSING}
  assert ours == UPSTREAM_PREPROCESSING


def test_get_network_fn_as_upstream_calls_it():
  network_fn = nets_factory.get_network_fn('mobilenet_v1_025', 7,
                                           weight_decay=0.001,
                                           is_training=False)
  assert network_fn.default_image_size == 128
  with tf.Graph().as_default():
    logits, end_points = network_fn(tf.zeros([2, 128, 128, 3]))
    assert tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)
  assert logits.shape.as_list() == [2, 7]
  assert end_points['Predictions'].shape.as_list() == [2, 7]
  # What mobile apps hard-code.
  assert (end_points['Predictions'].op.name ==
          'MobilenetV1/Predictions/Reshape_1')


def test_predictions_of_networks_with_and_without_a_softmax_end_point():
  with tf.Graph().as_default():
    logits = tf.constant([[1.0, 2.0, 3.0]])
    softmax = tf.nn.softmax(logits, name='InceptionV4/Logits/Predictions')
    resnet = tf.nn.softmax(logits, name='resnet_v1_50/predictions')
    assert nets_factory.predictions(
        logits, {'Logits': logits, 'Predictions': softmax}) is softmax
    assert nets_factory.predictions(logits, {'predictions': resnet}) is resnet
    # VGG, AlexNet and OverFeat: upstream has no softmax end point.
    added = nets_factory.predictions(logits, {'vgg_16/fc8': logits})
    assert added.op.name == 'Predictions' and added.op.type == 'Softmax'
    with tf.Session() as sess:
      np.testing.assert_allclose(sess.run(added), sess.run(softmax))


def test_unknown_name_lists_the_valid_ones():
  with pytest.raises(ValueError, match='valid names: .*nasnet_mobile'):
    nets_factory.get_network_fn('nasnet', 5)
