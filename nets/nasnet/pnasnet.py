"""PNASNet-5 (Liu et al. 2018, "Progressive Neural Architecture Search",
https://arxiv.org/abs/1712.00559).

One searched cell, `PNasNetNormalCell`, everywhere: with stride 2 (and twice
the filters) it also does the reductions, before each third of the cells and
in the ImageNet stem (`cell_stem_0`, `cell_stem_1`, shared with NASNet).

  build_pnasnet_mobile  224x224, 9 cells at 54 filters,
                        checkpoint `pnasnet-5_mobile_2017_12_13`.
  build_pnasnet_large   331x331, 12 cells at 216 filters,
                        checkpoint `pnasnet-5_large_2017_12_13`.

End points: 'Stem', 'Cell_<n>', 'global_pool', 'Logits', 'Predictions', and
while training 'AuxLogits' (scope `aux_<n>`). Usage as in `nasnet`.
"""

import functools

import tf_compat  # noqa: F401

from nets.nasnet import nasnet
from nets.nasnet import nasnet_utils


def large_imagenet_config():
  """PNASNet-5 Large for ImageNet at 331x331."""
  return nasnet_utils.base_config(
      stem_multiplier=3.0, dense_dropout_keep_prob=0.5, num_cells=12,
      num_conv_filters=216, drop_path_keep_prob=0.6,
      skip_reduction_layer_input=1, total_training_steps=250000)


def mobile_imagenet_config():
  """PNASNet-5 Mobile for ImageNet at 224x224 (no drop path)."""
  return nasnet_utils.base_config(
      stem_multiplier=1.0, dense_dropout_keep_prob=0.5, num_cells=9,
      num_conv_filters=54, drop_path_keep_prob=1.0,
      skip_reduction_layer_input=1, total_training_steps=250000)


def pnasnet_large_arg_scope(weight_decay=4e-5, batch_norm_decay=0.9997,
                            batch_norm_epsilon=0.001):
  """Arg scope of PNASNet-5 Large: NASNet-A Large's with these defaults."""
  return nasnet.nasnet_large_arg_scope(weight_decay, batch_norm_decay,
                                       batch_norm_epsilon)


def pnasnet_mobile_arg_scope(weight_decay=4e-5, batch_norm_decay=0.9997,
                             batch_norm_epsilon=0.001):
  """Arg scope of PNASNet-5 Mobile: NASNet-A Mobile's."""
  return nasnet.nasnet_mobile_arg_scope(weight_decay, batch_norm_decay,
                                        batch_norm_epsilon)


class PNasNetNormalCell(nasnet_utils.SearchedCell):
  """The PNASNet-5 cell; called with stride 2 it reduces."""

  BLOCKS = (
      (1, 'separable_5x5_2', 1, 'max_pool_3x3'),
      (0, 'separable_7x7_2', 0, 'max_pool_3x3'),
      (0, 'separable_5x5_2', 0, 'separable_3x3_2'),
      (4, 'separable_3x3_2', 0, 'max_pool_3x3'),
      (1, 'separable_3x3_2', 0, 'none'),
  )
  USED_HIDDENSTATES = (1, 1, 0, 0, 0, 0, 0)


def _cell_steps(hparams, normal_cell, aux_index):
  """The cells after the stem; at each reduction index one strides.

  Without `skip_reduction_layer_input`, a striding cell reads as its
  previous layer the one its predecessor read (upstream's behaviour).
  """
  reductions = nasnet_utils.calc_reduction_layers(
      hparams.num_cells, hparams.num_reduction_layers)
  steps = []
  filter_scaling = 1.0
  for index in range(hparams.num_cells):
    is_reduction = index in reductions
    if is_reduction:
      filter_scaling *= hparams.filter_scaling_rate
    stale_prev = is_reduction and not hparams.skip_reduction_layer_input
    steps.append(nasnet_utils.CellStep(
        scope='cell_%d' % index, end_point='Cell_%d' % index,
        cell=normal_cell, stride=2 if is_reduction else 1,
        filter_scaling=filter_scaling, prev_offset=3 if stale_prev else 2,
        cell_num=nasnet_utils.NUM_STEM_CELLS + index,
        aux_scope='aux_%d' % index if index == aux_index else None))
  return steps


def build_pnasnet_base(images, normal_cell, num_classes, hparams,
                       is_training, final_endpoint=None):
  """A PNASNet from its cell (call it inside `nasnet_utils.build_scope`).

  Args as `nasnet.build_nasnet_base`, with the ImageNet stem.

  Returns:
    (logits or the `final_endpoint` tensor, end_points).
  """
  stem = functools.partial(nasnet_utils.imagenet_stem, images, hparams,
                           normal_cell)
  steps = _cell_steps(hparams, normal_cell, nasnet_utils.aux_head_index(
      hparams, num_classes, is_training))
  return nasnet_utils.build_network(stem, steps, num_classes, hparams,
                                    final_endpoint)


def _build(images, num_classes, is_training, final_endpoint, hparams):
  # No separate reduction cells: the stem cells and the others.
  total_num_cells = hparams.num_cells + nasnet_utils.NUM_STEM_CELLS
  normal_cell = PNasNetNormalCell(
      hparams.num_conv_filters, hparams.drop_path_keep_prob, total_num_cells,
      hparams.total_training_steps, hparams.use_bounded_activation)
  images = nasnet_utils.to_data_format(images, hparams.data_format)
  with nasnet_utils.build_scope(hparams, is_training):
    return build_pnasnet_base(images, normal_cell, num_classes, hparams,
                              is_training, final_endpoint)


def build_pnasnet_large(images, num_classes, is_training=True,
                        final_endpoint=None, config=None):
  """PNASNet-5 Large for ImageNet (331x331).

  Args:
    images: float32 [batch, height, width, 3].
    num_classes: classes; 0 or None returns the pooled features.
    is_training: BatchNorm, dropout and drop path in training mode, and the
      auxiliary head.
    final_endpoint: stop at this end point and return it.
    config: an `HParams` like `large_imagenet_config()` (copied).

  Returns:
    (logits or the `final_endpoint` tensor, end_points).
  """
  hparams = nasnet_utils.training_config(config, large_imagenet_config,
                                         is_training)
  return _build(images, num_classes, is_training, final_endpoint, hparams)


build_pnasnet_large.default_image_size = 331


def build_pnasnet_mobile(images, num_classes, is_training=True,
                         final_endpoint=None, config=None):
  """PNASNet-5 Mobile for ImageNet (224x224); args as `build_pnasnet_large`,
  default config `mobile_imagenet_config()`."""
  hparams = nasnet_utils.training_config(config, mobile_imagenet_config,
                                         is_training)
  return _build(images, num_classes, is_training, final_endpoint, hparams)


build_pnasnet_mobile.default_image_size = 224
