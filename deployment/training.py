"""The training loop behind train_image_classifier.py, as library code.

Builds slim's training graph from the parsed flags (clones via model_deploy,
optimizer, learning-rate schedule, fine-tuning init, summaries) and runs it
with `slim.learning.train`, which restores the latest checkpoint of
`train_dir` (so rerunning a killed command resumes) and calls the
fine-tuning `init_fn` only when it starts from scratch.

Progress lines keep slim's wording and add throughput, learning rate, epoch
and time left:

    global step 10: loss = 2.9544 (0.277 sec/step) | 115.5 images/sec,
        lr = 0.01, epoch 0.32, ETA 0:04:10      (one line)

`PROGRESS_LINE_RE` parses them (train_eval_image_classifier.py does).

Distributed training uses TensorFlow's gRPC runtime. Every process gets the
cluster in the standard `TF_CONFIG` environment variable, e.g.
`{"cluster": {"ps": ["127.0.0.1:2222"], "worker": ["127.0.0.1:2223",
"127.0.0.1:2224"]}, "task": {"type": "worker", "index": 0}}`; a "ps" task
only serves variables, a "worker" task starts its own server and trains
through it (task 0 is the chief that initialises and saves).
"""

import contextlib
import datetime
import functools
import inspect
import json
import logging
import os
import re
import threading
import time

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf
import tf_slim as slim
from tensorflow.core.protobuf import rewriter_config_pb2

import common_flags
from common_flags import UserError
from deployment import checkpoints
from deployment import model_deploy

# Weight of the auxiliary head's loss (Inception), as in slim.
AUX_LOSS_WEIGHT = 0.4

PROGRESS_LINE_RE = re.compile(
    r'global step (?P<step>\d+): loss = (?P<loss>[-+\w.]+) '
    r'\((?P<sec_per_step>[\d.]+) sec/step\)'
    r'(?: \| (?P<images_per_sec>[\d.]+) images/sec, lr = (?P<lr>[-+\w.]+)'
    r'(?:, epoch (?P<epoch>[\d.]+))?(?:, ETA (?P<eta>[\d:]+))?)?')

LEARNING_RATE_DECAY_TYPES = ('fixed', 'exponential', 'polynomial')
OPTIMIZERS = ('adadelta', 'adagrad', 'adam', 'ftrl', 'momentum', 'sgd',
              'rmsprop')


# Brackets the label-range assertion's text inside TensorFlow's error.
LABEL_RANGE_MARK = '[label range] '


def _label_range_message(error_message):
  return error_message.split(LABEL_RANGE_MARK)[1].split(LABEL_RANGE_MARK)[0]


def checked_labels(labels, num_classes, labels_offset):
  """`labels`, asserted to lie in [0, num_classes) when they are used."""
  message = ('%sa label is outside [0, %d) after --labels_offset=%d: the '
             'records do not match the dataset\'s class count; check '
             '--labels_offset, --dataset_name and --dataset_dir%s' %
             (LABEL_RANGE_MARK, num_classes, labels_offset, LABEL_RANGE_MARK))
  checks = [tf.debugging.assert_non_negative(labels, message=message),
            tf.debugging.assert_less(labels, tf.cast(num_classes,
                                                     labels.dtype),
                                     message=message)]
  with tf.control_dependencies(checks):
    return tf.identity(labels)


class NonFiniteLossError(UserError):
  """The loss became NaN or Inf; training stops with one line."""

  def __init__(self, step, learning_rate):
    super(NonFiniteLossError, self).__init__(
        'loss is NaN or Inf at global step %d (learning rate %g); training '
        'stopped, the last saved checkpoint is untouched. Try a smaller '
        '--learning_rate (e.g. %g), a warm-up (--warmup_epochs=1), '
        '--optimizer=momentum, or check the input data' %
        (step, learning_rate, learning_rate / 10.0))
    self.step = step
    self.learning_rate = learning_rate


# --------------------------------------------------------------------------
# Learning rate and optimizer.


def _steps_for_epochs(num_epochs, num_samples_per_epoch, images_per_step):
  return max(1, int(num_samples_per_epoch * num_epochs / images_per_step))


