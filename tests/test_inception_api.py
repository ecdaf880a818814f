"""The public API of the Inception family matches slim's `nets.inception`.

Signatures (names, order, defaults), what each argument does when passed
positionally, every documented `final_endpoint`, pooling and squeezing
options, depth multipliers, Inception-ResNet-v2's output stride, variable
reuse, unknown batch and image sizes, and the public building blocks.

Graph construction only, mostly: building the variables is what costs, so
tests about shapes and end points build under `shapes_only()` (constants in
place of variables, no biases or activations), and tests about variables
under `cheap_layers()` (no biases or activations). Names, shapes and end
points are the same as with the real arg scopes.
"""

import inspect
import json
import os

import numpy as np
import pytest
import tensorflow.compat.v1 as tf
import tf_slim as slim

from conftest import MANIFEST_DIR
from nets import inception
from nets import inception_resnet_v2
from nets import inception_utils
from nets import inception_v1
from nets import inception_v2
from nets import inception_v3
from nets import inception_v4
from nets_helpers import assert_each_final_endpoint
from nets_helpers import assert_rejects_depth_multiplier
from nets_helpers import cheap_layers
from nets_helpers import dropout_is_active
from nets_helpers import images
from nets_helpers import shapes_only
from nets_helpers import variable_names


def channels(tensor):
  return tensor.shape.as_list()[-1]


def top_scopes(names):
  return {name.split('/')[0] for name in names}


def load_manifest(name):
  with open(os.path.join(MANIFEST_DIR, name + '.json')) as f:
    return json.load(f)


# --- Names and signatures ---------------------------------------------------

_REEXPORTS = {
    inception_v1: ['inception_v1', 'inception_v1_base',
                   'inception_v1_arg_scope'],
    inception_v2: ['inception_v2', 'inception_v2_base',
                   'inception_v2_arg_scope'],
    inception_v3: ['inception_v3', 'inception_v3_base',
                   'inception_v3_arg_scope'],
    inception_v4: ['inception_v4', 'inception_v4_base',
                   'inception_v4_arg_scope', 'block_inception_a',
                   'block_inception_b', 'block_inception_c',
                   'block_reduction_a', 'block_reduction_b'],
    inception_resnet_v2: ['inception_resnet_v2', 'inception_resnet_v2_base',
                          'inception_resnet_v2_arg_scope', 'block35',
                          'block17', 'block8'],
    inception_utils: ['inception_arg_scope'],
}


def test_inception_module_re_exports_the_whole_family():
  for module, names in _REEXPORTS.items():
    for name in names:
      assert getattr(inception, name) is getattr(module, name), name


_REQUIRED = object()
_UPDATE_OPS = tf.GraphKeys.UPDATE_OPS
_CLASSIFIER_V1 = [('inputs', _REQUIRED), ('num_classes', 1000),
                  ('is_training', True), ('dropout_keep_prob', 0.8)]
_CLASSIFIER_TAIL = [('prediction_fn', slim.softmax),
                    ('spatial_squeeze', True), ('reuse', None)]
_BLOCK = [('inputs', _REQUIRED), ('scope', None), ('reuse', None)]
_RESIDUAL_BLOCK = [('net', _REQUIRED), ('scale', 1.0),
                   ('activation_fn', tf.nn.relu), ('scope', None),
                   ('reuse', None)]

