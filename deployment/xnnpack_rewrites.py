"""Graph rewrites that keep an int8 LiteRT model inside XNNPACK.

XNNPACK, the LiteRT CPU delegate, has no int8 AVERAGE_POOL_2D. LiteRT runs
that op with its own kernel, on one thread, outside the delegate, and cuts
the delegated graph around it. Measured with `perf` on this project's 2-core
AMD EPYC (2026-12-07, random weights, batch 1): 28% of Inception-v3's int8
time and 9% of DenseNet-121's went to `tflite::optimized_integer_ops::
AveragePool`. The speed-ups of the rewrite below are in docs/performance.md
("Runtimes: int8 average pools inside XNNPACK").

A k x k average pool computes the same function as a depthwise convolution
with constant weights, which XNNPACK runs in int8:

* every window inside the map (VALID padding): weights 1 / (k_h * k_w);
* SAME padding, where border windows average fewer values: weights 1 (a
  window sum) times a constant [1, H, W, 1] map of 1 / (values in the
  window), a broadcast multiply XNNPACK also runs in int8.

The float graph's outputs agree to float rounding (tests/test_runtimes.py).
Float LiteRT files keep the pool: XNNPACK runs it in float, and the
rewrite measured no faster there.

    graph_def = xnnpack_rewrites.average_pools_as_convolutions(graph_def)
"""

import numpy as np

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf


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
  node.attr['dtype'].type = tf.float32.as_datatype_enum
  node.attr['value'].tensor.CopyFrom(tf.make_tensor_proto(value))
  return node


def _multiply(name, inputs):
  node = tf.NodeDef(name=name, op='Mul')
  node.attr['T'].type = tf.float32.as_datatype_enum
  node.input.extend(inputs)
  return node


def _input_shapes(graph_def):
  """{AvgPool node name: its input's static NHWC shape (a list)}."""
  with tf.Graph().as_default() as graph:
    tf.import_graph_def(graph_def, name='')
  return {op.name: op.inputs[0].shape.as_list()
          for op in graph.get_operations() if op.type == 'AvgPool'}


def _rewritable(node, shape):
  return (node.attr['data_format'].s in (b'', b'NHWC') and
          node.attr['T'].type == tf.float32.as_datatype_enum and
          len(shape) == 4 and None not in shape[1:])


def _as_depthwise(node, shape):
  """Turns AvgPool `node` into a depthwise convolution in place; the new
  nodes it needs (weights, and at SAME borders the count map and the
  multiply that takes the pool's name)."""
  _, kernel_h, kernel_w, _ = node.attr['ksize'].list.i
  _, stride_h, stride_w, _ = node.attr['strides'].list.i
  same = node.attr['padding'].s == b'SAME'
  counts = np.outer(_window_counts(shape[1], kernel_h, stride_h, same),
                    _window_counts(shape[2], kernel_w, stride_w, same))
  full_windows = bool((counts == kernel_h * kernel_w).all())
  name = node.name
  weight = 1.0 / (kernel_h * kernel_w) if full_windows else 1.0
  added = [_constant(name + '/depthwise_weights', np.full(
      [kernel_h, kernel_w, shape[3], 1], weight, np.float32))]
  node.op = 'DepthwiseConv2dNative'
  node.input.append(added[0].name)
  del node.attr['ksize']
  node.attr['dilations'].list.i.extend([1, 1, 1, 1])
  if not full_windows:
    node.name = name + '/window_sum'
    added.append(_constant(name + '/inverse_counts',
                           (1.0 / counts)[None, :, :, None].astype(np.float32)))
    added.append(_multiply(name, [node.name, added[-1].name]))
  return added


def average_pools_as_convolutions(graph_def):
  """A copy of `graph_def` with each float NHWC AvgPool of static spatial
  size computed by a depthwise convolution (see the module docstring); the
  consumers keep reading the pool's node name."""
  shapes = _input_shapes(graph_def)
  rewritten = tf.GraphDef()
  rewritten.CopyFrom(graph_def)
  added = []
  for node in rewritten.node:
    if node.op == 'AvgPool' and _rewritable(node, shapes[node.name]):
      added.extend(_as_depthwise(node, shapes[node.name]))
  rewritten.node.extend(added)
  return rewritten
