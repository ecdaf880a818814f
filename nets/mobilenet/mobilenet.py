"""The MobileNet builder: a network is a table of layer definitions.

A "conv defs" table is a dict with

* 'spec': the layers in order, each an `op(function, **params)`; layer i
  (from 1) is end point 'layer_<i>', and every tensor a layer names
  '...output' in its own scope becomes 'layer_<i>/<name>' (for
  `expanded_conv`: 'expansion_output', 'depthwise_output', 'output');
* 'defaults': {tuple of functions: arguments} set by `slim.arg_scope` around
  the whole network (normalizer, activation, padding: what the architecture
  is, as opposed to how it is trained, which `training_scope` sets);
* optionally 'overrides', applied after the defaults.

`mobilenet_base` builds such a table, scaling every layer's `num_outputs` by
a depth multiplier and trading strides for dilation to honour an output
stride; `mobilenet` adds the classifier (global pool, dropout, 1x1 conv
'Logits/Conv2d_1c_1x1'). The tables of MobileNet v2 (Sandler et al. 2018,
https://arxiv.org/abs/1801.04381), v3 (Howard et al. 2019,
https://arxiv.org/abs/1905.02244) and EdgeTPU live in `mobilenet_v2` and
`mobilenet_v3`. Variable and end point names are those of the released slim
checkpoints.

    with slim.arg_scope(mobilenet.training_scope(is_training=False)):
      logits, end_points = mobilenet_v2.mobilenet(images)
"""

import collections
import contextlib
import functools
import inspect
import os

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets.mobilenet import conv_blocks
from nets.mobilenet.conv_blocks import _fixed_padding
from nets.mobilenet.conv_blocks import _make_divisible
from nets.mobilenet.conv_blocks import global_pool


@contextlib.contextmanager
def _set_arg_scope_defaults(defaults):
  """Enters `slim.arg_scope(functions, **args)` for each item of `defaults`.

  Args:
    defaults: {tuple of functions: args} or a list of such pairs, applied in
      order (later ones win).
  """
  items = defaults.items() if hasattr(defaults, 'items') else defaults
  with contextlib.ExitStack() as stack:
    for functions, args in items:
      stack.enter_context(slim.arg_scope(functions, **args))
    yield


@slim.add_arg_scope
def depth_multiplier(output_params, multiplier, divisible_by=8, min_depth=8,
                     **unused_kwargs):
  """Scales `output_params['num_outputs']` in place by `multiplier`.

  The result is rounded to a multiple of `divisible_by` (at least
  `min_depth`, never more than 10% under the exact value). Layers without
  `num_outputs` (pools) are left alone. Set `divisible_by` and `min_depth`
  for a whole network with `slim.arg_scope([depth_multiplier], ...)`.
  """
  if 'num_outputs' not in output_params:
    return
  output_params['num_outputs'] = _make_divisible(
      output_params['num_outputs'] * multiplier, divisible_by, min_depth)


_Op = collections.namedtuple('Op', ['op', 'params', 'multiplier_func'])


def op(opfunc, multiplier_func=depth_multiplier, **params):
  """One layer of a conv defs table: `opfunc(net, **params)`.

  Args:
    opfunc: the layer function, e.g. `slim.conv2d` or
      `conv_blocks.expanded_conv`.
    multiplier_func: `f(params, multiplier)` scaling `params` in place for a
      depth multiplier; `multiplier_transform=` in `params` is an alias.
    **params: the layer's arguments.

  Returns:
    An `_Op(op, params, multiplier_func)`.
  """
  multiplier = params.pop('multiplier_transform', multiplier_func)
  return _Op(opfunc, params=params, multiplier_func=multiplier)


class NoOpScope(object):
  """A context manager that does nothing (stands in for an arg scope)."""

  def __enter__(self):
    return None

  def __exit__(self, exc_type, exc_value, traceback):
    return False


def safe_arg_scope(funcs, **kwargs):
  """`slim.arg_scope(funcs, **kwargs)` without the None-valued arguments.

  None means "keep whatever an outer scope set"; with no argument left this
  is a `NoOpScope`.
  """
  set_args = {name: value for name, value in kwargs.items()
              if value is not None}
  if not set_args:
    return NoOpScope()
  return slim.arg_scope(funcs, **set_args)


