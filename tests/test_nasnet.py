"""NASNet-A: its HParams configs, the cell machinery and the three builders.

The full-size networks are checked against the released checkpoints in
test_zoo_manifests.py; here tiny configs (2 normal cells at 8 filters) keep
each build to about a second, and sessions run only on 16x16 images.
"""

import collections
import copy
import functools

import numpy as np
import pytest
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets.nasnet import nasnet
from nets.nasnet import nasnet_utils
from nets.nasnet import pnasnet
from nets.nasnet.hparams import HParams
import nets_helpers

# Reductions before cells 0 and 1 (calc_reduction_layers(2, 2) == [0, 1]),
# so the aux head reads cell_0: 16x16 CIFAR inputs leave it 8x8.
TINY = 'num_cells=2,num_conv_filters=8,stem_multiplier=1.0'
TINY_SIZE = 16


def _tiny_cifar_config(extra=''):
  return nasnet.cifar_config().parse(','.join(filter(None, [TINY, extra])))


def _build_cifar(config, batch=2, is_training=True, **kwargs):
  images = tf.placeholder(tf.float32, [batch, TINY_SIZE, TINY_SIZE, 3])
  with slim.arg_scope(nasnet.nasnet_cifar_arg_scope()):
    logits, end_points = nasnet.build_nasnet_cifar(
        images, 10, is_training=is_training, config=config, **kwargs)
  return images, logits, end_points


def _variables():
  return {v.op.name: v.shape.as_list() for v in tf.global_variables()}


TinyBuild = collections.namedtuple('TinyBuild', [
    'variables', 'end_point_shapes', 'op_types', 'num_regularized'])


@functools.lru_cache(maxsize=None)
def _tiny_build(extra=''):
  """What a training build of the tiny CIFAR network with `extra` made."""
  with tf.Graph().as_default() as graph:
    _, _, end_points = _build_cifar(_tiny_cifar_config(extra))
    return TinyBuild(
        _variables(),
        {name: t.shape.as_list() for name, t in end_points.items()},
        {op.type for op in graph.get_operations()},
        len(tf.losses.get_regularization_losses()))


# ---------------------------------------------------------------- HParams


def test_hparams_values_and_attribute_access():
  hparams = HParams(num_cells=3, rate=0.5, name='x', flag=False)
  assert hparams.num_cells == 3 and hparams.name == 'x'
  assert hparams.values() == {'num_cells': 3, 'rate': 0.5, 'name': 'x',
                              'flag': False}
  assert 'rate' in hparams and 'other' not in hparams
  assert hparams.get('other', 7) == 7
  hparams.values()['num_cells'] = 9  # a copy
  assert hparams.num_cells == 3


def test_set_hparam_keeps_each_parameter_type():
  hparams = HParams(num_cells=3, rate=0.5, name='x', flag=False)
  hparams.set_hparam('rate', 1)
  assert hparams.rate == 1.0 and isinstance(hparams.rate, float)
  for name, bad in [('num_cells', 2.5), ('num_cells', True), ('flag', 1),
                    ('name', 3), ('rate', 'fast')]:
    with pytest.raises(ValueError, match=name):
      hparams.set_hparam(name, bad)
  assert hparams.values() == {'num_cells': 3, 'rate': 1.0, 'name': 'x',
                              'flag': False}


def test_parse_converts_text_to_the_existing_types():
  config = nasnet.mobile_imagenet_config()
  assert config.parse(' num_cells=6, stem_multiplier=2,'
                      'use_bounded_activation=True,data_format=NCHW') is config
  assert (config.num_cells, config.stem_multiplier) == (6, 2.0)
  assert isinstance(config.stem_multiplier, float)
  assert config.use_bounded_activation is True
  assert config.data_format == 'NCHW'
  with pytest.raises(ValueError, match="'num_cells' is a int"):
    config.parse('num_cells=six')
  with pytest.raises(ValueError, match='use_aux_head'):
    config.parse('use_aux_head=yes')
  with pytest.raises(ValueError, match='Malformed'):
    config.parse('num_cells')


