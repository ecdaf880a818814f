"""LiteRT (.tflite) and ONNX: export, int8, the runtimes behind Classifier.

Float files must give the frozen graph's probabilities (1e-4); int8 files
its top-1 on >= 95 % of a real-data sample (Debian's dataset-fashion-mnist,
skipped without it). label_image.py, server.py and eval_image_classifier.py
--model_file run both formats; each bad input ends in one line.
"""

import os
import re

import numpy as np
import pytest

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf

import deployment_helpers as helpers
from datasets import download_and_convert_mnist
from datasets import fake_data
from deployment import inference
from deployment import int8_rewrites
from deployment import model_conversion
from deployment import model_evaluation
from deployment import pipeline
from deployment import runtime_tflite
from deployment.errors import UserError
from nets import nets_factory

FASHION_DIR = download_and_convert_mnist.DEBIAN_DIRS['fashion_mnist']


def _validation(dataset_dir):
  return pipeline.load_dataset('quiz', 'validation', dataset_dir)


def _images(dataset_dir, info):
  """The 10 preprocessed validation images (the evaluation pipeline's)."""
  images, _ = next(model_evaluation.numpy_batches(_validation(dataset_dir),
                                                  info, 10))
  return images


@pytest.fixture(scope='module')
def lenet(deployment_dataset_dir, tmp_path_factory):
  """A LeNet checkpoint, its frozen .pb, and .tflite/.onnx written by
  export_inference_graph.py (so the script is what the tests cover)."""
  work = tmp_path_factory.mktemp('runtimes_lenet')
  train_dir = str(work / 'train')
  helpers.write_checkpoint(train_dir, 'lenet')
  frozen = str(work / 'lenet.pb')
  _, info = helpers.export_frozen(deployment_dataset_dir, train_dir, frozen,
                                  'lenet')
  files = {'pb': frozen}
  for output_format in ('tflite', 'onnx'):
    files[output_format] = str(work / ('lenet.' + output_format))
    helpers.succeeds(
        'export_inference_graph.py', '--model_name=lenet',
        '--dataset_name=quiz', '--dataset_dir=' + deployment_dataset_dir,
        '--checkpoint_path=' + train_dir, '--output_file=' +
        files[output_format], '--output_format=' + output_format)
  return dict(files, info=info, train_dir=train_dir)


@pytest.mark.parametrize('output_format', ['tflite', 'onnx'])
def test_float_file_gives_the_frozen_graphs_probabilities(
    lenet, deployment_dataset_dir, output_format):
  images = _images(deployment_dataset_dir, lenet['info'])
  expected = inference.open_runner(lenet['pb']).run(images)
  runner = inference.open_runner(lenet[output_format])
  np.testing.assert_allclose(runner.run(images), expected, atol=1e-4)
  np.testing.assert_allclose(runner.run(images[:1]), expected[:1], atol=1e-4)
  assert inference.read_model_info(lenet[output_format])['labels'] == (
      lenet['info']['labels'])


def test_mobilenet_with_batch_norm_converts_to_both_formats(
    deployment_dataset_dir, tmp_path):
  """Depthwise convolutions and folded BatchNorm, at 64 px."""
  train_dir = str(tmp_path / 'train')
  helpers.write_checkpoint(train_dir, 'mobilenet_v1_025', image_size=64)
  spec = inference.spec_from_dataset('mobilenet_v1_025', 'quiz',
                                     deployment_dataset_dir, image_size=64)
  graph_def, info = inference.export_graph_def(spec)
  frozen = inference.freeze_graph_def(graph_def, train_dir,
                                      inference.output_node_names(info))
  frozen_path = str(tmp_path / 'm.pb')
  inference.write_graph_def(frozen, frozen_path)
  images = _images(deployment_dataset_dir, info)
  expected = inference.open_runner(frozen_path).run(images)
  for name, data in (
      ('m.tflite', model_conversion.tflite_model(frozen, info)),
      ('m.onnx', model_conversion.onnx_model(frozen, info))):
    path = str(tmp_path / name)
    model_conversion.write_model(data, path)
    np.testing.assert_allclose(inference.open_runner(path).run(images),
                               expected, atol=1e-4)


