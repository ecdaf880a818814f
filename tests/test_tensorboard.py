"""`tensorboard --logdir=<train_dir>` serves the curves a training run wrote.

A short LeNet run writes its summaries every second; TensorBoard (installed
from requirements.txt) must start and answer its HTTP data API with the same
`total_loss` and `learning_rate` points as the event files. The screenshot
of its page is in test_browser.py, which reuses these helpers.
"""

import contextlib
import glob
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse

import pytest
import tensorflow.compat.v1 as tf

import deployment_helpers as helpers

TENSORBOARD = os.path.join(os.path.dirname(sys.executable), 'tensorboard')
TAGS = ('total_loss', 'learning_rate')
# Steps take ~5 ms on LeNet: 800 of them span several one-second summaries.
# The learning rate falls linearly over the run, so its curve is not flat.
TRAIN_FLAGS = ('--model_name=lenet', '--max_number_of_steps=800',
               '--batch_size=2', '--optimizer=sgd', '--learning_rate=0.002',
               '--learning_rate_decay_type=polynomial',
               '--num_epochs_per_decay=160', '--save_summaries_secs=1',
               '--clone_on_cpu=True', '--num_readers=1',
               '--num_preprocessing_threads=1', '--log_every_n_steps=400')
START_TIMEOUT = 120


def train_short_run(work_dir):
  """Trains LeNet on a generated dataset; returns its train_dir."""
  dataset_dir = os.path.join(work_dir, 'quiz')
  helpers.write_dataset(dataset_dir)
  train_dir = os.path.join(work_dir, 'train')
  helpers.succeeds('train_image_classifier.py', '--dataset_name=quiz',
                   '--dataset_dir=' + dataset_dir, '--train_dir=' + train_dir,
                   *TRAIN_FLAGS)
  return train_dir


def event_scalars(train_dir, tag):
  """[(step, value)] of `tag` in the run's event files, in step order."""
  points = []
  for path in glob.glob(os.path.join(train_dir, 'events.out.tfevents.*')):
    for event in tf.train.summary_iterator(path):
      points.extend((event.step, value.simple_value)
                    for value in event.summary.value if value.tag == tag)
  return sorted(points)


def free_port():
  with socket.socket() as sock:
    sock.bind(('127.0.0.1', 0))
    return sock.getsockname()[1]


def get_json(url, timeout=10):
  with helpers.NO_PROXY.open(url, timeout=timeout) as response:
    return json.loads(response.read().decode('utf-8'))


def scalars_url(base_url, tag):
  """The scalars plugin's [[wall_time, step, value]] of run '.' (logdir)."""
  return base_url + 'data/plugin/scalars/scalars?' + urllib.parse.urlencode(
      {'run': '.', 'tag': tag})


def served_scalars(base_url, tag):
  return [(step, value) for _, step, value in get_json(scalars_url(base_url,
                                                                   tag))]


def wait_for_scalars(process, base_url, expected, timeout=START_TIMEOUT):
  """Polls until TensorBoard serves every expected point (it loads lazily)."""
  deadline = time.time() + timeout
  served = None
  while time.time() < deadline:
    if process.poll() is not None:
      break
    try:
      served = {tag: served_scalars(base_url, tag) for tag in expected}
      if all(len(served[tag]) >= len(points)
             for tag, points in expected.items()):
        return served
    except (urllib.error.URLError, ConnectionError, ValueError):
      pass  # not listening yet, or the run is not loaded yet (400)
    time.sleep(0.5)
  raise AssertionError('TensorBoard (exit %s) served %s, not %s:\n%s' % (
      process.poll(), served, expected, read_log(process)))


def read_log(process):
  process.log.seek(0)
  return process.log.read()[-3000:]


@contextlib.contextmanager
def tensorboard(logdir, log_path):
  """Starts the venv's `tensorboard` on a loopback port; yields (proc, url)."""
  if not os.access(TENSORBOARD, os.X_OK):
    pytest.fail('%s missing: pip install -r requirements.txt' % TENSORBOARD)
  port = free_port()
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2', CUDA_VISIBLE_DEVICES='')
  with open(log_path, 'w+') as log:
    # Started beside the logdir: the page shows --logdir as given, 'train'.
    process = subprocess.Popen(
        [TENSORBOARD, '--logdir=' + os.path.basename(logdir),
         '--host=127.0.0.1', '--port=%d' % port],
        cwd=os.path.dirname(logdir), stdout=log, stderr=subprocess.STDOUT,
        env=env, start_new_session=True)
    process.log = log
    try:
      yield process, 'http://127.0.0.1:%d/' % port
    finally:
      helpers.stop_process_group(process)


@pytest.fixture(scope='module')
def train_dir(tmp_path_factory):
  return train_short_run(str(tmp_path_factory.mktemp('tensorboard')))


def test_tensorboard_serves_the_training_scalars(train_dir, tmp_path):
  expected = {tag: event_scalars(train_dir, tag) for tag in TAGS}
  for tag, points in expected.items():
    assert len(points) >= 3, 'only %d %s summaries: %s' % (len(points), tag,
                                                          points)
  rates = [value for _, value in expected['learning_rate']]
  assert rates == sorted(rates, reverse=True) and rates[0] > rates[-1]
  with tensorboard(train_dir, str(tmp_path / 'tensorboard.log')) as (
      process, url):
    served = wait_for_scalars(process, url, expected)
    assert get_json(url + 'data/runs') == ['.']
    tags = get_json(url + 'data/plugin/scalars/tags')['.']
  assert set(TAGS) <= set(tags), tags
  # The JSON carries the float32 summaries as doubles: equal, not close.
  assert served == expected