def test_unknown_names_raise_value_error_and_change_nothing():
  config = nasnet.cifar_config()
  before = config.values()
  with pytest.raises(ValueError, match="Unknown hyperparameter 'num_cell'.*"
                                       'num_cells'):
    config.set_hparam('num_cell', 4)
  with pytest.raises(ValueError, match='num_cell'):
    config.override_from_dict({'num_cells': 4, 'num_cell': 4})
  with pytest.raises(ValueError, match='num_cell'):
    config.parse('num_cells=4,num_cell=4')
  with pytest.raises(ValueError, match='already in use'):
    config.add_hparam('num_cells', 4)
  assert config.values() == before


def test_override_from_dict_and_deepcopy():
  config = nasnet.cifar_config()
  copied = copy.deepcopy(config)
  assert config.override_from_dict({'num_cells': 6, 'use_aux_head': 0}) is (
      config)
  assert (config.num_cells, config.use_aux_head) == (6, 0)
  assert copied.num_cells == 18


def test_configs_hold_upstream_hyper_parameters():
  common = {'filter_scaling_rate': 2.0, 'num_reduction_layers': 2,
            'data_format': 'NHWC', 'use_aux_head': 1,
            'use_bounded_activation': False}
  assert nasnet.cifar_config().values() == dict(
      common, stem_multiplier=3.0, drop_path_keep_prob=0.6, num_cells=18,
      num_conv_filters=32, dense_dropout_keep_prob=1.0,
      skip_reduction_layer_input=0, total_training_steps=937500)
  assert nasnet.mobile_imagenet_config().values() == dict(
      common, stem_multiplier=1.0, dense_dropout_keep_prob=0.5, num_cells=12,
      num_conv_filters=44, drop_path_keep_prob=1.0,
      skip_reduction_layer_input=0, total_training_steps=250000)
  assert nasnet.large_imagenet_config().values() == dict(
      common, stem_multiplier=3.0, dense_dropout_keep_prob=0.5, num_cells=18,
      num_conv_filters=168, drop_path_keep_prob=0.7,
      skip_reduction_layer_input=1, total_training_steps=250000)


def _arg_scope_settings(arg_scope_fn, **kwargs):
  """(weight decay, BatchNorm decay, BatchNorm epsilon) the scope sets."""
  settings = arg_scope_fn(**kwargs)
  conv = settings[slim.arg_scope_func_key(slim.conv2d)]
  batch_norm = settings[slim.arg_scope_func_key(slim.batch_norm)]
  with tf.Graph().as_default():
    # l2_regularizer(scale)(ones([2])) == scale * sum(1^2) / 2 == scale.
    penalty = conv['weights_regularizer'](tf.ones([2]))
    with tf.Session() as sess:
      weight_decay = float(sess.run(penalty))
  return (pytest.approx(weight_decay), batch_norm['decay'],
          batch_norm['epsilon'])


@pytest.mark.parametrize('arg_scope_fn, expected', [
    (nasnet.nasnet_cifar_arg_scope, (5e-4, 0.9, 1e-5)),
    (nasnet.nasnet_mobile_arg_scope, (4e-5, 0.9997, 1e-3)),
    (nasnet.nasnet_large_arg_scope, (5e-5, 0.9997, 1e-3)),
    (pnasnet.pnasnet_mobile_arg_scope, (4e-5, 0.9997, 1e-3)),
    (pnasnet.pnasnet_large_arg_scope, (4e-5, 0.9997, 1e-3)),
])
def test_arg_scope_defaults_as_upstream(arg_scope_fn, expected):
  """NASNet's and PNASNet's scopes, with each argument passed through."""
  assert _arg_scope_settings(arg_scope_fn) == expected
  assert _arg_scope_settings(
      arg_scope_fn, weight_decay=0.5, batch_norm_decay=0.25,
      batch_norm_epsilon=0.125) == (0.5, 0.25, 0.125)


# ----------------------------------------------------------- nasnet_utils


def test_calc_reduction_layers_splits_the_cells_in_equal_stretches():
  assert nasnet_utils.calc_reduction_layers(18, 2) == [6, 12]
  assert nasnet_utils.calc_reduction_layers(12, 2) == [4, 8]
  assert nasnet_utils.calc_reduction_layers(9, 2) == [3, 6]
  assert nasnet_utils.calc_reduction_layers(2, 2) == [0, 1]