def configure_learning_rate(params, num_samples_per_epoch, global_step,
                            images_per_step=None):
  """Returns the learning-rate tensor the flags describe.

  Args:
    params: flags with learning_rate_decay_type, learning_rate,
      end_learning_rate, learning_rate_decay_factor, num_epochs_per_decay,
      warmup_epochs and batch_size.
    num_samples_per_epoch: examples in the training split.
    global_step: the global step tensor.
    images_per_step: examples consumed per global step (default batch_size).

  Raises:
    UserError: for an unknown --learning_rate_decay_type.
  """
  images_per_step = images_per_step or params.batch_size
  decay_steps = _steps_for_epochs(params.num_epochs_per_decay,
                                  num_samples_per_epoch, images_per_step)
  kind = params.learning_rate_decay_type
  if kind == 'fixed':
    rate = tf.constant(params.learning_rate, tf.float32)
  elif kind == 'exponential':
    rate = tf.train.exponential_decay(
        params.learning_rate, global_step, decay_steps,
        params.learning_rate_decay_factor, staircase=True)
  elif kind == 'polynomial':
    rate = tf.train.polynomial_decay(
        params.learning_rate, global_step, decay_steps,
        params.end_learning_rate, power=1.0, cycle=False)
  else:
    raise UserError('--learning_rate_decay_type=%s is not one of %s' %
                    (kind, ', '.join(LEARNING_RATE_DECAY_TYPES)))
  if params.warmup_epochs > 0:
    # Linear ramp to the scheduled rate; the first step already moves.
    warmup_steps = _steps_for_epochs(params.warmup_epochs,
                                     num_samples_per_epoch, images_per_step)
    ramp = tf.minimum(
        1.0, tf.cast(global_step + 1, tf.float32) / float(warmup_steps))
    rate = rate * ramp
  return tf.identity(rate, name='current_learning_rate')


def configure_optimizer(params, learning_rate):
  """Returns the tf.train optimizer named by --optimizer with its flags.

  Raises:
    UserError: for an unknown --optimizer.
  """
  name = params.optimizer
  if name == 'adadelta':
    return tf.train.AdadeltaOptimizer(learning_rate, rho=params.adadelta_rho,
                                      epsilon=params.opt_epsilon)
  if name == 'adagrad':
    return tf.train.AdagradOptimizer(
        learning_rate,
        initial_accumulator_value=params.adagrad_initial_accumulator_value)
  if name == 'adam':
    return tf.train.AdamOptimizer(learning_rate, beta1=params.adam_beta1,
                                  beta2=params.adam_beta2,
                                  epsilon=params.opt_epsilon)
  if name == 'ftrl':
    return tf.train.FtrlOptimizer(
        learning_rate, learning_rate_power=params.ftrl_learning_rate_power,
        initial_accumulator_value=params.ftrl_initial_accumulator_value,
        l1_regularization_strength=params.ftrl_l1,
        l2_regularization_strength=params.ftrl_l2)
  if name == 'momentum':
    return tf.train.MomentumOptimizer(learning_rate,
                                      momentum=params.momentum,
                                      name='Momentum')
  if name == 'rmsprop':
    return tf.train.RMSPropOptimizer(learning_rate,
                                     decay=params.rmsprop_decay,
                                     momentum=params.rmsprop_momentum,
                                     epsilon=params.opt_epsilon)
  if name == 'sgd':
    return tf.train.GradientDescentOptimizer(learning_rate)
  raise UserError('--optimizer=%s is not one of %s' %
                  (name, ', '.join(OPTIMIZERS)))


# --------------------------------------------------------------------------
# Fine-tuning.


def split_scopes(scopes):
  """'A/B, C' -> ['A/B', 'C']."""
  return [scope.strip() for scope in (scopes or '').split(',')
          if scope.strip()]


def get_variables_to_train(trainable_scopes):
  """Trainable variables under the comma-separated scopes (all when empty).

  Raises:
    UserError: when a scope matches no trainable variable.
  """
  scopes = split_scopes(trainable_scopes)
  if not scopes:
    return tf.trainable_variables()
  variables = []
  for scope in scopes:
    found = tf.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES, scope)
    if not found:
      raise UserError('--trainable_scopes: %r matches no trainable variable '
                      '(e.g. %s)' % (scope, tf.trainable_variables()[0].op.name))
    variables.extend(v for v in found if v not in variables)
  return variables


def _excluded(name, exclude_scopes):
  return any(name == scope or name.startswith(scope.rstrip('/') + '/')
             for scope in exclude_scopes)


