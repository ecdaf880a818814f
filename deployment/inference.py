"""From a checkpoint to predictions: export, freeze, SavedModel, classify.

The exported GraphDef keeps slim's contract (a float placeholder named
`input`, the network's predictions as output (its 'Predictions' end point
under upstream's op name, e.g. `InceptionV4/Logits/Predictions`, or a softmax
of its logits where upstream has none); for a video network,
`num_frames` in the spec, the placeholder holds clips [batch, num_frames,
size, size, channels]) and carries two extras so a frozen `.pb` is
self-describing:

* `encoded_image` (string placeholder) -> `preprocessed_image`: the decode and
  *evaluation* preprocessing the network was evaluated with (the model's own,
  or `preprocessing_name` when it was trained with another), so a classifier
  needs no Python knowledge of the model to prepare an image;
* `inference_info`: a string constant holding JSON (model name,
  preprocessing name, image size, node names, labels offset and, when known,
  the class names).

Decoding a 1-channel image builds a functional `cond`, whose branches live in
the graph's function library: freezing keeps that library.

    graph_def, info = inference.export_graph_def(spec)
    frozen = inference.freeze_graph_def(graph_def, '/tmp/train', info)
    classifier = inference.Classifier('/tmp/model_freeze.pb')
    classifier.classify([open('rose.jpg', 'rb').read()], top_k=5)
"""

import collections
import json
import os

import numpy as np
from google.protobuf import text_format

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf

from datasets import dataset_factory
from datasets import dataset_utils
from deployment import checkpoints
from deployment import image_limits
from deployment import output_files
from deployment import pipeline
from deployment import quantize
from deployment import session_config
from deployment.errors import UserError
from nets import i3d_utils
from nets import nets_factory
from preprocessing import preprocessing_factory

INPUT_NODE = 'input'
ENCODED_INPUT_NODE = 'encoded_image'
PREPROCESSED_NODE = 'preprocessed_image'
INFO_NODE = 'inference_info'
LABELS_SUFFIX = '.label'
SERVING_INPUT_KEY = 'image_bytes'  # '_bytes' lets TF Serving's REST decode b64
TFLITE_SUFFIX = '.tflite'
ONNX_SUFFIX = '.onnx'
RUNTIME_SUFFIXES = (TFLITE_SUFFIX, ONNX_SUFFIX)

_VARIABLE_OPS = ('VariableV2', 'Variable', 'VarHandleOp')
# Where tf.train.ExponentialMovingAverage keeps a variable's average (its
# default name; the decay is not part of it): `<variable>/<this>`.
_AVERAGE_SUFFIX = '/ExponentialMovingAverage'

ExportSpec = collections.namedtuple('ExportSpec', [
    'model_name',       # registered in nets_factory
    'num_classes',      # logits the network has
    'image_size',       # None = the network's default size
    'batch_size',       # None = any batch size
    'is_training',
    'channels',         # 1 or 3, what the network takes
    'use_grayscale',
    'labels_offset',
    'labels_to_names',  # {dataset label: name} or None
    'num_frames',       # frames per clip of a video network; None: images
    'preprocessing_name',  # None = the network's registered preprocessing
    'quantize',         # the graph quantization-aware training evaluates
])

Prediction = collections.namedtuple('Prediction', ['class_id', 'label',
                                                   'score'])

# What TensorFlow's label_image sample lets a user choose about a frozen
# graph: the tensors to feed and read (None: those recorded at export), and
# `input_mean`/`input_std` (None: the graph's own preprocessing; given, each
# image is resized to the input size and fed as (pixel - mean) / std).
GraphLayers = collections.namedtuple(
    'GraphLayers', ['input_layer', 'output_layer', 'input_mean', 'input_std'])
GraphLayers.__new__.__defaults__ = (None, None, None, None)


class ImageError(UserError):
  """Bytes that are not an image the model can read."""


class ModelError(UserError):
  """The model fails on an image that decodes: the model is at fault."""


def make_spec(model_name, num_classes, image_size=None, batch_size=None,
              is_training=False, channels=3, use_grayscale=False,
              labels_offset=0, labels_to_names=None, num_frames=None,
              preprocessing_name=None, quantize=False):
  """Returns an `ExportSpec`; `channels` is forced to 1 by `use_grayscale`."""
  return ExportSpec(model_name, num_classes, image_size or None,
                    batch_size or None, is_training,
                    1 if use_grayscale else channels, use_grayscale,
                    labels_offset, labels_to_names, num_frames,
                    preprocessing_name or None, bool(quantize))