# Upstream's research/slim/nets signatures.
_SIGNATURES = {
    'inception_v1_base': [('inputs', _REQUIRED),
                          ('final_endpoint', 'Mixed_5c'),
                          ('include_root_block', True),
                          ('scope', 'InceptionV1')],
    'inception_v1': _CLASSIFIER_V1 + _CLASSIFIER_TAIL + [
        ('scope', 'InceptionV1'), ('global_pool', False)],
    'inception_v2_base': [('inputs', _REQUIRED),
                          ('final_endpoint', 'Mixed_5c'), ('min_depth', 16),
                          ('depth_multiplier', 1.0),
                          ('use_separable_conv', True),
                          ('data_format', 'NHWC'),
                          ('include_root_block', True), ('scope', None)],
    'inception_v2': _CLASSIFIER_V1 + [
        ('min_depth', 16), ('depth_multiplier', 1.0)] + _CLASSIFIER_TAIL + [
            ('scope', 'InceptionV2'), ('global_pool', False)],
    'inception_v3_base': [('inputs', _REQUIRED),
                          ('final_endpoint', 'Mixed_7c'), ('min_depth', 16),
                          ('depth_multiplier', 1.0), ('scope', None)],
    'inception_v3': _CLASSIFIER_V1 + [
        ('min_depth', 16), ('depth_multiplier', 1.0)] + _CLASSIFIER_TAIL + [
            ('create_aux_logits', True), ('scope', 'InceptionV3'),
            ('global_pool', False)],
    'inception_v4_base': [('inputs', _REQUIRED),
                          ('final_endpoint', 'Mixed_7d'), ('scope', None)],
    'inception_v4': [('inputs', _REQUIRED), ('num_classes', 1001),
                     ('is_training', True), ('dropout_keep_prob', 0.8),
                     ('reuse', None), ('scope', 'InceptionV4'),
                     ('create_aux_logits', True)],
    'block_inception_a': _BLOCK,
    'block_inception_b': _BLOCK,
    'block_inception_c': _BLOCK,
    'block_reduction_a': _BLOCK,
    'block_reduction_b': _BLOCK,
    'inception_resnet_v2_base': [('inputs', _REQUIRED),
                                 ('final_endpoint', 'Conv2d_7b_1x1'),
                                 ('output_stride', 16),
                                 ('align_feature_maps', False),
                                 ('scope', None),
                                 ('activation_fn', tf.nn.relu)],
    'inception_resnet_v2': [('inputs', _REQUIRED), ('num_classes', 1001),
                            ('is_training', True),
                            ('dropout_keep_prob', 0.8), ('reuse', None),
                            ('scope', 'InceptionResnetV2'),
                            ('create_aux_logits', True),
                            ('activation_fn', tf.nn.relu)],
    'block35': _RESIDUAL_BLOCK,
    'block17': _RESIDUAL_BLOCK,
    'block8': _RESIDUAL_BLOCK,
    'inception_resnet_v2_arg_scope': [
        ('weight_decay', 0.00004), ('batch_norm_decay', 0.9997),
        ('batch_norm_epsilon', 0.001), ('activation_fn', tf.nn.relu),
        ('batch_norm_updates_collections', _UPDATE_OPS),
        ('batch_norm_scale', False)],
    'inception_arg_scope': [
        ('weight_decay', 0.00004), ('use_batch_norm', True),
        ('batch_norm_decay', 0.9997), ('batch_norm_epsilon', 0.001),
        ('activation_fn', tf.nn.relu),
        ('batch_norm_updates_collections', _UPDATE_OPS),
        ('batch_norm_scale', False)],
}


@pytest.mark.parametrize('name', sorted(_SIGNATURES))
def test_signature_matches_upstream(name):
  parameters = inspect.signature(getattr(inception, name)).parameters
  actual = [(p.name, _REQUIRED if p.default is p.empty else p.default)
            for p in parameters.values()]
  assert actual == _SIGNATURES[name]


def test_default_image_sizes():
  assert inception.inception_v1.default_image_size == 224
  assert inception.inception_v2.default_image_size == 224
  assert inception.inception_v3.default_image_size == 299
  assert inception.inception_v4.default_image_size == 299
  assert inception.inception_resnet_v2.default_image_size == 299


# --- Positional calls do what the argument names say ------------------------

def _sigmoid(logits, scope=None):
  return tf.nn.sigmoid(logits, name=scope)


def test_inception_v1_positional_arguments():
  with tf.Graph().as_default(), shapes_only() as variables:
    logits, end_points = inception.inception_v1(
        images(224, 320), 7, False, 0.5, _sigmoid, False, None, 'V1', True)
    assert not dropout_is_active()
  assert logits.shape.as_list() == [2, 1, 1, 7]  # not squeezed
  assert end_points['Predictions'].op.type == 'Sigmoid'
  assert end_points['global_pool'].shape.as_list() == [2, 1, 1, 1024]
  assert 'AvgPool_0a_7x7' not in end_points
  assert top_scopes(variables) == {'V1'}


