"""nets_factory: every upstream factory name, upstream's maps, one row each."""

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


def test_every_row_resolves_to_a_function_with_its_image_size():
  for name in nets_factory.network_names():
    function, arg_scope = nets_factory.get_network_and_arg_scope(name)
    assert callable(arg_scope), name
    assert isinstance(function.default_image_size, int), name


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


def test_unknown_name_lists_the_valid_ones():
  with pytest.raises(ValueError, match='valid names: .*nasnet_mobile'):
    nets_factory.get_network_fn('nasnet', 5)
