"""The learning-rate schedule and the optimizer the training flags describe.

    learning_rate = optimization.configure_learning_rate(
        flags, num_samples_per_epoch, global_step)
    optimizer = optimization.optimizer_from_flags(flags, learning_rate)

`configure_learning_rate` and `configure_optimizer` keep the names and flag
semantics of slim's train_image_classifier.py; `optimizer_from_flags` adds
the wrappers (loss scaling for --mixed_precision, SyncReplicasOptimizer for
--sync_replicas) around the optimizer `configure_optimizer` returns.
"""

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf

from deployment.errors import UserError

LEARNING_RATE_DECAY_TYPES = ('fixed', 'exponential', 'polynomial')
OPTIMIZERS = ('adadelta', 'adagrad', 'adam', 'ftrl', 'momentum', 'sgd',
              'rmsprop')


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


def optimizer_from_flags(flags_obj, learning_rate, moving_averages=None):
  """The --optimizer, with loss scaling and replica sync when asked.

  Args:
    flags_obj: the training flags (optimizer, mixed_precision,
      sync_replicas, replicas_to_aggregate, worker_replicas and the
      optimizer's own).
    learning_rate: a float or tensor.
    moving_averages: the `tf.train.ExponentialMovingAverage` of
      --moving_average_decay, or None; with --sync_replicas the chief also
      updates it once per aggregated step.

  Returns:
    A `tf.train.Optimizer`.
  """
  optimizer = configure_optimizer(flags_obj, learning_rate)
  if getattr(flags_obj, 'mixed_precision', False):
    optimizer = tf.train.experimental.MixedPrecisionLossScaleOptimizer(
        optimizer, 'dynamic')
  if not flags_obj.sync_replicas:
    return optimizer
  # The optimizer exists before the network (model_deploy.deploy builds
  # both); it reads the list only in apply_gradients, so the graph's live
  # collection holds every model variable by then.
  model_variables = (tf.get_collection_ref(tf.GraphKeys.MODEL_VARIABLES)
                     if moving_averages else None)
  return tf.train.SyncReplicasOptimizer(
      optimizer,
      replicas_to_aggregate=(flags_obj.replicas_to_aggregate or
                             flags_obj.worker_replicas),
      total_num_replicas=flags_obj.worker_replicas,
      variable_averages=moving_averages,
      variables_to_average=model_variables)
