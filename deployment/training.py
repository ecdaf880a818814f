"""The training loop behind train_image_classifier.py, as library code.

`train_from_flags` builds slim's training graph from the parsed flags and
runs it with `slim.learning.train`, which restores the latest checkpoint of
`train_dir` (so rerunning a killed command resumes) and calls the
fine-tuning `init_fn` only when it starts from scratch. The train op is
`model_deploy.deploy()`'s, the public API users build their own trainings
with.

Each concern lives in its own module, this one only builds and runs:

* `optimization`: the learning-rate schedule and the optimizer;
* `fine_tuning`: --trainable_scopes and the warm start of --checkpoint_path;
* `progress`: the step function and its progress line (`PROGRESS_LINE_RE`);
* `training_errors`: bad labels, NaN and a full disk as one line;
* `distributed`: TF_CONFIG, the gRPC server, the clones' devices;
* `session_config`: --xla and --mixed_precision;
* `checkpoints`: train_dir bookkeeping (resume step, final step, lock).
"""

import functools
import inspect
import os
import types

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf
from tensorflow.python.util import deprecation
import tf_slim as slim

from deployment.errors import UserError
from deployment import checkpoints
from deployment import distributed
from deployment import fine_tuning
from deployment import interrupts
from deployment import model_deploy
from deployment import optimization
from deployment import pipeline as pipeline_lib
from deployment import progress
from deployment import quantize
from deployment import session_config
from deployment import training_errors

# Weight of the auxiliary head's loss (Inception), as in slim.
AUX_LOSS_WEIGHT = 0.4

# The prefix the Supervisor saves under, so both saves rotate together.
CHECKPOINT_BASENAME = 'model.ckpt'


def _check_flags(flags_obj):
  if not flags_obj.train_dir:
    raise UserError('--train_dir is required: pass a writable directory for '
                    'checkpoints and summaries (e.g. /output/ckpt)')
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


def train_from_flags(flags_obj, after_step=None):
  """Builds the training graph the flags describe and runs it.

  Args:
    flags_obj: the parsed flags (or an object with the same attributes).
    after_step: None, or a hook run after every step (see
      `progress.ProgressStep`).

  Raises:
    UserError: for bad flags or data, and
      training_errors.NonFiniteLossError when the loss is NaN or Inf.
  """
  _check_flags(flags_obj)
  distributed.check_replicas(flags_obj,
                             distributed.cluster_from_environment())
  flags_obj = _without_sync_for_one_worker(flags_obj)
  distributed.check_clone_devices(flags_obj.num_clones,
                                  flags_obj.clone_on_cpu)
  distributed.wait_for_master(flags_obj.master,
                              getattr(flags_obj, 'master_timeout_secs',
                                      distributed.MASTER_TIMEOUT_S))
  master = distributed.master_from_environment(flags_obj.master,
                                               flags_obj.task)
  checkpoints.prepare_train_dir(flags_obj.train_dir)
  if flags_obj.task != 0:
    return _train_in_dir(flags_obj, master, after_step)
  # Only the chief writes checkpoints, so only it holds the lock.
  with checkpoints.TrainDirLock(flags_obj.train_dir):
    return _train_in_dir(flags_obj, master, after_step)


def _without_sync_for_one_worker(flags_obj):
  """The config with --sync_replicas off when one worker waits for no one.

  Synchronising one worker's one gradient per step changes nothing, but the
  sync queue's runner thread stays blocked waiting for the next gradient
  after the last step, so the run ended in "Coordinator stopped with threads
  still running" (RuntimeError) after a two-minute grace period.
  """
  if not flags_obj.sync_replicas or flags_obj.worker_replicas > 1:
    return flags_obj
  tf.logging.info('--sync_replicas with --worker_replicas=1: one worker has '
                  'no replica to wait for; training without the sync queue')
  return types.SimpleNamespace(**dict(vars(flags_obj), sync_replicas=False))


