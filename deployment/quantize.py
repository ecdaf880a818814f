"""Quantization-aware training without tf.contrib: fold BatchNorm, fake-quantize.

What `tf.contrib.quantize` did for slim (gone with TensorFlow 2), rewritten
for this project, with its public names:

    logits, end_points = network_fn(images)       # after the loss, too
    quantize.create_training_graph(quant_delay=2000)   # --quantize_delay
    ...
    quantize.create_eval_graph()                   # eval/export --quantize

The scripts do not call these: `quantized_network_fn` wraps a network
function so that the rewrite runs right after the network is built and the
logits and end points it returns are the rewritten ones (the loss, the
metrics and the exported output then read the quantized values).

The rewrite, in the default graph (or `input_graph`):

* BatchNorm folding. A fused BatchNorm right after a Conv2D, a depthwise
  convolution or a MatMul becomes a second layer op with the folded weights
  `w * gamma / sqrt(moving_variance + eps)` plus a bias (`mul_fold`,
  `<type>_Fold`, `add_fold`). In training, contrib's correction keeps the
  batch statistics in the forward pass (`batch_norm_correction`: the layer's
  output is scaled by sigma_moving / sigma_batch, the bias uses the batch
  mean) while the quantized weights are the ones inference will use; the
  original BatchNorm still runs to update the moving statistics. With
  `freeze_bn_delay` the moving statistics replace the batch ones from that
  global step (contrib's experimental option; no flag, as upstream).
* FakeQuant. Weights go through `FakeQuantWithMinMaxVars` with the last
  seen range (`<layer>/weights_quant/min`, `.../max`, 8 bits, narrow range,
  symmetric: `min = -max`, as TFLite's int8 kernels need); a layer's output (after its Relu/Relu6, else after its bias)
  through one with exponential-moving-average ranges
  (`<layer>/act_quant/min`, `.../max`, decay 0.999). A residual add before
  the activation gets `conv_quant` on the layer's side and `add_quant` after
  it (in the block's scope), as contrib named them. Range variables are
  non-trainable globals (saved and restored with the model, not averaged by
  --moving_average_decay). `<layer>` is the layer op's name scope, without a
  model_deploy `clone_N/` prefix, so the clones share one set of ranges.
* `quant_delay`: the forward pass reads the float tensors until that global
  step (`delayed_quant`), the ranges are learned from step 0 all the same.

Whatever the rewrite cannot handle stays in float and is listed once in the
log: a BatchNorm that follows no foldable layer (pre-activation networks:
DenseNet, ResNet v2), unfused BatchNorms, layers of other types (Conv3D,
transposed convolutions), layers whose weights are not a variable.
"""

import collections
import re

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf
import tf_slim as slim

LAYER_TYPES = ('Conv2D', 'DepthwiseConv2dNative', 'MatMul')
BATCH_NORM_TYPES = ('FusedBatchNorm', 'FusedBatchNormV2', 'FusedBatchNormV3')
ACTIVATION_TYPES = ('Relu', 'Relu6')
ADD_TYPES = ('Add', 'AddV2')
# Layer-like ops the rewrite leaves in float (and says so).
_UNHANDLED_TYPES = ('Conv3D', 'Conv2DBackpropInput', 'Conv3DBackpropInputV2',
                    'FusedBatchNorm', 'FusedBatchNormV2', 'FusedBatchNormV3')
_VARIABLE_TYPES = ('VariableV2', 'Variable', 'VarHandleOp')
_READ_TYPES = ('Identity', 'ReadVariableOp')
EMA_DECAY = 0.999
NUM_BITS = 8
RANGE_VARIABLE_RE = re.compile(
    r'(^|/)(weights_quant|act_quant|conv_quant|add_quant)(_\d+)?/(min|max)$')
_CLONE_PREFIX_RE = re.compile(r'^clone_\d+/')
_OTHER_CLONE_RE = re.compile(r'^clone_[1-9]\d*/')