def spec_from_dataset(model_name, dataset_name, dataset_dir=None,
                      labels_offset=0, **kwargs):
  """An `ExportSpec` whose classes, channels and names come from a dataset.

  Without `dataset_dir`, or with one holding no split of a registered
  dataset (upstream's export reads only its descriptor, never the files),
  the registered dataset's class count is used (as slim's export did for
  imagenet) and its class names if it has them.
  """
  dataset = _any_split(dataset_name, dataset_dir) if dataset_dir else None
  if dataset:
    num_classes, channels = dataset.num_classes, dataset.channels
    labels_to_names = dataset.labels_to_names
  elif dataset_name in dataset_factory.SPECS:
    spec = dataset_factory.SPECS[dataset_name]
    num_classes, channels = spec.num_classes, spec.channels
    labels_to_names = (dict(enumerate(spec.class_names))
                       if spec.class_names else None)
  else:
    raise UserError('--dataset_name=%s is not registered (%s); pass '
                    '--dataset_dir with its converted files' % (
                        dataset_name,
                        ', '.join(dataset_factory.dataset_names())))
  if num_classes - labels_offset < 1:
    raise UserError('--labels_offset=%d leaves no class of the %d in %s' %
                    (labels_offset, num_classes, dataset_name))
  return make_spec(model_name, num_classes - labels_offset, channels=channels,
                   labels_offset=labels_offset,
                   labels_to_names=labels_to_names, **kwargs)


def _holds_files(dataset_dir):
  """Whether `dataset_dir` exists and holds anything."""
  return bool(dataset_dir) and tf.io.gfile.isdir(dataset_dir) and bool(
      tf.io.gfile.listdir(dataset_dir))


def _any_split(dataset_name, dataset_dir):
  """The descriptor of the first split present; only class facts are used.

  When none loads, the train split's error is the one told: the later ones
  are mostly "no such split", which would hide a broken labels file. None
  when a registered dataset's folder holds nothing at all (the caller falls
  back to its registered facts, as upstream's export did).
  """
  # Asked first: loading ImageNet writes its labels.txt into the folder.
  empty = not _holds_files(dataset_dir)
  error = None
  for split_name in ('train', 'validation', 'test'):
    try:
      return pipeline.load_dataset(dataset_name, split_name, dataset_dir)
    except UserError as split_error:
      error = error or split_error  # the train split's, the one users mean
  if dataset_name in dataset_factory.SPECS and empty:
    tf.logging.warning('No %s split in %s (%s): using the registered class '
                       'count', dataset_name, dataset_dir, error)
    return None
  raise UserError('--dataset_name=%s --dataset_dir=%s: %s' % (
      dataset_name, dataset_dir, error)) from error


def preprocessing_name_of(spec):
  """The preprocessing name `spec` exports, e.g. 'lenet' or 'inception'.

  Raises:
    UserError: an unknown `preprocessing_name` (or network), with the choices.
  """
  try:
    return preprocessing_factory.preprocessing_name_for(
        spec.preprocessing_name or spec.model_name)
  except ValueError as error:
    flag = '--preprocessing_name' if spec.preprocessing_name else (
        '--model_name')
    raise UserError('%s: %s' % (flag, error)) from error


def _network_and_preprocessing(spec):
  """The spec's network and its evaluation preprocessing, and image size."""
  network_fn, preprocess_fn = pipeline.network_and_preprocessing(
      spec.model_name, spec.num_classes, spec.is_training,
      preprocessing_name=spec.preprocessing_name,
      use_grayscale=spec.use_grayscale, num_frames=spec.num_frames,
      video_flags='--is_video_model --num_frames=N',
      preprocess_for_training=False,
      quantize_delay=0 if spec.quantize else None)
  image_size = spec.image_size or network_fn.default_image_size
  return network_fn, preprocess_fn, image_size


def _decode_and_preprocess(encoded, preprocess_fn, image_size, channels):
  """The evaluation pipeline's decode + preprocessing of one encoded image."""
  image = dataset_factory.decode_image(encoded, channels)
  image = tf.cast(preprocess_fn(image, image_size, image_size), tf.float32)
  image.set_shape([image_size, image_size, channels])
  return image


