"""The freeze and label_image commands of the fine-tuning tutorial and the
slim README, with upstream's node names, as written (bar paths, and a small
image size and random-init checkpoint to keep them fast)."""


import numpy as np
import pytest
import tensorflow.compat.v1 as tf
from PIL import Image

import deployment_helpers as helpers
from deployment import inference

SIZE = 75  # the smallest input Inception-v3/v4 take


@pytest.fixture(scope='module')
def dataset_dir(tmp_path_factory):
  directory = str(tmp_path_factory.mktemp('flowers'))
  helpers.write_dataset(directory)
  return directory


def _node_names(path):
  return {node.name for node in inference.read_graph_def(path).node}


def test_tutorial_export_freeze_with_inception_v4_logits_predictions(
    dataset_dir, tmp_path):
  # export_freeze.sh of the fine-tuning tutorial.
  train_dir = str(tmp_path / 'train')
  helpers.write_checkpoint(train_dir, 'inception_v4', image_size=SIZE)
  graph = str(tmp_path / 'my_inception_v4.pb')
  helpers.succeeds('export_inference_graph.py', '--model_name=inception_v4',
                   '--output_file=' + graph, '--dataset_name=quiz',
                   '--dataset_dir=' + dataset_dir, '--image_size=%d' % SIZE)
  frozen = str(tmp_path / 'my_inception_v4_freeze.pb')
  helpers.succeeds('freeze_graph.py', '--input_graph=' + graph,
                   '--input_checkpoint=' + train_dir,
                   '--output_graph=' + frozen, '--input_binary=True',
                   '--output_node_name=InceptionV4/Logits/Predictions')
  assert 'InceptionV4/Logits/Predictions' in _node_names(frozen)
  image = str(tmp_path / 'rose.png')
  Image.new('RGB', (40, 30), (200, 30, 60)).save(image)
  output = helpers.succeeds('label_image.py', '--graph=' + frozen,
                            '--image=' + image)
  assert output.count('class_') == min(5, helpers.NUM_CLASSES)


def _probabilities(frozen, output_layer, images):
  with tf.Graph().as_default() as graph:
    tf.import_graph_def(inference.read_graph_def(frozen), name='')
    with tf.Session(graph=graph) as sess:
      return sess.run(output_layer + ':0', {'input:0': images})


def test_readme_freeze_and_label_image_with_inception_v3_reshape_1(tmp_path):
  # The slim README: export (ImageNet's 1001 classes), freeze_graph with
  # --output_node_names, then label_image with --output_layer.
  output_layer = 'InceptionV3/Predictions/Reshape_1'
  checkpoint = helpers.write_checkpoint(str(tmp_path / 'checkpoints'),
                                        'inception_v3', num_classes=1001,
                                        image_size=SIZE)
  graph = str(tmp_path / 'inception_v3_inf_graph.pb')
  helpers.succeeds('export_inference_graph.py', '--alsologtostderr',
                   '--model_name=inception_v3', '--output_file=' + graph,
                   '--image_size=%d' % SIZE)
  frozen = str(tmp_path / 'frozen_inception_v3.pb')
  helpers.succeeds('freeze_graph.py', '--input_graph=' + graph,
                   '--input_checkpoint=' + checkpoint, '--input_binary=true',
                   '--output_graph=' + frozen,
                   '--output_node_names=' + output_layer)
  labels = str(tmp_path / 'imagenet_slim_labels.txt')
  with open(labels, 'w') as f:
    f.write(''.join('%d:label_%d\n' % (i, i) for i in range(1001)))
  pixels = np.random.RandomState(0).randint(0, 256, (SIZE, SIZE, 3), np.uint8)
  image = str(tmp_path / 'flowers.png')
  Image.fromarray(pixels).save(image)
  output = helpers.succeeds(
      'label_image.py', '--image=' + image, '--input_layer=input',
      '--output_layer=' + output_layer, '--graph=' + frozen,
      '--labels=' + labels, '--input_mean=0', '--input_std=255')
  # The sample's preprocessing: the image at the input size, / 255.
  expected = _probabilities(frozen, output_layer,
                            pixels[None].astype(np.float32) / 255)[0]
  best = int(np.argmax(expected))
  first = output.splitlines()[1].split()
  assert first[1:3] == ['label_%d' % best, '(%d)' % best]
  assert float(first[3]) == pytest.approx(expected[best], abs=1e-5)


def test_label_image_names_a_missing_output_layer(tmp_path):
  checkpoint = helpers.write_checkpoint(str(tmp_path / 'train'), 'lenet',
                                        num_classes=10, channels=1)
  frozen = str(tmp_path / 'lenet_freeze.pb')
  helpers.succeeds('export_inference_graph.py', '--model_name=lenet',
                   '--dataset_name=mnist', '--checkpoint_path=' + checkpoint,
                   '--output_file=' + frozen)
  image = str(tmp_path / 'digit.png')
  Image.new('L', (28, 28), 128).save(image)
  result = helpers.run_script('label_image.py', '--graph=' + frozen,
                              '--image=' + image,
                              '--output_layer=LeNet/Predictions/Reshape_1')
  # Upstream's LeNet scores outside its scope.
  assert helpers.error_line(result).endswith(
      '%s has no node LeNet/Predictions/Reshape_1; check the layer name '
      '(exported with input input and output Predictions/Reshape_1)' % frozen)


def test_registered_dataset_with_an_empty_dataset_dir_exports(tmp_path):
  # Upstream's export_inference_graph_test: --dataset_dir is an empty
  # folder; the registered dataset's class count is used.
  spec = inference.spec_from_dataset('lenet', 'mnist', str(tmp_path))
  assert (spec.num_classes, spec.channels) == (10, 1)
  with pytest.raises(inference.UserError, match='my_photos'):
    inference.spec_from_dataset('lenet', 'my_photos', str(tmp_path))
