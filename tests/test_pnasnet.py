"""PNASNet-5: its configs, its cell and the two builders.

The full-size networks are checked against the released checkpoints in
test_zoo_manifests.py; here a tiny config (3 cells at 8 filters, 96x96
input) keeps each build to about a second.
"""

import functools

import pytest
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets.nasnet import pnasnet
import nets_helpers


# Cells 1 and 2 stride (calc_reduction_layers(3, 2) == [1, 2]); the aux head
# reads cell_1. 96x96: conv0 47, stem cells 24 and 12, cells 12, 6 and 3.
TINY = 'num_cells=3,num_conv_filters=8'
TINY_SIZE = 96
_ORDER = ['Stem', 'Cell_0', 'Cell_1', 'Cell_2', 'global_pool', 'Logits',
          'Predictions']


def _tiny_config(extra=''):
  return pnasnet.mobile_imagenet_config().parse(
      ','.join(filter(None, [TINY, extra])))


def _build(config=None, batch=2, **kwargs):
  images = tf.placeholder(tf.float32, [batch, TINY_SIZE, TINY_SIZE, 3])
  with slim.arg_scope(pnasnet.pnasnet_mobile_arg_scope()):
    logits, end_points = pnasnet.build_pnasnet_mobile(
        images, 5, config=config or _tiny_config(), **kwargs)
  return images, logits, end_points


def _variables():
  return {v.op.name: v.shape.as_list() for v in tf.global_variables()}


@functools.lru_cache(maxsize=None)
def _tiny_build(extra='', is_training=True):
  """(variables, end point shapes) of a build of the tiny config + `extra`."""
  with tf.Graph().as_default():
    _, _, end_points = _build(_tiny_config(extra), is_training=is_training)
    return _variables(), {name: t.shape.as_list()
                          for name, t in end_points.items()}


def test_default_image_sizes():
  assert pnasnet.build_pnasnet_mobile.default_image_size == 224
  assert pnasnet.build_pnasnet_large.default_image_size == 331


def test_configs_hold_upstream_hyper_parameters():
  common = {'filter_scaling_rate': 2.0, 'num_reduction_layers': 2,
            'data_format': 'NHWC', 'use_aux_head': 1,
            'use_bounded_activation': False, 'dense_dropout_keep_prob': 0.5,
            'skip_reduction_layer_input': 1, 'total_training_steps': 250000}
  assert pnasnet.large_imagenet_config().values() == dict(
      common, stem_multiplier=3.0, num_cells=12, num_conv_filters=216,
      drop_path_keep_prob=0.6)
  assert pnasnet.mobile_imagenet_config().values() == dict(
      common, stem_multiplier=1.0, num_cells=9, num_conv_filters=54,
      drop_path_keep_prob=1.0)


# The arg scopes are checked with NASNet's in test_nasnet.


def test_cell_table_gives_upstream_operation_list():
  cell = pnasnet.PNasNetNormalCell(8, 1.0, 11, 100)
  # pylint: disable=protected-access
  assert cell._operations == [
      'separable_5x5_2', 'max_pool_3x3', 'separable_7x7_2', 'max_pool_3x3',
      'separable_5x5_2', 'separable_3x3_2', 'separable_3x3_2',
      'max_pool_3x3', 'separable_3x3_2', 'none']
  assert cell._hiddenstate_indices == [1, 1, 0, 0, 0, 0, 4, 0, 1, 0]
  assert cell._used_hiddenstates == [1, 1, 0, 0, 0, 0, 0]


def test_positional_arguments_in_upstream_order():
  with tf.Graph().as_default():
    images = tf.placeholder(tf.float32, [2, TINY_SIZE, TINY_SIZE, 3])
    with slim.arg_scope(pnasnet.pnasnet_mobile_arg_scope()):
      # images, num_classes, is_training, final_endpoint, config
      cell, end_points = pnasnet.build_pnasnet_mobile(
          images, 5, True, 'Cell_0', _tiny_config())
  assert cell is end_points['Cell_0']
  assert cell.shape.as_list() == [2, 12, 12, 5 * 8]  # 5 unused states
  with tf.Graph().as_default():
    images = tf.placeholder(tf.float32, [1, 331, 331, 3])
    with slim.arg_scope(pnasnet.pnasnet_large_arg_scope()):
      stem, end_points = pnasnet.build_pnasnet_large(
          images, 1001, False, 'Stem', pnasnet.large_imagenet_config())
  assert list(end_points) == ['Stem']
  assert stem.shape.as_list() == [1, 42, 42, 540]