def test_label_image_and_eval_run_tflite_and_onnx(lenet,
                                                  deployment_dataset_dir,
                                                  tmp_path):
  examples = helpers.split_examples(deployment_dataset_dir, 'validation')
  paths = helpers.write_image_files(examples[:3], str(tmp_path / 'images'))
  expected = [predictions[0].class_id for predictions in
              inference.classify_files(inference.Classifier(lenet['pb']),
                                       paths, 1)]
  for output_format in ('tflite', 'onnx'):
    assert helpers.label_image_top1(lenet[output_format], paths) == expected
  # eval_image_classifier.py --model_file: the checkpoint's accuracy, in
  # its lines.
  top1 = helpers.eval_graph_predictions(deployment_dataset_dir,
                                        lenet['train_dir'], 'lenet')
  accuracy = np.mean(np.array(top1) == [label for _, label in examples])
  output = helpers.succeeds(
      'eval_image_classifier.py', '--model_file=' + lenet['onnx'],
      '--dataset_name=quiz', '--dataset_dir=' + deployment_dataset_dir,
      '--dataset_split_name=validation', '--batch_size=4')
  assert helpers.ACCURACY_LINE.findall(output) == [
      '%.9g' % np.float32(accuracy)]
  assert re.search(r'^eval/Recall_5\[1\]$', output, re.M)


@pytest.mark.parametrize('output_format', ['tflite', 'onnx'])
def test_server_classifies_with_tflite_and_onnx(lenet, deployment_dataset_dir,
                                                tmp_path, output_format):
  examples = helpers.split_examples(deployment_dataset_dir, 'validation')
  path = helpers.write_image_files(examples[:1], str(tmp_path / 'img'))[0]
  expected = inference.Classifier(lenet['pb']).classify([examples[0][0]], 3)[0]
  with helpers.running_server(
      'server.py', '--model_file=' + lenet[output_format], '--port=0',
      '--upload_folder=' + str(tmp_path / 'up')) as port:
    answer = helpers.classify_over_http(port, path, 'image/jpeg')
  top = answer['predictions'][0]
  assert (top['class_id'], top['label']) == (expected[0].class_id,
                                             expected[0].label)
  assert abs(top['score'] - expected[0].score) < 1e-4


LENET_INFO = {'preprocessing_name': 'lenet', 'use_grayscale': False,
              'image_size': 28, 'channels': 1, 'labels_offset': 0}


def _fit(build_logits, images, labels, steps, finish):
  """Trains `build_logits(inputs)` with Adam on (images, labels) batches of
  64 and returns `finish(sess)`; the inputs placeholder is named `input`,
  the softmax `Predictions`."""
  with tf.Graph().as_default():
    tf.set_random_seed(0)
    inputs = tf.placeholder(tf.float32, [None] + list(images.shape[1:]),
                            name='input')
    targets = tf.placeholder(tf.int64, [None])
    logits = build_logits(inputs)
    tf.nn.softmax(logits, name='Predictions')
    loss = tf.losses.sparse_softmax_cross_entropy(targets, logits)
    train_op = tf.train.AdamOptimizer(3e-3).minimize(loss)
    rng = np.random.RandomState(0)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      for _ in range(steps):
        batch = rng.randint(0, len(images), 64)
        sess.run(train_op, {inputs: images[batch], targets: labels[batch]})
      return finish(sess)


def _fashion_subset(directory, sizes):
  """The first `sizes[split]` real Fashion-MNIST images, converted."""
  source = os.path.join(directory, 'idx')
  os.makedirs(source)
  for split_name, (images_name, labels_name) in (
      download_and_convert_mnist.SPLIT_FILES.items()):
    for name, magic, read in (
        (images_name, download_and_convert_mnist.IMAGES_MAGIC,
         download_and_convert_mnist.read_images),
        (labels_name, download_and_convert_mnist.LABELS_MAGIC,
         download_and_convert_mnist.read_labels)):
      values = read(os.path.join(FASHION_DIR, name))[:sizes[split_name]]
      fake_data.write_idx_gz(os.path.join(source, name), magic, values)
  out = os.path.join(directory, 'fashion_mnist')
  download_and_convert_mnist.convert('fashion_mnist', out, source_dir=source,
                                     log=lambda _: None)
  return out


