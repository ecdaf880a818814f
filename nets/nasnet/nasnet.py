"""NASNet-A (Zoph et al. 2018, "Learning Transferable Architectures for
Scalable Image Recognition", https://arxiv.org/abs/1707.07012).

Normal cells keep the resolution; a reduction cell halves it (and doubles the
filters) before each third of them. Three configurations, as slim's:

  build_nasnet_cifar   32x32, 18 cells at 32 filters (NASNet-A 6@768),
                       3x3 conv stem; no released checkpoint.
  build_nasnet_mobile  224x224, 12 cells at 44 filters (NASNet-A 4@1056),
                       checkpoint `nasnet-a_mobile_04_10_2017`.
  build_nasnet_large   331x331, 18 cells at 168 filters (NASNet-A 6@4032),
                       checkpoint `nasnet-a_large_04_10_2017`.

The ImageNet networks start with a strided conv and two reduction cells
(`cell_stem_0`, `cell_stem_1`). Every config (an `HParams`) can be changed
before building:

    config = nasnet.mobile_imagenet_config().parse('use_aux_head=0')
    with slim.arg_scope(nasnet.nasnet_mobile_arg_scope()):
      logits, end_points = nasnet.build_nasnet_mobile(
          images, num_classes=1001, is_training=False, config=config)

End points: 'Stem', 'Cell_<n>', 'Reduction_Cell_<k>', 'global_pool',
'Logits', 'Predictions', and while training 'AuxLogits' (scope `aux_<n>`).
Fine-tuning to new classes re-initialises `final_layer` and the aux head,
e.g. `--checkpoint_exclude_scopes=final_layer,aux_7` for the mobile network.
"""

import functools

import tf_compat  # noqa: F401
import tf_slim as slim

from nets.nasnet import nasnet_utils


def cifar_config():
  """NASNet-A 6@768 for CIFAR-10.

  Trained with batch 32, learning rate 0.025 (single cosine decay), aux loss
  weight 0.4, gradients clipped to global norm 5; 600 epochs.
  """
  return nasnet_utils.base_config(
      stem_multiplier=3.0, drop_path_keep_prob=0.6, num_cells=18,
      num_conv_filters=32, dense_dropout_keep_prob=1.0,
      skip_reduction_layer_input=0,
      # 600 epochs at batch 32: drop path grows over all of them.
      total_training_steps=937500)


def large_imagenet_config():
  """NASNet-A 6@4032 for ImageNet at 331x331.

  Trained with batch 16 on each of 100 synchronous replicas, learning rate
  0.015 * 100 decayed by 0.97 every 2.4 epochs, aux loss weight 0.4, label
  smoothing 0.1, gradients clipped to global norm 10.
  """
  return nasnet_utils.base_config(
      stem_multiplier=3.0, dense_dropout_keep_prob=0.5, num_cells=18,
      num_conv_filters=168, drop_path_keep_prob=0.7,
      skip_reduction_layer_input=1, total_training_steps=250000)


def mobile_imagenet_config():
  """NASNet-A 4@1056 for ImageNet at 224x224 (no drop path).

  Trained with batch 32 on each of 50 synchronous replicas, learning rate
  0.04 * 50 decayed by 0.97 every 2.4 epochs, aux loss weight 0.4, label
  smoothing 0.1, gradients clipped to global norm 10.
  """
  return nasnet_utils.base_config(
      stem_multiplier=1.0, dense_dropout_keep_prob=0.5, num_cells=12,
      num_conv_filters=44, drop_path_keep_prob=1.0,
      skip_reduction_layer_input=0, total_training_steps=250000)


