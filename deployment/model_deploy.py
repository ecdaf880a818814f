"""Deploys a model on several clones (devices) and replicas (machines).

A *clone* is one copy of the model on one device of this machine; a *replica*
is one worker machine of a distributed job; parameter servers (ps tasks) hold
the variables. `DeploymentConfig` says where everything goes:

    config = DeploymentConfig(num_clones=2, clone_on_cpu=True)
    with tf.device(config.variables_device()):
      global_step = tf.train.get_or_create_global_step()
    with tf.device(config.inputs_device()):
      images, labels = ...
    with tf.device(config.optimizer_device()):
      optimizer = tf.train.MomentumOptimizer(0.1, 0.9)
    model = deploy(config, model_fn, [images, labels], optimizer=optimizer)

`model_fn` builds the network and its losses (with `tf.losses` or slim's
losses, so they land in the LOSSES collection of the clone's name scope).
When the clones' gradients are combined, each clone's loss counts
`1 / num_clones` (so the sum is the mean over the whole batch), the
regularisation losses are added exactly once (on the first clone), and the
gradients are summed across clones.

Beyond upstream's arguments, `deploy` takes what train_image_classifier.py
builds its train op with (it calls `deploy` too): `var_list` (the variables
to train, or a function returning them once the clones exist),
`moving_averages` (an ExponentialMovingAverage of the model variables that
every step updates) and `check_numerics` (a NaN or Inf loss fails the step
with `NON_FINITE_LOSS_MESSAGE` before any variable changes).
"""

import collections

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf
import tf_slim as slim

__all__ = ['Clone', 'DeployedModel', 'DeploymentConfig', 'create_clones',
           'deploy', 'optimize_clones']

# outputs: whatever model_fn returned; scope: the clone's name scope, used to
# pick its losses and update ops; device: where the clone runs.
Clone = collections.namedtuple('Clone', ['outputs', 'scope', 'device'])

DeployedModel = collections.namedtuple(
    'DeployedModel', ['train_op', 'summary_op', 'total_loss', 'clones'])


class DeploymentConfig(object):
  """Where clones, inputs, variables and the optimizer live."""

  def __init__(self, num_clones=1, clone_on_cpu=False, replica_id=0,
               num_replicas=1, num_ps_tasks=0, worker_job_name='worker',
               ps_job_name='ps'):
    """Creates a DeploymentConfig.

    Args:
      num_clones: copies of the model on this machine (one per GPU, or
        several on the CPU with `clone_on_cpu`).
      clone_on_cpu: put every clone on the CPU (machines without a GPU).
      replica_id: index of this worker among `num_replicas`.
      num_replicas: number of worker machines.
      num_ps_tasks: number of parameter servers; 0 keeps the variables on
        this machine.
      worker_job_name: job name of the workers in the cluster spec.
      ps_job_name: job name of the parameter servers in the cluster spec.

    Raises:
      ValueError: for arguments that cannot describe a deployment.
    """
    if num_clones < 1:
      raise ValueError('num_clones must be at least 1, got %d' % num_clones)
    if num_replicas < 1:
      raise ValueError('num_replicas must be at least 1, got %d' %
                       num_replicas)
    if not 0 <= replica_id < num_replicas:
      raise ValueError('replica_id must be in [0, %d), got %d' %
                       (num_replicas, replica_id))
    if num_ps_tasks < 0:
      raise ValueError('num_ps_tasks cannot be negative, got %d' %
                       num_ps_tasks)
    if num_replicas > 1 and num_ps_tasks < 1:
      raise ValueError('num_replicas > 1 needs num_ps_tasks >= 1 to hold the '
                       'shared variables')
    if num_ps_tasks > 0 and (not ps_job_name or not worker_job_name):
      raise ValueError('num_ps_tasks > 0 needs ps_job_name and '
                       'worker_job_name')
    self._num_clones = num_clones
    self._clone_on_cpu = clone_on_cpu
    self._replica_id = replica_id
    self._num_replicas = num_replicas
    self._num_ps_tasks = num_ps_tasks
    self._ps_device = '/job:' + ps_job_name if num_ps_tasks > 0 else ''
    self._worker_device = ('/job:' + worker_job_name
                           if num_ps_tasks > 0 else '')

  @property
  def num_clones(self):
    return self._num_clones

  @property
  def clone_on_cpu(self):
    return self._clone_on_cpu

  @property
  def replica_id(self):
    return self._replica_id

  @property
  def num_replicas(self):
    return self._num_replicas

  @property
  def num_ps_tasks(self):
    return self._num_ps_tasks

  @property
  def ps_device(self):
    return self._ps_device

  @property
  def worker_device(self):
    return self._worker_device

  def caching_device(self):
    """Where clones cache variables read from the ps; None when local."""
    if self._num_ps_tasks > 0:
      return lambda op: op.device
    return None

  def clone_device(self, clone_index):
    """Device string of clone `clone_index`, as upstream spells it.

    '/device:GPU:<index>' (or '/device:CPU:0' with `clone_on_cpu`), after
    '/job:worker' when there are parameter servers. There is no task: each
    worker's session sees only itself and the ps (its device filters), and
    soft placement runs a GPU clone on the CPU of a machine without one.
    """
    if not 0 <= clone_index < self._num_clones:
      raise ValueError('clone_index must be in [0, %d), got %d' %
                       (self._num_clones, clone_index))
    if self._clone_on_cpu:
      return self._worker_device + '/device:CPU:0'
    return self._worker_device + '/device:GPU:%d' % clone_index

  def clone_scope(self, clone_index):
    """Name scope of clone `clone_index` ('' for a single clone)."""
    if not 0 <= clone_index < self._num_clones:
      raise ValueError('clone_index must be in [0, %d), got %d' %
                       (self._num_clones, clone_index))
    if self._num_clones == 1:
      return ''
    return 'clone_%d' % clone_index

  def optimizer_device(self):
    """Device for the optimizer's own ops (its slots follow the variables)."""
    return self._worker_device + '/device:CPU:0'

  def inputs_device(self):
    """Device for the input pipeline."""
    return self._worker_device + '/device:CPU:0'

  def variables_device(self):
    """Device (or device function) for the variables.

    With parameter servers, each variable goes to the next ps task in turn
    ('/job:ps/task:<t>/device:CPU:0'); other ops keep their own device.
    """
    if self._num_ps_tasks == 0:
      return '/device:CPU:0'
    return _RoundRobinVariables(self._ps_device, self._num_ps_tasks).choose