@contextlib.contextmanager
def _scope_all(scope, default_scope=None):
  """A variable scope and the name scope it was created with."""
  with tf.variable_scope(scope, default_name=default_scope) as var_scope, \
      tf.name_scope(var_scope.original_name_scope):
    yield var_scope


def _layer_params(spec, multiplier, output_stride):
  """Yields (layer, params, rate) for each layer of `spec`.

  `params` are the layer's own, scaled by `multiplier`, with the stride
  replaced by 1 (and later layers dilated instead) once the running stride
  has reached `output_stride`. 1x1 convolutions get no dilation rate: it
  would change nothing.
  """
  current_stride, rate = 1, 1
  for layer in spec:
    params = dict(layer.params)
    layer.multiplier_func(params, multiplier)
    stride = params.get('stride', 1)
    if output_stride is not None and current_stride == output_stride:
      layer_stride, layer_rate = 1, rate
      rate *= stride
    else:
      layer_stride, layer_rate = stride, 1
      current_stride *= stride
    params['stride'] = layer_stride
    if layer_rate > 1 and tuple(params.get('kernel_size', ())) != (1, 1):
      params['rate'] = layer_rate
    yield layer, params, layer_rate


def _named_outputs(operations, layer_scopes):
  """{'layer_<i>/<name>': tensor} for ops named '*output' in a layer scope."""
  end_points = {}
  for operation in operations:
    scope, name = os.path.split(operation.name)
    if scope in layer_scopes and name.endswith('output'):
      end_points[layer_scopes[scope] + '/' + name] = operation.outputs[0]
  return end_points


def _check_arguments(conv_defs, multiplier, final_endpoint, output_stride):
  if multiplier <= 0:
    raise ValueError('multiplier is not greater than zero.')
  if output_stride is not None and (
      output_stride == 0 or (output_stride > 1 and output_stride % 2)):
    raise ValueError('Output stride must be None, 1 or a multiple of 2.')
  layer_names = ['layer_%d' % (i + 1) for i in range(len(conv_defs['spec']))]
  if final_endpoint is not None and final_endpoint not in layer_names:
    raise ValueError('Unknown final_endpoint %r; this network has layer_1 ... '
                     'layer_%d' % (final_endpoint, len(layer_names)))


@slim.add_arg_scope
def mobilenet_base(inputs,
                   conv_defs,
                   multiplier=1.0,
                   final_endpoint=None,
                   output_stride=None,
                   use_explicit_padding=False,
                   scope=None,
                   is_training=False):
  """Builds the layers of `conv_defs`, up to and including `final_endpoint`.

  Args:
    inputs: [batch, height, width, channels].
    conv_defs: the network's table (see the module docstring).
    multiplier: scales every layer's width (> 0).
    final_endpoint: last layer to build, 'layer_<i>' (default: all).
    output_stride: largest ratio of input to output size: None, 1 or an even
      number (8 and 16 are usual for dense prediction); later strides are
      replaced by atrous (dilated) convolutions.
    use_explicit_padding: pad by hand and use VALID convolutions, so output
      sizes are SAME's whatever the input size.
    scope: variable scope (default 'Mobilenet').
    is_training: BatchNorm mode; normally set by `training_scope`. None
      leaves BatchNorm's arg scope as it is.

  Returns:
    (output tensor, end points: 'layer_<i>' and 'layer_<i>/<name>').

  Raises:
    ValueError: multiplier <= 0, bad output_stride or unknown final_endpoint.
  """
  _check_arguments(conv_defs, multiplier, final_endpoint, output_stride)
  overrides = dict(conv_defs.get('overrides', {}))
  if use_explicit_padding:
    overrides[(slim.conv2d, slim.separable_conv2d)] = {'padding': 'VALID'}
  end_points, layer_scopes = {}, {}
  with _scope_all(scope, default_scope='Mobilenet'), \
      safe_arg_scope([slim.batch_norm], is_training=is_training), \
      _set_arg_scope_defaults(conv_defs.get('defaults', {})), \
      _set_arg_scope_defaults(overrides):
    net = inputs
    first_new_op = len(net.graph.get_operations())
    layers = _layer_params(conv_defs['spec'], multiplier, output_stride)
    for index, (layer, params, rate) in enumerate(layers):
      if use_explicit_padding:
        # Blocks such as expanded_conv pad their own inner convolutions.
        if conv_blocks.takes_argument(layer.op, 'use_explicit_padding'):
          params['use_explicit_padding'] = True
        elif 'kernel_size' in params:
          net = _fixed_padding(net, params['kernel_size'], rate)
      end_point = 'layer_%d' % (index + 1)
      net = end_points[end_point] = layer.op(net, **params)
      layer_scopes[os.path.dirname(net.name)] = end_point
      if end_point == final_endpoint:
        break
    end_points.update(_named_outputs(
        net.graph.get_operations()[first_new_op:], layer_scopes))
  return net, end_points