def _nasnet_arg_scope(weight_decay, batch_norm_decay, batch_norm_epsilon):
  """Convolutions without bias or activation (the cells place BN and ReLU
  themselves), fan-out He initialisation, L2 decay, scaled BatchNorm."""
  batch_norm_params = {
      'decay': batch_norm_decay,
      'epsilon': batch_norm_epsilon,
      'scale': True,
      'fused': True,
  }
  layers = [slim.fully_connected, slim.conv2d, slim.separable_conv2d]
  with slim.arg_scope(
      layers, weights_regularizer=slim.l2_regularizer(weight_decay),
      weights_initializer=slim.variance_scaling_initializer(mode='FAN_OUT')):
    with slim.arg_scope([slim.fully_connected], activation_fn=None,
                        scope='FC'):
      with slim.arg_scope([slim.conv2d, slim.separable_conv2d],
                          activation_fn=None, biases_initializer=None):
        with slim.arg_scope([slim.batch_norm], **batch_norm_params) as scope:
          return scope


def nasnet_cifar_arg_scope(weight_decay=5e-4, batch_norm_decay=0.9,
                           batch_norm_epsilon=1e-5):
  """Arg scope of NASNet-A CIFAR (see `_nasnet_arg_scope`)."""
  return _nasnet_arg_scope(weight_decay, batch_norm_decay, batch_norm_epsilon)


def nasnet_mobile_arg_scope(weight_decay=4e-5, batch_norm_decay=0.9997,
                            batch_norm_epsilon=1e-3):
  """Arg scope of NASNet-A Mobile (see `_nasnet_arg_scope`)."""
  return _nasnet_arg_scope(weight_decay, batch_norm_decay, batch_norm_epsilon)


def nasnet_large_arg_scope(weight_decay=5e-5, batch_norm_decay=0.9997,
                           batch_norm_epsilon=1e-3):
  """Arg scope of NASNet-A Large (see `_nasnet_arg_scope`)."""
  return _nasnet_arg_scope(weight_decay, batch_norm_decay, batch_norm_epsilon)


def _cell_steps(hparams, normal_cell, reduction_cell, first_cell_num,
                aux_index):
  """The cells after the stem: a reduction cell before each reduction index.

  With `skip_reduction_layer_input`, the normal cell after a reduction reads
  as its previous layer the reduction's previous layer rather than the
  reduction's input.
  """
  reductions = nasnet_utils.calc_reduction_layers(
      hparams.num_cells, hparams.num_reduction_layers)
  steps = []
  filter_scaling = 1.0
  cell_num = first_cell_num
  for index in range(hparams.num_cells):
    prev_offset = 2
    if index in reductions:
      filter_scaling *= hparams.filter_scaling_rate
      k = reductions.index(index)
      steps.append(nasnet_utils.CellStep(
          scope='reduction_cell_%d' % k, end_point='Reduction_Cell_%d' % k,
          cell=reduction_cell, stride=2, filter_scaling=filter_scaling,
          prev_offset=2, cell_num=cell_num, aux_scope=None))
      cell_num += 1
      prev_offset = 3 if hparams.skip_reduction_layer_input else 2
    steps.append(nasnet_utils.CellStep(
        scope='cell_%d' % index, end_point='Cell_%d' % index,
        cell=normal_cell, stride=1, filter_scaling=filter_scaling,
        prev_offset=prev_offset, cell_num=cell_num,
        aux_scope='aux_%d' % index if index == aux_index else None))
    cell_num += 1
  return steps