def _restorable_variables(checkpoint, variables, ignore_missing_vars):
  """Keeps the variables the checkpoint can fill; checks their shapes.

  Raises:
    UserError: for a shape mismatch, or a missing variable without
      --ignore_missing_vars.
  """

  def hint(name):
    if ignore_missing_vars:
      return ('add its scope to --checkpoint_exclude_scopes (e.g. '
              '--checkpoint_exclude_scopes=%s)' % name.rsplit('/', 1)[0])
    return ('add its scope to --checkpoint_exclude_scopes (e.g. '
            '--checkpoint_exclude_scopes=%s) or pass '
            '--ignore_missing_vars=True' % name.rsplit('/', 1)[0])

  by_name = {var.op.name: var for var in variables}
  found = checkpoints.check_variables(
      checkpoint, {name: var.get_shape().as_list()
                   for name, var in by_name.items()}, hint,
      skip_missing=True if ignore_missing_vars else ())
  for name in sorted(set(by_name) - set(found)):
    tf.logging.warning('Variable %s is not in %s; it keeps its initial '
                       'value (--ignore_missing_vars)', name, checkpoint)
  return [var for var in variables if var.op.name in found]


def get_init_fn(checkpoint_path, train_dir, checkpoint_exclude_scopes='',
                ignore_missing_vars=False):
  """Returns the warm-start function for fine-tuning, or None.

  Warm-starting only happens at step 0: when train_dir already holds a
  checkpoint, training resumes from it and --checkpoint_path is ignored
  (and said so).

  Raises:
    UserError: for a missing checkpoint or a variable that does not fit.
  """
  if not checkpoint_path:
    return None
  if train_dir and tf.train.latest_checkpoint(train_dir):
    tf.logging.info('Resuming from %s; ignoring --checkpoint_path=%s, which '
                    'is only used to start a new training run',
                    tf.train.latest_checkpoint(train_dir), checkpoint_path)
    return None
  checkpoint = checkpoints.resolve_readable(checkpoint_path)
  exclude_scopes = split_scopes(checkpoint_exclude_scopes)
  candidates = [var for var in slim.get_model_variables()
                if not _excluded(var.op.name, exclude_scopes)]
  variables = _restorable_variables(checkpoint, candidates,
                                    ignore_missing_vars)
  tf.logging.info('Fine-tuning from %s: restoring %d variables, %d excluded',
                  checkpoint, len(variables),
                  len(slim.get_model_variables()) - len(candidates))
  saver = tf.train.Saver(variables)

  def init_fn(sess):
    saver.restore(sess, checkpoint)

  return init_fn


# --------------------------------------------------------------------------
# Progress logging.


def format_eta(seconds):
  return str(datetime.timedelta(seconds=int(round(max(0, seconds)))))


class ProgressStep(object):
  """slim's train_step_fn with a NaN guard and a richer progress line."""

  def __init__(self, learning_rate, images_per_step, num_samples_per_epoch,
               max_number_of_steps=None, log_every_n_steps=10,
               clock=time.time, after_step=None, save_checkpoint=None):
    """See the class docstring; the last two are for `after_step`.

    Args:
      after_step: None, or `fn(step, loss, learning_rate, save)` called after
        every step in the training thread (train_eval evaluates in it);
        `save()` writes a checkpoint of this step and returns its path. Its
        time is left out of the images/sec rate.
      save_checkpoint: `fn(session, step) -> path`, what `save` calls.
    """
    self._after_step = after_step
    self._save_checkpoint = save_checkpoint
    self._learning_rate = learning_rate
    self._images_per_step = images_per_step
    self._num_samples = num_samples_per_epoch
    self._max_steps = max_number_of_steps
    self._log_every = max(1, log_every_n_steps)
    self._clock = clock
    self._window_start = None  # (time, step) where the rate window starts

  def progress_line(self, step, loss, sec_per_step, learning_rate,
                    window_sec_per_step):
    parts = ['global step %d: loss = %.4f (%.3f sec/step) | %.1f images/sec, '
             'lr = %g' % (step, loss, sec_per_step,
                          self._images_per_step / max(window_sec_per_step,
                                                      1e-9),
                          learning_rate)]
    if self._num_samples:
      parts.append('epoch %.2f' %
                   (step * self._images_per_step / float(self._num_samples)))
    if self._max_steps:
      parts.append('ETA %s' % format_eta(
          (self._max_steps - step) * window_sec_per_step))
    return ', '.join(parts)

  def __call__(self, sess, train_op, global_step, unused_step_kwargs):
    start = self._clock()
    try:
      loss, learning_rate = sess.run([train_op, self._learning_rate])
    except tf.errors.InvalidArgumentError as error:
      if LABEL_RANGE_MARK in error.message:
        raise UserError(_label_range_message(error.message)) from error
      if model_deploy.NON_FINITE_LOSS_MESSAGE not in error.message:
        raise
      step, learning_rate = sess.run([global_step, self._learning_rate])
      raise NonFiniteLossError(int(step), float(learning_rate))
    now = self._clock()
    step = int(sess.run(global_step))
    first = self._window_start is None
    if first:
      self._window_start = (start, step - 1)
    should_stop = bool(self._max_steps) and step >= self._max_steps
    # The first and the last step always log, so every run shows a loss.
    if step % self._log_every == 0 or first or should_stop:
      window_time, window_step = self._window_start
      window_sec_per_step = (now - window_time) / max(1, step - window_step)
      tf.logging.info(self.progress_line(step, loss, now - start,
                                         learning_rate, window_sec_per_step))
      self._window_start = (now, step)
    if self._after_step:
      self._run_after_step(sess, step, loss, learning_rate)
    return loss, should_stop

  def _run_after_step(self, sess, step, loss, learning_rate):
    hook_start = self._clock()
    self._after_step(step, float(loss), float(learning_rate),
                     lambda: self._save_checkpoint(sess, step))
    window_time, window_step = self._window_start
    self._window_start = (window_time + self._clock() - hook_start,
                          window_step)


