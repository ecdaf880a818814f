"""Every network family through the whole tool chain, as a user runs it.

One member of each network module trains a few steps with
train_image_classifier.py at a small input size, is exported and frozen by
export_inference_graph.py, and classifies the validation images with
label_image.py. label_image.py must give, image for image, the top-1 class
of the evaluation pipeline (input_pipeline + network, what
eval_image_classifier.py runs; or a class tied with it), so the accuracy it
implies is the evaluation's (up to ties).

The evaluation script itself runs in test_eval_image_classifier.py,
test_workflow_scripts.py and test_densenet.py; the video networks (5-D
input) train and export in tests/test_video_models.py; LeNet, CifarNet and
DenseNet run this chain in test_workflow_scripts.py and test_label_image.py.
"""

import os
import shutil

import pytest

import deployment_helpers as helpers
from nets import nets_factory

# (network, input size): the smallest size each family's stride pattern and
# VALID layers (and auxiliary heads) accept, so the chain stays cheap. The fully connected classics
# only take their native size; plain SGD keeps their checkpoints to one copy
# of the weights.
FAMILIES = [
    ('alexnet_v2', 224), ('overfeat', 231), ('vgg_a', 224),
    ('inception_v1', 64), ('inception_v2', 64), ('inception_v3', 75),
    ('inception_v4', 75), ('inception_resnet_v2', 75),
    ('resnet_v1_50', 64), ('resnet_v2_50', 64),
    ('mobilenet_v1_025', 64), ('mobilenet_v2', 64), ('mobilenet_v3_small', 64),
    ('nasnet_mobile', 96), ('pnasnet_mobile', 96),
]
COVERED_ELSEWHERE = {'nets.lenet', 'nets.cifarnet', 'nets.densenet'}


def test_every_image_network_module_is_in_the_chain():
  video = {nets_factory.NETWORKS[n].module
           for n in nets_factory.VIDEO_NETWORKS}
  chained = {nets_factory.NETWORKS[n].module for n, _ in FAMILIES}
  every = {row.module for row in nets_factory.NETWORKS.values()}
  assert chained == every - video - COVERED_ELSEWHERE


# Two classes whose evaluation-graph probabilities are this close are a tie:
# a network trained two steps from random weights often has near-equal
# scores, and the graphs' different fusions and batch sizes may order them
# either way.
TIE = 1e-4


@pytest.fixture(scope='module')
def dataset_dir(tmp_path_factory):
  directory = str(tmp_path_factory.mktemp('quiz'))
  helpers.write_dataset(directory)
  return directory


def _train(model_name, size, dataset_dir, train_dir):
  helpers.succeeds('train_image_classifier.py', '--dataset_name=quiz',
                   '--dataset_dir=' + dataset_dir,
                   '--model_name=' + model_name, '--train_dir=' + train_dir,
                   '--max_number_of_steps=2', '--batch_size=2',
                   '--optimizer=sgd', '--learning_rate=0.01',
                   '--train_image_size=%d' % size, '--clone_on_cpu=True',
                   '--num_readers=1', '--num_preprocessing_threads=1')


def _label_images(model_name, size, dataset_dir, train_dir, image_dir):
  """Exports + freezes, then returns label_image.py's top-1 of each image."""
  frozen = os.path.join(train_dir, 'frozen.pb')
  helpers.succeeds('export_inference_graph.py', '--model_name=' + model_name,
            '--dataset_name=quiz', '--dataset_dir=' + dataset_dir,
            '--image_size=%d' % size, '--checkpoint_path=' + train_dir,
            '--output_file=' + frozen)
  examples = helpers.split_examples(dataset_dir, 'validation')
  paths = helpers.write_image_files(examples, image_dir)
  return (helpers.label_image_top1(frozen, paths),
          [label for _, label in examples])


@pytest.mark.parametrize('model_name,size', FAMILIES,
                         ids=[name for name, _ in FAMILIES])
def test_train_export_and_label_as_the_evaluation(model_name, size,
                                                  dataset_dir, tmp_path):
  train_dir = str(tmp_path / 'train')
  try:
    _train(model_name, size, dataset_dir, train_dir)
    classes, labels = _label_images(model_name, size, dataset_dir, train_dir,
                                    str(tmp_path / 'images'))
    probabilities = helpers.eval_graph_probabilities(
        dataset_dir, train_dir, model_name, image_size=size)
    best = probabilities.max(axis=1)
    assert len(classes) == len(labels) == len(probabilities)
    assert all(row[c] >= top - TIE for c, row, top in
               zip(classes, probabilities, best)), (classes, probabilities)
  finally:
    # The classics' checkpoints are hundreds of MB: do not keep them around.
    shutil.rmtree(train_dir, ignore_errors=True)