def _info(spec, image_size, output_node):
  labels = spec.labels_to_names
  return {
      'model_name': spec.model_name,
      'preprocessing_name': preprocessing_name_of(spec),
      'num_classes': spec.num_classes,
      'image_size': image_size,
      'channels': spec.channels,
      'use_grayscale': spec.use_grayscale,
      'is_training': spec.is_training,
      'labels_offset': spec.labels_offset,
      'num_frames': spec.num_frames,
      'input_node': INPUT_NODE,
      'output_node': output_node,
      'encoded_input_node': ENCODED_INPUT_NODE,
      'preprocessed_node': PREPROCESSED_NODE,
      'quantize': spec.quantize,
      'labels': ({str(k): v for k, v in labels.items()} if labels else None),
  }


def build_inference_graph(spec):
  """Builds input, network, preprocessing and info in the default graph.

  Returns:
    The info dict (also stored in the graph as `inference_info`).
  """
  network_fn, preprocess_fn, image_size = _network_and_preprocessing(spec)
  frames = [spec.num_frames] if spec.num_frames else []
  images = tf.placeholder(
      tf.float32,
      [spec.batch_size] + frames + [image_size, image_size, spec.channels],
      name=INPUT_NODE)
  logits, end_points = network_fn(images)
  output_node = nets_factory.predictions(logits, end_points).op.name
  encoded = tf.placeholder(tf.string, [], name=ENCODED_INPUT_NODE)
  tf.identity(_decode_and_preprocess(encoded, preprocess_fn, image_size,
                                     spec.channels), name=PREPROCESSED_NODE)
  info = _info(spec, image_size, output_node)
  tf.constant(json.dumps(info, sort_keys=True), name=INFO_NODE)
  return info


def export_graph_def(spec):
  """Returns `(graph_def, info)` of the inference graph `spec` describes."""
  with tf.Graph().as_default() as graph:
    info = build_inference_graph(spec)
    return graph.as_graph_def(), info


def output_node_names(info):
  """Nodes a frozen graph keeps: the output, preprocessing and info."""
  return [info['output_node'], info['preprocessed_node'], INFO_NODE]


def read_info(graph_def, source):
  """Reads `inference_info` from a GraphDef; `source` names it in errors."""
  for node in graph_def.node:
    if node.name == INFO_NODE:
      return json.loads(tf.make_ndarray(node.attr['value'].tensor).item())
  raise UserError(
      '%s has no %s node: it was not exported by this project. Export it '
      'with export_inference_graph.py (then freeze_graph.py)' %
      (source, INFO_NODE))


def expected_input_shape(info):
  """[height, width, channels] the network of `info` takes."""
  return [info['image_size'], info['image_size'], info['channels']]


def check_input_shape(path, model_shape, info):
  """One line when a model's input is not the image its info describes."""
  expected = expected_input_shape(info)
  # numpy ints (LiteRT) and names of free dimensions (ONNX), as printed.
  model_shape = [d if d is None or isinstance(d, str) else int(d)
                 for d in model_shape]
  if model_shape[1:] != expected:
    raise UserError(
        '%s takes input of shape %s but its inference_info describes %s '
        '(%s at %d px, %d channel(s)); export it again with '
        'export_inference_graph.py' % (
            path, model_shape, ['batch'] + expected,
            info['model_name'], info['image_size'], info['channels']))


def write_graph_def(graph_def, output_file, as_text=False,
                    flag='--output_file'):
  """Writes a GraphDef (binary, or text when `as_text`), making the folder.

  All or nothing (`output_files.write_output`): a failed write leaves an
  existing file unchanged and is one UserError naming `flag`.
  """
  data = (text_format.MessageToString(graph_def) if as_text
          else graph_def.SerializeToString())
  output_files.write_output(output_file, data, flag)


def read_graph_def(path, binary=True):
  """Reads a GraphDef file, one clear error when it is missing or broken."""
  if not tf.gfile.Exists(path) or tf.gfile.IsDirectory(path):
    raise UserError('%s: no such graph file; run export_inference_graph.py '
                    'first or fix the path' % path)
  graph_def = tf.GraphDef()
  with tf.gfile.GFile(path, 'rb') as f:
    data = f.read()
  try:
    if binary:
      graph_def.ParseFromString(data)
    else:
      text_format.Merge(data.decode('utf-8'), graph_def)
  except Exception as error:  # protobuf raises several unrelated types
    raise UserError('%s is not a %s GraphDef (%s); check --input_binary' % (
        path, 'binary' if binary else 'text', type(error).__name__)) from error
  return graph_def


