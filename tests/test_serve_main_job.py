"""The main job's model, served: same answers as its evaluation.

`scripts/main_job.sh` trains `densenet_bc_mini` on 1-channel 28x28 images
with `--preprocessing_name=lenet` and evaluates the weights' moving averages
(`--moving_average_decay`). Here it trains a few steps on generated
images of that shape, is evaluated by eval_image_classifier.py, exported by
export_inference_graph.py as a frozen graph and a SavedModel, and both are
asked for every validation PNG through label_image.py and server.py's
`/api/classify`: each must give the evaluation pipeline's top-1, so the
accuracy they imply is the one the eval script prints.
"""

import pytest

import deployment_helpers as helpers
from datasets import fake_data

MODEL = ['--model_name=densenet_bc_mini', '--preprocessing_name=lenet']
# The main job trains, evaluates and (README) exports with the weights'
# moving averages: the served model must be the evaluated one.
AVERAGES = '--moving_average_decay=0.998'
NUM_CLASSES = 4


@pytest.fixture(scope='module')
def job(tmp_path_factory):
  """Dataset, trained checkpoint, eval accuracy, frozen graph, SavedModel."""
  work = tmp_path_factory.mktemp('main_job')
  dataset_dir = str(work / 'data')
  fake_data.write_fake_dataset(
      dataset_dir, 'quiz', num_classes=NUM_CLASSES, image_format='png',
      images_per_class={'train': 2, 'validation': 2}, image_shape=(28, 28, 1),
      num_shards=1)
  data = ['--dataset_name=quiz', '--dataset_dir=' + dataset_dir] + MODEL
  train_dir = str(work / 'train')
  helpers.succeeds(
      'train_image_classifier.py', *data, '--train_dir=' + train_dir,
      # 40 gentle steps give varied answers; the main job's rate of 0.1
      # this early puts every image in one class.
      '--train_image_size=28', '--max_number_of_steps=40', '--batch_size=8',
      '--optimizer=momentum', '--learning_rate=0.01', '--clone_on_cpu=True',
      '--num_readers=1', '--num_preprocessing_threads=1', AVERAGES)
  evaluated = helpers.succeeds(
      'eval_image_classifier.py', *data, '--dataset_split_name=validation',
      '--checkpoint_path=' + train_dir, '--eval_dir=' + str(work / 'eval'),
      '--eval_image_size=28', '--batch_size=4', AVERAGES)
  frozen = str(work / 'densenet_bc_mini_freeze.pb')
  saved_model = str(work / 'serving' / '1')
  exported = helpers.succeeds(
      'export_inference_graph.py', *data, '--checkpoint_path=' + train_dir,
      '--output_file=' + frozen, '--saved_model_dir=' + saved_model,
      AVERAGES)
  assert 'Preprocessing: lenet' in exported
  examples = helpers.split_examples(dataset_dir, 'validation')
  return dict(
      dataset_dir=dataset_dir, train_dir=train_dir, frozen=frozen,
      saved_model=saved_model,
      accuracy=float(helpers.ACCURACY_LINE.findall(evaluated)[-1]),
      labels=[label for _, label in examples],
      paths=helpers.write_image_files(examples, str(work / 'images')))


@pytest.fixture(scope='module')
def expected_top1(job):
  """The evaluation pipeline's top-1 per validation image, lenet-prepared."""
  return helpers.eval_graph_predictions(
      job['dataset_dir'], job['train_dir'], 'densenet_bc_mini', image_size=28,
      preprocessing_name='lenet', moving_average_decay=0.998)


def _accuracy(classes, labels):
  return sum(c == label for c, label in zip(classes, labels)) / len(labels)


def _served_top1(model, paths, upload_folder):
  """Starts server.py on a free port, posts each image to /api/classify."""
  with helpers.running_server(
      'server.py', '--model_file=' + model, '--host=127.0.0.1', '--port=0',
      '--upload_folder=' + upload_folder) as port:
    # write_image_files names every file .jpg; these hold PNG bytes.
    answers = [helpers.classify_over_http(port, path, 'image/png')
               for path in paths]
  return [answer['predictions'][0]['class_id'] for answer in answers]


def test_evaluation_sees_every_validation_image(job, expected_top1):
  assert len(expected_top1) == len(job['labels']) == 2 * NUM_CLASSES
  # One class for every image would make the comparisons below blind.
  assert len(set(expected_top1)) > 1
  assert _accuracy(expected_top1, job['labels']) == pytest.approx(
      job['accuracy'], abs=1e-6)


@pytest.mark.parametrize('model', ['frozen', 'saved_model'])
def test_label_image_gives_the_evaluation_top1(job, expected_top1, model):
  assert helpers.label_image_top1(job[model], job['paths']) == expected_top1


@pytest.mark.parametrize('model', ['frozen', 'saved_model'])
def test_server_gives_the_evaluation_top1(job, expected_top1, model,
                                          tmp_path):
  served = _served_top1(job[model], job['paths'], str(tmp_path / 'upload'))
  assert served == expected_top1
  assert _accuracy(served, job['labels']) == pytest.approx(job['accuracy'],
                                                           abs=1e-6)
