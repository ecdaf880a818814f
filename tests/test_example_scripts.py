"""Upstream slim's example scripts (scripts/finetune_*_on_flowers.sh,
train_cifarnet_on_cifar10.sh, train_lenet_on_mnist.sh) end to end, offline.

Each runs with a tiny generated dataset already in DATASET_DIR, a randomly
initialised checkpoint of its network in PRETRAINED_CHECKPOINT_DIR, two steps
per training run and small images, and must print the evaluation lines of
every phase. Without the data or the checkpoint, and with no network (a proxy
on a closed port), each stops with one line saying what to put where.
"""

import os
import re
import shutil
import sys
import tarfile

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import deployment_helpers as helpers
import finetune_helpers
from datasets import fake_data

pytestmark = pytest.mark.skipif(shutil.which('bash') is None,
                                reason='the example scripts need bash')

EVAL_LINES = re.compile(r'^eval/Accuracy\[([0-9.e-]+)\]\neval/Recall_5\['
                        r'([0-9.e-]+)\]$', re.M)
STEPS = 2
# Nothing listens on port 9 of the loopback: every download fails at once.
OFFLINE = {'http_proxy': 'http://127.0.0.1:9', 'https_proxy':
           'http://127.0.0.1:9', 'HTTP_PROXY': 'http://127.0.0.1:9',
           'HTTPS_PROXY': 'http://127.0.0.1:9', 'no_proxy': None,
           'NO_PROXY': None}
QUIET = '--clone_on_cpu=True --num_readers=1 --num_preprocessing_threads=1'

# script, network, its smallest convenient image size, a variable of the
# backbone (frozen while only the new layers train), the release archive.
FINE_TUNES = [
    ('finetune_inception_v1_on_flowers.sh', 'inception_v1', 64,
     'InceptionV1/Conv2d_1a_7x7/weights', 'inception_v1_2016_08_28.tar.gz'),
    ('finetune_inception_v3_on_flowers.sh', 'inception_v3', 75,
     'InceptionV3/Conv2d_1a_3x3/weights', 'inception_v3_2016_08_28.tar.gz'),
    ('finetune_inception_resnet_v2_on_flowers.sh', 'inception_resnet_v2', 75,
     'InceptionResnetV2/Conv2d_1a_3x3/weights',
     'inception_resnet_v2_2016_08_30.tar.gz'),
    ('finetune_resnet_v1_50_on_flowers.sh', 'resnet_v1_50', 64,
     'resnet_v1_50/conv1/weights', 'resnet_v1_50_2016_08_28.tar.gz'),
]


@pytest.fixture(scope='module')
def flowers_dir(tmp_path_factory):
  directory = str(tmp_path_factory.mktemp('flowers'))
  fake_data.write_fake_dataset(directory, 'flowers', num_classes=5,
                               images_per_class={'train': 2, 'validation': 1},
                               image_shape=(40, 40, 3), num_shards=1)
  return directory


def _run(script, env, timeout=900):
  return helpers.run_script('scripts/' + script, env=env, timeout=timeout)


def _example_env(tmp_path, dataset_dir, **settings):
  env = dict(DATASET_DIR=dataset_dir, TRAIN_DIR=str(tmp_path / 'train'),
             PRETRAINED_CHECKPOINT_DIR=str(tmp_path / 'checkpoints'),
             DATASET_SOURCE=None, TRAIN_STEPS=STEPS, ALL_LAYERS_STEPS=STEPS,
             BATCH_SIZE=2, TRAIN_EXTRA_FLAGS=QUIET, EVAL_EXTRA_FLAGS=None,
             IMAGE_SIZE=None, PYTHON=sys.executable)
  env.update(settings)
  return env


def _evaluations(result):
  assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
  evaluations = [(float(a), float(r))
                 for a, r in EVAL_LINES.findall(result.stdout)]
  assert all(0 <= a <= r <= 1 for a, r in evaluations), evaluations
  return evaluations


@pytest.mark.parametrize('script,model,size,backbone,archive', FINE_TUNES,
                         ids=[case[1] for case in FINE_TUNES])