# --------------------------------------------------------------------------
# Distributed set-up.


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


# --------------------------------------------------------------------------
# The training graph and loop.


def _add_losses(logits, end_points, labels, num_classes, label_smoothing):
  onehot = tf.one_hot(labels, num_classes)
  if 'AuxLogits' in end_points:
    tf.losses.softmax_cross_entropy(
        onehot, end_points['AuxLogits'], label_smoothing=label_smoothing,
        weights=AUX_LOSS_WEIGHT, scope='aux_loss')
  tf.losses.softmax_cross_entropy(onehot, logits,
                                  label_smoothing=label_smoothing)


def _clone_fn(pipeline, iterator, inputs_device, label_smoothing,
              labels_offset=0):
  """Returns the model_fn each clone calls: its own batch, network, losses."""

  def clone_fn():
    with tf.device(inputs_device):
      images, labels = iterator.get_next()
      labels = checked_labels(labels, pipeline.num_classes, labels_offset)
    logits, end_points = pipeline.network_fn(images)
    _add_losses(logits, end_points, labels, pipeline.num_classes,
                label_smoothing)
    end_points['images'] = images
    end_points['labels'] = labels
    return end_points

  return clone_fn


def _add_summaries(end_points, learning_rate):
  """Batch accuracy, a few input images, the learning rate and the losses."""
  predictions = tf.argmax(end_points['Logits'], axis=-1)
  accuracy = tf.reduce_mean(tf.cast(
      tf.equal(predictions, tf.cast(end_points['labels'], predictions.dtype)),
      tf.float32))
  tf.summary.scalar('batch_accuracy', accuracy)
  tf.summary.image('input_images', end_points['images'], max_outputs=3)
  tf.summary.scalar('learning_rate', learning_rate)
  for loss in tf.losses.get_losses():
    tf.summary.scalar('losses/%s' % loss.op.name, loss)


def deployment_config_from_flags(flags_obj):
  return model_deploy.DeploymentConfig(
      num_clones=flags_obj.num_clones, clone_on_cpu=flags_obj.clone_on_cpu,
      replica_id=flags_obj.task, num_replicas=flags_obj.worker_replicas,
      num_ps_tasks=flags_obj.num_ps_tasks)


def _images_per_step(flags_obj):
  per_update = flags_obj.batch_size * flags_obj.num_clones
  if flags_obj.sync_replicas:
    per_update *= flags_obj.replicas_to_aggregate or flags_obj.worker_replicas
  return per_update


# Written by the chief once training reached --max_number_of_steps, so an
# evaluation loop knows it has seen the last checkpoint.
FINAL_STEP_FILE = 'final_step'


def read_final_step(train_dir):
  """The final step the training recorded in `train_dir`, or None."""
  try:
    with tf.gfile.GFile(os.path.join(train_dir, FINAL_STEP_FILE)) as marker:
      return int(marker.read().strip())
  except (tf.errors.NotFoundError, ValueError):
    return None


def finish_train_dir(train_dir):
  """Points `checkpoint` at the newest step and writes FINAL_STEP_FILE.

  The Supervisor's timer thread may finish its first save after the final
  one, leaving the `checkpoint` file naming an older step; evaluation and
  resumption must see the last one. Both files are replaced atomically.
  """
  newest = checkpoints.localize_state(train_dir)
  if newest is None:
    return None
  final_step = checkpoints.checkpoint_step(newest)
  marker = os.path.join(train_dir, FINAL_STEP_FILE)
  with tf.gfile.GFile(marker + '.tmp', 'w') as handle:
    handle.write('%d\n' % final_step)
  tf.gfile.Rename(marker + '.tmp', marker, overwrite=True)
  return final_step