def build_nasnet_base(images, normal_cell, reduction_cell, num_classes,
                      hparams, is_training, stem_type, final_endpoint=None,
                      current_step=None):
  """A NASNet from its two cells (call it inside `nasnet_utils.build_scope`).

  Args:
    images: the input, in `hparams.data_format`.
    normal_cell, reduction_cell: `nasnet_utils.NasNetABaseCell`s.
    num_classes: classes; 0 or None returns the pooled features.
    hparams: the config (`cifar_config()` ...).
    is_training: builds the auxiliary head when true.
    stem_type: 'imagenet' (conv + two reduction cells) or 'cifar' (conv).
    final_endpoint: stop at this end point and return it.
    current_step: step of the drop-path schedule (None: the global step).

  Returns:
    (logits or the `final_endpoint` tensor, end_points).

  Raises:
    ValueError: for an unknown `stem_type` or `final_endpoint`.
  """
  if stem_type == 'imagenet':
    stem = functools.partial(nasnet_utils.imagenet_stem, images, hparams,
                             reduction_cell, current_step)
    first_cell_num = nasnet_utils.NUM_STEM_CELLS
  elif stem_type == 'cifar':
    stem = functools.partial(nasnet_utils.cifar_stem, images, hparams)
    first_cell_num = 0
  else:
    raise ValueError("Unknown stem_type %r: 'imagenet' or 'cifar'" %
                     (stem_type,))
  steps = _cell_steps(hparams, normal_cell, reduction_cell, first_cell_num,
                      nasnet_utils.aux_head_index(hparams, num_classes,
                                                  is_training))
  return nasnet_utils.build_network(stem, steps, num_classes, hparams,
                                    final_endpoint, current_step)


def _build(images, num_classes, is_training, hparams, stem_type,
           final_endpoint=None, current_step=None):
  """Builds the NASNet-A cells for `hparams` and the network from them."""
  # Drop path scales by depth over all cells: normal, the two reduction
  # cells (two whatever num_reduction_layers says, as upstream) and stem.
  total_num_cells = hparams.num_cells + 2
  if stem_type == 'imagenet':
    total_num_cells += nasnet_utils.NUM_STEM_CELLS
  cell_args = (hparams.num_conv_filters, hparams.drop_path_keep_prob,
               total_num_cells, hparams.total_training_steps,
               hparams.use_bounded_activation)
  normal_cell = nasnet_utils.NasNetANormalCell(*cell_args)
  reduction_cell = nasnet_utils.NasNetAReductionCell(*cell_args)
  images = nasnet_utils.to_data_format(images, hparams.data_format)
  with nasnet_utils.build_scope(hparams, is_training):
    return build_nasnet_base(images, normal_cell, reduction_cell, num_classes,
                             hparams, is_training, stem_type, final_endpoint,
                             current_step)


def build_nasnet_cifar(images, num_classes, is_training=True, config=None,
                       current_step=None):
  """NASNet-A for CIFAR-10 (32x32).

  Args:
    images: float32 [batch, height, width, 3].
    num_classes: classes; 0 or None returns the pooled features.
    is_training: BatchNorm, dropout and drop path in training mode, and the
      auxiliary head.
    config: an `HParams` like `cifar_config()` (copied, not changed).
    current_step: step of the drop-path schedule (None: the global step).

  Returns:
    (logits, end_points).
  """
  hparams = nasnet_utils.training_config(config, cifar_config, is_training)
  return _build(images, num_classes, is_training, hparams, 'cifar',
                current_step=current_step)


build_nasnet_cifar.default_image_size = 32


def build_nasnet_mobile(images, num_classes, is_training=True,
                        final_endpoint=None, config=None, current_step=None):
  """NASNet-A Mobile for ImageNet (224x224; at least 67x67 with the aux head).

  Args are those of `build_nasnet_cifar`, and `final_endpoint`: stop at this
  end point and return it. Default config: `mobile_imagenet_config()`.
  """
  hparams = nasnet_utils.training_config(config, mobile_imagenet_config,
                                         is_training)
  return _build(images, num_classes, is_training, hparams, 'imagenet',
                final_endpoint, current_step)


build_nasnet_mobile.default_image_size = 224


def build_nasnet_large(images, num_classes, is_training=True,
                       final_endpoint=None, config=None, current_step=None):
  """NASNet-A Large for ImageNet (331x331).

  Args are those of `build_nasnet_mobile`. Default config:
  `large_imagenet_config()`.
  """
  hparams = nasnet_utils.training_config(config, large_imagenet_config,
                                         is_training)
  return _build(images, num_classes, is_training, hparams, 'imagenet',
                final_endpoint, current_step)


build_nasnet_large.default_image_size = 331
