"""The blocks MobileNet v2/v3 tables are made of.

* `expanded_conv`: the inverted residual bottleneck of MobileNet v2 (Sandler et
  al. 2018, "MobileNetV2: Inverted Residuals and Linear Bottlenecks",
  https://arxiv.org/abs/1801.04381): a 1x1 expansion, a depthwise
  convolution and a linear 1x1 projection, with a residual connection when
  the input and output shapes agree. MobileNet v3 plugs `squeeze_excite`
  between depthwise and projection; MobileNet EdgeTPU replaces expansion and
  depthwise by one full ("fused") convolution.
* `squeeze_excite`: the channel gating of Hu et al. 2018, "Squeeze-and-
  Excitation Networks", as used by MobileNet v3 (Howard et al. 2019,
  "Searching for MobileNetV3", https://arxiv.org/abs/1905.02244).
* `split_conv`: a 1x1 convolution optionally split into groups.

Scope names (`expanded_conv_<i>/expand`, `depthwise`, `project`,
`squeeze_excite/Conv`) are those of the released slim checkpoints.
"""

import contextlib
import functools
import inspect

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import padding

_DEPTHWISE_LOCATIONS = (None, 'input', 'output', 'expansion')


# Upstream's name, which mobilenet.py and mobilenet_v3.py use.
_fixed_padding = padding.fixed_padding


def _make_divisible(value, divisor, min_value=None):
  """`value` rounded to the nearest multiple of `divisor`, never 10% lower."""
  min_value = divisor if min_value is None else min_value
  rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
  if rounded < 0.9 * value:
    rounded += divisor
  return int(rounded)


def _split_divisible(num, num_ways, divisible_by=8):
  """Splits `num` into `num_ways` near-equal multiples of `divisible_by`."""
  if num % divisible_by or num / num_ways < divisible_by:
    raise ValueError('cannot split %d into %d parts divisible by %d' %
                     (num, num_ways, divisible_by))
  base = num // num_ways // divisible_by * divisible_by
  parts = []
  for index in range(num_ways):
    part = base
    # Round the running total up to the ideal even split.
    while sum(parts) + part < num * (index + 1) / num_ways:
      part += divisible_by
    parts.append(part)
  return parts


def global_pool(input_tensor, pool_op=tf.nn.avg_pool2d):
  """Averages each channel over the whole map: [batch, 1, 1, channels].

  Uses `pool_op` (an average pool is better supported than a mean by mobile
  runtimes) when the map size is known when building the graph, and a mean
  over height and width otherwise (a pool's window must be a constant).
  """
  height, width = input_tensor.shape.as_list()[1:3]
  if height is None or width is None:
    return tf.reduce_mean(input_tensor, [1, 2], keepdims=True,
                          name='GlobalPool')
  return pool_op(input_tensor, ksize=[1, height, width, 1],
                 strides=[1, 1, 1, 1], padding='VALID')


def expand_input_by_factor(n, divisible_by=8):
  """An `expansion_size`: `n` times the block's input channels, rounded."""
  return lambda num_inputs, **_: _make_divisible(num_inputs * n, divisible_by)