def _saved_global_step(train_dir):
  """The step training resumes from; makes the state file train_dir's own.

  A copied or moved train_dir's state file names the old place: rewritten
  with relative names, the run restores and rotates only its own files. A
  broken newest checkpoint is passed over (with a warning).
  """
  latest = checkpoints.localize_state(train_dir)
  return checkpoints.checkpoint_step(latest) if latest else None


def _check_flags(flags_obj):
  common_flags.require_flag(flags_obj, 'train_dir',
                            'pass a writable directory for checkpoints and '
                            'summaries (e.g. /output/ckpt)')
  for name in ('batch_size', 'num_clones', 'worker_replicas'):
    if getattr(flags_obj, name) < 1:
      raise UserError('--%s must be at least 1, got %d' %
                      (name, getattr(flags_obj, name)))
  if flags_obj.max_number_of_steps is not None and (
      flags_obj.max_number_of_steps < 1):
    raise UserError('--max_number_of_steps must be at least 1, got %d' %
                    flags_obj.max_number_of_steps)
  if flags_obj.worker_replicas > 1 and flags_obj.num_ps_tasks < 1:
    raise UserError('--worker_replicas=%d needs --num_ps_tasks >= 1 to hold '
                    'the shared variables' % flags_obj.worker_replicas)


def _prepare_train_dir(train_dir):
  try:
    tf.gfile.MakeDirs(train_dir)
  except tf.errors.OpError as error:
    raise UserError('--train_dir=%s cannot be created (%s); pass a writable '
                    'directory' % (train_dir, error.message)) from error
  probe = os.path.join(train_dir, '.write_test')
  try:
    with tf.gfile.GFile(probe, 'w') as handle:
      handle.write('ok')
    tf.gfile.Remove(probe)
  except tf.errors.OpError as error:
    raise UserError('--train_dir=%s is not writable; pass a writable '
                    'directory (e.g. /output/ckpt)' % train_dir) from error


def train_from_flags(flags_obj, after_step=None):
  """Builds the training graph the flags describe and runs it.

  Args:
    flags_obj: the parsed flags (or an object with the same attributes).
    after_step: None, or a hook run after every step (`ProgressStep`).

  Raises:
    UserError: for bad flags or data, and NonFiniteLossError when the loss
      is NaN or Inf.
  """
  _check_flags(flags_obj)
  master = flags_obj.master
  cluster = cluster_from_environment()
  if cluster is not None:
    cluster_spec, task_type, task_index = cluster
    server = start_server(cluster_spec, task_type, task_index)
    if task_index != flags_obj.task:
      raise UserError('--task=%d but TF_CONFIG says this is %s task %d' %
                      (flags_obj.task, task_type, task_index))
    master = master or server.target
  _prepare_train_dir(flags_obj.train_dir)
  if flags_obj.task != 0:
    return _train_in_dir(flags_obj, master, after_step)
  # Only the chief writes checkpoints, so only it holds the lock.
  with checkpoints.TrainDirLock(flags_obj.train_dir):
    return _train_in_dir(flags_obj, master, after_step)


def _train_in_dir(flags_obj, master, after_step):
  """train_from_flags once train_dir is ready (and locked by the chief)."""
  # Only the chief's view counts: other workers follow the ps.
  saved_step = (_saved_global_step(flags_obj.train_dir)
                if flags_obj.task == 0 else None)
  if saved_step is not None and flags_obj.max_number_of_steps and (
      saved_step >= flags_obj.max_number_of_steps):
    tf.logging.info('%s is already at global step %d >= '
                    '--max_number_of_steps=%d; nothing to train',
                    flags_obj.train_dir, saved_step,
                    flags_obj.max_number_of_steps)
    return saved_step

  if flags_obj.task == 0:
    # A run that trains further makes an earlier final step stale.
    marker = os.path.join(flags_obj.train_dir, FINAL_STEP_FILE)
    if tf.gfile.Exists(marker):
      tf.gfile.Remove(marker)
  tf.logging.set_verbosity(tf.logging.INFO)
  # The Supervisor's timer threads (summaries, step counter) read the global
  # step in their own thread; with eager execution on they try to read it
  # eagerly and fail, so the whole process runs graph mode.
  tf.disable_eager_execution()
  with tf.Graph().as_default():
    return _build_and_train(flags_obj, master, after_step)