# Cell_1 strides and is followed by the aux head; the shared end of the
# network (global_pool ...) is covered position by position in test_nasnet.
@pytest.mark.parametrize('final_endpoint', ['Stem', 'Cell_1', 'global_pool',
                                            'Predictions'])
def test_final_endpoint_stops_the_build_there(final_endpoint):
  with tf.Graph().as_default():
    _, net, end_points = _build(final_endpoint=final_endpoint)
    scopes = {name.split('/')[0] for name in _variables()}
  assert net is end_points[final_endpoint]
  built = [name for name in _ORDER if name in end_points]
  assert built == _ORDER[:_ORDER.index(final_endpoint) + 1]
  assert ('aux_1' in scopes) == (len(built) > _ORDER.index('Cell_1') + 1)
  assert ('final_layer' in scopes) == (final_endpoint in ('Logits',
                                                          'Predictions'))


def test_unknown_final_endpoint_lists_the_valid_ones():
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match="'Reduction_Cell_0'.*Stem, Cell_0"):
      _build(final_endpoint='Reduction_Cell_0')


def test_cells_stride_at_the_reductions_and_config_is_not_changed():
  config = _tiny_config('drop_path_keep_prob=0.6')
  with tf.Graph().as_default():
    _, logits, end_points = _build(config, is_training=False)
  shapes = {name: t.shape.as_list() for name, t in end_points.items()}
  assert shapes == {'Stem': [2, 12, 12, 5 * 4], 'Cell_0': [2, 12, 12, 5 * 8],
                    'Cell_1': [2, 6, 6, 5 * 16], 'Cell_2': [2, 3, 3, 5 * 32],
                    'global_pool': [2, 5 * 32], 'Logits': [2, 5],
                    'Predictions': [2, 5]}
  assert logits is end_points['Logits']
  assert config.drop_path_keep_prob == 0.6


def test_reuse_shares_the_variables():
  with tf.Graph().as_default():
    _build(final_endpoint='Cell_1')
    variables = _variables()
    with tf.variable_scope(tf.get_variable_scope(), reuse=True):
      _build(final_endpoint='Cell_1')
    assert _variables() == variables
    with pytest.raises(ValueError, match='already exists'):
      _build(final_endpoint='Cell_1')


def test_use_aux_head_0_removes_the_aux_variables_only():
  with_aux, end_points = _tiny_build()
  without_aux, without_end_points = _tiny_build('use_aux_head=0')
  assert end_points['AuxLogits'] == [2, 5]
  assert 'AuxLogits' not in without_end_points
  aux = {name for name in with_aux if name.startswith('aux_1/')}
  assert 'aux_1/aux_logits/FC/weights' in aux
  assert set(without_aux) == set(with_aux) - aux


def test_without_skip_reduction_layer_input_a_reduction_reads_a_stale_prev():
  # With the skip (the default) cell_1 reads cell_stem_1's output, at its
  # own input's resolution: a 1x1 conv matches the filters. Without it, it
  # reads what cell_0 read, cell_stem_0's output at twice the resolution:
  # a factorized reduction.
  skip, _ = _tiny_build('use_aux_head=0')
  no_skip, _ = _tiny_build('use_aux_head=0,skip_reduction_layer_input=0')
  assert 'cell_1/prev_1x1/weights' in set(skip) - set(no_skip)
  assert 'cell_1/path1_conv/weights' in set(no_skip) - set(skip)


def test_unknown_batch_and_the_drop_path_schedule_reads_the_global_step():
  # No dropout, so that drop path is the only randomness.
  config = _tiny_config('drop_path_keep_prob=0.5,total_training_steps=10,'
                        'use_aux_head=0,dense_dropout_keep_prob=1.0')
  nets_helpers.assert_drop_path_follows_global_step(
      lambda: _build(config, batch=None)[:2], 3, 5)
