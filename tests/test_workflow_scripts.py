"""The tutorial's workflow, scripts/*.sh in sequence on a generated folder.

convert.sh -> run_train.sh -> run_eval.sh -> export_freeze.sh -> server.sh,
then one image classified over HTTP on localhost.
"""

import json
import os
import shutil
import subprocess
import urllib.request

import numpy as np
import pytest
from PIL import Image

import deployment_helpers as helpers

SCRIPTS = os.path.join(helpers.ROOT, 'scripts')
CLASSES = ('daisy', 'roses', 'tulips')

pytestmark = pytest.mark.skipif(shutil.which('bash') is None,
                                reason='the workflow scripts need bash')



def _write_photo_folder(root):
  """my_flower_5-style folder: one sub-folder of JPEGs per class."""
  rng = np.random.RandomState(0)
  for label, name in enumerate(CLASSES):
    os.makedirs(os.path.join(root, name))
    for index in range(6):
      pixels = np.full((30, 34, 3), 60 + 70 * label, np.uint8)
      pixels += rng.randint(0, 20, pixels.shape).astype(np.uint8)
      Image.fromarray(pixels).save(
          os.path.join(root, name, 'photo_%d.jpg' % index))


def _run(script, env, timeout=300):
  result = subprocess.run(['bash', os.path.join(SCRIPTS, script)], env=env,
                          capture_output=True, text=True, timeout=timeout,
                          check=False)
  assert result.returncode == 0, '%s failed:\n%s' % (script,
                                                     result.stderr[-3000:])
  return result


def test_tutorial_workflow_ends_with_a_served_classification(tmp_path):
  dataset_dir = tmp_path / 'flower'
  _write_photo_folder(str(dataset_dir / 'my_flower_3'))
  env = dict(
      os.environ, TF_CPP_MIN_LOG_LEVEL='2', CUDA_VISIBLE_DEVICES='',
      DATASET_NAME='my_flower_3', DATASET_DIR=str(dataset_dir),
      MODEL_NAME='lenet', PREPROCESSING_NAME='lenet',
      TRAIN_DIR=str(tmp_path / 'train'),
      BATCH_SIZE='4', MAX_STEPS='3', CONVERT_EXTRA_FLAGS='--num_shards=1',
      TRAIN_EXTRA_FLAGS='--clone_on_cpu=True --log_every_n_steps=1',
      UPLOAD_FOLDER=str(tmp_path / 'upload'), SERVER_HOST='127.0.0.1',
      SERVER_PORT='0')
  env.pop('CHECKPOINT_PATH', None)
  _run('convert.sh', env)
  assert (dataset_dir / 'labels.txt').exists()
  _run('run_train.sh', env)
  _run('run_eval.sh', env)
  exported = _run('export_freeze.sh', env)
  assert 'Output node: ' in exported.stdout
  export_dir = tmp_path / 'train' / 'export'
  assert sorted(os.listdir(export_dir)) == [
      'my_lenet.pb', 'my_lenet_freeze.label', 'my_lenet_freeze.pb']

  server = subprocess.Popen(
      ['bash', os.path.join(SCRIPTS, 'server.sh')], env=env,
      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
      start_new_session=True)
  try:
    port = helpers.wait_for_port(server)
    photo = str(dataset_dir / 'my_flower_3' / 'roses' / 'photo_0.jpg')
    with open(photo, 'rb') as f:
      request = urllib.request.Request(
          'http://127.0.0.1:%d/api/classify' % port, data=f.read(),
          headers={'Content-Type': 'image/jpeg'})
    with helpers.NO_PROXY.open(request, timeout=60) as response:
      answer = json.loads(response.read())
  finally:
    helpers.stop_process_group(server)
  labels = [p['label'] for p in answer['predictions']]
  assert sorted(labels) == sorted(CLASSES)
  assert server.returncode is not None