def _memory_efficient_pipeline(pipeline, model_name):
  """The pipeline with its network built in memory-efficient mode."""
  network_fn = pipeline.network_fn
  if 'memory_efficient' not in inspect.signature(network_fn).parameters:
    raise UserError('--memory_efficient is for the DenseNets only; '
                    '--model_name=%s has no such mode' % model_name)
  efficient_fn = functools.partial(network_fn, memory_efficient=True)
  efficient_fn.default_image_size = network_fn.default_image_size
  return pipeline._replace(network_fn=efficient_fn)


# CPU features with which oneDNN multiplies bfloat16 natively (Intel Cooper
# Lake and later, AMD Zen 4 and later); without them its bfloat16 kernels
# are emulated and slower than float32.
BFLOAT16_CPU_FLAGS = ('avx512_bf16', 'amx_bf16')


def cpu_flags(cpuinfo_path='/proc/cpuinfo'):
  """The first CPU's feature flags ('avx2', 'avx512f', ...); empty if unknown."""
  try:
    with open(cpuinfo_path) as cpuinfo:
      return set(next((line.split(':', 1)[1].split() for line in cpuinfo
                       if line.startswith('flags')), []))
  except OSError:
    return set()


def cpu_has_bfloat16(cpuinfo_path='/proc/cpuinfo'):
  """Whether this CPU has native bfloat16 math (see BFLOAT16_CPU_FLAGS)."""
  return bool(cpu_flags(cpuinfo_path) & set(BFLOAT16_CPU_FLAGS))


def mixed_precision_dtype(clone_on_cpu=False):
  """What --mixed_precision computes in here: 'float16', 'bfloat16' or None.

  float16 on a GPU (with loss scaling). On a CPU, bfloat16 where oneDNN has
  native kernels for it (float32's exponent range, so no overflow; DenseNet-
  121 trained 1.7x faster, docs/performance.md), else nothing: emulated
  bfloat16 would be slower than float32.
  """
  if not clone_on_cpu and tf.config.list_physical_devices('GPU'):
    return 'float16'
  onednn_off = os.environ.get('TF_ENABLE_ONEDNN_OPTS') in ('0', 'false')
  if cpu_has_bfloat16() and not onednn_off:
    return 'bfloat16'
  return None


def session_config_from_flags(flags_obj):
  """The tf.ConfigProto for --xla, --mixed_precision and distributed runs."""
  config = tf.ConfigProto()
  if flags_obj.num_ps_tasks > 0:
    # A worker only talks to the ps and itself, never waits for its peers.
    config.device_filters.extend(
        ['/job:ps', '/job:worker/task:%d' % flags_obj.task])
  if getattr(flags_obj, 'xla', False):
    config.graph_options.optimizer_options.global_jit_level = (
        tf.OptimizerOptions.ON_1)
    # Auto-clustering skips CPU ops unless asked; read when the first
    # session optimises its graph, so setting it here is early enough.
    xla_flags = os.environ.get('TF_XLA_FLAGS', '')
    if '--tf_xla_cpu_global_jit' not in xla_flags:
      os.environ['TF_XLA_FLAGS'] = (xla_flags + ' --tf_xla_cpu_global_jit'
                                   ).strip()
  if getattr(flags_obj, 'mixed_precision', False):
    dtype = mixed_precision_dtype(getattr(flags_obj, 'clone_on_cpu', False))
    enable_mixed_precision(config, dtype)
    tf.logging.info(
        '--mixed_precision: %s', '%s compute' % dtype if dtype else
        'no GPU and no native bfloat16 on this CPU (%s), so float32' %
        ' or '.join(BFLOAT16_CPU_FLAGS))
  return config


def enable_mixed_precision(config, dtype):
  """Turns on grappler's rewrite of the graph's math ops to `dtype`
  ('float16', 'bfloat16'; None leaves float32).

  The rewrite keeps variables, losses and reductions in float32, so
  checkpoints are the same as without it.
  """
  rewrite_options = config.graph_options.rewrite_options
  if dtype == 'float16':
    rewrite_options.auto_mixed_precision = rewriter_config_pb2.RewriterConfig.ON
  elif dtype == 'bfloat16':
    rewrite_options.auto_mixed_precision_onednn_bfloat16 = (
        rewriter_config_pb2.RewriterConfig.ON)