def test_inception_v3_positional_arguments():
  with tf.Graph().as_default(), shapes_only() as weights:
    logits, end_points = inception.inception_v3(
        images(299, 400), 7, True, 0.5, 32, 0.5, slim.softmax, False, None,
        False, 'V3', True)
    assert dropout_is_active()
  assert logits.shape.as_list() == [2, 1, 1, 7]
  assert 'AuxLogits' not in end_points  # create_aux_logits=False
  assert end_points['global_pool'].shape.as_list() == [2, 1, 1, 1024]
  # min_depth=32 floors 32 * 0.5; depth_multiplier halves 192.
  assert weights['V3/Conv2d_1a_3x3/weights'] == [3, 3, 3, 32]
  assert weights['V3/Conv2d_4a_3x3/weights'] == [3, 3, 40, 96]


def test_inception_v4_and_resnet_v2_positional_arguments():
  with tf.Graph().as_default(), shapes_only() as variables:
    v4_logits, v4_end_points = inception.inception_v4(
        images(75), 7, False, 0.5, None, 'V4', False)
    resnet_logits, resnet_end_points = inception.inception_resnet_v2(
        images(75), 5, False, 0.5, None, 'IRV2', False, tf.nn.relu6)
    assert not dropout_is_active()
    op_types = {op.type for op in tf.get_default_graph().get_operations()}
  assert v4_logits.shape.as_list() == [2, 7]
  assert resnet_logits.shape.as_list() == [2, 5]
  assert 'AuxLogits' not in v4_end_points
  assert 'AuxLogits' not in resnet_end_points
  assert 'Relu6' in op_types and 'Relu' not in op_types
  assert top_scopes(variables) == {'V4', 'IRV2'}


def test_base_positional_arguments():
  with tf.Graph().as_default(), shapes_only() as variables:
    v1_net, v1_end_points = inception.inception_v1_base(
        images(28, channels=192), 'Mixed_3c', False, 'B1')
    v3_net, _ = inception.inception_v3_base(images(75), 'Mixed_5b', 32, 0.5,
                                            'B3')
    v4_net, _ = inception.inception_v4_base(images(75), 'Mixed_3a', 'B4')
    resnet_net, _ = inception.inception_resnet_v2_base(
        images(299), 'Mixed_5b', 16, True, 'BR', tf.nn.relu6)
  assert list(v1_end_points) == ['Mixed_3b', 'Mixed_3c']  # no root block
  assert v1_net.shape.as_list() == [2, 28, 28, 480]
  # Mixed_5b halved with every branch floored at 32: 32 + 32 + 48 + 32.
  assert v3_net.shape.as_list() == [2, 7, 7, 144]
  assert v4_net.op.name.startswith('B4/Mixed_3a')
  assert resnet_net.shape.as_list() == [2, 38, 38, 320]  # SAME padding
  assert top_scopes(variables) == {'B1', 'B3', 'B4', 'BR'}


# --- final_endpoint ----------------------------------------------------------

_V1_END_POINTS = [
    'Conv2d_1a_7x7', 'MaxPool_2a_3x3', 'Conv2d_2b_1x1', 'Conv2d_2c_3x3',
    'MaxPool_3a_3x3', 'Mixed_3b', 'Mixed_3c', 'MaxPool_4a_3x3', 'Mixed_4b',
    'Mixed_4c', 'Mixed_4d', 'Mixed_4e', 'Mixed_4f', 'MaxPool_5a_2x2',
    'Mixed_5b', 'Mixed_5c']
_V3_END_POINTS = [
    'Conv2d_1a_3x3', 'Conv2d_2a_3x3', 'Conv2d_2b_3x3', 'MaxPool_3a_3x3',
    'Conv2d_3b_1x1', 'Conv2d_4a_3x3', 'MaxPool_5a_3x3', 'Mixed_5b',
    'Mixed_5c', 'Mixed_5d', 'Mixed_6a', 'Mixed_6b', 'Mixed_6c', 'Mixed_6d',
    'Mixed_6e', 'Mixed_7a', 'Mixed_7b', 'Mixed_7c']