class _RoundRobinVariables(object):
  """Device function: variables round-robin over the ps tasks, as upstream."""

  def __init__(self, ps_job, tasks):
    self._ps_job = ps_job
    self._tasks = tasks
    self._next = 0

  def choose(self, op):
    if op.device:
      return op.device
    node_def = op if isinstance(op, tf.NodeDef) else op.node_def
    # Reference variables ('VariableV2') and resource ones ('VarHandleOp').
    if not (node_def.op.startswith('Variable') or
            node_def.op == 'VarHandleOp'):
      return op.device
    task, self._next = self._next, (self._next + 1) % self._tasks
    return '%s/task:%d/device:CPU:0' % (self._ps_job, task)


def create_clones(config, model_fn, args=None, kwargs=None):
  """Builds `model_fn(*args, **kwargs)` once per clone.

  Variables are created on `config.variables_device()` and shared between
  clones (the first clone creates them, the others reuse them).

  Returns:
    A list of `Clone`, one per clone.
  """
  args = args or []
  kwargs = kwargs or {}
  clones = []
  with slim.arg_scope([slim.model_variable, slim.variable],
                      device=config.variables_device()):
    for i in range(config.num_clones):
      with tf.name_scope(config.clone_scope(i)) as clone_scope:
        device = config.clone_device(i)
        with tf.device(device):
          with tf.variable_scope(tf.get_variable_scope(),
                                 reuse=True if i > 0 else None):
            outputs = model_fn(*args, **kwargs)
          clones.append(Clone(outputs, clone_scope, device))
  return clones


def _clone_loss(clone, num_clones, regularization_loss=None):
  """Sum of a clone's losses scaled by 1/num_clones, plus `regularization_loss`.

  Returns None when there is no loss at all.
  """
  parts = []
  with tf.device(clone.device):
    clone_losses = tf.losses.get_losses(clone.scope)
    if clone_losses:
      clone_loss = tf.add_n(clone_losses, name='clone_loss')
      if num_clones > 1:
        clone_loss = tf.div(clone_loss, 1.0 * num_clones,
                            name='scaled_clone_loss')
      parts.append(clone_loss)
    if regularization_loss is not None:
      parts.append(regularization_loss)
    total = tf.add_n(parts, name='clone_total_loss') if parts else None
  # Outside the clone's device, as upstream: summaries stay off the GPUs.
  if clone_losses:
    tf.summary.scalar('Losses/clone_loss', clone_loss)
  return total