def test_fine_tuning_script_runs_both_phases(tmp_path, flowers_dir, script,
                                             model, size, backbone, archive):
  """Each fine-tuning script for real: both phases train, both evaluate.

  The four scripts share every step (scripts/lib); the next test checks
  their flags against upstream's.
  """
  del archive  # the offline test's
  env = _example_env(tmp_path, flowers_dir, IMAGE_SIZE=size)
  os.makedirs(env['PRETRAINED_CHECKPOINT_DIR'])
  pretrained = os.path.join(env['PRETRAINED_CHECKPOINT_DIR'], model + '.ckpt')
  finetune_helpers.write_checkpoint(model, pretrained, size)
  result = _run(script, env)
  assert len(_evaluations(result)) == 2, result.stdout[-4000:]
  assert 'Using the pre-trained checkpoint %s' % pretrained in result.stdout
  train_dir = env['TRAIN_DIR']
  new_layers = tf.train.load_checkpoint(os.path.join(train_dir,
                                                     'model.ckpt-%d' % STEPS))
  all_layers = tf.train.load_checkpoint(
      os.path.join(train_dir, 'all', 'model.ckpt-%d' % STEPS))
  source = tf.train.load_checkpoint(pretrained).get_tensor(backbone)
  # First phase: the backbone is the pre-trained one, untouched; second
  # phase: it starts from the first and trains.
  np.testing.assert_array_equal(new_layers.get_tensor(backbone), source)
  assert not np.array_equal(all_layers.get_tensor(backbone), source)


# A stand-in interpreter: records each script run's argv (one JSON line) and
# prints evaluation lines for eval_image_classifier.py.
RECORDING_PYTHON = """#!/bin/sh
printf '%s\\n' "$*" >> "$RECORDED_RUNS"
case "$2" in *eval_image_classifier.py)
  echo 'eval/Accuracy[0.5]'; echo 'eval/Recall_5[1]';; esac
"""

# Upstream's flags of each phase (scripts/finetune_*_on_flowers.sh): the new
# layers' scopes, then steps and learning rate of the two phases.
UPSTREAM_PHASES = {
    'inception_v3': ('InceptionV3/Logits,InceptionV3/AuxLogits',
                     1000, 0.01, 500, 0.0001),
    'inception_resnet_v2': ('InceptionResnetV2/Logits,'
                            'InceptionResnetV2/AuxLogits',
                            1000, 0.01, 500, 0.0001),
    'resnet_v1_50': ('resnet_v1_50/logits', 3000, 0.01, 1000, 0.001),
}


@pytest.mark.parametrize('script,model,size,backbone,archive', FINE_TUNES[1:],
                         ids=[row[1] for row in FINE_TUNES[1:]])
def test_fine_tuning_script_runs_upstreams_phases(tmp_path, flowers_dir,
                                                  script, model, size,
                                                  backbone, archive):
  del size, backbone, archive
  interpreter = tmp_path / 'python'
  interpreter.write_text(RECORDING_PYTHON)
  interpreter.chmod(0o755)
  runs = tmp_path / 'runs.txt'
  env = _example_env(tmp_path, flowers_dir, PYTHON=str(interpreter),
                     RECORDED_RUNS=str(runs), TRAIN_STEPS=None,
                     ALL_LAYERS_STEPS=None, BATCH_SIZE=None)
  os.makedirs(env['PRETRAINED_CHECKPOINT_DIR'])
  pretrained = os.path.join(env['PRETRAINED_CHECKPOINT_DIR'], model + '.ckpt')
  open(pretrained + '.index', 'w').close()
  result = _run(script, env)
  assert len(_evaluations(result)) == 2, result.stdout[-4000:]
  lines = runs.read_text().splitlines()
  assert [line.split()[1].rsplit('/', 1)[-1] for line in lines] == [
      'train_image_classifier.py', 'eval_image_classifier.py',
      'train_image_classifier.py', 'eval_image_classifier.py']
  train_dir = env['TRAIN_DIR']
  new_layers, _, all_layers, _ = [set(line.split()[2:]) for line in lines]
  scopes, steps, rate, all_steps, all_rate = UPSTREAM_PHASES[model]
  assert {'--model_name=' + model, '--checkpoint_path=' + pretrained,
          '--checkpoint_exclude_scopes=' + scopes,
          '--trainable_scopes=' + scopes, '--max_number_of_steps=%d' % steps,
          '--learning_rate=%g' % rate, '--train_dir=' + train_dir} <= new_layers
  assert {'--checkpoint_path=' + train_dir,
          '--max_number_of_steps=%d' % all_steps,
          '--learning_rate=%g' % all_rate,
          '--train_dir=' + os.path.join(train_dir, 'all')} <= all_layers
  assert not any(flag.startswith('--trainable_scopes') for flag in all_layers)