def test_parse_operation():
  parse = nasnet_utils.parse_operation
  assert parse('separable_7x7_2') == ('separable', 7, 2)
  assert parse('separable_3x3') == ('separable', 3, 1)
  assert parse('avg_pool_3x3') == ('avg_pool', 3, 1)
  assert parse('max_pool_5x5') == ('max_pool', 5, 1)
  assert parse('none') == ('none', 1, 1)
  for bad in ['conv_3x3', 'separable_3x5_2', 'max_pool_3x3_2', 'avg_pool']:
    with pytest.raises(ValueError, match=bad):
      parse(bad)


def test_cell_tables_give_upstream_operation_lists():
  normal = nasnet_utils.NasNetANormalCell(8, 1.0, 20, 100)
  assert normal._operations == [  # pylint: disable=protected-access
      'separable_5x5_2', 'separable_3x3_2', 'separable_5x5_2',
      'separable_3x3_2', 'avg_pool_3x3', 'none', 'avg_pool_3x3',
      'avg_pool_3x3', 'separable_3x3_2', 'none']
  assert normal._hiddenstate_indices == [  # pylint: disable=protected-access
      0, 1, 1, 1, 0, 1, 1, 1, 0, 0]
  reduction = nasnet_utils.NasNetAReductionCell(8, 1.0, 20, 100)
  assert reduction._operations == [  # pylint: disable=protected-access
      'separable_5x5_2', 'separable_7x7_2', 'max_pool_3x3',
      'separable_7x7_2', 'avg_pool_3x3', 'separable_5x5_2', 'none',
      'avg_pool_3x3', 'separable_3x3_2', 'max_pool_3x3']
  assert reduction._hiddenstate_indices == [  # pylint: disable=protected-access
      0, 1, 0, 1, 0, 1, 3, 2, 2, 0]
  assert reduction._used_hiddenstates == [  # pylint: disable=protected-access
      1, 1, 1, 0, 0, 0, 0]


def test_channel_helpers_read_the_data_format_from_the_arg_scope():
  with pytest.raises(ValueError, match='data_format'):
    nasnet_utils.get_channel_index()
  assert nasnet_utils.get_channel_dim([1, 2, 3, 4], data_format='NHWC') == 4
  with slim.arg_scope([nasnet_utils.get_channel_index,
                       nasnet_utils.get_channel_dim], data_format='NCHW'):
    assert nasnet_utils.get_channel_index() == 1
    assert nasnet_utils.get_channel_dim([1, 2, 3, 4]) == 2


def test_factorized_reduction_halves_and_gives_an_odd_filter_to_path_2():
  with tf.Graph().as_default():
    with slim.arg_scope(nasnet.nasnet_cifar_arg_scope()):
      with slim.arg_scope([nasnet_utils.factorized_reduction, slim.conv2d,
                           slim.batch_norm, nasnet_utils.get_channel_index],
                          data_format='NHWC'):
        net = nasnet_utils.factorized_reduction(tf.zeros([2, 7, 7, 4]), 11, 2)
    variables = _variables()
  assert net.shape.as_list() == [2, 4, 4, 11]
  assert variables['path1_conv/weights'] == [1, 1, 4, 5]
  assert variables['path2_conv/weights'] == [1, 1, 4, 6]
  assert variables['final_path_bn/gamma'] == [11]


def test_drop_path_keeps_or_drops_whole_examples():
  with tf.Graph().as_default():
    ones = tf.ones([200, 2, 2, 3])
    dropped = nasnet_utils.drop_path(ones, 0.5)
    kept = nasnet_utils.drop_path(ones, 0.5, is_training=False)
    with tf.Session() as sess:
      dropped, kept = sess.run([dropped, kept])
  per_example = dropped.reshape(200, -1)
  assert np.all(per_example == per_example[:, :1])
  assert set(np.unique(per_example)) == {0.0, 2.0}
  assert 50 < np.count_nonzero(per_example[:, 0]) < 150
  np.testing.assert_array_equal(kept, np.ones([200, 2, 2, 3]))