_V4_END_POINTS = (
    ['Conv2d_1a_3x3', 'Conv2d_2a_3x3', 'Conv2d_2b_3x3', 'Mixed_3a',
     'Mixed_4a', 'Mixed_5a'] +
    ['Mixed_5' + letter for letter in 'bcde'] + ['Mixed_6a'] +
    ['Mixed_6' + letter for letter in 'bcdefgh'] + ['Mixed_7a'] +
    ['Mixed_7' + letter for letter in 'bcd'])
_RESNET_END_POINTS = [
    'Conv2d_1a_3x3', 'Conv2d_2a_3x3', 'Conv2d_2b_3x3', 'MaxPool_3a_3x3',
    'Conv2d_3b_1x1', 'Conv2d_4a_3x3', 'MaxPool_5a_3x3', 'Mixed_5b',
    'Mixed_6a', 'PreAuxLogits', 'Mixed_7a', 'Conv2d_7b_1x1']

_BASES = [
    (inception.inception_v1_base, 64, 'InceptionV1', _V1_END_POINTS),
    (inception.inception_v3_base, 75, 'InceptionV3', _V3_END_POINTS),
    (inception.inception_v4_base, 75, 'InceptionV4', _V4_END_POINTS),
    (inception.inception_resnet_v2_base, 75, 'InceptionResnetV2',
     _RESNET_END_POINTS),
]


@pytest.mark.parametrize('base_fn,size,scope,end_point_names', _BASES,
                         ids=[b[2] for b in _BASES])
def test_every_documented_final_endpoint(base_fn, size, scope,
                                         end_point_names):
  assert_each_final_endpoint(base_fn, size, scope, end_point_names)


# --- Classifier options ------------------------------------------------------

# A final map wider than the fixed pooling window: v1 pools 7x7 with stride
# 1 (7x10 -> 1x4), v3 8x8 with stride 2 (8x11 -> 1x2; its auxiliary head
# needs the default size).
@pytest.mark.parametrize(
    'network_fn,width,pool_end_point,windowed_shape,kwargs', [
        (inception.inception_v1, 320, 'AvgPool_0a_7x7', [2, 1, 4, 5], {}),
        (inception.inception_v3, 395, 'AvgPool_1a', [2, 1, 2, 5],
         {'create_aux_logits': False}),
    ])
def test_global_pool_and_spatial_squeeze(network_fn, width, pool_end_point,
                                         windowed_shape, kwargs):
  height = network_fn.default_image_size
  with tf.Graph().as_default(), shapes_only():
    windowed, windowed_end_points = network_fn(
        images(height, width), num_classes=5, spatial_squeeze=False,
        **kwargs)
  with tf.Graph().as_default(), shapes_only():
    pooled, pooled_end_points = network_fn(
        images(height, width), num_classes=5, global_pool=True, **kwargs)
  assert windowed.shape.as_list() == windowed_shape
  assert pool_end_point in windowed_end_points
  assert 'global_pool' not in windowed_end_points
  assert pooled.shape.as_list() == [2, 5]
  assert pooled_end_points['global_pool'].shape.as_list()[1:3] == [1, 1]
  assert pool_end_point not in pooled_end_points


def test_inception_v3_aux_logits_follow_spatial_squeeze():
  with tf.Graph().as_default(), shapes_only():
    logits, end_points = inception.inception_v3(images(299), num_classes=5,
                                                spatial_squeeze=False)
  assert logits.shape.as_list() == [2, 1, 1, 5]
  assert end_points['AuxLogits'].shape.as_list() == [2, 1, 1, 5]
  assert end_points['PreLogits'].shape.as_list() == [2, 1, 1, 2048]


