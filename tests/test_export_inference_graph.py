"""export_inference_graph.py / deployment.inference export and SavedModel."""

import os

import numpy as np
import pytest
import tensorflow.compat.v1 as tf
from google.protobuf import text_format

import deployment_helpers as helpers
from deployment import inference
from nets import nets_factory

# One fast member of every network module; benchmarks/export_all_networks.py
# checks every registered name (about a minute).
# The video networks' 5-D export is tested in test_video_models.py.
ONE_PER_MODULE = ['cifarnet', 'lenet', 'densenet40_k12', 'alexnet_v2',
                  'overfeat', 'vgg_16', 'inception_v1', 'inception_v2',
                  'inception_v3', 'inception_v4', 'inception_resnet_v2',
                  'resnet_v1_50', 'resnet_v2_50', 'mobilenet_v1',
                  'mobilenet_v2', 'mobilenet_v3_small', 'nasnet_mobile',
                  'pnasnet_mobile']


def _node(graph_def, name):
  return next(node for node in graph_def.node if node.name == name)


def test_every_network_module_is_covered():
  modules = {nets_factory.NETWORKS[name][0] for name in ONE_PER_MODULE}
  video = {nets_factory.NETWORKS[n].module for n in nets_factory.VIDEO_NETWORKS}
  assert modules == {row.module for row in nets_factory.NETWORKS.values()
                     } - video


@pytest.mark.parametrize('model_name', ONE_PER_MODULE)
def test_input_placeholder_and_predictions_output(model_name):
  graph_def, info = inference.export_graph_def(inference.make_spec(
      model_name, num_classes=7))
  with tf.Graph().as_default() as graph:
    tf.import_graph_def(graph_def, name='')
    images = graph.get_tensor_by_name('input:0')
    size = nets_factory.get_network_fn(model_name, 7).default_image_size
    assert images.op.type == 'Placeholder' and images.dtype == tf.float32
    assert images.shape.as_list() == [None, size, size, 3]
    output = graph.get_tensor_by_name(info['output_node'] + ':0')
    assert 'redictions' in info['output_node']
    assert output.shape.as_list() == [None, 7]
  assert inference.read_info(graph_def, 'test') == info


def test_spec_flags_shape_the_graph(tmp_path):
  helpers.write_dataset(str(tmp_path))
  spec = inference.spec_from_dataset('lenet', 'quiz', str(tmp_path),
                                     labels_offset=1, image_size=40,
                                     batch_size=2, use_grayscale=True)
  graph_def, info = inference.export_graph_def(spec)
  shape = [d.size for d in _node(graph_def, 'input').attr['shape'].shape.dim]
  assert shape == [2, 40, 40, 1]
  assert info['num_classes'] == helpers.NUM_CLASSES - 1
  assert info['labels_offset'] == 1
  assert inference.labels_from_info(info) == {
      i: 'class_%d' % i for i in range(helpers.NUM_CLASSES)}


def test_registered_dataset_without_dir_uses_its_class_count():
  spec = inference.spec_from_dataset('lenet', 'fashion_mnist')
  assert (spec.num_classes, spec.channels) == (10, 1)
  assert spec.labels_to_names[9] == 'Ankle boot'
  with pytest.raises(inference.UserError, match='--labels_offset'):
    inference.spec_from_dataset('lenet', 'mnist', labels_offset=10)


def test_registered_dataset_with_an_empty_dir_uses_its_class_count(tmp_path):
  """Upstream's export test: --dataset_dir names an empty folder (which
  loading ImageNet fills with its labels.txt before failing on the shards)."""
  spec = inference.spec_from_dataset('lenet', 'imagenet', str(tmp_path))
  assert spec.num_classes == 1001