def _run_graph(graph_def, output, images):
  with tf.Graph().as_default() as graph:
    tf.import_graph_def(graph_def, name='')
    with tf.Session(graph=graph) as sess:
      return sess.run(output + ':0', {'input:0': images})


def _operations(runner):
  """The op names of a `TFLiteRunner`'s model."""
  return {op['op_name'] for op in
          runner._interpreter._get_ops_details()}  # pylint: disable=protected-access


@pytest.fixture(scope='module')
def fashion(tmp_path_factory):
  """2,000 real Fashion-MNIST training and 200 test images, converted, and
  as LeNet-preprocessed arrays."""
  if not os.path.isdir(FASHION_DIR):
    pytest.skip('Debian package dataset-fashion-mnist not installed '
                '(scripts/install_system_deps.sh)')
  work = tmp_path_factory.mktemp('fashion')
  dataset_dir = _fashion_subset(str(work), {'train': 2000, 'test': 200})
  splits = {name: next(model_evaluation.numpy_batches(
      pipeline.load_dataset('fashion_mnist', name, dataset_dir), LENET_INFO,
      size)) for name, size in (('train', 2000), ('test', 200))}
  return dict(splits, dataset_dir=dataset_dir, work=work)


@pytest.fixture(scope='module')
def real_lenet(fashion):
  """A LeNet trained a few seconds on real Fashion-MNIST, exported: its
  frozen graph, info, the calibration split and the test images with the
  graph's probabilities."""
  train_dir = str(fashion['work'] / 'lenet')

  def lenet(inputs):
    return nets_factory.get_network_fn('lenet', 10, is_training=True)(
        inputs)[0]

  _fit(lenet, *fashion['train'], steps=150, finish=lambda sess: tf.train.Saver(
      tf.model_variables()).save(sess, os.path.join(train_dir, 'model.ckpt')))
  spec = inference.spec_from_dataset('lenet', 'fashion_mnist',
                                     fashion['dataset_dir'])
  graph_def, info = inference.export_graph_def(spec)
  frozen = inference.freeze_graph_def(graph_def, train_dir,
                                      inference.output_node_names(info))
  images, labels = fashion['test']
  expected = _run_graph(frozen, info['output_node'], images)
  assert np.mean(expected.argmax(1) == labels) > 0.6  # it learnt something
  return dict(frozen=frozen, info=info, images=images, expected=expected,
              calibration=model_conversion.CalibrationSet(
                  pipeline.load_dataset('fashion_mnist', 'train',
                                        fashion['dataset_dir']), info, 100))


@pytest.mark.parametrize('quantization,input_dtype', [
    ('int8', np.int8), ('float16', np.float32), ('dynamic', np.float32)])
def test_reduced_precision_keeps_top1_on_real_fashion_mnist(
    real_lenet, tmp_path, quantization, input_dtype):
  """int8, float16 weights and int8 weights (dynamic range): the float
  graph's top-1 on >= 95 % of real test images."""
  path = str(tmp_path / (quantization + '.tflite'))
  model_conversion.write_model(model_conversion.tflite_model(
      real_lenet['frozen'], real_lenet['info'], quantization,
      real_lenet['calibration']), path)
  runner = inference.open_runner(path)
  assert runner.input_dtype == input_dtype
  assert runner.info['quantization'] == quantization
  expected = real_lenet['expected']
  probabilities = runner.run(real_lenet['images'])
  agree = np.mean(probabilities.argmax(1) == expected.argmax(1))
  assert agree >= 0.95, agree
  if quantization == 'float16':  # float arithmetic on rounded weights
    np.testing.assert_allclose(probabilities, expected, atol=2e-3)