def _pool(net, use_reduce_mean_for_pooling, pooling_fn):
  if pooling_fn is not None:
    return pooling_fn(net)
  if use_reduce_mean_for_pooling:
    return tf.reduce_mean(net, [1, 2], keepdims=True, name='ReduceMean')
  return global_pool(net)


@slim.add_arg_scope
def mobilenet(inputs,
              num_classes=1001,
              prediction_fn=slim.softmax,
              reuse=None,
              scope='Mobilenet',
              base_only=False,
              use_reduce_mean_for_pooling=False,
              pooling_fn=None,
              **mobilenet_args):
  """A MobileNet classifier: `mobilenet_base`, global pool, 1x1 conv logits.

  Args:
    inputs: [batch, height, width, channels].
    num_classes: number of classes; 0 or None returns the pooled features
      ('global_pool', [batch, 1, 1, channels]) instead of logits.
    prediction_fn: turns logits into `end_points['Predictions']` (None: no
      predictions).
    reuse: reuse the variables of `scope` (which must then be given).
    scope: variable scope of every variable.
    base_only: return the output of `mobilenet_base` (no pool, no logits).
    use_reduce_mean_for_pooling: pool with a mean instead of an average pool
      (same values; some converters prefer one or the other).
    pooling_fn: custom `f([batch, h, w, c]) -> [batch, 1, 1, c]` pooling;
      takes precedence over `use_reduce_mean_for_pooling`.
    **mobilenet_args: passed to `mobilenet_base`: conv_defs, multiplier,
      final_endpoint, output_stride, use_explicit_padding, is_training.

  Returns:
    (logits [batch, num_classes], end points).

  Raises:
    ValueError: `inputs` is not 4-D.
  """
  if inputs.shape.ndims != 4:
    raise ValueError('Expected rank 4 input, was: %s' % inputs.shape.ndims)
  is_training = mobilenet_args.get('is_training', False)
  with tf.variable_scope(scope, 'Mobilenet', reuse=reuse) as var_scope:
    inputs = tf.identity(inputs, 'input')
    net, end_points = mobilenet_base(inputs, scope=var_scope,
                                     **mobilenet_args)
    if base_only:
      return net, end_points
    net = tf.identity(net, name='embedding')
    with tf.variable_scope('Logits'):
      net = end_points['global_pool'] = _pool(
          net, use_reduce_mean_for_pooling, pooling_fn)
      if not num_classes:
        return net, end_points
      with safe_arg_scope([slim.dropout], is_training=is_training):
        net = slim.dropout(net, scope='Dropout')
      logits = slim.conv2d(net, num_classes, [1, 1], activation_fn=None,
                           normalizer_fn=None,
                           biases_initializer=tf.zeros_initializer(),
                           scope='Conv2d_1c_1x1')
      logits = tf.identity(tf.squeeze(logits, [1, 2]), name='output')
    end_points['Logits'] = logits
    if prediction_fn:
      end_points['Predictions'] = prediction_fn(logits, 'Predictions')
  return logits, end_points


def _unscaled(params, multiplier):
  """A multiplier_func keeping the layer's width whatever the multiplier."""
  del multiplier
  return params


def _keep_last_layer_width(conv_defs):
  """`conv_defs` whose last layer ignores the depth multiplier."""
  spec = list(conv_defs['spec'])
  spec[-1] = spec[-1]._replace(multiplier_func=_unscaled)
  return dict(conv_defs, spec=spec)


