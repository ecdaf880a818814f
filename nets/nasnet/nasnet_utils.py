"""Cells and network plumbing shared by NASNet-A and PNASNet-5.

NASNet-A: Zoph et al. 2018, "Learning Transferable Architectures for Scalable
Image Recognition" (https://arxiv.org/abs/1707.07012). PNASNet-5: Liu et al.
2018, "Progressive Neural Architecture Search"
(https://arxiv.org/abs/1712.00559).

Both networks are a stem followed by a stack of searched cells. A cell sees
two hidden states, its input (index 0, after a 1x1 projection) and the output
of the cell before that (index 1, resized to match). Each of its five blocks
applies one operation to each of two hidden states chosen by index and adds
the results, making a new hidden state (indices 2 to 6). The cell's output
concatenates the hidden states no block consumed. A cell's structure is thus
a small table (`SearchedCell.BLOCKS`); `NasNetABaseCell` turns it into a graph.

Operation names, as in the papers' tables: 'separable_KxK_N' (N stacked
ReLU-separable conv-BN layers with KxK kernels), 'avg_pool_KxK',
'max_pool_KxK' and 'none' (identity, or a 1x1 conv where the shape changes).

Layers that depend on the data format read it from the arg scope:
`build_scope(hparams, is_training)` sets it (and the training switch) for all
of them, and the channel helpers below raise ValueError outside it.

Variable names follow upstream slim (no top-level scope: `cell_stem_0/...`,
`cell_0/comb_iter_0/left/separable_5x5_1/depthwise_weights`,
`reduction_cell_0/...`, `aux_7/aux_logits/...`, `final_layer/FC/...`), so the
released checkpoints load by name.
"""

import collections
import contextlib
import copy
import re

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets.nasnet.hparams import HParams

DATA_FORMAT_NCHW = 'NCHW'
DATA_FORMAT_NHWC = 'NHWC'
INVALID = 'null'
# The bounded-activation variant (meant for quantised inference) clips
# branch outputs to the range in which almost all activations lie anyway.
CLIP_BY_VALUE_CAP = 6


def calc_reduction_layers(num_cells, num_reduction_layers):
  """Indices of the cells before which the resolution halves.

  The reductions split the `num_cells` normal cells into equal stretches,
  e.g. 18 cells, 2 reductions: [6, 12].
  """
  return [int(float(pool_num) / (num_reduction_layers + 1) * num_cells)
          for pool_num in range(1, num_reduction_layers + 1)]


def _check_data_format(data_format):
  if data_format not in (DATA_FORMAT_NHWC, DATA_FORMAT_NCHW):
    raise ValueError('data_format must be %r or %r (set it with build_scope '
                     'or an arg scope), got %r' %
                     (DATA_FORMAT_NHWC, DATA_FORMAT_NCHW, data_format))


@slim.add_arg_scope
def get_channel_index(data_format=INVALID):
  """The axis of the channels: 3 for NHWC, 1 for NCHW."""
  _check_data_format(data_format)
  return 3 if data_format == DATA_FORMAT_NHWC else 1


@slim.add_arg_scope
def get_channel_dim(shape, data_format=INVALID):
  """The number of channels of a 4-D `shape`."""
  _check_data_format(data_format)
  if len(shape) != 4:
    raise ValueError('Expected a 4-D shape, got %s' % (shape,))
  return int(shape[get_channel_index(data_format=data_format)])


@slim.add_arg_scope
def global_avg_pool(x, data_format=INVALID):
  """Averages away the spatial dimensions: [batch, channels]."""
  _check_data_format(data_format)
  if x.shape.ndims != 4:
    raise ValueError('Expected a 4-D tensor, got %s' % x.shape)
  spatial_axes = [1, 2] if data_format == DATA_FORMAT_NHWC else [2, 3]
  return tf.reduce_mean(x, spatial_axes)


def _spatial_stride(stride, data_format):
  if data_format == DATA_FORMAT_NHWC:
    return [1, stride, stride, 1]
  return [1, 1, stride, stride]


