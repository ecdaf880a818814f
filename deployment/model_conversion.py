"""From a frozen inference graph to LiteRT (.tflite) and ONNX files.

The one conversion export_inference_graph.py (--output_format) and
nets/post_training_quantization.py share:

    frozen = inference.freeze_graph_def(graph_def, train_dir, nodes)
    calibration = model_conversion.CalibrationSet(dataset, info, 100)
    data = model_conversion.tflite_model(frozen, info, 'int8', calibration)
    model_conversion.write_model(data, '/tmp/model_int8.tflite')

Only the network goes into the file (`input` -> the Predictions node); the
export's `inference_info` goes with it (LiteRT metadata, ONNX
metadata_props), extended with the format and the quantization, and the
runtimes rebuild the evaluation preprocessing from it.

Quantizations (LiteRT): float32; float16 (weights stored as float16);
dynamic (int8 weights, float activations); int8 (everything int8, int8 input
and output). A graph holding FakeQuant ops (quantization-aware training, the
`--quantize` eval graph) converts to int8 with the ranges it learnt; any
other graph is calibrated on preprocessed images of a dataset split. Both
are rewritten first (`int8_rewrites`): a calibrated graph's average pools
become depthwise convolutions (XNNPACK has no int8 average pool); in a
quantization-aware graph these and the BatchNorms training left in float
become int8 layers with calibrated ranges.
"""

import re

import numpy as np

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf

from deployment import model_evaluation
from deployment import output_files
from deployment import int8_rewrites
from deployment.errors import one_line
from deployment.errors import UserError

QUANTIZATIONS = ('float32', 'float16', 'dynamic', 'int8')
# The newest opset tf2onnx 1.17 writes (onnxruntime 1.2x runs up to 2x).
ONNX_OPSET = 18
_FAKE_QUANT_OPS = ('FakeQuantWithMinMaxVars',
                   'FakeQuantWithMinMaxVarsPerChannel')
_INT8_RANGE = 255.0  # int8 steps between the lowest and the highest value


def network_graph_def(frozen, info):
  """Just the network of a frozen export: `input` -> the output node."""
  return tf.graph_util.extract_sub_graph(frozen, [info['output_node']])


def holds_fake_quant(graph_def):
  return any(node.op in _FAKE_QUANT_OPS for node in graph_def.node)


class CalibrationSet(object):
  """Preprocessed images of a dataset split for int8 calibration.

  Read through `model_evaluation.numpy_batches`, so calibration sees what
  evaluation sees. Calling it yields `[image [1, size, size, channels]]`,
  as a LiteRT representative dataset.
  """

  def __init__(self, dataset, info, num_images, preprocess_fn=None):
    self._args = (dataset, info, 1, preprocess_fn, num_images)
    first = next(iter(self._batches()), None)
    if first is None:
      raise UserError('the calibration split %s in %s has no records; pass '
                      'a split with images (--dataset_split_name)' % (
                          dataset.name, dataset.data_sources))

  def _batches(self):
    return model_evaluation.numpy_batches(*self._args)

  def __call__(self):
    for images, _ in self._batches():
      yield [images]

  def input_range(self):
    """(lowest, highest) value of the calibration images."""
    lowest, highest = np.inf, -np.inf
    for images, _ in self._batches():
      lowest, highest = min(lowest, images.min()), max(highest, images.max())
    return float(lowest), float(highest)


class ArrayCalibration(object):
  """Calibration from images already in memory (benchmarks, tests): the
  same interface as `CalibrationSet`."""

  def __init__(self, images):
    self._images = np.asarray(images, np.float32)

  def __call__(self):
    for image in self._images:
      yield [image[None]]

  def input_range(self):
    return float(self._images.min()), float(self._images.max())


def _symmetric_weight_ranges(graph_def):
  """Weight FakeQuants (narrow_range) with ranges symmetric around 0.

  LiteRT's int8 kernels take weights with zero point 0 only; contrib's
  training rewrite learnt asymmetric min/max for them (its uint8 target took
  any). Widening each to [-m, m], m = max(|min|, |max|), keeps every value
  representable.
  """
  nodes = {node.name: node for node in graph_def.node}
  for node in graph_def.node:
    if node.op not in _FAKE_QUANT_OPS or not node.attr['narrow_range'].b:
      continue
    ends = [int8_rewrites.source_node(nodes, name) for name in node.input[1:3]]
    if not all(end is not None and end.op == 'Const' for end in ends):
      continue
    low, high = (tf.make_ndarray(end.attr['value'].tensor) for end in ends)
    bound = np.maximum(np.abs(low), np.abs(high)).astype(np.float32)
    ends[0].attr['value'].tensor.CopyFrom(tf.make_tensor_proto(-bound))
    ends[1].attr['value'].tensor.CopyFrom(tf.make_tensor_proto(bound))
  return graph_def


