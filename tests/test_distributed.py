"""Distributed training on TensorFlow's gRPC runtime: 1 ps + 2 workers.

Every process runs train_image_classifier.py with the cluster in TF_CONFIG,
all on 127.0.0.1 ports picked free by the OS. The processes are always
killed at the end, whatever happens.
"""

import contextlib
import json
import os
import re
import stat
import subprocess
import sys
import time

import pytest
import tensorflow.compat.v1 as tf

from datasets import fake_data
import deployment_helpers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, 'train_image_classifier.py')
MAX_STEPS = 6
# A run takes 10-45 s (the second worker may wait 30 s for the chief's
# initialisation); a sync chief held for the Supervisor's default 120-s grace
# would not fit.
TIME_LIMIT_SECS = 110


def start(cluster, task_type, index, args, log_path):
  env = dict(os.environ, TF_CONFIG=json.dumps(
      {'cluster': cluster, 'task': {'type': task_type, 'index': index}}))
  log = open(log_path, 'w')
  return subprocess.Popen(args + ['--task=%d' % index], cwd=ROOT, env=env,
                          stdout=log, stderr=subprocess.STDOUT)


@contextlib.contextmanager
def killed_at_exit(processes):
  try:
    yield processes
  finally:
    for proc in processes:
      if proc.poll() is None:
        proc.kill()
      proc.wait()


# Synchronous replicas: each step aggregates both workers' gradients, and
# the run must end (the chief's sync-queue runner never does:
# distributed.sync_stop_grace; it held the chief 120 s before).
@pytest.mark.parametrize('sync_flags', [
    [], ['--sync_replicas=True', '--replicas_to_aggregate=2']],
                         ids=['async', 'sync'])
def test_one_ps_two_workers_train_and_checkpoint(tmp_path, sync_flags):
  dataset_dir = str(tmp_path / 'data')
  fake_data.write_fake_dataset(dataset_dir, 'quiz', num_classes=3,
                               images_per_class={'train': 8})
  os.chmod(dataset_dir, stat.S_IRUSR | stat.S_IXUSR)
  train_dir = str(tmp_path / 'ckpt')
  ps_port, worker0_port, worker1_port = deployment_helpers.free_loopback_ports(3)
  cluster = {'ps': ['127.0.0.1:%d' % ps_port],
             'worker': ['127.0.0.1:%d' % worker0_port,
                        '127.0.0.1:%d' % worker1_port]}
  args = [sys.executable, SCRIPT, '--dataset_name=quiz',
          '--dataset_dir=%s' % dataset_dir, '--train_dir=%s' % train_dir,
          '--model_name=lenet', '--train_image_size=28', '--batch_size=4',
          '--num_ps_tasks=1', '--worker_replicas=2',
          '--max_number_of_steps=%d' % MAX_STEPS, '--num_readers=1',
          '--log_every_n_steps=1'] + sync_flags
  logs = [str(tmp_path / name) for name in ('ps.log', 'w0.log', 'w1.log')]
  processes = []
  with killed_at_exit(processes):
    deadline = time.time() + TIME_LIMIT_SECS
    processes.append(start(cluster, 'ps', 0, args, logs[0]))
    processes.append(start(cluster, 'worker', 0, args, logs[1]))
    # Worker 1 usually finds the model not yet initialised by the chief and
    # polls again after TensorFlow's SessionManager wait (30 s): this test
    # takes about a minute.
    processes.append(start(cluster, 'worker', 1, args, logs[2]))
    while time.time() < deadline and any(
        proc.poll() is None for proc in processes[1:]):
      time.sleep(0.5)
    codes = [proc.poll() for proc in processes[1:]]
    outputs = [open(path).read() for path in logs]
    assert codes == [0, 0], '\n'.join(outputs)
    assert processes[0].poll() is None, 'ps exited early:\n' + outputs[0]
  chief_steps = [int(s) for s in
                 re.findall(r'global step (\d+): loss', outputs[1])]
  worker_steps = [int(s) for s in
                  re.findall(r'global step (\d+): loss', outputs[2])]
  assert chief_steps and chief_steps[-1] >= MAX_STEPS - 1, outputs[1]
  assert worker_steps, outputs[2]
  latest = tf.train.latest_checkpoint(train_dir)
  assert latest, os.listdir(train_dir)
  step = tf.train.load_checkpoint(latest).get_tensor('global_step')
  assert step >= MAX_STEPS
  os.chmod(dataset_dir, stat.S_IRWXU)


@pytest.mark.parametrize('value', ['{not json', '{"cluster": {}}'])
def test_bad_tf_config_is_one_clear_line(value, monkeypatch):
  from common_flags import UserError  # pylint: disable=g-import-not-at-top
  from deployment import distributed  # pylint: disable=g-import-not-at-top
  monkeypatch.setenv('TF_CONFIG', value)
  with pytest.raises(UserError, match='TF_CONFIG must be JSON like'):
    distributed.cluster_from_environment()