def _regularization_loss(regularization_losses):
  """Adds the regularisation losses up (once) and summarises the sum."""
  if not regularization_losses:
    return None
  loss = tf.add_n(regularization_losses, name='regularization_loss')
  tf.summary.scalar('Losses/regularization_loss', loss)
  return loss


def optimize_clones(clones, optimizer, regularization_losses=None,
                    kwargs=None):
  """Computes each clone's gradients and sums them.

  Args:
    clones: the list returned by `create_clones`.
    optimizer: a `tf.train.Optimizer`; only `compute_gradients` is used.
    regularization_losses: losses added once, to the first clone that has a
      loss; None means the REGULARIZATION_LOSSES collection, [] none.
    kwargs: a dict passed to `optimizer.compute_gradients` (e.g.
      `{'var_list': variables}`).

  Returns:
    (total_loss, grads_and_vars): the summed loss over clones (each scaled
    by 1/num_clones, regularisation once) and the summed gradients.

  Raises:
    ValueError: when no clone has any loss.
  """
  kwargs = kwargs or {}
  if regularization_losses is None:
    regularization_losses = tf.losses.get_regularization_losses()
  regularization_loss = _regularization_loss(regularization_losses)
  clone_losses = []
  clone_grads = []
  for clone in clones:
    with tf.name_scope(clone.scope):
      loss = _clone_loss(clone, len(clones), regularization_loss)
      if loss is None:
        continue
      with tf.device(clone.device):
        clone_grads.append(optimizer.compute_gradients(loss, **kwargs))
    clone_losses.append(loss)
    regularization_loss = None  # added once, to this clone
  if not clone_losses:
    raise ValueError('No clone has a loss: model_fn must add its losses '
                     '(tf.losses.* or slim.losses.*)')
  total_loss = tf.add_n(clone_losses, name='total_loss')
  return total_loss, _sum_clones_gradients(clone_grads)


def _sum_clones_gradients(clone_grads):
  """Sums the gradients of each variable over the clones.

  Args:
    clone_grads: one list of (gradient, variable) per clone, all over the
      same variables in the same order.

  Returns:
    A list of (summed gradient, variable); variables without any gradient
    are left out.
  """
  summed = []
  for grads_and_vars in zip(*clone_grads):
    var = grads_and_vars[0][1]
    grads = [g for g, _ in grads_and_vars if g is not None]
    if not grads:
      continue
    if len(grads) == 1:
      summed.append((grads[0], var))
      continue
    if all(isinstance(g, tf.IndexedSlices) for g in grads):
      total = tf.IndexedSlices(tf.concat([g.values for g in grads], 0),
                               tf.concat([g.indices for g in grads], 0),
                               grads[0].dense_shape)
    else:
      total = tf.add_n([tf.convert_to_tensor(g) for g in grads],
                       name=var.op.name + '/sum_grads')
    summed.append((total, var))
  return summed


def _gradient_summaries(grads_and_vars):
  summaries = []
  for grad, var in grads_and_vars:
    values = grad.values if isinstance(grad, tf.IndexedSlices) else grad
    summaries.append(tf.summary.histogram(var.op.name + '/gradient', values))
    summaries.append(tf.summary.scalar(var.op.name + '/gradient_norm',
                                       tf.global_norm([values])))
  return summaries


# The message of the error raised when the loss is not finite.
NON_FINITE_LOSS_MESSAGE = 'LossTensor is inf or nan'


