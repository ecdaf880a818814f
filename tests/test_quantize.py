"""Quantization-aware training (deployment/quantize.py) and its flags.

The rewrite on a small slim network (folding exact, contrib's names, the
delay), networks of every kind of the factory built under it, and one
MobileNet v1 0.25 (32x32, 2 clones) trained with --quantize_delay through
the script, resumed, evaluated and exported with --quantize, the export
converted to an int8 .tflite. All networks of the factory: benchmarks/
quantize_all_networks.py.
"""

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter

import tensorflow.compat.v1 as tf
import tf_slim as slim

import deployment_helpers as helpers
from datasets import dataset_factory
from datasets import fake_data
from datasets import input_pipeline
from deployment import evaluation
from deployment import inference
from deployment import pipeline
from deployment import progress
from deployment import quantize

# The script run: LeNet builds and trains fast (the folding is checked above
# and in the networks' builds).
MODEL = 'lenet'
SIZE = 28
NUM_CLASSES = 3
STEPS = 20
CONTRIB_RANGE_NAMES = ('LeNet/conv1/weights_quant/min',
                       'LeNet/conv1/act_quant/max',
                       'LeNet/conv2/weights_quant/max',
                       'LeNet/fc3/act_quant/min',
                       'LeNet/fc4/act_quant/max')


def _small_net(images, is_training):
  """Conv+BN, separable+BN, a residual add before a ReLU, a classifier."""
  with slim.arg_scope([slim.batch_norm], is_training=is_training):
    net = slim.conv2d(images, 4, 3, normalizer_fn=slim.batch_norm,
                      scope='conv')
    net = slim.separable_conv2d(net, 4, 3, depth_multiplier=2,
                                normalizer_fn=slim.batch_norm, scope='sep')
    residual = slim.conv2d(net, 4, 1, activation_fn=None,
                           normalizer_fn=slim.batch_norm, scope='res')
    net = tf.nn.relu(net + residual)
    return slim.fully_connected(slim.flatten(net), 3, activation_fn=None,
                                scope='fc')


def _small_net_outputs(is_training, rewrite=None, global_step=0):
  """Logits of `_small_net` on fixed images, statistics and ranges set."""
  rng = np.random.RandomState(0)
  with tf.Graph().as_default():
    tf.set_random_seed(1)
    step = tf.train.get_or_create_global_step()
    logits = _small_net(tf.constant(rng.randn(4, 8, 8, 3), tf.float32),
                        is_training)
    if rewrite:
      logits = quantize.resolve(rewrite(), logits)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      sess.run(step.assign(global_step))
      for var in tf.global_variables():
        name = var.op.name
        if 'moving_' in name or 'beta' in name:  # not the initial 0 and 1
          sess.run(var.assign(rng.uniform(0.5, 1.5, var.shape.as_list())))
        elif quantize.is_range_variable(name):
          sess.run(var.assign(-30.0 if name.endswith('min') else 30.0))
      return sess.run(logits), tf.get_default_graph()


def test_training_rewrite_before_its_delay_computes_the_float_network():
  float_logits, _ = _small_net_outputs(True)
  delayed, graph = _small_net_outputs(
      True, lambda: quantize.create_training_graph(quant_delay=5))
  np.testing.assert_allclose(delayed, float_logits, atol=1e-5)
  names = {op.name for op in graph.get_operations()}
  # contrib's folding: the layer copied with folded weights, the batch
  # statistics corrected, the original BatchNorm kept for its statistics.
  for name in ('conv/mul_fold', 'conv/Conv2D_Fold', 'conv/add_fold',
               'conv/batch_norm_correction/correction_scale',
               'sep/separable_conv2d/weights_quant/FakeQuantWithMinMaxVars',
               'res/conv_quant/FakeQuantWithMinMaxVars',
               'conv/act_quant/delayed_quant'):
    assert name in names, name
  quantized, _ = _small_net_outputs(
      True, lambda: quantize.create_training_graph(quant_delay=5),
      global_step=5)
  assert np.abs(quantized - float_logits).max() > 1e-3


def test_after_freeze_bn_delay_training_uses_the_moving_statistics():
  moving, _ = _small_net_outputs(False)
  frozen, _ = _small_net_outputs(
      True, lambda: quantize.create_training_graph(quant_delay=5,
                                                   freeze_bn_delay=0))
  np.testing.assert_allclose(frozen, moving, atol=1e-5)


