"""label_image.py and inference.Classifier: same answers as evaluation."""

import os

import numpy as np
import pytest

from deployment import inference
from deployment import session_config
import deployment_helpers as helpers

# (network, image size): CifarNet's own preprocessing, and a DenseNet with
# batch norm and the inception central-crop preprocessing at a small size.
MODELS = [('cifarnet', None), ('densenet_bc_mini', 32)]


@pytest.fixture(scope='module')
def dataset_dir(tmp_path_factory):
  directory = str(tmp_path_factory.mktemp('quiz'))
  helpers.write_dataset(directory)
  return directory


_EXPORTS = {}


def _export(model_name, image_size, dataset_dir, tmp_path_factory):
  """Checkpoint, frozen graph and SavedModel of one model, made once."""
  if model_name not in _EXPORTS:
    work = tmp_path_factory.mktemp(model_name)
    train_dir = str(work / 'train')
    helpers.write_checkpoint(train_dir, model_name, image_size=image_size)
    frozen = str(work / 'model_freeze.pb')
    spec, _ = helpers.export_frozen(dataset_dir, train_dir, frozen,
                                    model_name, image_size=image_size)
    saved_model = str(work / 'serving' / '1')
    inference.export_saved_model(spec, train_dir, saved_model, top_k=3)
    _EXPORTS[model_name] = dict(
        model_name=model_name, image_size=image_size, train_dir=train_dir,
        frozen=frozen, saved_model=saved_model, labels=spec.labels_to_names)
  return _EXPORTS[model_name]


@pytest.fixture(scope='module', params=MODELS, ids=[m for m, _ in MODELS])
def exported(request, dataset_dir, tmp_path_factory):
  return _export(*request.param, dataset_dir, tmp_path_factory)


@pytest.fixture(scope='module')
def cifarnet(dataset_dir, tmp_path_factory):
  """The model the (slow, subprocess) script tests use."""
  return _export(*MODELS[0], dataset_dir, tmp_path_factory)


def test_top1_matches_evaluation_graph(exported, dataset_dir):
  examples = helpers.split_examples(dataset_dir, 'validation')
  expected = helpers.eval_graph_predictions(
      dataset_dir, exported['train_dir'], exported['model_name'],
      exported['image_size'])
  assert len(expected) == len(examples) == 10
  for model in (exported['frozen'], exported['saved_model']):
    results = inference.Classifier(model).classify(
        [encoded for encoded, _ in examples], top_k=3)
    assert [r[0].class_id for r in results] == expected, model


def test_frozen_graph_and_saved_model_agree(exported, dataset_dir):
  images = [e for e, _ in helpers.split_examples(dataset_dir, 'train')[:4]]
  frozen = inference.Classifier(exported['frozen']).classify(images, 3)
  served = inference.Classifier(exported['saved_model']).classify(images, 3)
  for row_a, row_b in zip(frozen, served):
    assert [p.class_id for p in row_a] == [p.class_id for p in row_b]
    assert [p.label for p in row_a] == [p.label for p in row_b]
    np.testing.assert_allclose([p.score for p in row_a],
                               [p.score for p in row_b], rtol=1e-4, atol=1e-6)
    scores = [p.score for p in row_a]
    assert scores == sorted(scores, reverse=True)


def test_script_prints_top_k_names_from_label_file(cifarnet, dataset_dir,
                                                   tmp_path):
  exported = cifarnet
  examples = helpers.split_examples(dataset_dir, 'validation')[:2]
  paths = helpers.write_image_files(examples, str(tmp_path / 'images'))
  renamed = {i: 'flower_%d' % i for i in exported['labels']}
  inference.write_labels(renamed, str(tmp_path / 'names.txt'))
  result = helpers.run_script(
      'label_image.py', '--graph=' + exported['frozen'], '--top_k=2',
      '--labels=' + str(tmp_path / 'names.txt'), '--image=' + paths[0],
      paths[1])
  assert result.returncode == 0, result.stderr
  lines = result.stdout.splitlines()
  assert lines[0] == paths[0] and lines[3] == paths[1]
  expected = inference.Classifier(exported['frozen']).classify(
      [e for e, _ in examples], 2)
  for block, predictions in zip((lines[1:3], lines[4:6]), expected):
    for line, prediction in zip(block, predictions):
      assert line.split()[1] == 'flower_%d' % prediction.class_id


def test_script_names_the_unreadable_file(cifarnet, tmp_path):
  exported = cifarnet
  bad = tmp_path / 'notes.jpg'
  bad.write_text('not an image')
  result = helpers.run_script('label_image.py', '--graph=' + exported['frozen'],
                              str(bad))
  assert result.returncode == 1
  assert 'Traceback' not in result.stderr
  assert str(bad) in result.stderr.strip().splitlines()[-1]


def test_missing_or_foreign_model_is_a_user_error(tmp_path):
  missing = str(tmp_path / 'nothing.pb')
  with pytest.raises(inference.UserError, match='no such model'):
    inference.Classifier(missing)
  foreign = tmp_path / 'foreign.pb'
  foreign.write_bytes(b'')  # an empty GraphDef: parses, has no info node
  with pytest.raises(inference.UserError, match='export_inference_graph'):
    inference.Classifier(str(foreign))


def test_labels_default_to_file_next_to_graph(exported, tmp_path):
  classifier = inference.Classifier(exported['frozen'])
  assert classifier.labels_to_names == exported['labels']
  assert os.path.isfile(inference.labels_path_for(exported['frozen']))


def test_unfrozen_graph_is_refused_at_load_with_how_to_freeze(dataset_dir,
                                                              tmp_path):
  graph_def, _ = inference.export_graph_def(
      inference.spec_from_dataset('lenet', 'quiz', dataset_dir))
  unfrozen = str(tmp_path / 'lenet_inf_graph.pb')
  inference.write_graph_def(graph_def, unfrozen)
  with pytest.raises(inference.UserError,
                     match='not frozen.*freeze_graph.py --input_graph='):
    inference.Classifier(unfrozen)
  result = helpers.run_script('label_image.py', '--graph=' + unfrozen,
                              str(tmp_path / 'any.png'))
  assert result.returncode == 1 and 'Traceback' not in result.stderr
  assert result.stderr.strip().splitlines()[-1].startswith(
      'ERROR: %s is not frozen' % unfrozen)


def test_frozen_graphs_over_the_size_limit_run_without_grappler():
  # Grappler's first pass copies a frozen graph's weights several times
  # (VGG-A: 29.8 s instead of 2.9 s); smaller graphs keep its fusions.
  limit = session_config.GRAPPLER_MAX_GRAPH_BYTES
  options = lambda size: (session_config.frozen_graph_config(size)
                          .graph_options.rewrite_options)
  assert not options(limit).disable_meta_optimizer
  assert options(limit + 1).disable_meta_optimizer