def _fake_quant_graph(rng, pre_activation=False):
  """A conv + fully connected net as contrib's frozen eval graph holds it:
  FakeQuant on weights with asymmetric (min, max) ranges from frozen range
  variables (narrow_range), and on activations. `pre_activation` adds what
  the training rewrite leaves without FakeQuant in DenseNet: a BatchNorm +
  ReLU that follows no layer, and an average pool."""

  def weight_quant(values):
    low = tf.identity(tf.constant(values.min()))  # a frozen variable read
    return tf.quantization.fake_quant_with_min_max_vars(
        tf.constant(values), low, tf.constant(values.max()),
        narrow_range=True)

  with tf.Graph().as_default() as graph:
    images = tf.placeholder(tf.float32, [None, 8, 8, 1], name='input')
    weights = rng.normal(size=(3, 3, 1, 4)).astype(np.float32) + 0.3
    net = tf.nn.relu(tf.nn.conv2d(images, weight_quant(weights), 1, 'SAME') +
                     0.1)
    net = tf.quantization.fake_quant_with_min_max_vars(net, 0.0, 6.0)
    if pre_activation:
      net, _, _ = tf.nn.fused_batch_norm(
          net, *rng.uniform(0.5, 1.5, (4, 4)).astype(np.float32),
          is_training=False)
      net = tf.nn.avg_pool2d(tf.nn.relu(net), 3, 2, 'SAME')  # border sums
    size = int(np.prod(net.shape[1:]))
    fc = rng.normal(size=(size, 5)).astype(np.float32) * 0.1
    logits = tf.matmul(tf.reshape(net, [-1, size]), weight_quant(fc))
    logits = tf.quantization.fake_quant_with_min_max_vars(logits, -8.0, 8.0)
    tf.nn.softmax(logits, name='Predictions')
    with tf.Session() as sess:
      return tf.graph_util.convert_variables_to_constants(
          sess, graph.as_graph_def(), ['Predictions'])


@pytest.mark.parametrize('pre_activation,operations', [
    (False, {'CONV_2D', 'RESHAPE', 'FULLY_CONNECTED', 'SOFTMAX'}),
    (True, {'CONV_2D', 'DEPTHWISE_CONV_2D', 'MUL', 'RESHAPE',
            'FULLY_CONNECTED', 'SOFTMAX'})])
def test_quantization_aware_graph_becomes_fully_int8(
    tmp_path, pre_activation, operations):
  """No float island (DEQUANTIZE, float MUL/ADD) and no LiteRT average pool:
  a pre-activation BatchNorm and a pool become depthwise convolutions (the
  MUL: the SAME pool's 1/count map, in int8)."""
  rng = np.random.RandomState(0)
  frozen = _fake_quant_graph(rng, pre_activation)
  assert model_conversion.holds_fake_quant(frozen)
  info = {'model_name': 'tiny_qat', 'input_node': 'input',
          'output_node': 'Predictions', 'image_size': 8, 'channels': 1}
  images = rng.uniform(-1, 1, (300, 8, 8, 1)).astype(np.float32)
  data = model_conversion.tflite_model(
      frozen, info, 'int8', model_conversion.ArrayCalibration(images[:100]))
  path = str(tmp_path / 'qat.tflite')
  model_conversion.write_model(data, path)
  runner = runtime_tflite.TFLiteRunner(path)
  assert _operations(runner) == operations
  assert runner.input_dtype == np.int8
  expected = _run_graph(frozen, 'Predictions', images)
  agree = np.mean(runner.run(images).argmax(1) == expected.argmax(1))
  assert agree >= 0.95, agree


def test_batch_norm_as_depthwise_convolution_is_the_same_function():
  frozen = _fake_quant_graph(np.random.RandomState(0), pre_activation=True)
  rewritten, outputs = int8_rewrites._batch_norms_as_depthwise(frozen)  # pylint: disable=protected-access
  assert len(outputs) == 1 and outputs[0].endswith('Relu_1')
  assert not {'FusedBatchNormV3'} & {node.op for node in rewritten.node}
  images = np.random.RandomState(1).uniform(-1, 1, (10, 8, 8, 1))
  np.testing.assert_allclose(_run_graph(rewritten, 'Predictions', images),
                             _run_graph(frozen, 'Predictions', images),
                             atol=1e-6)