def test_eval_rewrite_folds_moving_statistics_exactly(monkeypatch):
  # 16 bits: what remains is the folding, which must be exact.
  monkeypatch.setattr(quantize, 'NUM_BITS', 16)
  float_logits, _ = _small_net_outputs(False)
  folded, graph = _small_net_outputs(False, quantize.create_eval_graph)
  np.testing.assert_allclose(folded, float_logits, atol=1e-2)
  ranges = sorted(var.op.name for var in graph.get_collection(
      tf.GraphKeys.GLOBAL_VARIABLES) if quantize.is_range_variable(
          var.op.name))
  # The residual add sits in the root scope, so its ranges have no prefix.
  layers = (('conv/', 'weights_quant', 'act_quant'),
            ('sep/separable_conv2d/', 'weights_quant', 'act_quant'),
            ('sep/', 'weights_quant', 'act_quant'),
            ('res/', 'weights_quant', 'conv_quant'),
            ('', 'add_quant', 'act_quant'),
            ('fc/', 'weights_quant', 'act_quant'))
  assert ranges == sorted('%s%s/%s' % (scope, kind, end)
                          for scope, *kinds in layers for kind in kinds
                          for end in ('min', 'max'))


# --------------------------------------------------------------------------
# Networks of the factory under the rewrite (all of them: the benchmark).

# Inverted residuals (depthwise, add without activation) and pre-activation
# (BatchNorm left in float); the residual add before a ReLU is `_small_net`'s,
# LeNet (fully connected, no BatchNorm) trains below.
REPRESENTATIVE_NETWORKS = (('mobilenet_v2_035', 32), ('densenet_bc_mini', 28))


@pytest.mark.parametrize('model_name,size', REPRESENTATIVE_NETWORKS)
def test_network_builds_and_runs_under_both_rewrites(model_name, size,
                                                     monkeypatch):
  from nets import nets_factory  # pylint: disable=g-import-not-at-top
  logged = []
  monkeypatch.setattr(quantize.tf.logging, 'warning',
                      lambda message, *args: logged.append(message % args))
  for is_training in (True, False):
    with tf.Graph().as_default() as graph:
      tf.train.get_or_create_global_step()
      network_fn = quantize.quantized_network_fn(
          nets_factory.get_network_fn(model_name, 5, is_training=is_training),
          is_training, quant_delay=0)
      logits, end_points = network_fn(tf.random.uniform([2, size, size, 3]))
      fake_quants = [op for op in graph.get_operations()
                     if op.type == 'FakeQuantWithMinMaxVars']
      assert fake_quants, model_name
      source = logits.op  # the logits are the quantized ones
      while source.type in ('Squeeze', 'Reshape', 'Identity'):
        source = source.inputs[0].op
      assert source.type == 'FakeQuantWithMinMaxVars', logits
      with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        values = sess.run([logits, end_points['Predictions']])
      assert all(np.all(np.isfinite(value)) for value in values)
  float_lines = [line for line in logged if 'left in float' in line]
  if model_name == 'densenet_bc_mini':  # BN -> ReLU -> conv: nothing to fold
    assert len(float_lines) == 2 and 'unfoldable FusedBatchNormV3' in (
        float_lines[0]), float_lines
  else:
    assert not float_lines, float_lines


def test_pipeline_reads_quantize_delay_and_quantize_from_the_config():
  config = lambda **values: type('Config', (), values)  # noqa: E731
  assert pipeline.quantize_delay_of(config(), True) is None
  assert pipeline.quantize_delay_of(config(quantize_delay=-1), True) is None
  assert pipeline.quantize_delay_of(config(quantize_delay=7), True) == 7
  # train_eval evaluates a quantized training quantized; --quantize asks it.
  assert pipeline.quantize_delay_of(config(quantize_delay=7), False) == 7
  assert pipeline.quantize_delay_of(config(quantize=True), False) == 0
  assert pipeline.quantize_delay_of(config(quantize=True), True) is None


# --------------------------------------------------------------------------
# The scripts: train, resume, evaluate, export, convert.


def _train(dataset_dir, train_dir, steps, *extra):
  return helpers.succeeds(
      'train_image_classifier.py', '--dataset_name=quiz',
      '--dataset_dir=' + dataset_dir, '--model_name=' + MODEL,
      '--train_image_size=%d' % SIZE, '--train_dir=' + train_dir,
      '--clone_on_cpu=True', '--batch_size=8',
      '--optimizer=adam', '--learning_rate=0.01', '--quantize_delay=0',
      '--max_number_of_steps=%d' % steps, '--log_every_n_steps=1',
      '--save_summaries_secs=0', '--num_readers=1',
      '--num_preprocessing_threads=1', *extra)


def _checkpoint_values(train_dir):
  reader = tf.train.load_checkpoint(train_dir)
  return {name: reader.get_tensor(name)
          for name in reader.get_variable_to_shape_map()}


