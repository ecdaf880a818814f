"""Every network builds exactly the variables of its released slim checkpoint.

The manifests in ../shared/checkpoint_manifests/ list the (name, shape) of each
global variable the reference slim definition creates (is_training=True, under
the network's own arg scope, at the released class count). A checkpoint loads
into our build by name only if these sets are equal, so we compare them whole:
none missing, none extra, every shape the same. The end point names and shapes
are compared too because fine-tuning code and users address layers by them.
"""

import glob
import json
import os

import pytest
import tensorflow.compat.v1 as tf
import tf_slim as slim

from conftest import MANIFEST_DIR
from nets import nets_factory

_PATHS = sorted(glob.glob(os.path.join(MANIFEST_DIR, '*.json')))


# Networks whose end points follow the manifest's reference definition: all
# but DenseNet, whose end points are its own module's design.
_ZOO = tuple(name for name in nets_factory.network_names()
             if not name.startswith('densenet'))


def _load(path):
  with open(path) as f:
    return json.load(f)


def _without_spatial_ones(shape):
  return [shape[0]] + [d for d in shape[1:-1] if d != 1] + [shape[-1]]


def _upstream_names(logits, **end_points):
  """(op of the returned logits, {end point: op}) of one upstream network."""
  return logits, end_points


def _conv_classifier(scope, predictions, aux=None):
  """The Inception v1-v3 / MobileNet / video heads: squeezed 1x1 conv."""
  logits = scope + '/Logits/SpatialSqueeze'
  names = {'Logits': logits, 'Predictions': predictions + '/Reshape_1'}
  if aux:
    names['AuxLogits'] = aux
  return _upstream_names(logits, **names)


def _fc_classifier(scope, aux):
  """Inception-v4 / Inception-ResNet-v2: softmax inside 'Logits'."""
  logits = scope + '/Logits/Logits/BiasAdd'
  return _upstream_names(logits, Logits=logits, AuxLogits=aux,
                         Predictions=scope + '/Logits/Predictions')


def _mobilenet(scope):
  logits = scope + '/Logits/output'
  return _upstream_names(logits, Logits=logits,
                         Predictions=scope + '/Predictions/Reshape_1')


def _nasnet(aux_cell):
  logits = 'final_layer/FC/BiasAdd'
  return _upstream_names(
      logits, Logits=logits, Predictions='final_layer/predictions',
      AuxLogits='aux_%d/aux_logits/FC/BiasAdd' % aux_cell)


def _fully_convolutional(scope):
  """VGG, AlexNet, OverFeat: '<scope>/fc8' only, no softmax end point."""
  logits = scope + '/fc8/squeezed'
  return _upstream_names(logits, **{scope + '/fc8': logits})


def _resnet(scope):
  """'<scope>/logits', '<scope>/spatial_squeeze', 'predictions' only."""
  logits = scope + '/SpatialSqueeze'
  return _upstream_names(logits, **{
      scope + '/logits': scope + '/logits/BiasAdd',
      scope + '/spatial_squeeze': logits,
      'predictions': scope + '/predictions/Reshape_1'})


# The op names of upstream's classifier end points (read from each module of
# tensorflow/models research/slim/nets): frozen graphs are cut there, e.g.
# the fine-tuning tutorial's --output_node_names=InceptionV4/Logits/Predictions
# and the slim README's InceptionV3/Predictions/Reshape_1 (slim.softmax
# reshapes around tf.nn.softmax: '<scope>/Reshape_1').
UPSTREAM_OP_NAMES = {
    'alexnet_v2': _fully_convolutional('alexnet_v2'),
    'overfeat': _fully_convolutional('overfeat'),
    **{name: _fully_convolutional(name)
       for name in ('vgg_a', 'vgg_16', 'vgg_19')},
    'cifarnet': _upstream_names(
        'CifarNet/logits/BiasAdd', Logits='CifarNet/logits/BiasAdd',
        Predictions='CifarNet/Predictions/Reshape_1'),
    # LeNet scores outside its scope upstream.
    'lenet': _upstream_names('LeNet/fc4/BiasAdd', Logits='LeNet/fc4/BiasAdd',
                             Predictions='Predictions/Reshape_1'),
    'inception_v1': _conv_classifier('InceptionV1',
                                     'InceptionV1/Logits/Predictions'),
    'inception_v2': _conv_classifier('InceptionV2', 'InceptionV2/Predictions'),
    'inception_v3': _conv_classifier(
        'InceptionV3', 'InceptionV3/Predictions',
        aux='InceptionV3/AuxLogits/SpatialSqueeze'),
    'inception_v4': _fc_classifier(
        'InceptionV4', 'InceptionV4/AuxLogits/Aux_logits/BiasAdd'),
    'inception_resnet_v2': _fc_classifier(
        'InceptionResnetV2', 'InceptionResnetV2/AuxLogits/Logits/BiasAdd'),
    **{name: _resnet(name) for name in (
        'resnet_v1_50', 'resnet_v1_101', 'resnet_v1_152', 'resnet_v1_200',
        'resnet_v2_50', 'resnet_v2_101', 'resnet_v2_152', 'resnet_v2_200')},
    **{name: _conv_classifier('MobilenetV1', 'MobilenetV1/Predictions')
       for name in ('mobilenet_v1', 'mobilenet_v1_075', 'mobilenet_v1_050',
                    'mobilenet_v1_025')},
    **{name: _mobilenet('MobilenetV2')
       for name in ('mobilenet_v2', 'mobilenet_v2_140', 'mobilenet_v2_035')},
    **{name: _mobilenet('MobilenetV3') for name in (
        'mobilenet_v3_small', 'mobilenet_v3_large',
        'mobilenet_v3_small_minimalistic', 'mobilenet_v3_large_minimalistic')},
    'mobilenet_edgetpu': _mobilenet('MobilenetEdgeTPU'),
    'mobilenet_edgetpu_075': _mobilenet('MobilenetEdgeTPU'),
    'nasnet_cifar': _nasnet(11),
    'nasnet_mobile': _nasnet(7),
    'nasnet_large': _nasnet(11),
    'pnasnet_mobile': _nasnet(5),
    'pnasnet_large': _nasnet(7),
    # The video networks score inside 'Logits' (scope InceptionV1).
    'i3d': _conv_classifier('InceptionV1', 'InceptionV1/Logits/Predictions'),
    's3dg': _conv_classifier('InceptionV1', 'InceptionV1/Logits/Predictions'),
}