def _configure(converter, quantization, calibration, quantization_aware):
  """Sets the converter's options for one of `QUANTIZATIONS`."""
  if quantization == 'float16':
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.target_spec.supported_types = [tf.float16]
  elif quantization == 'dynamic':
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
  elif quantization == 'int8' and quantization_aware:
    # The graph's FakeQuant ranges; the input's from the calibration images.
    lowest, highest = calibration.input_range()
    std = _INT8_RANGE / max(highest - lowest, 1e-6)
    converter.inference_type = tf.int8
    converter.quantized_input_stats = {'input': (-128.0 - lowest * std, std)}
  elif quantization == 'int8':
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = calibration
    converter.target_spec.supported_ops = [
        tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8


def _unsupported(converter_name, info, error=None, ops=()):
  """The one-line error of a conversion that failed, naming the ops (found
  in `error`'s text when not given) and the network."""
  text = one_line(error) if error is not None else ''
  ops = sorted(set(ops) |
               set(re.findall(r"'tf\.(\w+)' op", text)) |
               set(re.findall(r"Tensorflow op \[[^\]]*: (\w+)\]", text)))
  what = ('op(s) %s' % ', '.join(ops)) if ops else 'the graph (%s)' % (
      text[:300])
  return UserError('%s cannot convert %s of network %s; export it as a '
                   'frozen .pb (--output_format=pb) instead' % (
                       converter_name, what, info['model_name']))


def tflite_model(frozen, info, quantization='float32', calibration=None,
                 batch_size=None):
  """The `.tflite` bytes of a frozen export, `info` in its metadata.

  Args:
    frozen: a frozen inference GraphDef (`inference.freeze_graph_def`).
    info: its `inference_info` dict.
    quantization: one of `QUANTIZATIONS`.
    calibration: a `CalibrationSet`; needed for int8.
    batch_size: a fixed batch dimension; None keeps it dynamic, so the
      interpreter can resize it (a fixed one bakes into the output reshape).
  """
  from deployment import runtime_tflite  # pylint: disable=g-import-not-at-top
  if quantization not in QUANTIZATIONS:
    raise UserError('--tflite_quantization=%s: pick one of %s' % (
        quantization, ', '.join(QUANTIZATIONS)))
  if quantization == 'int8' and calibration is None:
    raise UserError('int8 needs calibration images: pass --dataset_dir (and '
                    '--dataset_split_name) of the data the model learnt')
  graph_def = network_graph_def(frozen, info)
  quantization_aware = holds_fake_quant(graph_def)
  if quantization_aware:
    graph_def = _symmetric_weight_ranges(graph_def)
    if quantization == 'int8':
      graph_def = int8_rewrites.quantization_aware_as_int8(
          graph_def, info['input_node'], calibration)
  elif quantization == 'int8':
    graph_def = int8_rewrites.average_pools_as_convolutions(graph_def)
  with tf.Graph().as_default() as graph, tf.Session(graph=graph) as session:
    tf.import_graph_def(graph_def, name='')
    images = graph.get_tensor_by_name(info['input_node'] + ':0')
    if batch_size:
      images.set_shape([batch_size] + images.shape.as_list()[1:])
    output = graph.get_tensor_by_name(info['output_node'] + ':0')
    converter = tf.lite.TFLiteConverter.from_session(session, [images],
                                                     [output])
    _configure(converter, quantization, calibration, quantization_aware)
    try:
      data = converter.convert()
    except Exception as error:  # ConverterError and friends, one line each
      raise _unsupported('the LiteRT converter', info, error) from error
  return runtime_tflite.with_info(
      data, dict(info, format='tflite', quantization=quantization,
                 quantization_aware=quantization_aware))


def onnx_model(frozen, info, opset=ONNX_OPSET):
  """The `.onnx` bytes of a frozen export (tf2onnx), `info` in its metadata."""
  import onnx  # pylint: disable=g-import-not-at-top
  import tf2onnx  # pylint: disable=g-import-not-at-top
  from deployment import runtime_onnx  # pylint: disable=g-import-not-at-top
  graph_def = network_graph_def(frozen, info)
  try:
    model_proto, _ = tf2onnx.convert.from_graph_def(
        graph_def, input_names=[info['input_node'] + ':0'],
        output_names=[info['output_node'] + ':0'], opset=opset)
  except Exception as error:  # tf2onnx raises plain exceptions
    raise _unsupported('tf2onnx', info, error) from error
  # tf2onnx only logs an op it cannot convert and leaves the TensorFlow op in
  # the graph, which no ONNX runtime runs.
  unknown = sorted({node.op_type for node in model_proto.graph.node
                    if not onnx.defs.has(node.op_type, node.domain)})
  if unknown:
    raise _unsupported('tf2onnx', info, ops=unknown)
  return runtime_onnx.with_info(
      model_proto, dict(info, format='onnx', quantization='float32',
                        onnx_opset=opset))


def write_model(data, output_file, what='--output_file'):
  """Writes a converted model whole or not at all (`output_files`)."""
  output_files.write_output(output_file, data, what)