def checkpoint_names(checkpoint_path, variable_names, moving_averages=False):
  """{graph variable name: the checkpoint entry to read it from}.

  With `moving_averages` a variable reads the average training kept of it
  (--moving_average_decay, as eval_image_classifier.py evaluates it) where
  the checkpoint has one, else its own value.

  Raises:
    UserError: `moving_averages` on a checkpoint without any average.
  """
  names = {name: name for name in variable_names}
  if not moving_averages:
    return names
  held = tf.train.load_checkpoint(checkpoint_path).get_variable_to_shape_map()
  averaged = {name: name + _AVERAGE_SUFFIX for name in names
              if name + _AVERAGE_SUFFIX in held}
  if not averaged:
    raise UserError('checkpoint %s holds no moving averages of the weights; '
                    'train with --moving_average_decay or export without it'
                    % checkpoint_path)
  names.update(averaged)
  return names


def _checkpoint_values(checkpoint_path, graph_def, moving_averages):
  """{variable node name: value} for every variable in `graph_def`."""
  names_to_shapes = {node.name: [d.size for d in node.attr['shape'].shape.dim]
                     for node in graph_def.node if node.op in _VARIABLE_OPS}
  names = checkpoint_names(checkpoint_path, names_to_shapes, moving_averages)
  checkpoints.check_variables(
      checkpoint_path,
      {names[name]: shape for name, shape in names_to_shapes.items()},
      quantize.missing_ranges_hint(
          'check --model_name and --dataset_name/--labels_offset (the class '
          'count) against the training run'))
  reader = tf.train.load_checkpoint(checkpoint_path)
  return {name: reader.get_tensor(names[name]) for name in names_to_shapes}


def freeze_graph_def(graph_def, checkpoint_path, output_nodes,
                     moving_averages=False):
  """Folds the checkpoint's variables into constants.

  Keeps only what `output_nodes` need (savers, initialisers and anything
  training-only go) and removes identity/check-numerics nodes. The function
  library (the branches of functional `cond`s, as 1-channel decoding builds)
  stays: without it the graph fails with "Op type not registered".

  Args:
    graph_def: an inference GraphDef with variables.
    checkpoint_path: a checkpoint prefix or a directory (its latest one).
    output_nodes: names of the nodes to keep.
    moving_averages: fold in the weights' moving averages (see
      `checkpoint_names`) instead of the weights.

  Returns:
    The frozen GraphDef.
  """
  checkpoint_path = checkpoints.resolve_readable(checkpoint_path)
  values = _checkpoint_values(checkpoint_path, graph_def, moving_averages)
  missing = [n for n in output_nodes
             if n not in {node.name for node in graph_def.node}]
  if missing:
    raise UserError('output node(s) %s are not in the graph; leave '
                    '--output_node_names empty to use the exported ones' %
                    ', '.join(missing))
  with tf.Graph().as_default() as graph:
    tf.import_graph_def(graph_def, name='')
    # Fed, not embedded as constants: a constant of a VGG's 400 MB would be
    # copied into the graph and constant-folded (tens of seconds).
    feeds = {}
    assigns = [_assign_op(graph, name, value, feeds) for name, value in
               values.items()]
    with tf.Session(graph=graph) as sess:
      sess.run(assigns, feeds)
      frozen = tf.graph_util.convert_variables_to_constants(
          sess, graph.as_graph_def(), output_nodes)
  pruned = tf.graph_util.remove_training_nodes(
      frozen, protected_nodes=list(output_nodes) + [INPUT_NODE])
  # remove_training_nodes rebuilds the GraphDef from its nodes alone.
  pruned.library.CopyFrom(frozen.library)
  pruned.versions.CopyFrom(frozen.versions)
  return pruned


def _assign_op(graph, name, value, feeds):
  """The op that assigns `value` to variable `name`, fed through `feeds`."""
  variable = graph.get_tensor_by_name(name + ':0')
  fed = tf.placeholder(value.dtype, value.shape)
  feeds[fed] = value
  if variable.dtype == tf.resource:
    return tf.raw_ops.AssignVariableOp(resource=variable, value=fed)
  return tf.assign(variable, fed)


def labels_path_for(graph_path):
  """`model.pb` -> `model.label`, the tutorial's name for the labels."""
  return os.path.splitext(graph_path)[0] + LABELS_SUFFIX