def _op_names(logits, end_points):
  """(op of the returned logits, {classifier end point: op}) of a build."""
  return logits.op.name, {
      key: tensor.op.name for key, tensor in end_points.items()
      if key in ('Logits', 'Predictions', 'AuxLogits', 'predictions') or
      key.endswith(('/fc8', '/logits', '/spatial_squeeze'))}


def _build(path):
  """Builds the manifest's network in a fresh graph.

  Returns:
    (set of (variable name, shape), set of trainable names, logits shape,
     {end point name: shape}, predictions shape, `_op_names`).
  """
  manifest = _load(path)
  network_fn, arg_scope_fn = nets_factory.get_network_and_arg_scope(
      manifest['net'])
  with tf.Graph().as_default():
    images = tf.placeholder(tf.float32, manifest['input_shape'])
    with slim.arg_scope(arg_scope_fn()):
      logits, end_points = network_fn(images,
                                      num_classes=manifest['num_classes'],
                                      is_training=True)
    variables = {(v.op.name, tuple(v.shape.as_list()))
                 for v in tf.global_variables()}
    trainable = {v.op.name for v in tf.trainable_variables()}
    op_names = _op_names(logits, end_points)
    predictions = nets_factory.predictions(logits, end_points)
  shapes = {name: tensor.shape.as_list()
            for name, tensor in end_points.items()}
  return (variables, trainable, logits.shape.as_list(), shapes,
          predictions.shape.as_list(), op_names)


def _ids(paths):
  return [os.path.basename(p)[:-len('.json')] for p in paths]


_ZOO_PATHS = [p for p in _PATHS if _load(p)['net'] in _ZOO]


# One test per network, all checks on one build: split across xdist's
# workers, each check would build the (large) network again.
@pytest.mark.parametrize('path', _PATHS, ids=_ids(_PATHS))
def test_build_matches_the_released_checkpoint_and_upstream(path):
  manifest = _load(path)
  (variables, trainable, logits_shape, end_points, predictions_shape,
   op_names) = _build(path)
  _check_variables(manifest, variables, trainable)
  # Every network here returns [batch, classes] logits; some references
  # (DenseNet) keep 1x1 spatial dims, which hold no variables.
  batch, num_classes = manifest['input_shape'][0], manifest['num_classes']
  assert logits_shape == [batch, num_classes]
  assert _without_spatial_ones(manifest['logits_shape']) == logits_shape
  assert predictions_shape == logits_shape
  assert nets_factory.get_network_fn(
      manifest['net'], 1).default_image_size == manifest['image_size']
  if manifest['net'] in _ZOO:
    # Upstream's end point keys exactly (its testEndPoints /
    # testEndpointNames): no 'Logits'/'Predictions' where upstream has
    # none, nothing missing; and the tensors users cut frozen graphs at
    # are named as upstream's.
    expected = manifest['end_point_shapes']
    assert sorted(end_points) == sorted(expected)
    assert end_points == expected
    assert op_names == UPSTREAM_OP_NAMES[manifest['net']]


def _check_variables(manifest, variables, trainable):
  expected = {(v['name'], tuple(v['shape'])) for v in manifest['variables']}
  assert sorted(expected - variables) == [], 'missing from our build'
  assert sorted(variables - expected) == [], 'extra in our build'
  assert trainable == set(manifest['trainable_variable_names'])


def test_every_zoo_network_has_a_manifest():
  # The two factory names without a manifest of their own share the
  # variables of one that has it (EdgeTPU at 0.75 width differs only in
  # channel counts, which its own end-point tests check).
  unlisted = {'mobilenet_edgetpu_075'}
  assert sorted(_load(p)['net'] for p in _ZOO_PATHS) == sorted(
      set(_ZOO) - unlisted)


def test_op_name_table_covers_every_zoo_network():
  assert sorted(UPSTREAM_OP_NAMES) == sorted(_ZOO)


def test_networks_without_manifest_carry_upstreams_names():
  # EdgeTPU at 0.75 width: same layout as mobilenet_edgetpu, built small.
  name = 'mobilenet_edgetpu_075'
  with tf.Graph().as_default():
    network_fn = nets_factory.get_network_fn(name, 5, is_training=True)
    logits, end_points = network_fn(tf.placeholder(tf.float32,
                                                   [1, 64, 64, 3]))
  assert _op_names(logits, end_points) == UPSTREAM_OP_NAMES[name]