def test_script_writes_text_graphdef_and_prints_output_node(tmp_path):
  output = str(tmp_path / 'graphs' / 'cifarnet.pbtxt')
  result = helpers.run_script(
      'export_inference_graph.py', '--model_name=cifarnet',
      '--dataset_name=cifar10', '--output_file=' + output,
      '--write_text_graphdef')
  assert result.returncode == 0, result.stderr
  graph_def = tf.GraphDef()
  with open(output) as f:
    text_format.Merge(f.read(), graph_def)
  info = inference.read_info(graph_def, output)
  assert 'Output node: %s' % info['output_node'] in result.stdout
  assert info['num_classes'] == 10 and info['labels']['0'] == 'airplane'
  assert {n.op for n in graph_def.node} & {'VarHandleOp', 'VariableV2'}


@pytest.mark.parametrize('flags,error,choice', [
    (['--model_name=densenet_xl'], 'ERROR: --model_name', 'densenet121'),
    (['--model_name=lenet', '--preprocessing_name=sharpen'],
     'ERROR: --preprocessing_name', 'densenet_imagenet'),
    (['--model_name=lenet', '--moving_average_decay=1.5'],
     'ERROR: flag --moving_average_decay=1.5', 'below 1'),
])
def test_script_bad_flags_are_one_line_errors(flags, error, choice, tmp_path):
  result = helpers.run_script('export_inference_graph.py', *flags,
                              '--output_file=' + str(tmp_path / 'x.pb'))
  assert result.returncode == 1
  assert 'Traceback' not in result.stderr
  last = result.stderr.strip().splitlines()[-1]
  assert last.startswith(error) and choice in last
  assert not (tmp_path / 'x.pb').exists()


def test_saved_model_serving_signature(tmp_path):
  train_dir = str(tmp_path / 'train')
  helpers.write_checkpoint(train_dir, 'lenet', num_classes=4)
  spec = inference.make_spec('lenet', 4, labels_to_names={
      0: 'rose', 1: 'tulip', 2: 'daisy', 3: 'iris'})
  export_dir = str(tmp_path / 'serving' / '1')
  assert inference.export_saved_model(spec, train_dir, export_dir,
                                      top_k=6) == 4
  with tf.Graph().as_default(), tf.Session() as sess:
    meta_graph = tf.saved_model.loader.load(sess, ['serve'], export_dir)
  signature = meta_graph.signature_def['serving_default']
  assert list(signature.inputs) == ['image_bytes']
  assert signature.inputs['image_bytes'].dtype == tf.string.as_datatype_enum
  assert set(signature.outputs) == {'classes', 'class_names', 'probabilities'}
  assert signature.outputs['classes'].tensor_shape.dim[1].size == 4
  with pytest.raises(inference.UserError, match='already exists'):
    inference.export_saved_model(spec, train_dir, export_dir)


def test_saved_model_holds_the_moving_averages_when_asked(tmp_path):
  train_dir = str(tmp_path / 'train')
  checkpoint = helpers.write_checkpoint(train_dir, 'lenet', num_classes=4,
                                        averages_scale=0.5)
  spec = inference.make_spec('lenet', 4)
  reader = tf.train.load_checkpoint(checkpoint)
  for averages, name in ((False, 'weights'), (True, 'averaged')):
    export_dir = str(tmp_path / name / '1')
    inference.export_saved_model(spec, train_dir, export_dir,
                                 moving_averages=averages)
    with tf.Graph().as_default(), tf.Session() as sess:
      tf.saved_model.loader.load(sess, ['serve'], export_dir)
      saved = {var.op.name: sess.run(var) for var in tf.global_variables()}
    assert saved, 'the SavedModel holds no variables'
    for var_name, value in saved.items():
      expected = reader.get_tensor(
          var_name + ('/ExponentialMovingAverage' if averages else ''))
      np.testing.assert_allclose(value, expected, rtol=1e-6)