def scaled_mobilenet(inputs, conv_defs, width_multiplier, num_classes, scope,
                     keep_last_layer_width=False, min_depth=None,
                     divisible_by=None, **kwargs):
  """`mobilenet(conv_defs)` scaled by `width_multiplier`: v2 and v3's core.

  Args:
    inputs: [batch, height, width, channels].
    conv_defs: the table.
    width_multiplier: the depth multiplier (> 0).
    num_classes: as in `mobilenet`.
    scope: as in `mobilenet`.
    keep_last_layer_width: the last layer keeps its full width ("fine-grain
      classification mode": small multipliers lose less accuracy).
    min_depth: narrowest a scaled layer gets (default: `depth_multiplier`'s
      arg scope, 8).
    divisible_by: scaled widths are multiples of it (default likewise, 8).
    **kwargs: passed to `mobilenet` and `mobilenet_base`.

  Returns:
    (logits, end points) of `mobilenet`.

  Raises:
    ValueError: if `multiplier=` is in kwargs (the versions call it
      depth_multiplier).
  """
  if 'multiplier' in kwargs:
    raise ValueError('mobilenet v2/v3 do not take the generic `multiplier`; '
                     'use `depth_multiplier` instead.')
  if keep_last_layer_width:
    conv_defs = _keep_last_layer_width(conv_defs)
  # Only the given ones: an outer arg scope on depth_multiplier still counts.
  with safe_arg_scope((depth_multiplier,), min_depth=min_depth,
                      divisible_by=divisible_by):
    return mobilenet(inputs, num_classes=num_classes, conv_defs=conv_defs,
                     scope=scope, multiplier=width_multiplier, **kwargs)


def partial_network(func, args=(), kwargs=None, defaults=None):
  """`functools.partial(func, *args, **kwargs)` plus overridable `defaults`.

  Unlike a partial's keywords, `defaults` give way to a value passed by
  position too (e.g. a positional `scope` for `edge_tpu`). The result keeps
  `func`'s name, docstring and attributes (`default_image_size`).
  """
  kwargs, defaults = dict(kwargs or {}), dict(defaults or {})
  signature = inspect.signature(func)

  @functools.wraps(func)
  def network(*call_args, **call_kwargs):
    all_args = tuple(args) + call_args
    all_kwargs = dict(kwargs, **call_kwargs)
    given = signature.bind_partial(*all_args, **all_kwargs).arguments
    all_kwargs.update({name: value for name, value in defaults.items()
                       if name not in given})
    return func(*all_args, **all_kwargs)

  return network


def training_scope(is_training=True,
                   weight_decay=0.00004,
                   stddev=0.09,
                   dropout_keep_prob=0.8,
                   bn_decay=0.997):
  """The arg scope MobileNet v2/v3 are trained (or evaluated) under.

  Only training matters here: what changes the inference graph (biases,
  normalizer parameters, activations) belongs in the conv defs.

  Args:
    is_training: BatchNorm and dropout mode; None leaves them unset.
    weight_decay: L2 regularization of conv2d weights (not depthwise ones:
      they have few parameters and overfit little).
    stddev: stddev of the truncated normal initializer; negative: Xavier.
    dropout_keep_prob: dropout keep probability before the logits (None:
      unset).
    bn_decay: decay of the BatchNorm moving averages (None: unset).

  Returns:
    An arg scope for `slim.arg_scope`.
  """
  if stddev < 0:
    initializer = slim.initializers.xavier_initializer()
  else:
    initializer = tf.truncated_normal_initializer(stddev=stddev)
  with slim.arg_scope(
      [slim.conv2d, slim.fully_connected, slim.separable_conv2d],
      weights_initializer=initializer, normalizer_fn=slim.batch_norm), \
      slim.arg_scope([mobilenet_base, mobilenet], is_training=is_training), \
      safe_arg_scope([slim.batch_norm], decay=bn_decay,
                     is_training=is_training), \
      safe_arg_scope([slim.dropout], is_training=is_training,
                     keep_prob=dropout_keep_prob), \
      slim.arg_scope([slim.conv2d],
                     weights_regularizer=slim.l2_regularizer(weight_decay)), \
      slim.arg_scope([slim.separable_conv2d],
                     weights_regularizer=None) as scope:
    return scope
