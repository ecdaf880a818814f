"""Runs an exported `.onnx` with onnxruntime (CPU).

The file carries the export's `inference_info` JSON in the ONNX model's
`metadata_props` (key `inference_info`), so the preprocessing, image size,
label names and labels offset travel inside the one file:

    data = runtime_onnx.with_info(model_proto, info)
    info = runtime_onnx.read_info('/tmp/model.onnx')
    runner = runtime_onnx.OnnxRunner('/tmp/model.onnx', num_threads=2)
    probabilities = runner.run(images)   # float32 [batch, num_classes]

onnxruntime's `InferenceSession.run` is thread-safe, so one session serves
every request.
"""

import json
import os

import numpy as np

from deployment import inference
from deployment.errors import one_line
from deployment.errors import UserError

INFO_KEY = 'inference_info'


def with_info(model_proto, info):
  """The serialised `model_proto` (an `onnx.ModelProto`) holding `info`."""
  kept = [p for p in model_proto.metadata_props if p.key != INFO_KEY]
  del model_proto.metadata_props[:]
  model_proto.metadata_props.extend(kept)
  entry = model_proto.metadata_props.add()
  entry.key = INFO_KEY
  entry.value = json.dumps(info, sort_keys=True)
  return model_proto.SerializeToString()


def _load_proto(path):
  import onnx  # pylint: disable=g-import-not-at-top
  if not os.path.isfile(path):
    raise UserError('%s: no such model file' % path)
  try:
    model = onnx.load_model(path, load_external_data=False)
  except Exception as error:  # protobuf raises several unrelated types
    raise UserError('%s is not an ONNX model (%s)' % (
        path, type(error).__name__)) from error
  if not model.graph.node:
    raise UserError('%s is not an ONNX model (no graph)' % path)
  return model


def read_info(path):
  """The `inference_info` dict stored in the `.onnx` at `path`."""
  for entry in _load_proto(path).metadata_props:
    if entry.key == INFO_KEY:
      return json.loads(entry.value)
  raise UserError('%s has no %s metadata: it was not exported by this '
                  'project; export it with export_inference_graph.py '
                  '--output_format=onnx' % (path, INFO_KEY))


class OnnxRunner(object):
  """One onnxruntime session on the CPU execution provider."""

  def __init__(self, path, num_threads=None):
    import onnxruntime  # pylint: disable=g-import-not-at-top
    self.info = read_info(path)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = num_threads or os.cpu_count()
    try:
      self._session = onnxruntime.InferenceSession(
          path, sess_options=options, providers=['CPUExecutionProvider'])
    except Exception as error:  # onnxruntime's own exception types
      raise UserError('%s is not an ONNX model onnxruntime can load (%s)' % (
          path, one_line(error)[:200])) from error
    model_input = self._session.get_inputs()[0]
    inference.check_input_shape(path, model_input.shape, self.info)
    self._input_name = model_input.name
    self.input_dtype = np.dtype(np.float32)

  def run(self, images):
    """Float32 probabilities [batch, classes] of preprocessed `images`."""
    feed = {self._input_name: np.asarray(images, np.float32)}
    return self._session.run(None, feed)[0].astype(np.float32)