def split_conv(input_tensor, num_outputs, num_ways, scope, divisible_by=8,
               **kwargs):
  """A 1x1 convolution whose i-th group of outputs sees only the i-th inputs.

  Args:
    input_tensor: [batch, height, width, channels].
    num_outputs: output channels.
    num_ways: number of groups; 1 (or groups under `divisible_by` channels on
      either side) gives a plain 1x1 convolution named `scope`.
    scope: scope of the convolution, `<scope>_part_<i>` for each group.
    divisible_by: every group's input and output width is a multiple of it.
    **kwargs: passed to every `slim.conv2d`.

  Returns:
    [batch, height, width, num_outputs].
  """
  channels = input_tensor.shape.as_list()[3]
  if num_ways == 1 or min(channels // num_ways,
                          num_outputs // num_ways) < divisible_by:
    return slim.conv2d(input_tensor, num_outputs, [1, 1], scope=scope,
                       **kwargs)
  inputs = tf.split(input_tensor,
                    _split_divisible(channels, num_ways, divisible_by),
                    axis=3, name='split_' + scope)
  outputs = []
  for index, (part, width) in enumerate(zip(
      inputs, _split_divisible(num_outputs, num_ways, divisible_by))):
    part_scope = '%s_part_%d' % (scope, index)
    part = slim.conv2d(part, width, [1, 1], scope=part_scope, **kwargs)
    outputs.append(tf.identity(part, part_scope + '_output'))
  return tf.concat(outputs, 3, name=scope + '_concat')


def _record(endpoints, name, tensor):
  """Names `tensor` `name` in the block's scope (end point discovery looks
  for names ending in 'output') and stores it in `endpoints` if given."""
  tensor = tf.identity(tensor, name=name)
  if endpoints is not None:
    endpoints[name] = tensor
  return tensor


@contextlib.contextmanager
def _inner_activation_scope(inner_activation_fn, depthwise_activation_fn):
  """Activations of the inner convolutions, when the block sets them."""
  conv_args, depthwise_args = {}, {}
  if inner_activation_fn is not None:
    conv_args['activation_fn'] = inner_activation_fn
    depthwise_args['activation_fn'] = inner_activation_fn
  if depthwise_activation_fn is not None:
    depthwise_args['activation_fn'] = depthwise_activation_fn
  with slim.arg_scope([slim.conv2d], **conv_args), \
      slim.arg_scope([slim.separable_conv2d], **depthwise_args):
    yield


def takes_argument(function, name):
  """Whether `function` (or partial) has a parameter called `name`."""
  return name in inspect.signature(function).parameters


def _conv_fn(conv_fn, num_ways, divisible_by, use_explicit_padding):
  """The expansion or projection function with the block's arguments.

  `split_conv` gets its split arguments; a custom function (EdgeTPU's fused
  3x3 expansion) gets `use_explicit_padding` if it takes it, to pad itself.
  """
  if conv_fn is split_conv:
    return functools.partial(split_conv, num_ways=num_ways,
                             divisible_by=divisible_by, stride=1)
  if use_explicit_padding and takes_argument(conv_fn, 'use_explicit_padding'):
    return functools.partial(conv_fn, use_explicit_padding=True)
  return conv_fn


def _depthwise(net, depthwise_fn, kernel_size, rate, use_explicit_padding,
               endpoints, **kwargs):
  """The block's depthwise convolution, recorded as 'depthwise_output'."""
  if use_explicit_padding:
    net = _fixed_padding(net, kernel_size, rate)
  net = depthwise_fn(net, num_outputs=None, kernel_size=kernel_size,
                     rate=rate, scope='depthwise', **kwargs)
  return _record(endpoints, 'depthwise_output', net)


def _expansion(net, num_inputs, expansion_size, expand_fn, normalizer_fn,
               endpoints):
  """The 1x1 widening to the block's inner size (skipped when not wider).

  `expansion_size` is a width or a function of the block's input channels
  `num_inputs`; it is compared with `net`, which a depthwise convolution at
  the input may already have widened.
  """
  inner_size = (expansion_size(num_inputs=num_inputs)
                if callable(expansion_size) else expansion_size)
  if inner_size <= net.shape.as_list()[3]:
    return net
  net = expand_fn(net, inner_size, scope='expand', normalizer_fn=normalizer_fn)
  return _record(endpoints, 'expansion_output', net)


def _projection(net, num_outputs, project_fn, normalizer_fn, activation_fn,
                endpoints):
  """The 1x1 narrowing to `num_outputs`, linear by default: the paper's
  linear bottleneck, since a ReLU on few channels loses information."""
  net = project_fn(net, num_outputs, scope='project',
                   normalizer_fn=normalizer_fn, activation_fn=activation_fn)
  if endpoints is not None:
    endpoints['projection_output'] = net
  return net


def _inverted_residual(input_tensor, num_outputs, expansion_size,
                       depthwise_location, depthwise, expand_fn, transform,
                       project_fn, project_activation_fn, normalizer_fn,
                       endpoints, add_residual):
  """Chains the block's stages: expansion, depthwise, (transform),
  projection, residual, with the depthwise convolution where the block puts
  it. Away from the expansion it is linear: the non-linearity belongs to the
  wide layer."""
  net = input_tensor
  if depthwise_location == 'input':
    net = depthwise(net, activation_fn=None)
  net = _expansion(net, input_tensor.shape.as_list()[3], expansion_size,
                   expand_fn, normalizer_fn, endpoints)
  if depthwise_location == 'expansion':
    net = depthwise(net)
  if transform:
    net = transform(expansion_tensor=net, input_tensor=input_tensor)
  net = _projection(net, num_outputs, project_fn, normalizer_fn,
                    project_activation_fn, endpoints)
  if depthwise_location == 'output':
    net = depthwise(net, activation_fn=None)
  return add_residual(input_tensor=input_tensor, output_tensor=net)


def _add_residual(residual, stride, input_tensor, output_tensor):
  """The shortcut: `residual` itself if callable, else an identity shortcut
  where the shapes agree."""
  if callable(residual):
    return residual(input_tensor=input_tensor, output_tensor=output_tensor)
  # A stride of 1 also guarantees equal spatial sizes when they are unknown.
  if (residual and stride == 1 and output_tensor.shape.as_list()[3] ==
      input_tensor.shape.as_list()[3]):
    return output_tensor + input_tensor
  return output_tensor


def _checked_padding(depthwise_location, use_explicit_padding, padding):
  """The depthwise convolution's padding, after checking the arguments."""
  if depthwise_location not in _DEPTHWISE_LOCATIONS:
    raise TypeError('%r is unknown value for depthwise_location' %
                    depthwise_location)
  if not use_explicit_padding:
    return padding
  if padding != 'SAME':
    raise TypeError('`use_explicit_padding` should only be used with '
                    '"SAME" padding.')
  return 'VALID'


@slim.add_arg_scope
def expanded_conv(input_tensor, num_outputs,
                  expansion_size=expand_input_by_factor(6), stride=1, rate=1,
                  kernel_size=(3, 3), residual=True, normalizer_fn=None,
                  split_projection=1, split_expansion=1, split_divisible_by=8,
                  expansion_transform=None, depthwise_location='expansion',
                  depthwise_channel_multiplier=1, endpoints=None,
                  use_explicit_padding=False, padding='SAME',
                  inner_activation_fn=None, depthwise_activation_fn=None,
                  project_activation_fn=tf.identity,
                  depthwise_fn=slim.separable_conv2d, expansion_fn=split_conv,
                  projection_fn=split_conv, scope=None):
  """Expansion (1x1) -> depthwise (kernel_size) -> linear projection (1x1).

  Args:
    input_tensor, num_outputs: [batch, height, width, channels]; out channels.
    expansion_size: inner width, or a function of `num_inputs=` (the input's
      channels) like `expand_input_by_factor(6)`; no expansion unless wider.
    stride, rate, kernel_size: of the depthwise convolution.
    residual: add the input where shapes allow (stride 1, same channels), or
      a function of `input_tensor=` and `output_tensor=`.
    normalizer_fn: normalizer of every convolution (e.g. slim.batch_norm).
    split_projection, split_expansion, split_divisible_by: see `split_conv`.
    expansion_transform: function of `expansion_tensor=` and `input_tensor=`
      after the depthwise convolution (MobileNet v3's squeeze-excite).
    depthwise_location: 'expansion', 'input', 'output' or None (none).
    depthwise_channel_multiplier: depthwise outputs per input channel.
    endpoints: optional dict for '{expansion,depthwise,projection}_output'.
    use_explicit_padding, padding: pad by hand and convolve VALID (SAME's
      sizes for any input), or the depthwise padding.
    inner_activation_fn, depthwise_activation_fn, project_activation_fn: of
      expansion+depthwise, of depthwise (wins), of the projection (linear).
    depthwise_fn, expansion_fn, projection_fn: the convolutions; a custom
      expansion (EdgeTPU's fused 3x3) ignores the split arguments.
    scope: variable scope (default 'expanded_conv', uniquified).

  Returns:
    [batch, height / stride, width / stride, num_outputs].

  Raises:
    TypeError: unknown `depthwise_location`, or explicit non-SAME padding.
  """
  padding = _checked_padding(depthwise_location, use_explicit_padding, padding)
  depthwise = functools.partial(
      _depthwise, depthwise_fn=depthwise_fn, kernel_size=kernel_size,
      rate=rate, use_explicit_padding=use_explicit_padding,
      endpoints=endpoints, depth_multiplier=depthwise_channel_multiplier,
      stride=stride, normalizer_fn=normalizer_fn, padding=padding)
  conv_fn = functools.partial(_conv_fn, divisible_by=split_divisible_by,
                              use_explicit_padding=use_explicit_padding)
  with tf.variable_scope(scope, default_name='expanded_conv') as var_scope, \
      tf.name_scope(var_scope.original_name_scope), \
      _inner_activation_scope(inner_activation_fn, depthwise_activation_fn):
    net = _inverted_residual(
        tf.identity(input_tensor, 'input'), num_outputs, expansion_size,
        depthwise_location, depthwise, conv_fn(expansion_fn, split_expansion),
        expansion_transform, conv_fn(projection_fn, split_projection),
        project_activation_fn, normalizer_fn, endpoints,
        functools.partial(_add_residual, residual, stride))
    return tf.identity(net, name='output')


@slim.add_arg_scope
def squeeze_excite(input_tensor,
                   divisible_by=8,
                   squeeze_factor=3,
                   inner_activation_fn=tf.nn.relu,
                   gating_fn=tf.sigmoid,
                   squeeze_input_tensor=None,
                   pool=None):
  """Scales each channel of `input_tensor` by a gate computed from its mean.

  The gate is two 1x1 convolutions (no normalizer) on the globally pooled
  `squeeze_input_tensor`: down to channels / `squeeze_factor` (rounded to a
  multiple of `divisible_by`) with `inner_activation_fn`, then back up to the
  channels of `input_tensor` with `gating_fn`.

  Args:
    input_tensor: [batch, height, width, channels], the tensor gated.
    divisible_by: the squeezed width is a multiple of it.
    squeeze_factor: how much narrower the squeezed layer is.
    inner_activation_fn: activation of the squeezed layer.
    gating_fn: activation of the gate (values in [0, 1]).
    squeeze_input_tensor: tensor the gate is computed from (default:
      `input_tensor`).
    pool: if set (and the map is at least that tall), average over `pool` x
      `pool` windows instead of the whole map and upsample the gate
      bilinearly, giving a spatially varying gate.

  Returns:
    `input_tensor * gate`, same shape as `input_tensor`.
  """
  with tf.variable_scope('squeeze_excite'):
    if squeeze_input_tensor is None:
      squeeze_input_tensor = input_tensor
    height = squeeze_input_tensor.shape.as_list()[1]
    windowed = pool is not None and height is not None and height >= pool
    if windowed:
      pooled = tf.nn.avg_pool2d(squeeze_input_tensor, [1, pool, pool, 1],
                                [1, pool, pool, 1], padding='VALID')
    else:
      pooled = global_pool(squeeze_input_tensor)
    squeeze_channels = _make_divisible(
        squeeze_input_tensor.shape.as_list()[3] / squeeze_factor,
        divisor=divisible_by)
    squeeze = slim.conv2d(pooled, squeeze_channels, [1, 1],
                          normalizer_fn=None,
                          activation_fn=inner_activation_fn)
    gate = slim.conv2d(squeeze, input_tensor.shape.as_list()[3], [1, 1],
                       normalizer_fn=None, activation_fn=gating_fn)
    if windowed:
      # align_corners=True: the only bilinear resize with TPU gradients.
      gate = tf.image.resize_images(gate, input_tensor.shape.as_list()[1:3],
                                    align_corners=True)
    return input_tensor * gate
