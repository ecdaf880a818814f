"""Every network builds exactly the variables of its released slim checkpoint.

The manifests in ../shared/checkpoint_manifests/ list the (name, shape) of each
global variable the reference slim definition creates (is_training=True, under
the network's own arg scope, at the released class count). A checkpoint loads
into our build by name only if these sets are equal, so we compare them whole:
none missing, none extra, every shape the same. The end point names and shapes
are compared too because fine-tuning code and users address layers by them.
"""

import functools
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


@functools.lru_cache(maxsize=None)
def _build(path):
  """Builds the manifest's network in a fresh graph (once per test session).

  Returns:
    (set of (variable name, shape), set of trainable names, logits shape,
     {end point name: shape}).
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
  shapes = {name: tensor.shape.as_list()
            for name, tensor in end_points.items()}
  return variables, trainable, logits.shape.as_list(), shapes


def _ids(paths):
  return [os.path.basename(p)[:-len('.json')] for p in paths]


@pytest.mark.parametrize('path', _PATHS, ids=_ids(_PATHS))
def test_variables_match_the_released_checkpoint(path):
  manifest = _load(path)
  expected = {(v['name'], tuple(v['shape'])) for v in manifest['variables']}

  variables, trainable, logits_shape, end_points = _build(path)

  assert sorted(expected - variables) == [], 'missing from our build'
  assert sorted(variables - expected) == [], 'extra in our build'
  assert trainable == set(manifest['trainable_variable_names'])
  # Every network here returns [batch, classes] logits; some references
  # (DenseNet) keep 1x1 spatial dims, which hold no variables.
  batch, num_classes = manifest['input_shape'][0], manifest['num_classes']
  assert logits_shape == [batch, num_classes]
  assert _without_spatial_ones(manifest['logits_shape']) == logits_shape
  assert end_points['Logits'] == end_points['Predictions'] == logits_shape
  assert nets_factory.get_network_fn(
      manifest['net'], 1).default_image_size == manifest['image_size']


_ZOO_PATHS = [p for p in _PATHS if _load(p)['net'] in _ZOO]


def test_every_zoo_network_has_a_manifest():
  # The two factory names without a manifest of their own share the
  # variables of one that has it (EdgeTPU at 0.75 width differs only in
  # channel counts, which its own end-point tests check).
  unlisted = {'mobilenet_edgetpu_075'}
  assert sorted(_load(p)['net'] for p in _ZOO_PATHS) == sorted(
      set(_ZOO) - unlisted)


@pytest.mark.parametrize('path', _ZOO_PATHS, ids=_ids(_ZOO_PATHS))
def test_end_points_match_the_reference(path):
  expected = _load(path)['end_point_shapes']
  _, _, _, end_points = _build(path)
  assert {name: end_points.get(name) for name in expected} == expected
  # Beyond the reference's, only the aliases every network here provides.
  assert set(end_points) - set(expected) <= {'Logits', 'Predictions'}