def labels_from_info(info):
  labels = info.get('labels')
  return {int(k): v for k, v in labels.items()} if labels else None


def write_labels(labels_to_names, path, what='the labels file'):
  """Writes the `id:name` lines whole (one UserError naming `what`)."""
  output_files.write_output(path, dataset_utils.label_file_text(
      labels_to_names), what)


def read_labels(path):
  if not os.path.isfile(path):
    raise UserError('%s: no such labels file (lines "id:name"); pass '
                    '--label_file or leave it empty' % path)
  try:
    return dataset_utils.read_label_file(os.path.dirname(
        os.path.abspath(path)), os.path.basename(path))
  except ValueError as error:
    raise UserError(str(error)) from error


def export_saved_model(spec, checkpoint_path, export_dir, top_k=5,
                       moving_averages=False):
  """Writes a SavedModel whose `serving_default` classifies encoded images.

  Signature inputs: `image_bytes` (string [batch], JPEG/PNG/GIF/BMP bytes).
  Outputs: `classes` (int64 [batch, k], dataset label ids), `class_names`
  (string [batch, k]), `probabilities` (float32 [batch, k]), best first.
  A video network (`spec.num_frames`) sees each image as a still clip;
  `moving_averages` saves the weights' averages (see `checkpoint_names`).
  """
  checkpoint_path = checkpoints.resolve_readable(checkpoint_path)
  if tf.gfile.Exists(export_dir):
    raise UserError('--saved_model_dir=%s already exists; SavedModels are '
                    'never overwritten, pick a new (version) directory' %
                    export_dir)
  network_fn, preprocess_fn, image_size = _network_and_preprocessing(spec)
  k = min(top_k, spec.num_classes)
  with tf.Graph().as_default():
    encoded = tf.placeholder(tf.string, [None], name=SERVING_INPUT_KEY)
    images = tf.map_fn(
        lambda one: _decode_and_preprocess(one, preprocess_fn, image_size,
                                           spec.channels),
        encoded, fn_output_signature=tf.float32)
    if spec.num_frames:
      images = i3d_utils.still_clips(images, spec.num_frames)
    logits, end_points = network_fn(images)
    probabilities, indices = tf.nn.top_k(
        nets_factory.predictions(logits, end_points), k=k)
    classes = tf.cast(indices, tf.int64) + spec.labels_offset
    names = [_label_name(spec.labels_to_names, i + spec.labels_offset)
             for i in range(spec.num_classes)]
    class_names = tf.gather(tf.constant(names), indices)
    variables = {var.op.name: var for var in tf.global_variables()}
    sources = checkpoint_names(checkpoint_path, variables, moving_averages)
    saver = tf.train.Saver({sources[name]: var
                            for name, var in variables.items()})
    signature = tf.saved_model.signature_def_utils.predict_signature_def(
        inputs={SERVING_INPUT_KEY: encoded},
        outputs={'classes': classes, 'class_names': class_names,
                 'probabilities': probabilities})
    with tf.Session() as sess:
      saver.restore(sess, checkpoint_path)
      # Built aside and renamed in: never half a SavedModel at export_dir.
      with output_files.new_directory(export_dir,
                                      '--saved_model_dir') as partial:
        builder = tf.saved_model.builder.SavedModelBuilder(partial)
        builder.add_meta_graph_and_variables(
            sess, [tf.saved_model.tag_constants.SERVING],
            signature_def_map={'serving_default': signature},
            strip_default_attrs=True)
        builder.save()
  return k


def _label_name(labels_to_names, class_id):
  if labels_to_names and class_id in labels_to_names:
    return labels_to_names[class_id]
  return str(class_id)