def test_preprocessing_name_is_embedded_and_recorded():
  default_spec = inference.make_spec('densenet_bc_mini', 3, channels=1)
  lenet_spec = inference.make_spec('densenet_bc_mini', 3, channels=1,
                                   preprocessing_name='lenet')
  assert inference.export_graph_def(default_spec)[1][
      'preprocessing_name'] == 'inception'
  graph_def, info = inference.export_graph_def(lenet_spec)
  assert info['preprocessing_name'] == 'lenet'
  assert inference.read_info(graph_def, 'test') == info
  # lenet maps 0 -> -1 and keeps the 28x28 digit as it is; inception would
  # crop the centre and resize.
  pixels = np.random.RandomState(0).randint(0, 256, (28, 28, 1), np.uint8)
  encoded = tf.io.encode_png(pixels).numpy()
  with tf.Graph().as_default() as graph:
    tf.import_graph_def(graph_def, name='')
    with tf.Session() as sess:
      got = sess.run('preprocessed_image:0', {'encoded_image:0': encoded})
  np.testing.assert_allclose(got, (pixels - 128.0) / 128.0)


def test_unknown_preprocessing_name_lists_the_choices():
  spec = inference.make_spec('lenet', 3, preprocessing_name='sharpen')
  with pytest.raises(inference.UserError,
                     match='--preprocessing_name.*densenet_imagenet'):
    inference.export_graph_def(spec)


def _frozen_lenet(train_dir, channels, preprocessing_name=None):
  """A 3-class LeNet of fresh weights, exported and frozen."""
  helpers.write_checkpoint(train_dir, 'lenet', num_classes=3,
                           channels=channels)
  graph_def, info = inference.export_graph_def(inference.make_spec(
      'lenet', 3, channels=channels, preprocessing_name=preprocessing_name))
  return inference.freeze_graph_def(graph_def, train_dir,
                                    inference.output_node_names(info))


def _called_functions(graph_def):
  return {node.attr[branch].func.name for node in graph_def.node
          if node.op in ('If', 'StatelessIf')
          for branch in ('then_branch', 'else_branch')}


@pytest.mark.parametrize('channels', [1, 3])
def test_frozen_graph_classifies_png_and_jpeg(channels, tmp_path):
  """1-channel decoding builds a functional cond: freezing must keep it."""
  frozen = _frozen_lenet(str(tmp_path / 'train'), channels,
                         preprocessing_name='lenet')
  called = _called_functions(frozen)
  assert called <= {f.signature.name for f in frozen.library.function}
  assert bool(called) == (channels == 1)
  path = str(tmp_path / 'frozen.pb')
  inference.write_graph_def(frozen, path)
  pixels = np.random.RandomState(1).randint(0, 256, (28, 28, 3), np.uint8)
  images = [tf.io.encode_png(pixels).numpy(),
            tf.io.encode_jpeg(pixels).numpy(),
            tf.io.encode_png(pixels[:, :, :1]).numpy()]
  results = inference.Classifier(path).classify(images, top_k=3)
  assert [len(r) for r in results] == [3, 3, 3]
  for predictions in results:
    assert sum(p.score for p in predictions) == pytest.approx(1.0, abs=1e-5)
  with pytest.raises(inference.ImageError, match='image 0 cannot be decoded'):
    inference.Classifier(path).classify([b'not an image'])


def test_model_failure_on_a_readable_image_says_what_failed(tmp_path):
  frozen = _frozen_lenet(str(tmp_path / 'train'), channels=1)
  # What older versions wrote: the cond's branches missing.
  del frozen.library.function[:]
  path = str(tmp_path / 'old_freeze.pb')
  inference.write_graph_def(frozen, path)
  png = tf.io.encode_png(np.zeros((28, 28, 1), np.uint8)).numpy()
  with pytest.raises(inference.ModelError,
                     match='readable image: Op type not registered .*Export '
                     'it again') as raised:
    inference.Classifier(path).classify([png])
  assert not isinstance(raised.value, inference.ImageError)
  assert '\n' not in str(raised.value)


def test_output_file_that_is_a_directory_is_one_line(tmp_path):
  result = helpers.run_script('export_inference_graph.py', '--model_name=lenet',
                              '--dataset_name=cifar10',
                              '--output_file=' + str(tmp_path))
  assert result.returncode == 1
  assert 'Traceback' not in result.stderr
  last = result.stderr.strip().splitlines()[-1]
  assert last.startswith('ERROR: %s is a directory' % tmp_path), last
  assert os.listdir(str(tmp_path)) == []