def test_post_training_quantization_script_writes_int8(
    lenet, deployment_dataset_dir, tmp_path):
  output = str(tmp_path / 'ptq.tflite')
  helpers.succeeds(
      'nets/post_training_quantization.py', '--model_name=lenet',
      '--checkpoint_path=' + lenet['train_dir'], '--dataset_name=quiz',
      '--dataset_dir=' + deployment_dataset_dir, '--num_steps=5',
      '--image_size=28', '--num_classes=5', '--enable_ema=false',
      '--use_model_specific_preprocessing', '--output_tflite=' + output)
  runner = inference.open_runner(output)
  assert runner.input_dtype == np.int8
  assert runner.info['quantization'] == 'int8'
  assert runner.info['labels'] == lenet['info']['labels']
  images = _images(deployment_dataset_dir, lenet['info'])
  expected = inference.open_runner(lenet['pb']).run(images)
  assert np.mean(runner.run(images).argmax(1) == expected.argmax(1)) >= 0.9


# Bad input: one line each.

def test_file_that_is_not_a_model_is_one_line(tmp_path):
  for name in ('junk.tflite', 'junk.onnx'):
    path = str(tmp_path / name)
    with open(path, 'wb') as f:
      f.write(b'this is not a model' * 10)
    with pytest.raises(UserError, match='is not a.*model'):
      inference.Classifier(path)
  image = str(tmp_path / 'x.png')
  with open(image, 'wb') as f:
    f.write(fake_data.encode_image(np.zeros((8, 8, 3), np.uint8), 'png'))
  line = helpers.error_line(helpers.run_script(
      'label_image.py', '--graph=' + str(tmp_path / 'junk.tflite'), image))
  assert re.match(r'ERROR: .*junk\.tflite is not a LiteRT', line), line


def test_tflite_whose_input_shape_does_not_match_is_one_line(lenet,
                                                            tmp_path):
  with open(lenet['tflite'], 'rb') as f:
    data = f.read()
  info = dict(inference.read_model_info(lenet['tflite']), image_size=32)
  path = str(tmp_path / 'wrong.tflite')
  model_conversion.write_model(runtime_tflite.with_info(data, info), path)
  with pytest.raises(UserError, match=r'takes input of shape \[1, 28, 28, 3\]'
                     r' but its inference_info describes'):
    inference.Classifier(path)


def test_op_the_converters_cannot_take_is_named(tmp_path):
  with tf.Graph().as_default() as graph:
    images = tf.placeholder(tf.float32, [None, 4, 4, 1], name='input')
    tf.identity(tf.math.bessel_i0e(tf.reshape(images, [-1, 16])),
                name='Predictions')
    frozen = graph.as_graph_def()
  info = {'model_name': 'odd_net', 'input_node': 'input',
          'output_node': 'Predictions'}
  for convert in (model_conversion.tflite_model,
                  model_conversion.onnx_model):
    with pytest.raises(UserError, match='cannot convert op.*BesselI0e.* of '
                       'network odd_net'):
      convert(frozen, info)


def test_missing_or_empty_calibration_split_is_one_line(
    lenet, deployment_dataset_dir, tmp_path):
  line = helpers.error_line(helpers.run_script(
      'export_inference_graph.py', '--model_name=lenet',
      '--dataset_name=quiz', '--dataset_dir=' + deployment_dataset_dir,
      '--checkpoint_path=' + lenet['train_dir'], '--output_format=tflite',
      '--tflite_quantization=int8', '--dataset_split_name=test',
      '--output_file=' + str(tmp_path / 'x.tflite')))
  assert "no split 'test'" in line, line
  assert not os.path.exists(str(tmp_path / 'x.tflite'))
  empty_dir = str(tmp_path / 'empty')
  fake_data.write_fake_dataset(empty_dir, 'quiz',
                               images_per_class={'train': 0,
                                                 'validation': 1})
  with pytest.raises(UserError, match='calibration split .* has no records'):
    model_conversion.CalibrationSet(
        pipeline.load_dataset('quiz', 'train', empty_dir), lenet['info'], 5)


