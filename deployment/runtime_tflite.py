"""Runs an exported `.tflite` with the LiteRT interpreter (`ai-edge-litert`).

The file carries the export's `inference_info` JSON in the LiteRT model's
metadata table (entry `inference_info`), so the preprocessing, image size,
label names and labels offset travel inside the one file:

    data = runtime_tflite.with_info(converter_output, info)
    info = runtime_tflite.read_info('/tmp/model.tflite')
    runner = runtime_tflite.TFLiteRunner('/tmp/model.tflite', num_threads=2)
    probabilities = runner.run(images)   # float32 [batch, num_classes]

The interpreter uses XNNPACK (LiteRT's default CPU delegate, float and int8).
A fully int8 model takes and returns int8: `run` quantizes the preprocessed
float images with the input's scale and zero point and dequantizes the
output, so every caller sees float probabilities whatever the quantization.
"""

import json
import os
import threading

import numpy as np

from deployment import inference
from deployment.errors import one_line
from deployment.errors import UserError

INFO_KEY = 'inference_info'


def with_info(model_bytes, info):
  """`model_bytes` (a converter's output) with `info` in its metadata."""
  from tensorflow.lite.python import schema_py_generated as schema  # pylint: disable=g-import-not-at-top
  from tensorflow.lite.tools import flatbuffer_utils  # pylint: disable=g-import-not-at-top
  model = flatbuffer_utils.read_model_from_bytearray(bytearray(model_bytes))
  buffer = schema.BufferT()
  buffer.data = np.frombuffer(
      json.dumps(info, sort_keys=True).encode('utf-8'), np.uint8)
  model.buffers.append(buffer)
  entry = schema.MetadataT()
  entry.name = INFO_KEY
  entry.buffer = len(model.buffers) - 1
  model.metadata = [m for m in (model.metadata or [])
                    if m.name.decode('utf-8') != INFO_KEY] + [entry]
  return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def _read_model_bytes(path):
  if not os.path.isfile(path):
    raise UserError('%s: no such model file' % path)
  with open(path, 'rb') as f:
    return f.read()


def read_info(path):
  """The `inference_info` dict stored in the `.tflite` at `path`."""
  from tensorflow.lite.python import schema_py_generated as schema  # pylint: disable=g-import-not-at-top
  data = _read_model_bytes(path)
  try:
    model = schema.Model.GetRootAsModel(data, 0)
    for i in range(model.MetadataLength()):
      entry = model.Metadata(i)
      if entry.Name().decode('utf-8') == INFO_KEY:
        text = model.Buffers(entry.Buffer()).DataAsNumpy().tobytes()
        return json.loads(text.decode('utf-8'))
    count = model.SubgraphsLength()
  except Exception as error:  # flatbuffers raises anything on garbage
    raise UserError('%s is not a LiteRT (.tflite) model (%s)' % (
        path, type(error).__name__)) from error
  if not count:
    raise UserError('%s is not a LiteRT (.tflite) model' % path)
  raise UserError('%s has no %s metadata: it was not exported by this '
                  'project; export it with export_inference_graph.py '
                  '--output_format=tflite' % (path, INFO_KEY))


class TFLiteRunner(object):
  """One LiteRT interpreter; `run` is serialised (the interpreter is not
  thread-safe) and resizes the batch dimension as batches change."""

  def __init__(self, path, num_threads=None):
    from ai_edge_litert.interpreter import Interpreter  # pylint: disable=g-import-not-at-top
    self.info = read_info(path)
    try:
      self._interpreter = Interpreter(
          model_path=path, num_threads=num_threads or os.cpu_count())
    except (ValueError, RuntimeError) as error:
      raise UserError('%s is not a LiteRT model the interpreter can load '
                      '(%s)' % (path, one_line(error)[:200])) from error
    self._input = self._interpreter.get_input_details()[0]
    self._output = self._interpreter.get_output_details()[0]
    inference.check_input_shape(path, self._input['shape'], self.info)
    self.input_dtype = np.dtype(self._input['dtype'])
    self._batch = None
    self._lock = threading.Lock()

  def _resize(self, batch):
    if batch != self._batch:
      shape = [batch] + inference.expected_input_shape(self.info)
      self._interpreter.resize_tensor_input(self._input['index'], shape)
      self._interpreter.allocate_tensors()
      self._batch = batch

  def run(self, images):
    """Float32 probabilities [batch, classes] of preprocessed `images`."""
    images = quantize(np.asarray(images, np.float32), self._input)
    with self._lock:
      self._resize(len(images))
      self._interpreter.set_tensor(self._input['index'], images)
      self._interpreter.invoke()
      output = self._interpreter.get_tensor(self._output['index'])
    return dequantize(output, self._output)


def quantize(values, details):
  """Float `values` as the tensor `details` takes them (int8 or float)."""
  dtype = np.dtype(details['dtype'])
  if dtype.kind == 'f':
    return values.astype(dtype)
  scale, zero_point = details['quantization']
  limits = np.iinfo(dtype)
  return np.clip(np.round(values / scale + zero_point), limits.min,
                 limits.max).astype(dtype)


def dequantize(values, details):
  """A tensor's values as float32 (int8 outputs through scale/zero point)."""
  if np.dtype(details['dtype']).kind == 'f':
    return values.astype(np.float32)
  scale, zero_point = details['quantization']
  return (values.astype(np.float32) - zero_point) * np.float32(scale)