@pytest.mark.parametrize('multiplier', [0.5, 2.0])
def test_inception_v3_depth_multiplier_scales_every_end_point(multiplier):
  expected = load_manifest('inception_v3')['end_point_shapes']
  with tf.Graph().as_default(), shapes_only() as variables:
    _, end_points = inception.inception_v3(images(299, batch=1),
                                           num_classes=5,
                                           depth_multiplier=multiplier)
  trunk = [name for name in expected if name.startswith(('Conv', 'Max',
                                                         'Mixed'))]
  assert len(trunk) == 18
  for name in trunk:
    assert channels(end_points[name]) == expected[name][-1] * multiplier
  assert variables['InceptionV3/AuxLogits/Conv2d_1b_1x1/weights'] == [
      1, 1, 768 * multiplier, 128 * multiplier]


def test_inception_v3_min_depth_floors_thin_layers():
  with tf.Graph().as_default(), shapes_only() as shapes:
    inception.inception_v3_base(images(75), final_endpoint='Conv2d_4a_3x3',
                                depth_multiplier=0.1)
  assert shapes['InceptionV3/Conv2d_1a_3x3/weights'] == [3, 3, 3, 16]
  assert shapes['InceptionV3/Conv2d_4a_3x3/weights'] == [3, 3, 16, 19]


@pytest.mark.parametrize('multiplier', [0.0, -0.5])
def test_depth_multiplier_must_be_positive(multiplier):
  assert_rejects_depth_multiplier(
      [inception.inception_v3, inception.inception_v3_base],
      lambda: images(299), multiplier)


# --- Inception-ResNet-v2 output stride ---------------------------------------

@pytest.mark.parametrize('output_stride,align,size', [
    (16, False, 17), (8, False, 33), (16, True, 19), (8, True, 38)])
def test_inception_resnet_v2_output_stride(output_stride, align, size):
  with tf.Graph().as_default(), shapes_only():
    net, end_points = inception.inception_resnet_v2_base(
        images(299, batch=1), final_endpoint='PreAuxLogits',
        output_stride=output_stride, align_feature_maps=align)
    atrous = [op for op in tf.get_default_graph().get_operations()
              if op.type == 'SpaceToBatchND']
  assert net.shape.as_list() == [1, size, size, 1088]
  assert end_points['Mixed_6a'].shape.as_list() == [1, size, size, 1088]
  # Only the 17x17 blocks dilate, and only at output stride 8.
  assert bool(atrous) == (output_stride == 8)
  assert all(op.name.startswith('InceptionResnetV2/Repeat_1/')
             for op in atrous)


def test_inception_resnet_v2_rejects_unsupported_output_strides():
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match='8 or 16'):
      inception.inception_resnet_v2_base(images(299), output_stride=32)
    with pytest.raises(ValueError, match='PreAuxLogits'):
      inception.inception_resnet_v2_base(images(299), output_stride=8)
    with pytest.raises(ValueError, match='PreAuxLogits'):
      inception.inception_resnet_v2_base(images(299), 'Mixed_7a', 8)
    assert tf.global_variables() == []


# --- Reuse, unknown sizes, several networks in one graph ---------------------

_NETWORKS = [
    (inception.inception_v1, 64), (inception.inception_v2, 64),
    (inception.inception_v3, 75), (inception.inception_v4, 75),
    (inception.inception_resnet_v2, 75)]


@pytest.mark.parametrize('network_fn,size', _NETWORKS,
                         ids=[n[0].__name__ for n in _NETWORKS])
def test_eval_graph_reuses_train_variables_with_unknown_batch(network_fn,
                                                              size):
  with tf.Graph().as_default(), cheap_layers():
    network_fn(images(size), num_classes=5)
    trained = variable_names()
    logits, end_points = network_fn(images(size, batch=None), num_classes=5,
                                    is_training=False, reuse=True)
    assert variable_names() == trained
  assert logits.shape.as_list() == [None, 5]
  assert end_points['Predictions'].shape.as_list() == [None, 5]