def create_training_graph(input_graph=None, quant_delay=0,
                          freeze_bn_delay=None):
  """Rewrites a built training graph for quantization-aware training.

  Call it after the model and its loss are built, before the optimizer's
  gradients (contrib's contract).

  Args:
    input_graph: the graph; None: the default graph.
    quant_delay: global step from which the forward pass is quantized.
    freeze_bn_delay: None, or the global step from which folded BatchNorms
      use their moving statistics instead of the batch's.

  Returns:
    {original tensor ref: its replacement} of the rewrite (see `resolve`).
  """
  graph = input_graph or tf.get_default_graph()
  with graph.as_default():
    return rewrite_ops(graph.get_operations(), is_training=True,
                       quant_delay=quant_delay,
                       freeze_bn_delay=freeze_bn_delay)


def create_eval_graph(input_graph=None):
  """Rewrites a built evaluation/inference graph as training quantized it.

  Returns:
    {original tensor ref: its replacement} (see `resolve`).
  """
  graph = input_graph or tf.get_default_graph()
  with graph.as_default():
    return rewrite_ops(graph.get_operations(), is_training=False)


def quantized_network_fn(network_fn, is_training, quant_delay=0):
  """`network_fn` whose graph is rewritten as soon as it is built.

  Args:
    network_fn: a nets_factory network function.
    is_training: training rewrite (batch statistics, ranges learned) or
      evaluation rewrite (moving statistics, ranges read).
    quant_delay: training only: the step from which to quantize.

  Returns:
    A function with `network_fn`'s signature and `default_image_size`
    returning the rewritten logits and end points.
  """

  def quantized(images, **kwargs):
    graph = tf.get_default_graph()
    first = len(graph.get_operations())
    logits, end_points = network_fn(images, **kwargs)
    replacements = rewrite_ops(graph.get_operations()[first:], is_training,
                               quant_delay=quant_delay)
    end_points = {name: resolve(replacements, value)
                  for name, value in end_points.items()}
    return resolve(replacements, logits), end_points

  quantized.default_image_size = network_fn.default_image_size
  return quantized


def resolve(replacements, value):
  """What the rewrite put in place of `value` (a tensor), else `value`."""
  if not isinstance(value, tf.Tensor):
    return value
  while value.ref() in replacements:
    value = replacements[value.ref()]
  return value


def rewrite_ops(ops, is_training, quant_delay=0, freeze_bn_delay=None):
  """Folds and fake-quantizes the layers among `ops` (their graph's default).

  Returns:
    {original tensor ref: its replacement}.
  """
  rewriter = _Rewriter(is_training, quant_delay, freeze_bn_delay)
  ops = list(ops)
  for op in ops:
    if op.type in BATCH_NORM_TYPES:
      rewriter.fold_batch_norm(op)
  for op in ops + rewriter.new_layers:
    if op.type in LAYER_TYPES and op not in rewriter.folded_layers:
      rewriter.quantize_layer(op)
    elif op.type in _UNHANDLED_TYPES and op not in rewriter.folded_norms:
      rewriter.leave_in_float(op, 'unfoldable ' + op.type
                              if op.type in BATCH_NORM_TYPES else op.type)
  rewriter.log_left_in_float(ops)
  return rewriter.replacements


def is_range_variable(name):
  """Whether a variable (or checkpoint entry) name is a quantization range."""
  return bool(RANGE_VARIABLE_RE.search(name))


def missing_ranges_hint(hint, ranges_hint=None):
  """A `checkpoints.check_variables` hint with its own line for the ranges.

  Args:
    hint: what to say for any missing variable but a quantization range.
    ranges_hint: what to say for a missing range; None: the --quantize one
      (evaluation, export).
  """
  ranges_hint = ranges_hint or (
      '--quantize needs a checkpoint trained with --quantize_delay (it has '
      'no quantization ranges); leave --quantize out for a float checkpoint')
  return lambda name: ranges_hint if is_range_variable(name) else hint


# --------------------------------------------------------------------------
# The rewrite.

_Fold = collections.namedtuple('_Fold', ['multiplier', 'bias', 'scale',
                                         'recip', 'offset'])


def _context(op):
  """The name scope of `op` (contrib's `_GetContextFromOp`)."""
  return op.name.rpartition('/')[0]


def _variable_name(context):
  return _CLONE_PREFIX_RE.sub('', context)


