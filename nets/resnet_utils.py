"""Pieces shared by ResNet v1 and v2.

Papers: He, Zhang, Ren and Sun, "Deep Residual Learning for Image
Recognition" (arXiv:1512.03385, 2015) and "Identity Mappings in Deep Residual
Networks" (arXiv:1603.05027, 2016).

A ResNet is a root block (7x7/2 convolution and 3x3/2 max pooling), a list of
`Block`s of residual units, and a classifier (global average pooling and a
1x1 convolution). A `Block` is data: its scope, the unit function and one dict
of keyword arguments per unit, so callers (DeepLab among them) describe custom
networks as tables and `stack_blocks_dense` applies them.

As in slim's released checkpoints, a block's stride is taken by its LAST
unit, which subsamples its output rather than the next block's input: the
result is the same and cheaper. End points are keyed by full scope name
('resnet_v1_50/block2/unit_4/bottleneck_v1/conv2'), plus 'global_pool',
'<scope>/logits', '<scope>/spatial_squeeze' and 'predictions' (the softmax,
op '<scope>/predictions/Reshape_1'): upstream's keys exactly, without the
'Logits'/'Predictions' of other families.
"""

import collections
import contextlib

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import padding

# unit_fn(net, rate=..., **unit_args) -> net; args holds one dict per unit,
# e.g. {'depth': 256, 'depth_bottleneck': 64, 'stride': 1}.
Block = collections.namedtuple('Block', ['scope', 'unit_fn', 'args'])

# What distinguishes ResNet v1 from v2 in the network around the units:
# `name` is the default variable scope; `unit_fn` the module's own unit, whose
# outputs become end points; `preactivation` (v2) drops BatchNorm/ReLU from the
# root convolution (the first unit normalises its input) and adds a final
# 'postnorm' BatchNorm+ReLU because v2 units end without one.
Variant = collections.namedtuple('Variant',
                                 ['name', 'unit_fn', 'preactivation'])

# Units per block of the ImageNet networks: 50, 101 and 152 layers from
# He et al. 2015 (Table 1), 200 from He et al. 2016.
UNITS_PER_BLOCK = {
    50: (3, 4, 6, 3),
    101: (3, 4, 23, 3),
    152: (3, 8, 36, 3),
    200: (3, 24, 36, 3),
}
# Bottleneck widths and strides of the four ImageNet blocks. The last block
# does not stride: the network's stride is 4 (root) * 2 * 2 * 2 = 32.
_IMAGENET_BASE_DEPTHS = (64, 128, 256, 512)
_IMAGENET_STRIDES = (2, 2, 2, 1)


def bottleneck_block(unit_fn, scope, base_depth, num_units, stride):
  """A `Block` of `num_units` bottleneck units, the last one striding.

  Args:
    unit_fn: the bottleneck unit (v1 or v2).
    scope: the block's scope name.
    base_depth: width of the 1x1 and 3x3 bottleneck convolutions; units
      output 4 * base_depth channels.
    num_units: number of units.
    stride: stride of the block, taken by its last unit.

  Returns:
    A `Block`.
  """
  strides = [1] * (num_units - 1) + [stride]
  return Block(scope, unit_fn, [
      {'depth': 4 * base_depth, 'depth_bottleneck': base_depth,
       'stride': unit_stride} for unit_stride in strides])


def imagenet_blocks(block_fn, num_layers, depth_multiplier=1,
                    min_base_depth=8):
  """The four blocks of ResNet-`num_layers`.

  Args:
    block_fn: `block_fn(scope, base_depth, num_units, stride) -> Block`.
    num_layers: a key of `UNITS_PER_BLOCK`.
    depth_multiplier: scales every block's bottleneck width.
    min_base_depth: lower bound of a scaled bottleneck width.

  Returns:
    A list of four `Block`s named 'block1' to 'block4'.
  """
  layout = zip(_IMAGENET_BASE_DEPTHS, UNITS_PER_BLOCK[num_layers],
               _IMAGENET_STRIDES)
  return [block_fn('block%d' % (index + 1),
                   base_depth=max(int(base_depth * depth_multiplier),
                                  min_base_depth),
                   num_units=num_units, stride=stride)
          for index, (base_depth, num_units, stride) in enumerate(layout)]


