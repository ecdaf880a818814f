"""Graph rewrites before an int8 LiteRT conversion: every op int8, inside
XNNPACK.

Average pools (calibrated int8). XNNPACK, the LiteRT CPU delegate, has no
int8 AVERAGE_POOL_2D: LiteRT runs that op with its own kernel, on one
thread, outside the delegate, and cuts the delegated graph around it.
Measured with `perf` on this project's 2-core AMD EPYC (2026-12-07, random
weights, batch 1): 28% of Inception-v3's int8 time and 9% of DenseNet-121's
went to `tflite::optimized_integer_ops::AveragePool` (speed-ups in
docs/performance.md, "Runtimes: int8 average pools inside XNNPACK"). A k x k
average pool computes the same function as a depthwise convolution with
constant weights, which XNNPACK runs in int8:

* every window inside the map (VALID padding): weights 1 / (k_h * k_w);
* SAME padding, where border windows average fewer values: weights 1 (a
  window sum) times a constant [1, H, W, 1] map of 1 / (values in the
  window), a broadcast multiply XNNPACK also runs in int8.

Float LiteRT files keep the pool: XNNPACK runs it in float, and the rewrite
measured no faster there.

Quantization-aware graphs (QAT int8). The training rewrite
(`deployment/quantize.py`) folds each BatchNorm that follows a layer; one
that follows none (DenseNet's and ResNet v2's pre-activation BatchNorms)
stays float with no FakeQuant after it, as contrib left it, and converted
as it is runs in float between a DEQUANTIZE and a QUANTIZE. Here each
becomes a 1x1 depthwise convolution with the BatchNorm's per-channel scale
plus its shift (the same function; the converter gives it per-channel int8
weights and fuses the ReLU after it). Its output (after that ReLU), and
that of each average pool rewritten as above, gets a FakeQuant with the
range it takes on the calibration images, since training learnt none.
Measured on the main-job model (2026-12-07): 19 such BatchNorms, the file
fully int8, 0.9308 accuracy against 0.9309 with them in float.

    graph_def = int8_rewrites.average_pools_as_convolutions(graph_def)
    graph_def = int8_rewrites.quantization_aware_as_int8(
        graph_def, 'input', calibration)

The float graph's outputs stay the same to float rounding
(tests/test_runtimes.py).
"""

import collections

import numpy as np

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf

from deployment.quantize import ACTIVATION_TYPES
from deployment.quantize import BATCH_NORM_TYPES

_FLOAT = tf.float32.as_datatype_enum