def _variable_op(tensor):
  """The variable op `tensor` reads (through reads and identities)."""
  op = tensor.op
  while op.type in _READ_TYPES and op.inputs:
    op = op.inputs[0].op
  return op


def _reads_variable(tensor):
  """Whether `tensor` is a variable's value."""
  return _variable_op(tensor).type in _VARIABLE_TYPES


def _reroute(old, new, consumers):
  """Makes `consumers` read `new` where they read `old`."""
  for consumer in consumers:
    for index, value in enumerate(consumer.inputs):
      if value is old:
        consumer._update_input(index, new)  # pylint: disable=protected-access


def _clone_layer(op, weights, name):
  """A copy of layer `op` (same input and attributes) with other weights."""
  attrs = {key: op.get_attr(key) for key in op.node_def.attr
           if key != 'T' and not key.startswith('_')}
  with tf.device(op.device):
    if op.type == 'MatMul':
      return tf.raw_ops.MatMul(a=op.inputs[0], b=weights, name=name, **attrs)
    return getattr(tf.raw_ops, op.type)(input=op.inputs[0], filter=weights,
                                        name=name, **attrs)


class _Rewriter(object):
  """One rewrite: its mode, what it changed and what it left in float."""

  def __init__(self, is_training, quant_delay, freeze_bn_delay):
    self.is_training = is_training
    self.quant_delay = quant_delay if is_training else None
    self.freeze_bn_delay = freeze_bn_delay if is_training else None
    self.replacements = {}
    self.new_layers = []          # the folded layers' ops
    self.folded_layers = set()    # layers whose BatchNorm was folded
    self.folded_norms = set()
    self._folded_weights = set()  # refs of the `mul_fold` tensors
    self._bias_outputs = {}       # folded layer op -> its `add_fold` tensor
    self._quantized = set()       # refs of tensors already fake-quantized
    self._left_in_float = collections.OrderedDict()
    self._variables = None
    self._scope_counts = {}

  # ------------------------------------------------------------ folding

  def fold_batch_norm(self, norm):
    """Folds fused BatchNorm `norm` into the layer before it, if it can."""
    layer = norm.inputs[0].op
    if (layer.type not in LAYER_TYPES or layer.type == 'MatMul' or
        not _reads_variable(layer.inputs[1]) or
        norm.get_attr('data_format') not in (b'NHWC', 'NHWC')):
      return  # listed as left in float by rewrite_ops
    if self.is_training and self._moving_statistics(norm) is None:
      return
    context = _context(layer)
    fold = self._fold_factors(norm, layer, context)
    with tf.name_scope(context + '/'):
      multiplier = fold.multiplier
      scale = fold.scale
      if layer.type == 'DepthwiseConv2dNative':
        shape = layer.inputs[1].shape.as_list()[2:]
        multiplier = tf.reshape(multiplier, shape, name='scale_reshape')
        if scale is not None:
          scale = tf.reshape(scale, shape, name='correction_reshape')
      weights = layer.inputs[1]
      if scale is not None:
        weights = tf.multiply(scale, weights, name='correction_mult')
      weights = tf.multiply(weights, multiplier, name='mul_fold')
      output = _clone_layer(layer, weights, layer.type + '_Fold')
      self.new_layers.append(output.op)
      if fold.recip is not None:
        output = tf.multiply(fold.recip, output, name='post_conv_mul')
        output = tf.add(output, fold.offset, name='correction_add')
      output = tf.add(output, fold.bias, name='add_fold')
    self._folded_weights.add(weights.ref())
    self._bias_outputs[self.new_layers[-1]] = output
    self.folded_layers.add(layer)
    self.folded_norms.add(norm)
    old = norm.outputs[0]
    _reroute(old, output, old.consumers())
    self.replacements[old.ref()] = output

  def _fold_factors(self, norm, layer, context):
    """multiplier, bias and (training) contrib's batch-norm corrections."""
    gamma, beta = norm.inputs[1], norm.inputs[2]
    epsilon = norm.get_attr('epsilon')
    with tf.name_scope(_context(norm) + '/'):
      if not self.is_training:
        mean, variance = norm.inputs[3], norm.inputs[4]
      else:
        mean = norm.outputs[1]
        # The fused kernel returns the Bessel-corrected variance (for the
        # moving average) but normalizes with the biased one.
        count = tf.cast(tf.size(norm.inputs[0]) // tf.size(mean), tf.float32)
        variance = tf.multiply(norm.outputs[2], (count - 1.0) / count,
                               name='Undo_Bessel_Correction')
      multiplier = gamma * tf.rsqrt(variance + epsilon)
      bias = tf.subtract(beta, mean * multiplier, name='bias')
    if not self.is_training:
      return _Fold(multiplier, bias, None, None, None)
    scale, recip, offset = self._corrections(norm, context, gamma, mean,
                                             variance, epsilon)
    return _Fold(multiplier, bias, scale, recip, offset)

  def _corrections(self, norm, context, gamma, mean, variance, epsilon):
    """contrib's corrections: the weights see the moving statistics, the
    output the batch's (or, after `freeze_bn_delay`, the moving ones)."""
    moving_mean, moving_variance = self._moving_statistics(norm)
    with tf.name_scope(context + '/batch_norm_correction/'):
      recip_sigma_mv = tf.rsqrt(moving_variance + epsilon)
      recip_sigma = tf.rsqrt(variance + epsilon)
      scale = tf.identity(recip_sigma_mv / recip_sigma,
                          name='correction_scale')
      recip = tf.reciprocal(scale, name='reciprocal_compute')
      offset = tf.zeros_like(mean, name='correction_offset')
      if self.freeze_bn_delay is not None:
        frozen = tf.greater_equal(tf.train.get_or_create_global_step(),
                                  self.freeze_bn_delay, name='use_mv_avg')
        recip = tf.where_v2(frozen, tf.ones_like(recip), recip,
                            name='correction_recip')
        offset = tf.where_v2(frozen, gamma * (
            mean * recip_sigma - moving_mean * recip_sigma_mv), offset,
                             name='correction_offset')
    return scale, recip, offset

  def _moving_statistics(self, norm):
    """The values of BatchNorm `norm`'s moving mean and variance, or None.

    They sit beside its beta or gamma variable (the op's own name scope may
    differ from the variables' one, as in MobileNet v1).
    """
    if self._variables is None:
      self._variables = {var.op.name: var for var in tf.global_variables()}
    for parameter in (norm.inputs[2], norm.inputs[1]):
      if _reads_variable(parameter):
        scope = _variable_op(parameter).name.rpartition('/')[0]
        names = (scope + '/moving_mean', scope + '/moving_variance')
        if all(name in self._variables for name in names):
          return tuple(self._variables[name].value() for name in names)
    return None

  # ------------------------------------------------------- fake quantization

  def quantize_layer(self, layer):
    """Fake-quantizes a layer's weights and its output, as contrib did."""
    weights = layer.inputs[1]
    if weights.ref() not in self._folded_weights and not _reads_variable(
        weights):
      self.leave_in_float(layer, layer.type + ' without variable weights')
      return
    context = _context(layer)
    self._insert(context, 'weights_quant', weights, [layer], moving_avg=False,
                 narrow_range=True)
    output = (self._bias_outputs[layer] if layer in self._bias_outputs
              else self._bias_added(layer))
    consumers = output.consumers()
    follower = consumers[0] if len(consumers) == 1 else None
    if follower is not None and follower.type in ACTIVATION_TYPES:
      self._insert(context, 'act_quant', follower.outputs[0], init_min=0.0)
      return
    if follower is not None and follower.type in ADD_TYPES:
      self._quantize_bypass(context, output, follower)
      return
    self._insert(context, 'act_quant', output)

  def _bias_added(self, layer):
    """The layer's output after its bias add, or its plain output."""
    output = layer.outputs[0]
    consumers = output.consumers()
    if len(consumers) == 1 and consumers[0].type in ('BiasAdd',) + ADD_TYPES:
      bias = consumers[0].inputs[1]
      if consumers[0].inputs[0] is output and _reads_variable(bias):
        return consumers[0].outputs[0]
    return output

  def _quantize_bypass(self, context, output, add):
    """A residual add after the layer: conv_quant, add_quant (+ act_quant)."""
    block = _context(add)  # contrib's parent scope of the layer, in effect
    self._insert(context, 'conv_quant', output, [add])
    after = add.outputs[0].consumers()
    if len(after) == 1 and after[0].type in ACTIVATION_TYPES:
      self._insert(block, 'add_quant', add.outputs[0], after)
      self._insert(block, 'act_quant', after[0].outputs[0], init_min=0.0)
    else:
      self._insert(block, 'add_quant', add.outputs[0])

  def _insert(self, context, name, tensor, consumers=None, moving_avg=True,
              init_min=-6.0, init_max=6.0, narrow_range=False):
    """Puts a FakeQuant between `tensor` and `consumers` (default: all)."""
    if tensor.ref() in self._quantized:
      return
    replaces = consumers is None  # every reader, so later ones too
    consumers = list(tensor.consumers() if replaces else consumers)
    scope = self._unique(context + '/' + name if context else name)
    with tf.name_scope(scope + '/'):
      low, high = self._range_variables(_variable_name(scope), init_min,
                                        init_max)
      if self.is_training:
        low, high = self._updated_range(tensor, low, high, moving_avg)
      quantized = tf.quantization.fake_quant_with_min_max_vars(
          tensor, low, high, num_bits=NUM_BITS, narrow_range=narrow_range)
      if self.quant_delay:
        active = tf.greater_equal(tf.train.get_or_create_global_step(),
                                  self.quant_delay, name='activate_quant')
        quantized = tf.where_v2(active, quantized, tensor,
                                name='delayed_quant')
    _reroute(tensor, quantized, consumers)
    self._quantized.add(tensor.ref())
    self._quantized.add(quantized.ref())
    if replaces:
      self.replacements[tensor.ref()] = quantized

  def _unique(self, scope):
    """`scope`, or `scope_N` when this rewrite used it already (contrib's
    default_name numbering; the same in every clone)."""
    count = self._scope_counts.get(scope, 0)
    self._scope_counts[scope] = count + 1
    return scope if not count else '%s_%d' % (scope, count)

  @staticmethod
  def _range_variables(scope, init_min, init_max):
    """`<scope>/min` and `<scope>/max`, shared by the clones."""
    return tuple(slim.variable(
        scope + '/' + end, shape=[], trainable=False,
        initializer=tf.constant_initializer(init),
        collections=[tf.GraphKeys.GLOBAL_VARIABLES])
                 for end, init in (('min', init_min), ('max', init_max)))

  @staticmethod
  def _updated_range(tensor, low, high, moving_avg):
    """The range after this step's update: last value or moving average.

    The range always includes 0, so that 0 is exactly representable.
    """
    batch_min = tf.minimum(tf.reduce_min(tensor, name='BatchMin'), 0.0)
    batch_max = tf.maximum(tf.reduce_max(tensor, name='BatchMax'), 0.0)
    if not moving_avg:
      # Weights: symmetric ranges (contrib's `symmetric` option), which
      # TFLite's int8 kernels require (weight zero point 0); uint8 takes them.
      bound = tf.maximum(-batch_min, batch_max)
      return (low.assign(-bound, name='AssignMinLast'),
              high.assign(bound, name='AssignMaxLast'))
    return (low.assign_sub((low - batch_min) * (1.0 - EMA_DECAY),
                           name='AssignMinEma'),
            high.assign_sub((high - batch_max) * (1.0 - EMA_DECAY),
                            name='AssignMaxEma'))

  # ------------------------------------------------------------- reporting

  def leave_in_float(self, op, why):
    self._left_in_float.setdefault(why, []).append(_variable_name(op.name))

  def log_left_in_float(self, ops):
    """One log line listing what stays float (once: first clone only)."""
    if not self._left_in_float or any(
        _OTHER_CLONE_RE.match(op.name) for op in ops[:1]):
      return
    tf.logging.warning(
        'quantize: left in float (the rewrite cannot handle them): %s',
        '; '.join('%d %s (%s)' % (len(names), why, ', '.join(names))
                  for why, names in self._left_in_float.items()))