def _train_in_dir(flags_obj, master, after_step):
  """train_from_flags once train_dir is ready (and locked by the chief)."""
  # Only the chief's view counts: other workers follow the ps.
  saved_step = (checkpoints.saved_global_step(flags_obj.train_dir)
                if flags_obj.task == 0 else None)
  if saved_step is not None and flags_obj.max_number_of_steps and (
      saved_step >= flags_obj.max_number_of_steps):
    tf.logging.info('%s is already at global step %d >= '
                    '--max_number_of_steps=%d; nothing to train',
                    flags_obj.train_dir, saved_step,
                    flags_obj.max_number_of_steps)
    return saved_step
  tf.logging.set_verbosity(tf.logging.INFO)
  # The Supervisor's timer threads (summaries, step counter) read the global
  # step in their own thread; with eager execution on they try to read it
  # eagerly and fail, so the whole process runs graph mode.
  tf.disable_eager_execution()
  with tf.Graph().as_default():
    return _build_and_train(flags_obj, master, after_step)


# --------------------------------------------------------------------------
# The training graph.


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
      labels = training_errors.checked_labels(labels, pipeline.num_classes,
                                              labels_offset)
    logits, end_points = pipeline.network_fn(images)
    _add_losses(logits, end_points, labels, pipeline.num_classes,
                label_smoothing)
    # The logits the network returns: not every family (VGG, ResNet) has a
    # 'Logits' end point, as upstream.
    return {'logits': logits, 'images': images, 'labels': labels}

  return clone_fn


def _output_summaries(clone_outputs, learning_rate):
  """Batch accuracy, a few input images, the learning rate and the losses.

  Returns:
    The summary ops, to merge with deploy()'s.
  """
  predictions = tf.argmax(clone_outputs['logits'], axis=-1)
  labels = tf.cast(clone_outputs['labels'], predictions.dtype)
  accuracy = tf.reduce_mean(tf.cast(tf.equal(predictions, labels), tf.float32))
  summaries = [
      tf.summary.scalar('batch_accuracy', accuracy),
      tf.summary.image('input_images', clone_outputs['images'],
                       max_outputs=3),
      tf.summary.scalar('learning_rate', learning_rate)]
  for loss in tf.losses.get_losses():
    summaries.append(tf.summary.scalar('losses/%s' % loss.op.name, loss))
  return summaries


def _other_clones_summaries(clones):
  """The summaries deploy() leaves out: those of the clones after the first.

  Their own `Losses/clone_loss` curves have always been written.
  """
  return [summary for clone in clones[1:]
          for summary in tf.get_collection(tf.GraphKeys.SUMMARIES,
                                           clone.scope)]


def _images_per_step(flags_obj):
  per_update = flags_obj.batch_size * flags_obj.num_clones
  if flags_obj.sync_replicas:
    per_update *= flags_obj.replicas_to_aggregate or flags_obj.worker_replicas
  return per_update


def _memory_efficient_pipeline(pipeline, model_name):
  """The pipeline with its network built in memory-efficient mode."""
  network_fn = pipeline.network_fn
  if 'memory_efficient' not in inspect.signature(network_fn).parameters:
    raise UserError('--memory_efficient is for the DenseNets only; '
                    '--model_name=%s has no such mode' % model_name)
  efficient_fn = functools.partial(network_fn, memory_efficient=True)
  efficient_fn.default_image_size = network_fn.default_image_size
  return pipeline._replace(network_fn=efficient_fn)


def _training_pipeline(flags_obj):
  """The pipeline to train on, its split checked to hold records."""
  pipeline = pipeline_lib.pipeline_from_config(
      flags_obj, is_training=True, image_size=flags_obj.train_image_size,
      weight_decay=flags_obj.weight_decay)
  if getattr(flags_obj, 'memory_efficient', False):
    pipeline = _memory_efficient_pipeline(pipeline, flags_obj.model_name)
  check_has_records(pipeline.dataset, flags_obj.dataset_split_name)
  return pipeline


def _moving_averages(flags_obj, global_step):
  """The ExponentialMovingAverage of --moving_average_decay, or None."""
  if not flags_obj.moving_average_decay:
    return None
  return tf.train.ExponentialMovingAverage(flags_obj.moving_average_decay,
                                           global_step)