class Classifier(object):
  """A frozen graph, SavedModel, `.tflite` or `.onnx`, loaded once, safe to
  call from threads. `num_threads` is the LiteRT/onnxruntime thread count
  (None: every core).

  Attributes:
    labels_to_names: {class id: name} or None.
    max_top_k: the most predictions one image can get.
    model_name: the network the model was exported from (frozen graphs).
  """

  def __init__(self, model_path, label_file=None, layers=GraphLayers(),
               num_threads=None):
    is_runtime_file = model_path.endswith(RUNTIME_SUFFIXES)
    if layers != GraphLayers() and (os.path.isdir(model_path) or
                                    is_runtime_file):
      raise UserError('%s is no frozen graph: input/output layers and input '
                      'mean/std apply to frozen graphs (.pb) only' %
                      model_path)
    if os.path.isdir(model_path):
      self._backend = _SavedModelBackend(model_path)
    elif is_runtime_file:
      self._backend = _RuntimeBackend(open_runner(model_path, num_threads))
    elif os.path.isfile(model_path):
      self._backend = _FrozenGraphBackend(model_path, layers)
    else:
      raise UserError('%s: no such model; pass a frozen .pb (freeze_graph.py), '
                      'a .tflite, an .onnx or a SavedModel directory' %
                      model_path)
    if not label_file and os.path.isfile(labels_path_for(model_path)):
      label_file = labels_path_for(model_path)
    self._labels_from_file = bool(label_file)
    if label_file:
      self.labels_to_names = read_labels(label_file)
    else:
      self.labels_to_names = self._backend.labels_to_names
    self.max_top_k = self._backend.max_top_k
    self.model_name = self._backend.model_name

  def classify(self, encoded_images, top_k=5):
    """Returns, per encoded image, its `top_k` `Prediction`s, best first.

    Raises:
      ImageError: an image cannot be decoded (its index is in the message).
    """
    if not encoded_images:
      return []
    top_k = max(1, min(top_k, self.max_top_k))
    ids, scores, names = self._backend.top_k(list(encoded_images), top_k)
    if names is None or self._labels_from_file:
      names = [[_label_name(self.labels_to_names, int(i)) for i in row]
               for row in ids]
    return [[Prediction(int(i), name, float(s))
             for i, s, name in zip(row_ids, row_scores, row_names)]
            for row_ids, row_scores, row_names in zip(ids, scores, names)]


def _graph_tensor(graph, node_name, path, recorded):
  """Output 0 of `node_name`; a one-line error when the graph lacks it."""
  try:
    return graph.get_tensor_by_name(node_name + ':0')
  except (KeyError, ValueError) as error:
    raise UserError('%s has no node %s; check the layer name (exported with '
                    'input %s and output %s)' % (
                        path, node_name, recorded['input_node'],
                        recorded['output_node'])) from error


def _resize_and_normalize(encoded, image_size, channels, mean, std):
  """label_image's preprocessing: decode, bilinear resize, (x - mean) / std."""
  image = tf.cast(dataset_factory.decode_image(encoded, channels), tf.float32)
  image = tf.image.resize(image, [image_size, image_size])
  return (image - mean) / std


def _check_frozen(graph_def, path):
  """A graph exported without --checkpoint_path has variables, no values."""
  if any(node.op in _VARIABLE_OPS for node in graph_def.node):
    raise UserError(
        '%s is not frozen (its variables hold no values); freeze it: python '
        'freeze_graph.py --input_graph=%s --input_checkpoint=TRAIN_DIR '
        '--output_graph=MODEL_freeze.pb, or export it again with '
        '--checkpoint_path' % (path, path))


class _FrozenGraphBackend(object):
  """Runs the embedded preprocessing per image, then one network batch."""

  def __init__(self, path, layers=GraphLayers()):
    graph_def = read_graph_def(path)
    info = read_info(graph_def, path)
    _check_frozen(graph_def, path)
    recorded = info
    info = dict(info, input_node=layers.input_layer or info['input_node'],
                output_node=layers.output_layer or info['output_node'])
    self.info = info
    self.model_name = info['model_name']
    self.labels_to_names = labels_from_info(info)
    self.max_top_k = info['num_classes']
    self._offset = info['labels_offset']
    # Video networks take clips: each image becomes a still clip.
    self._num_frames = info.get('num_frames')
    self._batch_size = None
    self._graph = tf.Graph()
    with self._graph.as_default():
      tf.import_graph_def(graph_def, name='')
    self._encoded = self._graph.get_tensor_by_name(
        info['encoded_input_node'] + ':0')
    self._input = _graph_tensor(self._graph, info['input_node'], path,
                                recorded)
    self._output = _graph_tensor(self._graph, info['output_node'], path,
                                 recorded)
    self._batch_size = self._input.shape.as_list()[0]
    if layers.input_mean is None and layers.input_std is None:
      self._preprocessed = self._graph.get_tensor_by_name(
          info['preprocessed_node'] + ':0')
    else:
      with self._graph.as_default():
        self._preprocessed = _resize_and_normalize(
            self._encoded, info['image_size'], info['channels'],
            layers.input_mean or 0.0, layers.input_std or 1.0)
    self._session = tf.Session(graph=self._graph,
                               config=session_config.frozen_graph_config(
                                   graph_def.ByteSize()))

  def top_k(self, encoded_images, k):
    images = _preprocess_each(self._session, self._encoded,
                              self._preprocessed, encoded_images)
    if self._num_frames:
      images = np.repeat(images[:, None], self._num_frames, axis=1)
    return _top_k(self.run(images), k, self._offset)

  def run(self, images):
    """Probabilities [batch, classes] of preprocessed `images`."""
    return np.concatenate(
        [self._session.run(self._output, {self._input: batch})
         for batch in self._batches(images)])[:len(images)]

  def _batches(self, images):
    """Splits into the exported batch size, padding the last batch."""
    if not self._batch_size:
      yield images
      return
    for start in range(0, len(images), self._batch_size):
      batch = images[start:start + self._batch_size]
      pad = self._batch_size - len(batch)
      padded = np.concatenate([batch, np.zeros((pad,) + batch.shape[1:],
                                               batch.dtype)])
      yield padded if pad else batch