@pytest.fixture(scope='module')
def qat_run(tmp_path_factory):
  """A QAT run stopped at STEPS - 1 and resumed to STEPS on 2 clones.

  Returns (dataset_dir, train_dir, first run's log, values at STEPS - 1).
  """
  work = tmp_path_factory.mktemp('qat')
  dataset_dir = str(work / 'quiz')
  fake_data.write_fake_dataset(
      dataset_dir, 'quiz', num_classes=NUM_CLASSES,
      images_per_class={'train': 8, 'validation': 4},
      image_shape=(SIZE, SIZE, 3))
  train_dir = str(work / 'train')
  log = _train(dataset_dir, train_dir, STEPS - 1)
  before_resume = _checkpoint_values(train_dir)
  _train(dataset_dir, train_dir, STEPS, '--num_clones=2')
  return dataset_dir, train_dir, log, before_resume


def test_qat_run_learns_with_contrib_ranges_shared_by_the_clones(qat_run):
  _, train_dir, log, _ = qat_run
  values = _checkpoint_values(train_dir)  # after the 2-clone resumed step
  losses = [float(match.group('loss')) for match in
            map(progress.PROGRESS_LINE_RE.search, log.splitlines()) if match]
  assert len(losses) == STEPS - 1
  assert np.mean(losses[-4:]) < 0.7 * np.mean(losses[:2]), losses
  for name in CONTRIB_RANGE_NAMES:
    assert name in values, name
  ranges = [name for name in values if quantize.is_range_variable(name)]
  assert not [name for name in ranges if name.startswith('clone_')], ranges
  # The weights' ranges are their last values, symmetric (int8 TFLite).
  weights_max = values['LeNet/conv1/weights_quant/max']
  assert 0 < weights_max < 6
  assert values['LeNet/conv1/weights_quant/min'] == -weights_max
  with tf.Graph().as_default() as graph:
    tf.train.import_meta_graph(
        tf.train.latest_checkpoint(train_dir) + '.meta', clear_devices=True)
  assert 'FakeQuantWithMinMaxVars' in {op.type
                                       for op in graph.get_operations()}


def test_resumed_run_restores_and_keeps_updating_the_ranges(qat_run):
  _, train_dir, _, before = qat_run
  after = _checkpoint_values(train_dir)
  # Activation ranges start at [-6 or 0, 6] and move slowly (EMA 0.999):
  # the most moved one shows whether the resumed run started from it.
  moved = max((name for name in before if quantize.is_range_variable(name)
               and 'weights_quant' not in name and name.endswith('max')),
              key=lambda name: abs(6.0 - before[name]))
  assert abs(6.0 - before[moved]) > 0.02, (moved, before[moved])
  assert abs(after[moved] - before[moved]) < abs(6.0 - before[moved]) / 4
  assert after[moved] != before[moved]
  assert after['global_step'] == STEPS


def _eval_probabilities(dataset_dir, train_dir):
  """(preprocessed validation images, probabilities) of --quantize's graph."""
  descriptor = dataset_factory.get_dataset('quiz', 'validation', dataset_dir)
  parts = pipeline.build_pipeline(descriptor, MODEL, is_training=False,
                                  image_size=SIZE, quantize_delay=0)
  with tf.Graph().as_default():
    dataset = input_pipeline.make_dataset(
        descriptor, parts.preprocess_fn, batch_size=descriptor.num_samples,
        is_training=False, image_size=SIZE)
    images, _ = tf.data.make_one_shot_iterator(dataset).get_next()
    _, end_points = parts.network_fn(images)
    saver = tf.train.Saver(evaluation.variables_to_restore(
        None, tf.train.get_or_create_global_step()))
    with tf.Session() as sess:
      saver.restore(sess, tf.train.latest_checkpoint(train_dir))
      return sess.run([images, end_points['Predictions']])


def _frozen_probabilities(path, output_node, images):
  graph_def = inference.read_graph_def(path)
  with tf.Graph().as_default():
    tf.import_graph_def(graph_def, name='')
    with tf.Session() as sess:
      return sess.run(output_node + ':0', {'input:0': images})