def _build_train_op(flags_obj, config, pipeline, images_per_step):
  """deploy()'s train op for the flags, in the default graph.

  Returns:
    (model_deploy.DeployedModel with every summary of the run in its
    summary_op, learning-rate tensor, optimizer).
  """
  with tf.device(config.variables_device()):
    global_step = tf.train.get_or_create_global_step()
    moving_averages = _moving_averages(flags_obj, global_step)
  with tf.device(config.inputs_device()):
    iterator = pipeline_lib.make_iterator(
        pipeline, is_training=True, batch_size=flags_obj.batch_size,
        num_readers=flags_obj.num_readers,
        num_preprocessing_threads=flags_obj.num_preprocessing_threads,
        labels_offset=flags_obj.labels_offset)
  with tf.device(config.optimizer_device()):
    learning_rate = optimization.configure_learning_rate(
        flags_obj, pipeline.dataset.num_samples, global_step, images_per_step)
    optimizer = optimization.optimizer_from_flags(flags_obj, learning_rate,
                                                  moving_averages)
  clone_fn = _clone_fn(pipeline, iterator, config.inputs_device(),
                       flags_obj.label_smoothing, flags_obj.labels_offset)
  # --trainable_scopes names the network's variables, which only exist once
  # deploy() has built the clones: it calls var_list then.
  model = model_deploy.deploy(
      config, clone_fn, optimizer=optimizer,
      var_list=functools.partial(fine_tuning.get_variables_to_train,
                                 flags_obj.trainable_scopes),
      moving_averages=moving_averages)
  summary_op = tf.summary.merge(
      [model.summary_op] + _other_clones_summaries(model.clones) +
      _output_summaries(model.clones[0].outputs, learning_rate))
  return model._replace(summary_op=summary_op), learning_rate, optimizer


def _build_and_train(flags_obj, master, after_step):
  """Builds the graph in the default graph and runs slim.learning.train."""
  config = distributed.deployment_config_from_flags(flags_obj)
  pipeline = _training_pipeline(flags_obj)
  images_per_step = _images_per_step(flags_obj)
  if flags_obj.task == 0:
    tf.logging.info(describe_run(flags_obj, pipeline.dataset, images_per_step))
  model, learning_rate, optimizer = _build_train_op(flags_obj, config,
                                                    pipeline, images_per_step)
  init_fn = fine_tuning.get_init_fn(
      flags_obj.checkpoint_path, flags_obj.train_dir,
      flags_obj.checkpoint_exclude_scopes, flags_obj.ignore_missing_vars)
  # Relative names in the state file keep a copied or moved train_dir
  # pointing at its own checkpoints.
  saver = checkpoints.CheckedSaver(save_relative_paths=True)
  step_fn = progress.ProgressStep(
      learning_rate, images_per_step, pipeline.dataset.num_samples,
      flags_obj.max_number_of_steps, flags_obj.log_every_n_steps,
      after_step=after_step,
      save_checkpoint=_checkpoint_saver(saver, flags_obj.train_dir))
  if flags_obj.task == 0:
    check_resumable(flags_obj.train_dir, flags_obj.model_name)
    # Only now: a run refused above leaves the train_dir as it found it.
    checkpoints.clear_final_step(flags_obj.train_dir)
  with training_errors.user_errors_from_training(flags_obj.train_dir,
                                                 pipeline.dataset):
    return _run_slim_training(flags_obj, master, model, step_fn, init_fn,
                              optimizer, saver)


def describe_run(flags_obj, dataset, images_per_step):
  """The log's first line: what is trained, on what, how long, where to."""
  steps = flags_obj.max_number_of_steps
  if steps:
    length = '%d steps (%.2f epochs)' % (
        steps, steps * images_per_step / max(dataset.num_samples, 1))
  else:
    length = 'until stopped (no --max_number_of_steps)'
  devices = '%d clone%s%s' % (
      flags_obj.num_clones, 's' if flags_obj.num_clones > 1 else '',
      ' on the CPU' if flags_obj.clone_on_cpu else '')
  return ('Training %s on %s/%s (%d images in %s) for %s of %d images, %s; '
          'checkpoints and summaries go to %s' % (
              flags_obj.model_name, flags_obj.dataset_name,
              flags_obj.dataset_split_name, dataset.num_samples,
              flags_obj.dataset_dir, length, images_per_step, devices,
              flags_obj.train_dir))