def _shift_by_one_pixel(net, data_format):
  """Drops the first row and column, padding zeros at the bottom and right.

  Subsampled after this, the second path sees the pixels the first skips.
  """
  if data_format == DATA_FORMAT_NHWC:
    return tf.pad(net, [[0, 0], [0, 1], [0, 1], [0, 0]])[:, 1:, 1:, :]
  return tf.pad(net, [[0, 0], [0, 0], [0, 1], [0, 1]])[:, :, 1:, 1:]


@slim.add_arg_scope
def factorized_reduction(net, output_filters, stride, data_format=INVALID):
  """Resizes `net` to `output_filters` channels and 1/`stride` resolution.

  A strided 1x1 convolution alone would ignore three pixels in four; instead
  two half-width paths subsample the input at offsets (0, 0) and (1, 1), so
  together they see every other pixel of both grids.
  """
  _check_data_format(data_format)
  if stride == 1:
    net = slim.conv2d(net, output_filters, 1, scope='path_conv')
    return slim.batch_norm(net, scope='path_bn')
  strides = _spatial_stride(stride, data_format)
  path1 = tf.nn.avg_pool(net, [1, 1, 1, 1], strides, 'VALID',
                         data_format=data_format)
  path1 = slim.conv2d(path1, output_filters // 2, 1, scope='path1_conv')
  path2 = tf.nn.avg_pool(_shift_by_one_pixel(net, data_format), [1, 1, 1, 1],
                         strides, 'VALID', data_format=data_format)
  # An odd filter count gives the second path the extra channel.
  path2 = slim.conv2d(path2, output_filters - output_filters // 2, 1,
                      scope='path2_conv')
  net = tf.concat([path1, path2], get_channel_index(data_format=data_format))
  return slim.batch_norm(net, scope='final_path_bn')


@slim.add_arg_scope
def drop_path(net, keep_prob, is_training=True):
  """Zeroes the whole of `net` for each example with probability 1-keep_prob.

  The kept examples are scaled by 1/keep_prob so the expectation does not
  change. Identity unless training.
  """
  if not is_training:
    return net
  noise_shape = [tf.shape(net)[0], 1, 1, 1]
  keep_mask = tf.floor(keep_prob + tf.random_uniform(noise_shape,
                                                     dtype=tf.float32))
  scale = tf.cast(1.0 / keep_prob, net.dtype)
  return net * scale * tf.cast(keep_mask, net.dtype)


def drop_path_step(current_step=None):
  """The training step the drop-path schedule reads (a float32 tensor).

  `current_step` when given, else the graph's global step. A graph without one
  (a bare network build, not a training graph) reads step 0, the start of the
  schedule: no variable is created, so the network's variables stay exactly
  those of the released checkpoints. Create the global step before building
  the network (as `train_image_classifier.py` does) for drop path to grow.
  """
  if current_step is None:
    current_step = tf.train.get_global_step()
  if current_step is None:
    tf.logging.log_first_n(
        tf.logging.WARN, 'No global step in the graph: drop path stays at the '
        'start of its schedule (keep probability 1).', 1)
    return tf.constant(0.0)
  return tf.cast(current_step, tf.float32)


def depth_scaled_keep_prob(keep_prob, cell_num, total_num_cells):
  """Keep probability of cell `cell_num`: deeper cells drop more.

  The drop rate grows linearly from the first cell to `1 - keep_prob` at the
  last (`cell_num == total_num_cells - 1`).
  """
  if cell_num < 0:
    raise ValueError('Drop path scaled by depth needs the cell_num of the '
                     'cell, got %d' % cell_num)
  depth_ratio = (cell_num + 1) / float(total_num_cells)
  return 1.0 - depth_ratio * (1.0 - keep_prob)


def step_scaled_keep_prob(keep_prob, current_step, total_training_steps):
  """Keep probability at `current_step`: 1 at step 0 down to `keep_prob` at
  `total_training_steps` and after (a tensor)."""
  progress = tf.minimum(1.0, current_step / float(total_training_steps))
  return 1.0 - progress * (1.0 - keep_prob)


Operation = collections.namedtuple('Operation', ['kind', 'kernel',
                                                 'num_layers'])

_OPERATION_PATTERN = re.compile(
    r'^(separable|avg_pool|max_pool)_(\d+)x(\d+)(?:_(\d+))?$')


def parse_operation(operation):
  """'separable_5x5_2' -> Operation('separable', 5, 2); 'none' -> kernel 1."""
  if operation == 'none':
    return Operation('none', 1, 1)
  match = _OPERATION_PATTERN.match(operation)
  kind, height, width, num_layers = match.groups() if match else (None,) * 4
  if (not match or height != width or
      (num_layers is not None and kind != 'separable')):
    raise ValueError('Unsupported operation %r (separable_KxK_N, '
                     'avg_pool_KxK, max_pool_KxK or none)' % operation)
  return Operation(kind, int(height), int(num_layers or 1))


def _activation(use_bounded_activation):
  return tf.nn.relu6 if use_bounded_activation else tf.nn.relu


def _stacked_separable_conv(net, stride, operation, filter_size,
                            use_bounded_activation):
  """`num_layers` x (ReLU, separable conv, BN); only the first one strides."""
  activation_fn = _activation(use_bounded_activation)
  for layer in range(1, operation.num_layers + 1):
    name = '{0}x{0}_{1}'.format(operation.kernel, layer)
    net = activation_fn(net)
    net = slim.separable_conv2d(net, filter_size, operation.kernel,
                                depth_multiplier=1, stride=stride,
                                scope='separable_' + name)
    net = slim.batch_norm(net, scope='bn_sep_' + name)
    stride = 1
  return net


def _pooling(net, stride, operation, use_bounded_activation):
  if use_bounded_activation:
    net = tf.nn.relu6(net)
  pool = slim.avg_pool2d if operation.kind == 'avg_pool' else slim.max_pool2d
  return pool(net, operation.kernel, stride=stride, padding='SAME')


def _projection(net, filter_size, stride=1):
  """1x1 conv + BN: matches a branch's channels (and resolution)."""
  net = slim.conv2d(net, filter_size, 1, stride=stride, scope='1x1')
  return slim.batch_norm(net, scope='bn_1')


class NasNetABaseCell(object):
  """A searched cell, as a callable 'layer' of the network.

  Args:
    num_conv_filters: filters of each operation at filter scaling 1.
    operations: 10 operation names, two per block (left, right).
    used_hiddenstates: 7 flags, 1 for each hidden state some block consumes
      (those are left out of the cell's output).
    hiddenstate_indices: 10 hidden state indices, the inputs of
      `operations`.
    drop_path_keep_prob: keep probability of drop path at the last cell at
      the end of training; 1.0 disables it.
    total_num_cells: number of cells in the network (stem cells included);
      scales drop path by depth.
    total_training_steps: steps over which drop path grows.
    use_bounded_activation: ReLU6 and clipping, for quantised inference.
  """

  def __init__(self, num_conv_filters, operations, used_hiddenstates,
               hiddenstate_indices, drop_path_keep_prob, total_num_cells,
               total_training_steps, use_bounded_activation=False):
    self._num_conv_filters = num_conv_filters
    self._operations = operations
    self._used_hiddenstates = used_hiddenstates
    self._hiddenstate_indices = hiddenstate_indices
    self._drop_path_keep_prob = drop_path_keep_prob
    self._total_num_cells = total_num_cells
    self._total_training_steps = total_training_steps
    self._use_bounded_activation = use_bounded_activation
    self._activation_fn = _activation(use_bounded_activation)

  def __call__(self, net, scope=None, filter_scaling=1, stride=1,
               prev_layer=None, cell_num=-1, current_step=None):
    """Runs the cell on `net` (and `prev_layer`, the input before it).

    Args:
      net: the cell's input.
      scope: variable scope of the cell.
      filter_scaling: multiplies `num_conv_filters` for this cell.
      stride: 2 halves the resolution (reduction cells).
      prev_layer: the output of the cell before the input's; None uses `net`.
      cell_num: position in the network (stem cells included), for drop path.
      current_step: step for the drop-path schedule; None: the global step.

    Returns:
      The concatenated unused hidden states.
    """
    self._cell_num = cell_num
    self._filter_scaling = filter_scaling
    self._filter_size = int(self._num_conv_filters * filter_scaling)
    with tf.variable_scope(scope):
      states = self._cell_base(net, prev_layer)
      for block in range(len(self._operations) // 2):
        with tf.variable_scope('comb_iter_{}'.format(block)):
          states.append(self._apply_block(states, block, stride,
                                          current_step))
      with tf.variable_scope('cell_output'):
        return self._combine_unused_states(states)

  def _apply_block(self, states, block, stride, current_step):
    """Block `block`: one operation on each of two states, then their sum."""
    outputs = []
    for side, position in (('left', 2 * block), ('right', 2 * block + 1)):
      index = self._hiddenstate_indices[position]
      with tf.variable_scope(side):
        # Only the cell's two inputs are at the input resolution.
        outputs.append(self._apply_conv_operation(
            states[index], self._operations[position], stride, index < 2,
            current_step))
    with tf.variable_scope('combine'):
      net = outputs[0] + outputs[1]
      return tf.nn.relu6(net) if self._use_bounded_activation else net

  def _reduce_prev_layer(self, prev_layer, curr_layer):
    """`prev_layer` resized to the cell's resolution and filter count."""
    if prev_layer is None:
      return curr_layer
    if int(prev_layer.shape[2]) != int(curr_layer.shape[2]):
      return factorized_reduction(self._activation_fn(prev_layer),
                                  self._filter_size, stride=2)
    if get_channel_dim(prev_layer.shape) != self._filter_size:
      prev_layer = slim.conv2d(self._activation_fn(prev_layer),
                               self._filter_size, 1, scope='prev_1x1')
      return slim.batch_norm(prev_layer, scope='prev_bn')
    return prev_layer

  def _cell_base(self, net, prev_layer):
    """The two input hidden states: projected `net`, resized `prev_layer`."""
    prev_layer = self._reduce_prev_layer(prev_layer, net)
    net = slim.conv2d(self._activation_fn(net), self._filter_size, 1,
                      scope='1x1')
    net = slim.batch_norm(net, scope='beginning_bn')
    return [net, prev_layer]

  def _apply_conv_operation(self, net, operation, stride,
                            is_from_original_input, current_step=None):
    """One branch of a block: `operation` on `net`, then drop path."""
    if not is_from_original_input:
      stride = 1
    parsed = parse_operation(operation)
    input_filters = get_channel_dim(net.shape)
    bounded = self._use_bounded_activation
    if parsed.kind == 'separable':
      net = _stacked_separable_conv(net, stride, parsed, self._filter_size,
                                    bounded)
    elif parsed.kind == 'none':
      if bounded:
        net = tf.nn.relu6(net)
      if stride == 1 and input_filters == self._filter_size:
        return net
      net = _projection(net if bounded else tf.nn.relu(net),
                        self._filter_size, stride)
    else:
      net = _pooling(net, stride, parsed, bounded)
      if input_filters != self._filter_size:
        net = _projection(net, self._filter_size)
    if bounded:
      net = tf.clip_by_value(net, -CLIP_BY_VALUE_CAP, CLIP_BY_VALUE_CAP)
    if parsed.kind == 'none':
      return net
    return self._apply_drop_path(net, current_step=current_step)

  def _combine_unused_states(self, states):
    """Concatenates the unconsumed states, resized to the last one's shape."""
    final_width = int(states[-1].shape[2])
    final_filters = get_channel_dim(states[-1].shape)
    if len(states) != len(self._used_hiddenstates):
      raise ValueError('%d hidden states but %d used_hiddenstates flags' %
                       (len(states), len(self._used_hiddenstates)))
    unused = []
    for index, (state, used) in enumerate(zip(states,
                                              self._used_hiddenstates)):
      if used:
        continue
      width = int(state.shape[2])
      if width != final_width or get_channel_dim(state.shape) != final_filters:
        with tf.variable_scope('reduction_{}'.format(index)):
          state = factorized_reduction(
              state, final_filters, 2 if width != final_width else 1)
      unused.append(state)
    return tf.concat(unused, get_channel_index())

  @slim.add_arg_scope
  def _apply_drop_path(self, net, current_step=None, use_summaries=False,
                       drop_connect_version='v3'):
    """Drop path with the keep probability of this cell at this step.

    Args:
      net: the branch output.
      current_step: the step of the schedule; None reads the global step
        (see `drop_path_step`).
      use_summaries: write the keep probability as a scalar summary.
      drop_connect_version: which schedules apply: 'v1' the training step,
        'v2' the depth of the cell, 'v3' (default) both.

    Returns:
      `net` after drop path (itself when the keep probability is 1).
    """
    keep_prob = self._drop_path_keep_prob
    if keep_prob >= 1.0:
      return net
    if drop_connect_version not in ('v1', 'v2', 'v3'):
      raise ValueError('drop_connect_version must be v1, v2 or v3, got %r' %
                       drop_connect_version)
    if drop_connect_version in ('v2', 'v3'):
      keep_prob = depth_scaled_keep_prob(keep_prob, self._cell_num,
                                         self._total_num_cells)
    if drop_connect_version in ('v1', 'v3'):
      keep_prob = step_scaled_keep_prob(keep_prob,
                                        drop_path_step(current_step),
                                        self._total_training_steps)
    if use_summaries:
      tf.summary.scalar('drop_path_keep_prob', keep_prob)
    return drop_path(net, keep_prob)


class SearchedCell(NasNetABaseCell):
  """A cell whose structure is the class's `BLOCKS` table.

  `BLOCKS` lists the five blocks as (left input, left operation, right input,
  right operation); `USED_HIDDENSTATES` flags the states blocks consume.
  """

  BLOCKS = ()
  USED_HIDDENSTATES = ()

  def __init__(self, num_conv_filters, drop_path_keep_prob, total_num_cells,
               total_training_steps, use_bounded_activation=False):
    operations = [op for block in self.BLOCKS for op in block[1::2]]
    indices = [index for block in self.BLOCKS for index in block[0::2]]
    super(SearchedCell, self).__init__(
        num_conv_filters, operations, list(self.USED_HIDDENSTATES), indices,
        drop_path_keep_prob, total_num_cells, total_training_steps,
        use_bounded_activation)


class NasNetANormalCell(SearchedCell):
  """NASNet-A normal cell: keeps the resolution."""

  BLOCKS = (
      (0, 'separable_5x5_2', 1, 'separable_3x3_2'),
      (1, 'separable_5x5_2', 1, 'separable_3x3_2'),
      (0, 'avg_pool_3x3', 1, 'none'),
      (1, 'avg_pool_3x3', 1, 'avg_pool_3x3'),
      (0, 'separable_3x3_2', 0, 'none'),
  )
  USED_HIDDENSTATES = (1, 0, 0, 0, 0, 0, 0)


class NasNetAReductionCell(SearchedCell):
  """NASNet-A reduction cell: strides its inputs by 2."""

  BLOCKS = (
      (0, 'separable_5x5_2', 1, 'separable_7x7_2'),
      (0, 'max_pool_3x3', 1, 'separable_7x7_2'),
      (0, 'avg_pool_3x3', 1, 'separable_5x5_2'),
      (3, 'none', 2, 'avg_pool_3x3'),
      (2, 'separable_3x3_2', 0, 'max_pool_3x3'),
  )
  USED_HIDDENSTATES = (1, 1, 1, 0, 0, 0, 0)


@contextlib.contextmanager
def build_scope(hparams, is_training):
  """Training switch and data format for every layer of the network."""
  with slim.arg_scope([slim.dropout, drop_path, slim.batch_norm],
                      is_training=is_training):
    with slim.arg_scope([slim.avg_pool2d, slim.max_pool2d, slim.conv2d,
                         slim.batch_norm, slim.separable_conv2d,
                         factorized_reduction, global_avg_pool,
                         get_channel_index, get_channel_dim],
                        data_format=hparams.data_format):
      yield


# --------------------------------------------------------------------------
# Network plumbing: configs, stems, the stack of cells and the heads.


def base_config(**overrides):
  """An `HParams` with the settings every NASNet/PNASNet config shares."""
  values = dict(filter_scaling_rate=2.0, num_reduction_layers=2,
                data_format=DATA_FORMAT_NHWC, use_aux_head=1,
                use_bounded_activation=False)
  values.update(overrides)
  return HParams(**values)


def training_config(config, default_config, is_training):
  """A private copy of `config` (None: `default_config()`) for this build.

  Drop path only regularises training, so evaluation builds switch it off.
  """
  hparams = default_config() if config is None else copy.deepcopy(config)
  if not is_training:
    hparams.set_hparam('drop_path_keep_prob', 1.0)
  return hparams


def to_data_format(images, data_format):
  """NHWC images in the layout the network computes in."""
  if data_format == DATA_FORMAT_NCHW:
    return tf.transpose(images, [0, 3, 1, 2])
  return images


NUM_STEM_CELLS = 2  # reduction cells in the ImageNet stem


def imagenet_stem(inputs, hparams, stem_cell, current_step=None):
  """A strided 3x3 conv and two strided `stem_cell`s: 1/8 resolution.

  Returns:
    (net, cell_outputs): the stem output and the outputs the first cells
    read as their previous layers.
  """
  net = slim.conv2d(inputs, int(32 * hparams.stem_multiplier), [3, 3],
                    stride=2, padding='VALID', scope='conv0')
  net = slim.batch_norm(net, scope='conv0_bn')
  cell_outputs = [None, net]
  # The stem cells work at 1/4 and 1/2 of the first cells' filters.
  filter_scaling = 1.0 / hparams.filter_scaling_rate ** NUM_STEM_CELLS
  for cell_num in range(NUM_STEM_CELLS):
    net = stem_cell(net, scope='cell_stem_{}'.format(cell_num),
                    filter_scaling=filter_scaling, stride=2,
                    prev_layer=cell_outputs[-2], cell_num=cell_num,
                    current_step=current_step)
    cell_outputs.append(net)
    filter_scaling *= hparams.filter_scaling_rate
  return net, cell_outputs


def cifar_stem(inputs, hparams):
  """A single 3x3 conv at full resolution (32x32 images need no more)."""
  net = slim.conv2d(inputs,
                    int(hparams.num_conv_filters * hparams.stem_multiplier),
                    3, scope='l1_stem_3x3')
  net = slim.batch_norm(net, scope='l1_stem_bn')
  return net, [None, net]


def build_aux_head(net, end_points, num_classes, hparams, scope):
  """The auxiliary classifier; its logits become end point 'AuxLogits'."""
  activation_fn = _activation(hparams.use_bounded_activation)
  with tf.variable_scope(scope):
    net = tf.identity(net)
    with tf.variable_scope('aux_logits'):
      net = slim.avg_pool2d(net, [5, 5], stride=3, padding='VALID')
      net = slim.conv2d(net, 128, [1, 1], scope='proj')
      net = activation_fn(slim.batch_norm(net, scope='aux_bn0'))
      # A convolution over the whole remaining map, like a dense layer.
      if hparams.data_format == DATA_FORMAT_NHWC:
        map_shape = net.shape[1:3]
      else:
        map_shape = net.shape[2:4]
      net = slim.conv2d(net, 768, map_shape.as_list(), padding='VALID',
                        scope='Conv')
      net = activation_fn(slim.batch_norm(net, scope='aux_bn1'))
      net = slim.flatten(net)
      end_points['AuxLogits'] = slim.fully_connected(
          net, num_classes, activation_fn=None, scope='FC')


# One cell of the stack after the stem. `prev_offset`: which cell output,
# counted from the end of the outputs so far, the cell reads as prev_layer.
# `aux_scope`: build the auxiliary head on its output (None: no head).
CellStep = collections.namedtuple('CellStep', [
    'scope', 'end_point', 'cell', 'stride', 'filter_scaling', 'prev_offset',
    'cell_num', 'aux_scope'])


def aux_head_index(hparams, num_classes, is_training):
  """Index of the cell the auxiliary head reads (None: no head).

  The cell just before the second reduction, and only when training a
  classifier.
  """
  reductions = calc_reduction_layers(hparams.num_cells,
                                     hparams.num_reduction_layers)
  if (hparams.use_aux_head and num_classes and is_training and
      len(reductions) >= 2):
    return reductions[1] - 1
  return None


def _final_layer(net, end_points, num_classes, hparams, final_endpoint):
  """Global pooling, dropout and the classifier, in scope 'final_layer'.

  Returns:
    the logits, or the pooled features without `num_classes`, or the
    `final_endpoint` tensor, where the build stops.
  """
  with tf.variable_scope('final_layer'):
    net = _activation(hparams.use_bounded_activation)(net)
    net = end_points['global_pool'] = global_avg_pool(net)
    if not num_classes or final_endpoint == 'global_pool':
      return net
    net = slim.dropout(net, hparams.dense_dropout_keep_prob, scope='dropout')
    logits = end_points['Logits'] = slim.fully_connected(
        net, num_classes, activation_fn=None, scope='FC')
    if final_endpoint == 'Logits':
      return logits
    predictions = end_points['Predictions'] = tf.nn.softmax(
        logits, name='predictions')
  return predictions if final_endpoint == 'Predictions' else logits


def _check_final_endpoint(final_endpoint, steps):
  names = (['Stem'] + [step.end_point for step in steps] +
           ['global_pool', 'Logits', 'Predictions'])
  if final_endpoint is not None and final_endpoint not in names:
    raise ValueError('Unknown final_endpoint %r; valid: %s' %
                     (final_endpoint, ', '.join(names)))


def build_network(stem, steps, num_classes, hparams, final_endpoint=None,
                  current_step=None):
  """Runs `stem`, the cells of `steps`, then the classifier.

  Args:
    stem: () -> (net, cell_outputs), see `imagenet_stem`.
    steps: list of `CellStep`.
    num_classes: classes of the classifier; 0 or None returns the globally
      pooled features.
    hparams: the network's config.
    final_endpoint: stop at this end point and return it.
    current_step: step of the drop-path schedule (None: the global step).

  Returns:
    (logits or the `final_endpoint` tensor, end_points).
  """
  _check_final_endpoint(final_endpoint, steps)
  end_points = {}
  net, cell_outputs = stem()
  end_points['Stem'] = net
  if final_endpoint == 'Stem':
    return net, end_points
  for step in steps:
    net = step.cell(net, scope=step.scope,
                    filter_scaling=step.filter_scaling, stride=step.stride,
                    prev_layer=cell_outputs[-step.prev_offset],
                    cell_num=step.cell_num, current_step=current_step)
    end_points[step.end_point] = net
    if step.end_point == final_endpoint:
      return net, end_points
    if step.aux_scope:
      build_aux_head(_activation(hparams.use_bounded_activation)(net),
                     end_points, num_classes, hparams, step.aux_scope)
    cell_outputs.append(net)
  return (_final_layer(net, end_points, num_classes, hparams, final_endpoint),
          end_points)