def _window_counts(size, kernel, stride, same):
  """How many input positions each output position's window covers, along
  one axis, with TensorFlow's padding (SAME pads the end more when odd)."""
  if not same:
    return np.full((size - kernel) // stride + 1, kernel)
  outputs = -(-size // stride)
  before = max((outputs - 1) * stride + kernel - size, 0) // 2
  starts = np.arange(outputs) * stride - before
  return np.minimum(starts + kernel, size) - np.maximum(starts, 0)


def _constant(name, value):
  node = tf.NodeDef(name=name, op='Const')
  node.attr['dtype'].type = _FLOAT
  node.attr['value'].tensor.CopyFrom(
      tf.make_tensor_proto(np.asarray(value, np.float32)))
  return node


def _node(name, op, inputs, **attrs):
  """A float NodeDef of `op` reading `inputs`; `attrs` as int lists
  (strides, dilations) or bytes (padding, data_format)."""
  node = tf.NodeDef(name=name, op=op)
  node.input.extend(inputs)
  node.attr['T'].type = _FLOAT
  for key, value in attrs.items():
    if isinstance(value, bytes):
      node.attr[key].s = value
    else:
      node.attr[key].list.i.extend(value)
  return node


def _make_depthwise(node, inputs, strides, padding):
  """Turns `node` into a float NHWC depthwise convolution in place."""
  node.CopyFrom(_node(node.name, 'DepthwiseConv2dNative', inputs,
                      strides=strides, dilations=[1, 1, 1, 1],
                      padding=padding, data_format=b'NHWC'))


def _shapes(graph_def, op_types):
  """{node name: its first input's static shape} for nodes of `op_types`."""
  with tf.Graph().as_default() as graph:
    tf.import_graph_def(graph_def, name='')
  return {op.name: op.inputs[0].shape.as_list()
          for op in graph.get_operations() if op.type in op_types}


def _pool_rewritable(node, shape):
  return (node.attr['data_format'].s in (b'', b'NHWC') and
          node.attr['T'].type == _FLOAT and
          len(shape) == 4 and None not in shape[1:])


def _pool_as_depthwise(node, shape):
  """Turns AvgPool `node` into a depthwise convolution in place; the new
  nodes it needs (weights, and at SAME borders the count map and the
  multiply that takes the pool's name)."""
  _, kernel_h, kernel_w, _ = node.attr['ksize'].list.i
  strides = list(node.attr['strides'].list.i)
  padding = node.attr['padding'].s
  counts = np.outer(
      _window_counts(shape[1], kernel_h, strides[1], padding == b'SAME'),
      _window_counts(shape[2], kernel_w, strides[2], padding == b'SAME'))
  full_windows = bool((counts == kernel_h * kernel_w).all())
  name = node.name
  weight = 1.0 / (kernel_h * kernel_w) if full_windows else 1.0
  added = [_constant(name + '/depthwise_weights',
                     np.full([kernel_h, kernel_w, shape[3], 1], weight))]
  _make_depthwise(node, [node.input[0], added[0].name], strides, padding)
  if not full_windows:
    node.name = name + '/window_sum'
    added.append(_constant(name + '/inverse_counts',
                           (1.0 / counts)[None, :, :, None]))
    added.append(_node(name, 'Mul', [node.name, added[-1].name]))
  return added


def _pools_as_depthwise(graph_def):
  """(the rewritten copy, the names of the new nodes' outputs)."""
  shapes = _shapes(graph_def, ('AvgPool',))
  rewritten = tf.GraphDef()
  rewritten.CopyFrom(graph_def)
  added, outputs = [], []
  for node in rewritten.node:
    if node.op == 'AvgPool' and _pool_rewritable(node, shapes[node.name]):
      name = node.name
      added.extend(_pool_as_depthwise(node, shapes[name]))
      outputs.append(node.name)  # the convolution (a window sum at SAME)
      if node.name != name:
        outputs.append(name)  # the multiply that averages that sum
  rewritten.node.extend(added)
  return rewritten, outputs


def average_pools_as_convolutions(graph_def):
  """A copy of `graph_def` with each float NHWC AvgPool of static spatial
  size computed by a depthwise convolution (see the module docstring); the
  consumers keep reading the pool's node name."""
  return _pools_as_depthwise(graph_def)[0]


def source_node(nodes, name):
  """The node tensor `name` comes from, through the Identity a frozen
  variable read leaves; None when it is not in `nodes` ({name: NodeDef})."""
  node = nodes.get(name.split(':')[0].lstrip('^'))
  while node is not None and node.op == 'Identity':
    node = nodes.get(node.input[0].split(':')[0])
  return node


def _constant_value(nodes, name):
  return tf.make_ndarray(source_node(nodes, name).attr['value'].tensor)


def _batch_norm_as_depthwise(node, nodes):
  """Turns inference BatchNorm `node` into BiasAdd(depthwise 1x1 by its
  scale, its shift) in place, keeping its name; the new nodes."""
  gamma, beta, mean, variance = (_constant_value(nodes, name)
                                 for name in node.input[1:5])
  scale = gamma / np.sqrt(variance + node.attr['epsilon'].f)
  name = node.name
  weights = _constant(name + '/scale', scale.reshape(1, 1, -1, 1))
  shift = _constant(name + '/shift', beta - mean * scale)
  depthwise = tf.NodeDef(name=name + '/scaled')
  _make_depthwise(depthwise, [node.input[0], weights.name], [1, 1, 1, 1],
                  b'VALID')
  node.CopyFrom(_node(name, 'BiasAdd', [depthwise.name, shift.name],
                      data_format=b'NHWC'))
  return [weights, shift, depthwise]


def _calibrated_ranges(graph_def, names, input_name, calibration):
  """[(min, max)] of tensors `names` over the calibration images, widened
  to hold 0 (FakeQuant's ranges must)."""
  with tf.Graph().as_default() as graph, tf.Session(graph=graph) as sess:
    tf.import_graph_def(graph_def, name='')
    tensors = [graph.get_tensor_by_name(name + ':0') for name in names]
    lowest, highest = np.zeros(len(names)), np.zeros(len(names))
    for (images,) in calibration():
      values = sess.run(tensors, {input_name + ':0': images})
      lowest = np.minimum(lowest, [value.min() for value in values])
      highest = np.maximum(highest, [value.max() for value in values])
  return list(zip(lowest, highest))


def _insert_fake_quant(graph_def, name, low, high):
  """Routes every reader of `name` through a FakeQuant of range [low, high]."""
  quant = name + '/calibrated_quant'
  for node in graph_def.node:
    for i, source in enumerate(node.input):
      if source in (name, name + ':0'):
        node.input[i] = quant
  ends = [_constant(quant + '/min', low), _constant(quant + '/max', high)]
  fake_quant = tf.NodeDef(name=quant, op='FakeQuantWithMinMaxVars')
  fake_quant.input.extend([name] + [end.name for end in ends])
  fake_quant.attr['num_bits'].i = 8
  graph_def.node.extend(ends + [fake_quant])


def _batch_norms_as_depthwise(graph_def):
  """(a copy whose inference BatchNorms are depthwise convolutions, the
  names of their outputs: after the ReLU that alone reads one, if any)."""
  rewritten = tf.GraphDef()
  rewritten.CopyFrom(graph_def)
  nodes = {node.name: node for node in rewritten.node}
  readers = collections.defaultdict(list)
  for node in rewritten.node:
    for source in node.input:
      readers[source.split(':')[0]].append(node)
  added, outputs = [], []
  for node in list(rewritten.node):
    if node.op in BATCH_NORM_TYPES and not node.attr['is_training'].b:
      only = readers[node.name][0] if len(readers[node.name]) == 1 else None
      outputs.append(only.name if only is not None and
                     only.op in ACTIVATION_TYPES else node.name)
      added.extend(_batch_norm_as_depthwise(node, nodes))
  rewritten.node.extend(added)
  return rewritten, outputs


def quantization_aware_as_int8(graph_def, input_name, calibration):
  """A copy of quantization-aware `graph_def` that converts to int8 with
  every op in XNNPACK: its average pools and the BatchNorms training left
  in float become depthwise convolutions, and a FakeQuant with the range
  each new output takes on the calibration images follows it (see the
  module docstring). `calibration` yields `[images]` as a LiteRT
  representative dataset does."""
  graph_def, pool_outputs = _pools_as_depthwise(graph_def)
  graph_def, norm_outputs = _batch_norms_as_depthwise(graph_def)
  outputs = pool_outputs + norm_outputs
  if outputs:
    ranges = _calibrated_ranges(graph_def, outputs, input_name, calibration)
    for name, (low, high) in zip(outputs, ranges):
      _insert_fake_quant(graph_def, name, low, high)
  return graph_def