@pytest.mark.parametrize('network_fn,kwargs', [
    (inception.inception_v1, {'global_pool': True}),
    (inception.inception_v3, {'global_pool': True}),
    (inception.inception_v4, {'create_aux_logits': False}),
    (inception.inception_resnet_v2, {'create_aux_logits': False}),
])
def test_unknown_image_size_with_global_pooling(network_fn, kwargs):
  with tf.Graph().as_default(), shapes_only():
    logits, end_points = network_fn(images(None, None, batch=1),
                                    num_classes=5, **kwargs)
  assert logits.shape.as_list() == [1, 5]
  assert end_points['global_pool'].shape.as_list()[:3] == [1, 1, 1]


def test_inception_v1_runs_on_an_image_of_unknown_size():
  with tf.Graph().as_default() as graph:
    inputs = tf.placeholder(tf.float32, [1, None, None, 3])
    with slim.arg_scope(inception.inception_v1_arg_scope()):
      _, end_points = inception.inception_v1(inputs, num_classes=5,
                                             is_training=False,
                                             global_pool=True)
    with tf.Session(graph=graph) as sess:
      sess.run(tf.global_variables_initializer())
      features, probabilities = sess.run(
          [end_points['Mixed_5c'], end_points['Predictions']],
          {inputs: np.random.RandomState(0).rand(1, 64, 96, 3)})
  assert features.shape == (1, 2, 3, 1024)
  np.testing.assert_allclose(probabilities.sum(), 1.0, rtol=1e-5)


@pytest.mark.parametrize('base_fn,size,scope,first_module', [
    (inception.inception_v2_base, 64, 'InceptionV2', 'Mixed_3b'),
    (inception.inception_v3_base, 75, 'InceptionV3', 'Mixed_5b'),
    (inception.inception_v4_base, 75, 'InceptionV4', 'Mixed_3a'),
    (inception.inception_resnet_v2_base, 75, 'InceptionResnetV2',
     'Mixed_5b'),
])
def test_two_bases_in_one_graph_get_their_own_scopes(base_fn, size, scope,
                                                     first_module):
  with tf.Graph().as_default(), cheap_layers():
    base_fn(images(size), final_endpoint=first_module)
    count = len(tf.global_variables())
    base_fn(images(size), final_endpoint=first_module)
    names = variable_names()
  assert len(names) == 2 * count
  assert top_scopes(names) == {scope, scope + '_1'}


# --- Public blocks -----------------------------------------------------------

# (block, input shape, output shape, default scope, trunk stage it builds)
_V4_BLOCKS = [
    (inception.block_inception_a, [1, 5, 5, 384], [1, 5, 5, 384],
     'BlockInceptionA', 'Mixed_5b'),
    (inception.block_reduction_a, [1, 5, 5, 384], [1, 2, 2, 1024],
     'BlockReductionA', 'Mixed_6a'),
    (inception.block_inception_b, [1, 5, 5, 1024], [1, 5, 5, 1024],
     'BlockInceptionB', 'Mixed_6b'),
    (inception.block_reduction_b, [1, 5, 5, 1024], [1, 2, 2, 1536],
     'BlockReductionB', 'Mixed_7a'),
    (inception.block_inception_c, [1, 5, 5, 1536], [1, 5, 5, 1536],
     'BlockInceptionC', 'Mixed_7b'),
]


def _manifest_variables(name, prefix):
  return sorted((v['name'][len(prefix):], v['shape'])
                for v in load_manifest(name)['variables']
                if v['name'].startswith(prefix))


def test_inception_v4_blocks_build_the_trunk_stages():
  for block, in_shape, out_shape, default_scope, stage in _V4_BLOCKS:
    with tf.Graph().as_default():
      inputs = tf.placeholder(tf.float32, in_shape)
      with slim.arg_scope(inception.inception_v4_arg_scope()):
        net = block(inputs)
        block(inputs, default_scope, reuse=True)
      variables = sorted((v.op.name[len(default_scope) + 1:],
                          v.shape.as_list()) for v in tf.global_variables())
    assert net.shape.as_list() == out_shape
    # The same variables as the checkpoint's stage: it loads into the block.
    assert variables == _manifest_variables(
        'inception_v4', 'InceptionV4/%s/' % stage), stage