def deploy(config, model_fn, args=None, kwargs=None, optimizer=None,
           summarize_gradients=False, check_numerics=True, var_list=None,
           moving_averages=None):
  """Builds the clones and, with an optimizer, the op that trains them.

  Args:
    config: a `DeploymentConfig`.
    model_fn: builds the model and its losses; called once per clone.
    args: positional arguments of `model_fn`.
    kwargs: keyword arguments of `model_fn`.
    optimizer: a `tf.train.Optimizer`, or None to only build the clones.
    summarize_gradients: add a histogram and norm summary per gradient.
    check_numerics: make the train op fail with `NON_FINITE_LOSS_MESSAGE`
      (an InvalidArgumentError) before applying the gradients of a NaN or Inf
      loss, so the variables stay as they were.
    var_list: the variables to train (fine-tuning), or a function returning
      them, called once the clones (and so their variables) are built; None
      trains all the trainable ones.
    moving_averages: a `tf.train.ExponentialMovingAverage` whose averages of
      the model variables `train_op` updates with every step, or None.

  Returns:
    A `DeployedModel`; its `total_loss` is the clones' summed loss (the op
    `total_loss`, as upstream). Without an optimizer, `train_op` only runs
    the update ops (None without any).
  """
  summaries = set(tf.get_collection(tf.GraphKeys.SUMMARIES))
  with tf.device(config.variables_device()):
    global_step = tf.train.get_or_create_global_step()
  clones = create_clones(config, model_fn, args, kwargs)
  # Batch norm statistics: the first clone's updates are representative.
  update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS, clones[0].scope)
  if moving_averages is not None:
    with tf.device(config.variables_device()):
      update_ops.append(moving_averages.apply(slim.get_model_variables()))
  # As upstream, the summed loss, the update and the summaries go on the
  # optimizer's device; each clone's gradients stay on the clone's.
  with tf.device(config.optimizer_device()):
    if optimizer is None:
      total_loss = _evaluation_loss(clones)
      train_op = tf.group(*update_ops) if update_ops else None
    else:
      if callable(var_list):
        var_list = var_list()
      total_loss, grads_and_vars = optimize_clones(
          clones, optimizer,
          kwargs=None if var_list is None else {'var_list': var_list})
      if summarize_gradients:
        summaries |= set(_gradient_summaries(grads_and_vars))
      train_op = _train_op(optimizer, grads_and_vars, total_loss,
                           global_step, update_ops, check_numerics)
    if total_loss is not None:
      # The unchecked loss: a NaN fails the training step, which reports
      # it, not the summary thread.
      summaries.add(_scalar_summary('total_loss', total_loss))
    summary_op = _summary_op(summaries, clones)
  return DeployedModel(train_op, summary_op, total_loss, clones)


def _scalar_summary(tag, tensor):
  """A scalar summary tagged `tag` although an op (the loss) already has
  that name: `tf.summary.scalar` derives its tag from a fresh name scope and
  would write `total_loss_1`."""
  summary = tf.raw_ops.ScalarSummary(tags=tag, values=tensor,
                                     name=tag + '_summary')
  tf.add_to_collection(tf.GraphKeys.SUMMARIES, summary)
  return summary


def _evaluation_loss(clones):
  """The clones' summed loss without an optimizer; None when there is none."""
  losses = [_clone_loss(clone, len(clones)) for clone in clones]
  losses = [loss for loss in losses if loss is not None]
  regularization_loss = _regularization_loss(
      tf.losses.get_regularization_losses())
  if regularization_loss is not None:
    losses.append(regularization_loss)
  return tf.add_n(losses, name='total_loss') if losses else None


def _train_op(optimizer, grads_and_vars, total_loss, global_step, update_ops,
              check_numerics):
  """The op of one step: applies the gradients and the update ops, and
  returns the loss (with `check_numerics`, only once that loss is finite)."""
  if check_numerics:
    total_loss = tf.debugging.check_numerics(total_loss,
                                             NON_FINITE_LOSS_MESSAGE)
  with tf.control_dependencies([total_loss] if check_numerics else []):
    grad_updates = optimizer.apply_gradients(
        grads_and_vars, global_step=global_step)
  with tf.control_dependencies([tf.group(*(update_ops + [grad_updates]))]):
    return tf.identity(total_loss, name='train_op')


def _summary_op(summaries, clones):
  """Merges `summaries` and those of the first clone; None when none."""
  # The clones' summaries repeat each other: keep the first clone's only.
  other_scopes = tuple(clone.scope for clone in clones[1:])
  summaries |= {summary for summary in tf.get_collection(
      tf.GraphKeys.SUMMARIES) if not (
          other_scopes and summary.op.name.startswith(other_scopes))}
  if not summaries:
    return None
  return tf.summary.merge(list(summaries), name='summary_op')