def _wrapped_optimizer(flags_obj, learning_rate, moving_averages):
  """The --optimizer, with loss scaling and replica sync when asked."""
  optimizer = configure_optimizer(flags_obj, learning_rate)
  if getattr(flags_obj, 'mixed_precision', False):
    optimizer = tf.train.experimental.MixedPrecisionLossScaleOptimizer(
        optimizer, 'dynamic')
  if flags_obj.sync_replicas:
    optimizer = tf.train.SyncReplicasOptimizer(
        optimizer,
        replicas_to_aggregate=(flags_obj.replicas_to_aggregate or
                               flags_obj.worker_replicas),
        total_num_replicas=flags_obj.worker_replicas,
        variable_averages=moving_averages,
        variables_to_average=(slim.get_model_variables()
                              if moving_averages else None))
  return optimizer


def _build_and_train(flags_obj, master, after_step):
  """Builds the graph in the default graph and runs slim.learning.train."""
  config = deployment_config_from_flags(flags_obj)
  pipeline = common_flags.build_pipeline(
      flags_obj, is_training=True, image_size=flags_obj.train_image_size,
      weight_decay=flags_obj.weight_decay)
  if getattr(flags_obj, 'memory_efficient', False):
    pipeline = _memory_efficient_pipeline(pipeline, flags_obj.model_name)
  num_samples = pipeline.dataset.num_samples
  check_has_records(pipeline.dataset, flags_obj.dataset_split_name)
  images_per_step = _images_per_step(flags_obj)

  with tf.device(config.variables_device()):
    global_step = tf.train.get_or_create_global_step()
  with tf.device(config.inputs_device()):
    iterator = common_flags.make_iterator(
        flags_obj, pipeline, is_training=True,
        batch_size=flags_obj.batch_size, num_readers=flags_obj.num_readers)
  clones = model_deploy.create_clones(
      config, _clone_fn(pipeline, iterator, config.inputs_device(),
                        flags_obj.label_smoothing, flags_obj.labels_offset))
  first_clone = clones[0]
  update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS, first_clone.scope)

  moving_averages = None
  if flags_obj.moving_average_decay:
    with tf.device(config.variables_device()):
      moving_averages = tf.train.ExponentialMovingAverage(
          flags_obj.moving_average_decay, global_step)
      update_ops.append(moving_averages.apply(slim.get_model_variables()))

  with tf.device(config.optimizer_device()):
    learning_rate = configure_learning_rate(flags_obj, num_samples,
                                            global_step, images_per_step)
    optimizer = _wrapped_optimizer(flags_obj, learning_rate, moving_averages)
  variables_to_train = get_variables_to_train(flags_obj.trainable_scopes)
  _add_summaries(first_clone.outputs, learning_rate)

  total_loss, grads_and_vars = model_deploy.optimize_clones(
      clones, optimizer, var_list=variables_to_train)
  tf.summary.scalar('total_loss', total_loss)
  total_loss = tf.debugging.check_numerics(
      total_loss, model_deploy.NON_FINITE_LOSS_MESSAGE)
  with tf.control_dependencies([total_loss]):
    update_ops.append(optimizer.apply_gradients(grads_and_vars,
                                                global_step=global_step))
  with tf.control_dependencies([tf.group(*update_ops)]):
    train_op = tf.identity(total_loss, name='train_op')

  init_fn = get_init_fn(flags_obj.checkpoint_path, flags_obj.train_dir,
                        flags_obj.checkpoint_exclude_scopes,
                        flags_obj.ignore_missing_vars)
  # Relative names in the state file keep a copied or moved train_dir
  # pointing at its own checkpoints.
  saver = tf.train.Saver(save_relative_paths=True)
  step_fn = ProgressStep(learning_rate, images_per_step, num_samples,
                         flags_obj.max_number_of_steps,
                         flags_obj.log_every_n_steps, after_step=after_step,
                         save_checkpoint=_checkpoint_saver(
                             saver, flags_obj.train_dir))
  session_config = session_config_from_flags(flags_obj)
  if flags_obj.task == 0:
    check_resumable(flags_obj.train_dir, flags_obj.model_name)
  with _user_errors_from_training(flags_obj.train_dir):
    return _run_slim_training(flags_obj, master, train_op, step_fn, init_fn,
                              optimizer, session_config, saver)


# The prefix the Supervisor saves under, so both saves rotate together.
CHECKPOINT_BASENAME = 'model.ckpt'


def _checkpoint_saver(saver, train_dir):
  """`fn(session, step) -> path`: saves a checkpoint of `step` now."""
  prefix = os.path.join(train_dir, CHECKPOINT_BASENAME)
  return lambda session, step: saver.save(session, prefix, global_step=step)


