"""Distributed set-up: the cluster from TF_CONFIG, the gRPC server, devices.

Distributed training uses TensorFlow's gRPC runtime. Every process gets the
cluster in the standard `TF_CONFIG` environment variable, e.g.
`{"cluster": {"ps": ["127.0.0.1:2222"], "worker": ["127.0.0.1:2223",
"127.0.0.1:2224"]}, "task": {"type": "worker", "index": 0}}`; a "ps" task
only serves variables, a "worker" task starts its own server and trains
through it (task 0 is the chief that initialises and saves).
"""

import contextlib
import json
import os
import re
import socket
import time

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


def check_replicas(flags_obj, cluster=None):
  """Refuses worker settings that can never train, before anything starts.

  Args:
    flags_obj: the run's config (task, worker_replicas, sync_replicas,
      replicas_to_aggregate, master, num_clones, clone_on_cpu).
    cluster: `cluster_from_environment()`'s value (None: no TF_CONFIG).

  Raises:
    UserError: one line naming the flags and what to pass instead.
  """
  if cluster and cluster[1] == 'ps':
    return  # a parameter server only serves; --task is its ps index
  if flags_obj.task >= flags_obj.worker_replicas:
    raise UserError('--task=%d must be below --worker_replicas=%d (tasks '
                    'count from 0; 0 is the chief)' %
                    (flags_obj.task, flags_obj.worker_replicas))
  if flags_obj.task and not (cluster or flags_obj.master):
    raise UserError('--task=%d is a worker of a distributed run, but there is '
                    'no cluster: set TF_CONFIG (see deployment/distributed.py)'
                    ' or --master, or leave --task at 0 to train here' %
                    flags_obj.task)
  aggregate = flags_obj.replicas_to_aggregate or flags_obj.worker_replicas
  if flags_obj.sync_replicas and aggregate > flags_obj.worker_replicas:
    # Each worker sends one gradient per step: the step would wait forever.
    raise UserError('--sync_replicas waits for --replicas_to_aggregate=%d '
                    'gradients per step, but only --worker_replicas=%d '
                    'worker(s) send one each; pass --replicas_to_aggregate='
                    '%d or fewer, or run more workers' %
                    (aggregate, flags_obj.worker_replicas,
                     flags_obj.worker_replicas))


def check_clone_devices(num_clones, clone_on_cpu):
  """Refuses more GPU clones than this machine has GPUs.

  One clone is left to TensorFlow's placement (the CPU without a GPU).
  """
  if clone_on_cpu or num_clones < 2:
    return
  gpus = len(tf.config.list_physical_devices('GPU'))
  if num_clones > gpus:
    raise UserError('--num_clones=%d puts one clone on each GPU, but '
                    'TensorFlow sees %d GPU(s) here; add --clone_on_cpu=True '
                    'to run the clones on the CPU, or pass --num_clones=%d' %
                    (num_clones, gpus, max(1, gpus)))


_GRPC_ADDRESS = re.compile(r'^grpc://\[?([^\]/]*)\]?:(\d+)/?$')
_MASTER_POLL_S = 1.0
# How long training and evaluation wait for a grpc:// --master by default.
MASTER_TIMEOUT_S = 120


def wait_for_master(master, timeout_s, log_every_s=10):
  """Waits until something accepts connections at a grpc:// --master.

  TensorFlow itself waits for an unreachable master forever and says
  nothing; this logs a line while it waits and gives up after `timeout_s`.
  Targets that are not grpc://host:port (empty, 'local') pass.

  Raises:
    UserError: nothing listened at the address within `timeout_s`.
  """
  match = _GRPC_ADDRESS.match(master or '')
  if not match:
    return
  host, port = match.group(1), int(match.group(2))
  start = time.time()
  last_log = None
  while True:
    try:
      socket.create_connection((host, port), timeout=_MASTER_POLL_S).close()
      return
    except OSError as error:
      cause = error.strerror or str(error)
    waited = time.time() - start
    if waited >= timeout_s:
      raise UserError('--master=%s: nothing accepts connections at %s:%d '
                      'after %d s (%s); start the TensorFlow server there, '
                      'fix the address, or raise --master_timeout_secs' %
                      (master, host, port, timeout_s, cause))
    if last_log is None or time.time() - last_log >= log_every_s:
      tf.logging.info('waiting for the TensorFlow master at %s (%d s of %d '
                      's): %s', master, waited, timeout_s, cause)
      last_log = time.time()
    time.sleep(min(_MASTER_POLL_S, max(0.0, timeout_s - waited)))


# How long the chief of a --sync_replicas run waits, once it has saved, for
# its sync-queue runner before it exits anyway.
SYNC_STOP_GRACE_S = 5


@contextlib.contextmanager
def sync_stop_grace(sync_replicas):
  """With `sync_replicas`, slim.learning.train's Supervisor waits only
  SYNC_STOP_GRACE_S for its threads when the run ends.

  The chief's sync-queue runner then waits in `take_grad` for gradients of a
  step no worker will send: it never ends, and the Supervisor's default
  grace period held every finished sync run for 120 s (measured: 1 ps, 2
  workers, "Finished training!" at ~30 s, the chief still there at 150 s).
  slim.learning.train builds its Supervisor itself, so the class it finds is
  swapped for one with the shorter grace while it runs.
  """
  if not sync_replicas:
    yield
    return
  from tensorflow.python.training import supervisor  # pylint: disable=g-import-not-at-top
  original = supervisor.Supervisor

  class ShortGraceSupervisor(original):

    def __init__(self, *args, **kwargs):
      kwargs.setdefault('stop_grace_secs', SYNC_STOP_GRACE_S)
      super().__init__(*args, **kwargs)

  supervisor.Supervisor = ShortGraceSupervisor
  try:
    yield
  finally:
    supervisor.Supervisor = original