def test_inception_resnet_v2_blocks_build_the_checkpoint_units():
  blocks = [(inception.block35, 320, 'Block35', 'Repeat/block35_1/'),
            (inception.block17, 1088, 'Block17', 'Repeat_1/block17_1/'),
            (inception.block8, 2080, 'Block8', 'Repeat_2/block8_1/')]
  for block, depth, default_scope, unit in blocks:
    with tf.Graph().as_default():
      inputs = tf.placeholder(tf.float32, [1, 3, 3, depth])
      with slim.arg_scope(inception.inception_resnet_v2_arg_scope()):
        net = block(inputs)
      variables = sorted((v.op.name[len(default_scope) + 1:],
                          v.shape.as_list()) for v in tf.global_variables())
    assert net.shape.as_list() == [1, 3, 3, depth]
    assert variables == _manifest_variables(
        'inception_resnet_v2', 'InceptionResnetV2/' + unit), unit


def test_residual_block_scale_and_activation():
  batch = np.random.RandomState(1).uniform(-9, 9, (1, 3, 3, 320))
  with tf.Graph().as_default():
    inputs = tf.placeholder(tf.float32, batch.shape)
    unscaled = inception.block35(inputs, 0.0, None)
    rectified = inception.block35(inputs, 0.0, scope='Block35', reuse=True)
    clipped = inception.block35(inputs, 1.0, tf.nn.relu6, 'Block35', True)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      results = sess.run([unscaled, rectified, clipped], {inputs: batch})
  np.testing.assert_allclose(results[0], batch, rtol=1e-6)
  np.testing.assert_allclose(results[1], np.maximum(batch, 0), rtol=1e-6)
  assert results[2].min() >= 0 and results[2].max() <= 6


# --- Arg scopes --------------------------------------------------------------

def _one_conv_and_fc(arg_scope):
  with tf.Graph().as_default():
    with slim.arg_scope(arg_scope):
      net = slim.conv2d(tf.zeros([1, 4, 4, 2]), 3, [3, 3], scope='Conv')
      slim.fully_connected(slim.flatten(net), 2, scope='FC')
    return {
        'variables': variable_names(),
        'regularized': len(tf.losses.get_regularization_losses()),
        'updates': len(tf.get_collection('my_updates')),
        'activations': [op.type for op in tf.get_default_graph().
                        get_operations()
                        if op.type.startswith('Relu') and 'Conv/' in op.name],
    }


def test_inception_resnet_v2_arg_scope_positional_arguments():
  built = _one_conv_and_fc(inception.inception_resnet_v2_arg_scope(
      0.1, 0.5, 0.01, tf.nn.relu6, 'my_updates', True))
  assert 'Conv/BatchNorm/gamma' in built['variables']  # batch_norm_scale
  assert built['updates'] == 2
  assert built['activations'] == ['Relu6']
  assert built['regularized'] == 3  # conv weights, FC weights and biases


def test_inception_arg_scope_positional_arguments():
  built = _one_conv_and_fc(inception.inception_arg_scope(
      0.1, True, 0.5, 0.01, tf.nn.relu6, 'my_updates', True))
  assert 'Conv/BatchNorm/gamma' in built['variables']
  assert built['updates'] == 2
  assert built['activations'] == ['Relu6']
  assert built['regularized'] == 2  # biases are not regularised


def test_inception_v1_trunk_starts_from_the_checkpoints_initialisation():
  with tf.Graph().as_default():
    with slim.arg_scope(inception.inception_v1_arg_scope()):
      inception.inception_v1_base(images(64), final_endpoint='Conv2d_1a_7x7')
    weights = tf.global_variables('InceptionV1/Conv2d_1a_7x7/weights')[0]
    with tf.Session() as sess:
      sess.run(weights.initializer)
      values = sess.run(weights)
  # N(0, 0.01) truncated at 2 sigma has a standard deviation of 0.0088; He
  # initialisation would give 0.1 for this 7x7x3 fan-in.
  assert 0.0080 < values.std() < 0.0096