def _run_slim_training(flags_obj, master, train_op, step_fn, init_fn,
                       optimizer, session_config, saver):
  """slim.learning.train with the flags; finishes train_dir at the end."""
  loss = slim.learning.train(
      train_op,
      logdir=flags_obj.train_dir,
      train_step_fn=step_fn,
      master=master,
      is_chief=(flags_obj.task == 0),
      init_fn=init_fn,
      summary_op=tf.summary.merge_all(),
      number_of_steps=flags_obj.max_number_of_steps,
      log_every_n_steps=flags_obj.log_every_n_steps,
      save_summaries_secs=flags_obj.save_summaries_secs,
      save_interval_secs=flags_obj.save_interval_secs,
      sync_optimizer=optimizer if flags_obj.sync_replicas else None,
      session_config=session_config,
      saver=saver)
  if flags_obj.task == 0 and flags_obj.max_number_of_steps:
    finish_train_dir(flags_obj.train_dir)
  return loss


def check_has_records(dataset, split_name):
  """Raises UserError when the split to train on has no record at all."""
  for path in getattr(dataset, 'data_sources', None) or []:
    for _ in tf.io.tf_record_iterator(path):
      return
  raise UserError('--dataset_split_name=%s has no records (%d files%s); '
                  'convert the dataset again or pick another split' %
                  (split_name, len(dataset.data_sources or []),
                   ', e.g. %s' % dataset.data_sources[0]
                   if dataset.data_sources else ''))


def check_resumable(train_dir, model_name):
  """Checks that train_dir's checkpoint fits the graph built to train.

  The default train_dir is shared by every run, so it may well hold another
  network's or another class count's training.

  Raises:
    UserError: naming what the directory holds and what to do.
  """
  latest = tf.train.latest_checkpoint(train_dir)
  if not latest:
    return
  checkpoints.check_variables(
      latest, {var.op.name: var.get_shape().as_list()
               for var in tf.global_variables()},
      '--train_dir=%s holds the training of another model, class count or '
      'optimizer than this one (--model_name=%s); pass another --train_dir '
      'to start afresh, or the flags it was trained with to resume' %
      (train_dir, model_name))


# What the errors that training reports as one line say (see below).
_ONE_LINE_ERROR_MARKS = (LABEL_RANGE_MARK, 'No space left on device',
                         'Disk quota exceeded')


class _HideOneLineErrorTracebacks(logging.Filter):
  """Drops the Coordinator's traceback of an error reported as one line.

  The summary thread also reads batches and the Supervisor's thread saves,
  so either may hit a bad label or a full disk first; the training then
  reports it as one line.
  """

  def filter(self, record):
    message = record.getMessage()
    if record.exc_info:
      message += str(record.exc_info[1])
    return not any(mark in message for mark in _ONE_LINE_ERROR_MARKS)


def _quiet_disk_full_in_threads(previous_hook):
  """A threading.excepthook that leaves a full disk to the one-line report.

  The summary writer's thread fails too when the disk fills; the training
  then says so in one line, so its traceback would only bury that line.
  """

  def hook(args):
    if not checkpoints.is_disk_full(args.exc_value):
      previous_hook(args)

  return hook


@contextlib.contextmanager
def _user_errors_from_training(train_dir):
  """Turns a full disk or a bad label into one line.

  A failed save's leftovers are removed and the last good checkpoint named.
  """
  log_filter = _HideOneLineErrorTracebacks()
  tf.get_logger().addFilter(log_filter)
  previous_hook = threading.excepthook
  threading.excepthook = _quiet_disk_full_in_threads(previous_hook)
  try:
    yield
  except tf.errors.InvalidArgumentError as error:
    if LABEL_RANGE_MARK not in error.message:
      raise
    raise UserError(_label_range_message(error.message)) from error
  # The summary writer's flush on close raises RuntimeError for a full disk.
  except (tf.errors.OpError, OSError, RuntimeError) as error:
    if not checkpoints.is_disk_full(error):
      raise
    checkpoints.remove_temporaries(train_dir)
    try:
      kept = checkpoints.localize_state(train_dir)
    except UserError:
      kept = None
    raise UserError(
        'the disk of --train_dir=%s is full; training stopped, %s. Free some '
        'space (or pass a --train_dir on a larger disk) and rerun to resume' %
        (train_dir, 'the last good checkpoint %s is kept' %
         os.path.basename(kept) if kept else 'no checkpoint was saved')
    ) from error
  finally:
    tf.get_logger().removeFilter(log_filter)
    threading.excepthook = previous_hook