class _SavedModelBackend(object):
  """Feeds the `serving_default` signature of a SavedModel."""

  def __init__(self, export_dir):
    self._graph = tf.Graph()
    self._session = tf.Session(graph=self._graph)
    try:
      meta_graph = tf.saved_model.loader.load(
          self._session, [tf.saved_model.tag_constants.SERVING], export_dir)
    except (IOError, RuntimeError, ValueError) as error:
      raise UserError('%s is not a SavedModel with a "serve" tag (%s)' % (
          export_dir, ' '.join(str(error).split())[:200])) from error
    signature = meta_graph.signature_def.get('serving_default')
    if signature is None or SERVING_INPUT_KEY not in signature.inputs:
      raise UserError('%s has no serving_default signature taking %s; '
                      'export it with export_inference_graph.py '
                      '--saved_model_dir' % (export_dir, SERVING_INPUT_KEY))
    tensor = lambda info: self._graph.get_tensor_by_name(info.name)
    self._encoded = tensor(signature.inputs[SERVING_INPUT_KEY])
    self._outputs = [tensor(signature.outputs[key]) for key in
                     ('classes', 'probabilities', 'class_names')]
    self.labels_to_names = None  # names come with every answer instead
    self.max_top_k = self._outputs[0].shape.as_list()[-1]
    self.model_name = None

  def top_k(self, encoded_images, k):
    try:
      classes, probabilities, names = self._session.run(
          self._outputs, {self._encoded: encoded_images})
    except tf.errors.InvalidArgumentError as error:
      raise _image_or_model_error(encoded_images, error,
                                  'an image') from error
    names = [[name.decode('utf-8') for name in row[:k]] for row in names]
    return classes[:, :k], probabilities[:, :k], names


def open_runner(model_path, num_threads=None):
  """The model file at `model_path` as a runner: `.info` (the export's
  `inference_info`) and `.run(preprocessed images) -> probabilities`.

  `.tflite` runs on LiteRT, `.onnx` on onnxruntime, anything else is read as
  a frozen GraphDef (`.pb`).
  """
  if model_path.endswith(TFLITE_SUFFIX):
    from deployment import runtime_tflite  # pylint: disable=g-import-not-at-top
    return runtime_tflite.TFLiteRunner(model_path, num_threads)
  if model_path.endswith(ONNX_SUFFIX):
    from deployment import runtime_onnx  # pylint: disable=g-import-not-at-top
    return runtime_onnx.OnnxRunner(model_path, num_threads)
  if os.path.isdir(model_path):
    raise UserError('%s is a SavedModel directory: it takes encoded images; '
                    'pass the frozen .pb, .tflite or .onnx exported beside it'
                    % model_path)
  return _FrozenGraphBackend(model_path)


def read_model_info(model_path):
  """The `inference_info` dict any exported model file carries (one reader
  for .pb, .tflite and .onnx)."""
  if model_path.endswith(TFLITE_SUFFIX):
    from deployment import runtime_tflite  # pylint: disable=g-import-not-at-top
    return runtime_tflite.read_info(model_path)
  if model_path.endswith(ONNX_SUFFIX):
    from deployment import runtime_onnx  # pylint: disable=g-import-not-at-top
    return runtime_onnx.read_info(model_path)
  return read_info(read_graph_def(model_path), model_path)