def test_keep_probability_falls_with_depth_and_training_steps():
  assert nasnet_utils.depth_scaled_keep_prob(0.6, 19, 20) == pytest.approx(0.6)
  assert nasnet_utils.depth_scaled_keep_prob(0.6, 9, 20) == pytest.approx(0.8)
  with pytest.raises(ValueError, match='cell_num'):
    nasnet_utils.depth_scaled_keep_prob(0.6, -1, 20)
  with tf.Graph().as_default():
    step = tf.placeholder(tf.float32, [])
    keep = nasnet_utils.step_scaled_keep_prob(0.6, step, 100)
    with tf.Session() as sess:
      values = [sess.run(keep, {step: s}) for s in (0, 50, 100, 400)]
  np.testing.assert_allclose(values, [1.0, 0.8, 0.6, 0.6], rtol=1e-6)


# ---------------------------------------------------------------- network


def test_default_image_sizes():
  assert nasnet.build_nasnet_cifar.default_image_size == 32
  assert nasnet.build_nasnet_mobile.default_image_size == 224
  assert nasnet.build_nasnet_large.default_image_size == 331


def test_positional_arguments_in_upstream_order():
  with tf.Graph().as_default():
    images = tf.placeholder(tf.float32, [2, TINY_SIZE, TINY_SIZE, 3])
    with slim.arg_scope(nasnet.nasnet_cifar_arg_scope()):
      # images, num_classes, is_training, config, current_step
      logits, end_points = nasnet.build_nasnet_cifar(
          images, 7, False, _tiny_cifar_config(), tf.constant(0))
    assert logits.shape.as_list() == [2, 7]
    assert 'AuxLogits' not in end_points  # is_training=False
    assert end_points['Cell_0'].shape.as_list()[-1] == 6 * 2 * 8  # config
  with tf.Graph().as_default():
    images = tf.placeholder(tf.float32, [1, 331, 331, 3])
    with slim.arg_scope(nasnet.nasnet_large_arg_scope()):
      # images, num_classes, is_training, final_endpoint, config
      stem, end_points = nasnet.build_nasnet_large(
          images, 1001, True, 'Stem', nasnet.large_imagenet_config(), None)
  assert list(end_points) == ['Stem']
  assert stem.shape.as_list() == [1, 42, 42, 336]


_MOBILE_ORDER = ['Stem', 'Reduction_Cell_0', 'Cell_0', 'Reduction_Cell_1',
                 'Cell_1', 'global_pool', 'Logits', 'Predictions']


def _build_tiny_mobile(final_endpoint=None):
  # 96x96: conv0 47, stem 24 and 12, cell_0 6x6 (enough for the aux head).
  images = tf.placeholder(tf.float32, [2, 96, 96, 3])
  config = nasnet.mobile_imagenet_config().parse(TINY)
  with slim.arg_scope(nasnet.nasnet_mobile_arg_scope()):
    return nasnet.build_nasnet_mobile(images, 5, final_endpoint=final_endpoint,
                                      config=config)


@pytest.mark.parametrize('final_endpoint', [
    'Stem', 'Reduction_Cell_0', 'Cell_0', 'global_pool', 'Logits',
    'Predictions'])
def test_final_endpoint_stops_the_build_there(final_endpoint):
  with tf.Graph().as_default():
    net, end_points = _build_tiny_mobile(final_endpoint)
    scopes = {name.split('/')[0] for name in _variables()}
  assert net is end_points[final_endpoint]
  built = [name for name in _MOBILE_ORDER if name in end_points]
  assert built == _MOBILE_ORDER[:_MOBILE_ORDER.index(final_endpoint) + 1]
  # The aux head follows Cell_0: built only when the build goes past it.
  assert ('aux_0' in scopes) == (len(built) > _MOBILE_ORDER.index('Cell_0') +
                                 1)
  assert ('final_layer' in scopes) == (final_endpoint in ('Logits',
                                                          'Predictions'))
  if final_endpoint == 'Logits':
    assert net.shape.as_list() == [2, 5]


def test_unknown_final_endpoint_lists_the_valid_ones():
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match="'Cell_7'.*Stem, Reduction_Cell_0"):
      _build_tiny_mobile('Cell_7')