def _pools_graph():
  """Every AvgPool padding case on an odd-sized map: full windows (VALID),
  SAME borders at stride 1 and 2, and SAME that pads only the end."""
  with tf.Graph().as_default() as graph:
    images = tf.placeholder(tf.float32, [None, 9, 9, 4], name='input')
    pools = [tf.nn.avg_pool2d(images, 2, 2, 'VALID'),
             tf.nn.avg_pool2d(images, 3, 1, 'SAME'),
             tf.nn.avg_pool2d(images, 3, 2, 'SAME'),
             tf.nn.avg_pool2d(images, 2, 2, 'SAME')]
    tf.identity(tf.concat([tf.reshape(p, [-1, p.shape[1] * p.shape[2] * 4])
                           for p in pools], 1), name='output')
  return graph.as_graph_def()


def test_average_pools_become_depthwise_convolutions_of_the_same_function():
  graph_def = _pools_graph()
  rewritten = int8_rewrites.average_pools_as_convolutions(graph_def)
  assert 'AvgPool' not in {node.op for node in rewritten.node}
  assert 'AvgPool' in {node.op for node in graph_def.node}  # a copy
  images = np.random.RandomState(0).uniform(-3, 3, (2, 9, 9, 4))
  np.testing.assert_allclose(_run_graph(rewritten, 'output', images),
                             _run_graph(graph_def, 'output', images),
                             atol=1e-6)


def _pooling_cnn(inputs):
  """Convolutions with average pools of every padding case."""
  init = tf.glorot_uniform_initializer(seed=0)
  net = inputs
  for channels, (size, stride, padding) in zip(
      (16, 32, 32), ((3, 1, 'SAME'), (3, 2, 'SAME'), (2, 2, 'VALID'))):
    weights = tf.Variable(init([3, 3, net.shape[-1], channels]))
    net = tf.nn.relu(tf.nn.conv2d(net, weights, 1, 'SAME'))
    net = tf.nn.avg_pool2d(net, size, stride, padding)
  net = tf.nn.avg_pool2d(net, 7, 1, 'VALID')  # global, 7x7 -> 1x1
  return tf.matmul(tf.reshape(net, [-1, 32]), tf.Variable(init([32, 10])))


def test_int8_average_pools_run_as_convolutions_and_keep_top1(
    fashion, tmp_path):
  """No AVERAGE_POOL_2D left for LiteRT's one-thread kernel, and a network
  trained on real Fashion-MNIST keeps its float top-1 in int8."""
  frozen = _fit(_pooling_cnn, *fashion['train'], steps=400,
                finish=lambda sess: tf.graph_util.convert_variables_to_constants(
                    sess, sess.graph.as_graph_def(), ['Predictions']))
  info = {'model_name': 'pooling_cnn', 'input_node': 'input',
          'output_node': 'Predictions', 'image_size': 28, 'channels': 1}
  path = str(tmp_path / 'pools.tflite')
  model_conversion.write_model(model_conversion.tflite_model(
      frozen, info, 'int8',
      model_conversion.ArrayCalibration(fashion['train'][0][:200])), path)
  runner = runtime_tflite.TFLiteRunner(path)
  operations = _operations(runner)
  assert 'AVERAGE_POOL_2D' not in operations
  assert 'DEPTHWISE_CONV_2D' in operations
  images, labels = fashion['test']
  expected = _run_graph(frozen, 'Predictions', images)
  assert np.mean(expected.argmax(1) == labels) > 0.5  # it learnt something
  agree = np.mean(runner.run(images).argmax(1) == expected.argmax(1))
  assert agree >= 0.95, agree