def subsample(inputs, factor, scope=None):
  """Spatial subsampling without parameters (identity when factor is 1)."""
  if factor == 1:
    return inputs
  return slim.max_pool2d(inputs, [1, 1], stride=factor, scope=scope)


def conv2d_same(inputs, num_outputs, kernel_size, stride, rate=1, scope=None):
  """Strided convolution whose output size does not depend on input parity.

  TensorFlow's SAME padding pads more at the end when the input is even, which
  shifts a strided convolution's sampling grid. The checkpoints were trained
  with symmetric explicit padding followed by a VALID convolution, so we do
  the same whenever stride > 1; the result equals a stride-1 SAME convolution
  followed by `subsample`.
  """
  if stride == 1:
    return slim.conv2d(inputs, num_outputs, kernel_size, stride=1, rate=rate,
                       padding='SAME', scope=scope)
  inputs = padding.fixed_padding(inputs, kernel_size, rate)
  return slim.conv2d(inputs, num_outputs, kernel_size, stride=stride,
                     rate=rate, padding='VALID', scope=scope)


class _AtrousSchedule(object):
  """Turns requested strides into (stride, rate) for a target output stride.

  Once the product of the strides taken so far reaches `output_stride`, every
  later stride is replaced by stride 1 and a dilation rate multiplied by the
  stride it replaces, so features stay dense but keep their receptive field
  (and the variables do not change).
  """

  def __init__(self, output_stride):
    self.output_stride = output_stride
    self.current_stride = 1
    self.rate = 1

  def _reached(self):
    return (self.output_stride is not None and
            self.current_stride == self.output_stride)

  def take(self, stride):
    """Returns the (stride, rate) a layer asked to stride by `stride` uses."""
    if self._reached():
      rate = self.rate
      self.rate *= stride
      return 1, rate
    self.current_stride *= stride
    if (self.output_stride is not None and
        self.current_stride > self.output_stride):
      raise ValueError('The target output_stride cannot be reached.')
    return stride, 1

  def check_reached(self):
    if self.output_stride is not None and not self._reached():
      raise ValueError('The target output_stride cannot be reached.')


@slim.add_arg_scope
def stack_blocks_dense(net, blocks, output_stride=None,
                       store_non_strided_activations=False,
                       outputs_collections=None):
  """Applies every unit of every block, in scopes '<block>/unit_<n>'.

  Args:
    net: [batch, height, width, channels] input of the first block.
    blocks: list of `Block`.
    output_stride: if set, the stride of the result relative to `net`; it
      must be a product of the first unit strides. Once it is reached, later
      units dilate their convolutions instead of striding.
    store_non_strided_activations: run each block's last unit at stride 1 and
      subsample after collecting the block's output, so the end points hold
      the full-resolution activations (dense prediction heads use them) at
      four times that unit's cost.
    outputs_collections: collection receiving each block's output.

  Returns:
    The last block's output.

  Raises:
    ValueError: if `output_stride` cannot be reached.
  """
  schedule = _AtrousSchedule(output_stride)
  for block in blocks:
    with tf.variable_scope(block.scope, 'block', [net]) as sc:
      block_stride = 1
      for index, unit in enumerate(block.args):
        if store_non_strided_activations and index == len(block.args) - 1:
          block_stride = unit.get('stride', 1)
          unit = dict(unit, stride=1)
        stride, rate = schedule.take(unit.get('stride', 1))
        with tf.variable_scope('unit_%d' % (index + 1), values=[net]):
          net = block.unit_fn(net, rate=rate, **dict(unit, stride=stride))
      net = slim.utils.collect_named_outputs(outputs_collections, sc.name, net)
      stride, _ = schedule.take(block_stride)
      net = subsample(net, stride)
  schedule.check_reached()
  return net


def _batch_norm_mode(is_training):
  """Sets BatchNorm's mode, or leaves it to an enclosing arg scope (None)."""
  if is_training is None:
    return contextlib.nullcontext()
  return slim.arg_scope([slim.batch_norm], is_training=is_training)


def _root_block(net, preactivation):
  """7x7/2 convolution 'conv1' and 3x3/2 max pooling 'pool1'."""
  if preactivation:
    with slim.arg_scope([slim.conv2d], activation_fn=None,
                        normalizer_fn=None):
      net = conv2d_same(net, 64, 7, stride=2, scope='conv1')
  else:
    net = conv2d_same(net, 64, 7, stride=2, scope='conv1')
  return slim.max_pool2d(net, [3, 3], stride=2, scope='pool1')