def test_config_override_shapes_the_network_and_is_not_changed():
  config = nasnet.mobile_imagenet_config().parse(
      'num_cells=3,num_conv_filters=12,drop_path_keep_prob=0.7')
  with tf.Graph().as_default():
    images = tf.placeholder(tf.float32, [1, 96, 96, 3])
    with slim.arg_scope(nasnet.nasnet_mobile_arg_scope()):
      _, end_points = nasnet.build_nasnet_mobile(images, 5, is_training=False,
                                                 config=config)
  shapes = {name: t.shape.as_list() for name, t in end_points.items()
            if 'Cell' in name}
  # Reductions before cells 1 and 2; a normal cell concatenates 6 states of
  # `filters`, a reduction cell 4 of twice as many.
  assert shapes == {'Cell_0': [1, 12, 12, 6 * 12],
                    'Reduction_Cell_0': [1, 6, 6, 4 * 24],
                    'Cell_1': [1, 6, 6, 6 * 24],
                    'Reduction_Cell_1': [1, 3, 3, 4 * 48],
                    'Cell_2': [1, 3, 3, 6 * 48]}
  # The build switched drop path off for evaluation on its own copy.
  assert config.drop_path_keep_prob == 0.7


def test_reuse_shares_the_variables():
  with tf.Graph().as_default():
    _build_cifar(_tiny_cifar_config())
    variables = _variables()
    with tf.variable_scope(tf.get_variable_scope(), reuse=True):
      _, logits, _ = _build_cifar(_tiny_cifar_config())
    assert _variables() == variables
    assert logits.shape.as_list() == [2, 10]
    with pytest.raises(ValueError, match='already exists'):
      _build_cifar(_tiny_cifar_config())


def test_use_aux_head_0_removes_the_aux_variables_only():
  with_aux, without_aux = _tiny_build(), _tiny_build('use_aux_head=0')
  assert with_aux.end_point_shapes['AuxLogits'] == [2, 10]
  assert 'AuxLogits' not in without_aux.end_point_shapes
  aux = {name for name in with_aux.variables if name.startswith('aux_0/')}
  assert 'aux_0/aux_logits/FC/weights' in aux
  assert set(without_aux.variables) == set(with_aux.variables) - aux


def test_drop_path_schedule_reads_the_global_step():
  config = _tiny_cifar_config('drop_path_keep_prob=0.5,'
                              'total_training_steps=10,use_aux_head=0')
  nets_helpers.assert_drop_path_follows_global_step(
      lambda: _build_cifar(config, batch=None)[:2], 4, 10)


def test_without_a_global_step_drop_path_reads_current_step():
  config = _tiny_cifar_config('drop_path_keep_prob=0.5,use_aux_head=0')
  with tf.Graph().as_default():
    _build_cifar(config)
    assert not any('global_step' in name for name in _variables())
  with tf.Graph().as_default():
    step = tf.placeholder(tf.int64, [])
    images, logits, _ = _build_cifar(config, batch=None, current_step=step)
    feed = np.random.RandomState(0).rand(4, TINY_SIZE, TINY_SIZE, 3)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      at_start, at_end = [
          [sess.run(logits, {images: feed, step: value}) for _ in range(2)]
          for value in (0, config.total_training_steps)]
  np.testing.assert_allclose(at_start[0], at_start[1], rtol=1e-5)
  assert not np.allclose(at_end[0], at_end[1])


def test_bounded_activation_uses_relu6_and_clipping_only():
  assert 'Relu' in _tiny_build().op_types
  op_types = _tiny_build('use_bounded_activation=true').op_types
  assert 'Relu' not in op_types
  assert {'Relu6', 'Minimum', 'Maximum'} <= op_types


def test_nchw_builds_the_same_variables_channels_first():
  nhwc, nchw = _tiny_build(), _tiny_build('data_format=NCHW')
  assert nchw.variables == nhwc.variables
  assert nhwc.end_point_shapes['Cell_0'] == [2, 8, 8, 96]
  assert nchw.end_point_shapes['Cell_0'] == [2, 96, 8, 8]
  assert nchw.end_point_shapes['Logits'] == [2, 10]


def test_weight_decay_reaches_every_weight():
  build = _tiny_build()
  weights = [name for name in build.variables if name.endswith('weights')]
  assert build.num_regularized == len(weights) > 50
  with tf.Graph().as_default():
    images = tf.placeholder(tf.float32, [2, TINY_SIZE, TINY_SIZE, 3])
    with slim.arg_scope(nasnet.nasnet_cifar_arg_scope(weight_decay=0.0)):
      nasnet.build_nasnet_cifar(images, 10,
                                config=_tiny_cifar_config('use_aux_head=0'))
    assert tf.losses.get_regularization_losses() == []