def _checkpoint_saver(saver, train_dir):
  """`fn(session, step) -> path`: saves a checkpoint of `step` now."""
  prefix = os.path.join(train_dir, CHECKPOINT_BASENAME)
  return lambda session, step: saver.save(session, prefix, global_step=step)


def _run_slim_training(flags_obj, master, model, step_fn, init_fn, optimizer,
                       saver):
  """slim.learning.train of deploy()'s model; finishes train_dir at the end.

  Ctrl-C or SIGTERM ends the step under way, saves it and raises
  `interrupts.Interrupted` saying where the run resumes.
  """
  with interrupts.deferred(raise_at_end=False):
    loss = _slim_train(flags_obj, master, model, step_fn, init_fn, optimizer,
                       saver)
  if interrupts.requested() is not None:
    raise _interrupted_training(flags_obj.train_dir)
  if flags_obj.task == 0 and flags_obj.max_number_of_steps:
    final_step = checkpoints.finish_train_dir(flags_obj.train_dir)
    if final_step is None or final_step < flags_obj.max_number_of_steps:
      # A save the Supervisor's threads swallowed: never end as if done.
      raise UserError(
          'training reached --max_number_of_steps=%d but the newest '
          'checkpoint in --train_dir=%s is %s: its last save failed (see '
          'the log above); rerun the same command to save it' %
          (flags_obj.max_number_of_steps, flags_obj.train_dir,
           'at step %d' % final_step if final_step is not None else 'none'))
  return loss


def _interrupted_training(train_dir):
  """The Interrupted error saying what a stopped training kept."""
  kept = checkpoints.latest_listed(train_dir)
  return interrupts.Interrupted(
      interrupts.requested(),
      'training stopped%s; rerun the same command to resume from it' % (
          ' and saved %s in %s' % (os.path.basename(kept), train_dir)
          if kept else ', no checkpoint was saved'))


def _slim_train(flags_obj, master, model, step_fn, init_fn, optimizer, saver):
  with distributed.sync_stop_grace(flags_obj.sync_replicas):
    return slim.learning.train(
        model.train_op,
        logdir=flags_obj.train_dir,
        train_step_fn=step_fn,
        master=master,
        is_chief=(flags_obj.task == 0),
        init_fn=init_fn,
        summary_op=model.summary_op,
        number_of_steps=flags_obj.max_number_of_steps,
        log_every_n_steps=flags_obj.log_every_n_steps,
        save_summaries_secs=flags_obj.save_summaries_secs,
        save_interval_secs=flags_obj.save_interval_secs,
        sync_optimizer=optimizer if flags_obj.sync_replicas else None,
        # The chief's sync-queue runner waits for a next gradient no worker
        # sends once the last step is done: without this the run ends in
        # RuntimeError after the Supervisor's grace period (sync_stop_grace).
        ignore_live_threads=bool(flags_obj.sync_replicas),
        session_config=session_config.session_config_from_flags(flags_obj),
        saver=saver)


def _check_first_record(dataset, path):
  """Reads the first record of `path`; a shard that is no TFRecord is named."""
  # tf_record_iterator is deprecated (its notice would show in every run)
  # but it is the one reader that needs no session; its notice is silenced.
  try:
    with deprecation.silence():
      next(tf.io.tf_record_iterator(path), None)
  except tf.errors.OpError as error:
    raise pipeline_lib.bad_data_error(dataset, error) from error


def check_has_records(dataset, split_name):
  """Raises UserError when the split to train on has no record at all.

  A first shard that is no TFRecord file at all is named here already.
  """
  # A TFRecord file holds a record as soon as it holds a byte (each record is
  # framed by its length and checksums; a bad frame is the reader's error).
  for path in getattr(dataset, 'data_sources', None) or []:
    if tf.io.gfile.stat(path).length > 0:
      _check_first_record(dataset, path)
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
      quantize.missing_ranges_hint(
          '--train_dir=%s holds the training of another model, class count '
          'or optimizer than this one (--model_name=%s); pass another '
          '--train_dir to start afresh, or the flags it was trained with to '
          'resume' % (train_dir, model_name),
          ranges_hint='--quantize_delay: --train_dir=%s holds a float '
          'training (no quantization ranges); to quantize it, fine-tune from '
          'it with --checkpoint_path=%s and a new --train_dir' %
          (train_dir, train_dir)))