def _classifier(net, end_points, num_classes, global_pool, spatial_squeeze,
                scope_name):
  """Optional global pooling, then logits and predictions if num_classes."""
  if global_pool:
    net = tf.reduce_mean(net, [1, 2], keepdims=True, name='pool5')
    end_points['global_pool'] = net
  if not num_classes:
    return net
  net = slim.conv2d(net, num_classes, [1, 1], activation_fn=None,
                    normalizer_fn=None, scope='logits')
  end_points[scope_name + '/logits'] = net
  if spatial_squeeze:
    net = tf.squeeze(net, [1, 2], name='SpatialSqueeze')
    end_points[scope_name + '/spatial_squeeze'] = net
  end_points['predictions'] = slim.softmax(net, scope='predictions')
  return net


def resnet(variant, inputs, blocks, num_classes=None, is_training=True,
           global_pool=True, output_stride=None, include_root_block=True,
           spatial_squeeze=True, store_non_strided_activations=False,
           reuse=None, scope=None):
  """Builds a ResNet of `variant` (v1 or v2) from `blocks`.

  `resnet_v1.resnet_v1` and `resnet_v2.resnet_v2` document the arguments.

  Returns:
    (net, end_points): logits, or the features when num_classes is 0/None.

  Raises:
    ValueError: if `output_stride` is not a multiple of 4 with the root
      block, or cannot be reached.
  """
  with tf.variable_scope(scope, variant.name, [inputs], reuse=reuse) as sc:
    collection = sc.original_name_scope + '_end_points'
    with slim.arg_scope([slim.conv2d, variant.unit_fn, stack_blocks_dense],
                        outputs_collections=collection), \
        _batch_norm_mode(is_training):
      net = inputs
      if include_root_block:
        if output_stride is not None:
          if output_stride % 4:
            raise ValueError('The output_stride needs to be a multiple of 4.')
          output_stride //= 4  # The root block strides by 4.
        net = _root_block(net, variant.preactivation)
      net = stack_blocks_dense(net, blocks, output_stride,
                               store_non_strided_activations)
      if variant.preactivation:
        net = slim.batch_norm(net, activation_fn=tf.nn.relu, scope='postnorm')
      end_points = slim.utils.convert_collection_to_dict(collection)
      net = _classifier(net, end_points, num_classes, global_pool,
                        spatial_squeeze, sc.name)
  return net, end_points


def resnet_arg_scope(
    weight_decay=0.0001, batch_norm_decay=0.997, batch_norm_epsilon=1e-5,
    batch_norm_scale=True, activation_fn=tf.nn.relu, use_batch_norm=True,
    batch_norm_updates_collections=tf.GraphKeys.UPDATE_OPS):
  """He-initialised convolutions with L2 decay, BatchNorm and ReLU.

  Args:
    weight_decay: L2 regularisation of convolution weights.
    batch_norm_decay: moving-average decay of BatchNorm statistics.
    batch_norm_epsilon: BatchNorm variance epsilon.
    batch_norm_scale: learn BatchNorm's gamma (the checkpoints have it).
    activation_fn: activation after each normalised convolution.
    use_batch_norm: normalise convolution outputs.
    batch_norm_updates_collections: collection of the moving-average updates.

  Returns:
    An arg scope.
  """
  batch_norm_params = {
      'decay': batch_norm_decay,
      'epsilon': batch_norm_epsilon,
      'scale': batch_norm_scale,
      'updates_collections': batch_norm_updates_collections,
      'fused': None,  # The fused kernel wherever it applies.
  }
  with slim.arg_scope(
      [slim.conv2d],
      weights_regularizer=slim.l2_regularizer(weight_decay),
      weights_initializer=slim.variance_scaling_initializer(),
      activation_fn=activation_fn,
      normalizer_fn=slim.batch_norm if use_batch_norm else None,
      normalizer_params=batch_norm_params):
    with slim.arg_scope([slim.batch_norm], **batch_norm_params):
      # SAME pooling in the root block keeps features aligned with the image
      # corners for dense prediction (the paper's code pools VALID).
      with slim.arg_scope([slim.max_pool2d], padding='SAME') as scope:
        return scope