def _int8_tflite_probabilities(path, output_node, images):
  """Converts the frozen QAT graph to an int8 .tflite and runs it."""
  converter = tf.lite.TFLiteConverter.from_frozen_graph(
      path, input_arrays=['input'], output_arrays=[output_node],
      input_shapes={'input': [1, SIZE, SIZE, 3]})
  converter.inference_type = tf.int8
  converter.quantized_input_stats = {'input': (0.0, 127.0)}  # [-1, 1] images
  # LiteRT's interpreter, as deployment/runtime_tflite.py runs models
  # (tf.lite.Interpreter is deprecated).
  interpreter = Interpreter(model_content=converter.convert())
  interpreter.allocate_tensors()
  tensor_types = {d['dtype'] for d in interpreter.get_tensor_details()}
  source, = interpreter.get_input_details()
  target, = interpreter.get_output_details()
  probabilities = []
  for image in images:
    quantized = np.clip(np.round(image * 127.0), -128, 127).astype(np.int8)
    interpreter.set_tensor(source['index'], quantized[None])
    interpreter.invoke()
    scale, zero_point = target['quantization']
    probabilities.append(
        (interpreter.get_tensor(target['index'])[0].astype(np.float32) -
         zero_point) * scale)
  return tensor_types, np.array(probabilities)


def test_quantize_eval_export_and_int8_tflite_of_the_qat_run(qat_run,
                                                             tmp_path):
  dataset_dir, train_dir, _, _ = qat_run
  output = helpers.succeeds(
      'eval_image_classifier.py', '--dataset_name=quiz',
      '--dataset_dir=' + dataset_dir, '--dataset_split_name=validation',
      '--model_name=' + MODEL, '--eval_image_size=%d' % SIZE, '--quantize',
      '--checkpoint_path=' + train_dir, '--eval_dir=' + str(tmp_path / 'e'))
  assert helpers.ACCURACY_LINE.search(output), output[-2000:]
  frozen = str(tmp_path / 'qat_freeze.pb')
  output = helpers.succeeds(
      'export_inference_graph.py', '--dataset_name=quiz',
      '--dataset_dir=' + dataset_dir, '--model_name=' + MODEL,
      '--image_size=%d' % SIZE, '--quantize', '--checkpoint_path=' +
      train_dir, '--output_file=' + frozen)
  info = inference.read_info(inference.read_graph_def(frozen), frozen)
  assert info['quantize'] is True
  node_ops = {node.op for node in inference.read_graph_def(frozen).node}
  assert 'FakeQuantWithMinMaxVars' in node_ops
  images, expected = _eval_probabilities(dataset_dir, train_dir)
  exported = _frozen_probabilities(frozen, info['output_node'], images)
  # Same graph, constants folded: a logit on a quantization step's edge may
  # land one step (of 255 over its range) off; nothing else differs.
  np.testing.assert_array_equal(exported.argmax(1), expected.argmax(1))
  assert np.median(np.abs(exported - expected)) < 1e-6
  assert np.abs(exported - expected).max() < 0.02
  tensor_types, tflite = _int8_tflite_probabilities(
      frozen, info['output_node'], images)
  assert tensor_types <= {np.int8, np.int32}, tensor_types
  assert np.abs(tflite - expected).max() < 0.15, (tflite, expected)


def test_quantize_on_a_float_checkpoint_is_one_line(deployment_dataset_dir,
                                                    tmp_path):
  train_dir = str(tmp_path / 'float')
  helpers.write_checkpoint(train_dir, 'lenet')
  common = ('--dataset_name=quiz', '--dataset_dir=' + deployment_dataset_dir,
            '--model_name=lenet', '--checkpoint_path=' + train_dir,
            '--quantize')
  for script, extra in (
      ('eval_image_classifier.py', ('--dataset_split_name=validation',
                                    '--eval_dir=' + str(tmp_path / 'e'))),
      ('export_inference_graph.py', ('--output_file=' + str(tmp_path / 'f'),))):
    line = helpers.error_line(helpers.run_script(script, *common, *extra))
    assert '--quantize needs a checkpoint trained with --quantize_delay' in (
        line), line
    assert 'act_quant' in line or 'weights_quant' in line, line


def test_quantize_delay_resuming_a_float_train_dir_is_one_line(
    deployment_dataset_dir, tmp_path):
  train_dir = str(tmp_path / 'float')
  helpers.write_checkpoint(train_dir, 'lenet')
  result = helpers.run_script(
      'train_image_classifier.py', '--dataset_name=quiz',
      '--dataset_dir=' + deployment_dataset_dir, '--model_name=lenet',
      '--train_dir=' + train_dir, '--clone_on_cpu=True',
      '--max_number_of_steps=5', '--quantize_delay=0')
  line = helpers.error_line(result)
  assert line.startswith('ERROR: ') and '--quantize_delay' in line, line
  assert '--checkpoint_path=' + train_dir in line, line


def test_quantize_delay_below_minus_one_is_refused():
  # training_flags defines it for both training scripts.
  line = helpers.error_line(helpers.run_script(
      'train_eval_image_classifier.py', '--quantize_delay=-2'))
  assert '--quantize_delay=-2: must be at least -1' in line, line