def preprocessing_graph(info):
  """`(graph, encoded, preprocessed)`: `info`'s evaluation preprocessing,
  rebuilt from its names, for the runtimes whose file holds the network
  only."""
  preprocess_fn = preprocessing_factory.get_preprocessing(
      info['preprocessing_name'], is_training=False,
      use_grayscale=info['use_grayscale'])
  graph = tf.Graph()
  with graph.as_default():
    encoded = tf.placeholder(tf.string, [], name=ENCODED_INPUT_NODE)
    preprocessed = _decode_and_preprocess(encoded, preprocess_fn,
                                          info['image_size'], info['channels'])
  return graph, encoded, preprocessed


class _RuntimeBackend(object):
  """A `.tflite` or `.onnx` runner behind the evaluation preprocessing."""

  def __init__(self, runner):
    self._runner = runner
    info = runner.info
    self.model_name = info['model_name']
    self.labels_to_names = labels_from_info(info)
    self.max_top_k = info['num_classes']
    self._offset = info['labels_offset']
    graph, self._encoded, self._preprocessed = preprocessing_graph(info)
    self._session = tf.Session(graph=graph)

  def top_k(self, encoded_images, k):
    images = _preprocess_each(self._session, self._encoded,
                              self._preprocessed, encoded_images)
    return _top_k(self._runner.run(images), k, self._offset)


def _preprocess_each(session, encoded, preprocessed, encoded_images):
  """The preprocessed images, stacked; the error names the failing one."""
  images = []
  for index, image in enumerate(encoded_images):
    try:
      images.append(session.run(preprocessed, {encoded: image}))
    except tf.errors.InvalidArgumentError as error:
      raise _image_or_model_error([image], error,
                                  'image %d' % index) from error
  return np.stack(images)


def _top_k(probabilities, k, labels_offset):
  """(class ids, scores, None): the `k` best of each row, best first."""
  order = np.argsort(-probabilities, axis=1, kind='stable')[:, :k]
  scores = np.take_along_axis(probabilities, order, axis=1)
  return order + labels_offset, scores, None


def _decodes(encoded):
  """Whether TensorFlow decodes `encoded` as an image (any channel count)."""
  with tf.Graph().as_default():
    image = tf.io.decode_image(encoded, expand_animations=False)
    with tf.Session() as sess:
      try:
        sess.run(image)
      except tf.errors.OpError:
        return False
  return True


def _first_sentence(message):
  """TensorFlow's error text without its preamble and advice, one line."""
  text = ' '.join(message.split()).replace('Graph execution error: ', '')
  return text.split('. ')[0][:200]


def _image_or_model_error(encoded_images, error, what):
  """The error to raise when the model failed on `encoded_images`.

  A failure on images that decode is the model's (e.g. a graph frozen by an
  older version without its function library): saying "not an image" would
  hide it, so the real message goes out instead.
  """
  if all(_decodes(encoded) for encoded in encoded_images):
    return ModelError(
        'the model fails on %s although it is a readable image: %s. Export '
        'it again with export_inference_graph.py (then freeze_graph.py)' %
        (what, _first_sentence(error.message)))
  return ImageError('%s cannot be decoded as JPEG, PNG, GIF or BMP' % what)


def classify_files(classifier, paths, top_k=5,
                   max_pixels=image_limits.DEFAULT_MAX_PIXELS):
  """`Classifier.classify` on files; errors name the file at fault.

  A file with more than `max_pixels` pixels is refused from its header,
  before anything is decoded.
  """
  encoded_images = []
  for path in paths:
    if not os.path.isfile(path):
      raise UserError('%s: no such image file' % path)
    with open(path, 'rb') as f:
      encoded_images.append(f.read())
    try:
      image_limits.check_encoded_size(encoded_images[-1], max_pixels)
    except image_limits.ImageTooLarge as error:
      raise ImageError('%s: %s' % (path, error)) from error
  try:
    return classifier.classify(encoded_images, top_k)
  except ImageError:
    pass
  # Find which file failed, so the message can name it.
  for path, encoded in zip(paths, encoded_images):
    try:
      classifier.classify([encoded], 1)
    except ImageError as error:
      raise ImageError('%s cannot be decoded as JPEG, PNG, GIF or BMP; is it '
                       'an image?' % path) from error
  raise ImageError('an image in %s cannot be read' % ', '.join(paths))