@pytest.mark.parametrize('script,dataset,shape,variable', [
    ('train_cifarnet_on_cifar10.sh', 'cifar10', (32, 32, 3),
     'CifarNet/conv1/weights'),
    ('train_lenet_on_mnist.sh', 'mnist', (28, 28, 1), 'LeNet/conv1/weights'),
])
def test_training_script_trains_and_evaluates(tmp_path, script, dataset, shape,
                                              variable):
  dataset_dir = str(tmp_path / dataset)
  fake_data.write_fake_dataset(dataset_dir, dataset, num_classes=10,
                               images_per_class={'train': 2, 'test': 1},
                               image_shape=shape, num_shards=1)
  env = _example_env(tmp_path, dataset_dir)
  result = _run(script, env)
  assert len(_evaluations(result)) == 1, result.stdout[-4000:]
  checkpoint = tf.train.latest_checkpoint(env['TRAIN_DIR'])
  assert checkpoint.endswith('model.ckpt-%d' % STEPS)
  # The script's own network, trained from scratch and evaluated.
  assert tf.train.load_checkpoint(checkpoint).has_tensor(variable)
  assert 'Restoring parameters from %s' % os.path.join(
      env['TRAIN_DIR'], 'model.ckpt-%d' % STEPS) in result.stdout + \
      result.stderr


def _one_line(result):
  """Exit 1 and exactly one line on stderr; returns it."""
  assert result.returncode == 1, (result.stdout + result.stderr)[-3000:]
  lines = result.stderr.strip().splitlines()
  assert len(lines) == 1, result.stderr[-3000:]
  return lines[0]


def test_offline_a_missing_dataset_is_one_line(tmp_path):
  env = _example_env(tmp_path, str(tmp_path / 'flowers'), **OFFLINE)
  line = _one_line(_run('finetune_inception_v1_on_flowers.sh', env))
  assert line.startswith('ERROR: finetune_inception_v1_on_flowers.sh: no '
                         'flowers dataset in %s' % env['DATASET_DIR']), line
  assert 'DATASET_SOURCE' in line and 'flower_photos.tgz' in line, line


def test_offline_a_missing_checkpoint_is_one_line(tmp_path, flowers_dir):
  env = _example_env(tmp_path, flowers_dir, **OFFLINE)
  line = _one_line(_run('finetune_resnet_v1_50_on_flowers.sh', env))
  checkpoint_dir = env['PRETRAINED_CHECKPOINT_DIR']
  assert line == (
      'ERROR: finetune_resnet_v1_50_on_flowers.sh: no resnet_v1_50.ckpt in '
      '%s and http://download.tensorflow.org/models/'
      'resnet_v1_50_2016_08_28.tar.gz cannot be downloaded here: put '
      'resnet_v1_50.ckpt, or the archive resnet_v1_50_2016_08_28.tar.gz, in '
      '%s (or set PRETRAINED_CHECKPOINT_DIR to the folder that holds it)' %
      (checkpoint_dir, checkpoint_dir)), line
  assert not os.listdir(checkpoint_dir)  # no partial download left behind


def test_a_release_archive_is_unpacked_offline(tmp_path, flowers_dir):
  """The release .tar.gz in PRETRAINED_CHECKPOINT_DIR is used as is.

  Stops at the first training (a bad flag), right after the checkpoint step.
  """
  env = _example_env(tmp_path, flowers_dir, TRAIN_EXTRA_FLAGS='--no_such_flag',
                     **OFFLINE)
  checkpoint_dir = env['PRETRAINED_CHECKPOINT_DIR']
  os.makedirs(checkpoint_dir)
  inside = tmp_path / 'inception_v3.ckpt'
  inside.write_bytes(b'a single-file (V1) checkpoint, as released')
  with tarfile.open(os.path.join(checkpoint_dir,
                                 'inception_v3_2016_08_28.tar.gz'),
                    'w:gz') as tar:
    tar.add(str(inside), arcname='inception_v3.ckpt')
  result = _run('finetune_inception_v3_on_flowers.sh', env)
  unpacked = os.path.join(checkpoint_dir, 'inception_v3.ckpt')
  assert 'Unpacked %s' % unpacked in result.stdout, result.stdout[-3000:]
  with open(unpacked, 'rb') as f:
    assert f.read() == inside.read_bytes()
  assert 'no_such_flag' in helpers.error_line(result)
