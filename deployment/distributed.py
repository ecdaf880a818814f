"""Distributed set-up: the cluster from TF_CONFIG, the gRPC server, devices.

Distributed training uses TensorFlow's gRPC runtime. Every process gets the
cluster in the standard `TF_CONFIG` environment variable, e.g.
`{"cluster": {"ps": ["127.0.0.1:2222"], "worker": ["127.0.0.1:2223",
"127.0.0.1:2224"]}, "task": {"type": "worker", "index": 0}}`; a "ps" task
only serves variables, a "worker" task starts its own server and trains
through it (task 0 is the chief that initialises and saves).
"""

import json
import os

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf

from deployment.errors import UserError
from deployment import model_deploy


def cluster_from_environment():
  """Returns (ClusterSpec, task type, task index) from TF_CONFIG, or None.

  Raises:
    UserError: when TF_CONFIG is not valid JSON with cluster and task.
  """
  raw = os.environ.get('TF_CONFIG')
  if not raw:
    return None
  try:
    config = json.loads(raw)
    cluster = tf.train.ClusterSpec(config['cluster'])
    task = config['task']
    return cluster, task['type'], int(task['index'])
  except (ValueError, KeyError, TypeError) as error:
    raise UserError('TF_CONFIG must be JSON like {"cluster": {"ps": [...], '
                    '"worker": [...]}, "task": {"type": "worker", "index": '
                    '0}}: %s' % error) from error


def start_server(cluster, task_type, task_index):
  """Starts this process's gRPC server; a ps task then serves forever."""
  server = tf.train.Server(cluster, job_name=task_type,
                           task_index=task_index)
  if task_type == 'ps':
    tf.logging.info('Parameter server %d serving on %s', task_index,
                    cluster.task_address('ps', task_index))
    server.join()
  return server


def master_from_environment(master, task):
  """The session target to train through: --master, else TF_CONFIG's server.

  With TF_CONFIG set this process's server is started (a ps task serves
  there and never returns).

  Args:
    master: the --master flag ('' for none).
    task: the --task flag, which must agree with TF_CONFIG's task index.

  Raises:
    UserError: for a bad TF_CONFIG or one that disagrees with --task.
  """
  cluster = cluster_from_environment()
  if cluster is None:
    return master
  cluster_spec, task_type, task_index = cluster
  server = start_server(cluster_spec, task_type, task_index)
  if task_index != task:
    raise UserError('--task=%d but TF_CONFIG says this is %s task %d' %
                    (task, task_type, task_index))
  return master or server.target


def deployment_config_from_flags(flags_obj):
  """The model_deploy.DeploymentConfig of --num_clones, --task and the ps."""
  return model_deploy.DeploymentConfig(
      num_clones=flags_obj.num_clones, clone_on_cpu=flags_obj.clone_on_cpu,
      replica_id=flags_obj.task, num_replicas=flags_obj.worker_replicas,
      num_ps_tasks=flags_obj.num_ps_tasks)
