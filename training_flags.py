"""The flags of a training run, shared by the two scripts that train.

train_image_classifier.py and train_eval_image_classifier.py take the same
training flags (slim's names and defaults); they are defined here once.

    training_flags.define_training_flags()
    ...
    training.train_from_flags(training_flags.config_from_flags(FLAGS))

The library never sees absl's flag object: `config_from_flags` copies the
parsed values once into a plain namespace that is passed down.
"""

import types

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf

import common_flags

flags = tf.app.flags


def define_training_flags(default_split_name='train'):
  """Defines slim's training flags, the dataset and the model flags.

  Args:
    default_split_name: default of --dataset_split_name (train_eval uses it
      for the split it evaluates).
  """
  _define_deployment_flags()
  _define_optimizer_flags()
  _define_learning_rate_flags()
  _define_input_and_model_flags(default_split_name)
  _define_fine_tuning_flags()


def config_from_flags(flag_values, **overrides):
  """The parsed flags as a plain, detached namespace, with some replaced.

  Args:
    flag_values: absl's FLAGS, parsed.
    **overrides: values that differ from the flags' (train_eval trains on
      --train_split_name up to its final step).

  Returns:
    A `types.SimpleNamespace` with one attribute per flag.
  """
  values = flag_values.flag_values_dict()
  values.update(overrides)
  return types.SimpleNamespace(**values)


def training_flag_defaults():
  """{name: default} of every training flag, leaving no flag defined.

  For scripts with a command line of their own that train with this
  project's loop (nets/mobilenet_v1_train.py takes upstream's flags): their
  config is these defaults with their own values laid over them, so each
  default stays defined here only. Call it before the script defines flags
  of the same names (batch_size, master, ...): the training flags are
  defined for a moment, read and removed again.

  Returns:
    A new dict, the defaults `config_from_flags` would give for a command
    line without training flags.
  """
  defined_before = set(flags.FLAGS)
  define_training_flags()
  names = set(flags.FLAGS) - defined_before
  defaults = {name: flags.FLAGS[name].default for name in names}
  for name in names:
    delattr(flags.FLAGS, name)
  return defaults


def _define_deployment_flags():
  """Where and how the training runs: clones, replicas, logging, saving."""
  flags.DEFINE_string('master', '',
                      'The address of the TensorFlow master to use; empty '
                      'trains in this process (or through the TF_CONFIG '
                      'server).')
  common_flags.define_master_timeout_flag()
  flags.DEFINE_string('train_dir', '/tmp/tfmodel/',
                      'Directory where checkpoints and event logs are written '
                      'to. Must be writable.')
  flags.DEFINE_integer('num_clones', 1,
                       'Number of model clones to deploy. Note: with '
                       '--clone_on_cpu=False, one clone per GPU.')
  flags.DEFINE_bool('clone_on_cpu', False, 'Use CPUs to deploy clones.')
  flags.DEFINE_integer('worker_replicas', 1, 'Number of worker replicas.')
  flags.DEFINE_integer('num_ps_tasks', 0,
                       'The number of parameter servers. If the value is 0, '
                       'then the parameters are handled locally by the worker.')
  flags.DEFINE_integer('num_readers', 4,
                       'The number of parallel readers that read data from '
                       'the dataset.')
  flags.DEFINE_integer('log_every_n_steps', 10,
                       'The frequency with which logs are printed.')
  flags.DEFINE_integer('save_summaries_secs', 600,
                       'The frequency with which summaries are saved, in '
                       'seconds.')
  flags.DEFINE_integer('save_interval_secs', 600,
                       'The frequency with which the model is saved, in '
                       'seconds.')
  flags.DEFINE_integer('task', 0, 'Task id of the replica running the '
                       'training (0 is the chief).')

def _define_optimizer_flags():
  """--optimizer and each optimizer's parameters, --weight_decay."""
  flags.DEFINE_float('weight_decay', 0.00004,
                     'The weight decay on the model weights.')
  flags.DEFINE_string('optimizer', 'rmsprop',
                      'The name of the optimizer, one of "adadelta", '
                      '"adagrad", "adam", "ftrl", "momentum", "sgd" or '
                      '"rmsprop".')
  flags.DEFINE_float('adadelta_rho', 0.95, 'The decay rate for adadelta.')
  flags.DEFINE_float('adagrad_initial_accumulator_value', 0.1,
                     'Starting value for the AdaGrad accumulators.')
  flags.DEFINE_float('adam_beta1', 0.9,
                     'The exponential decay rate for the 1st moment '
                     'estimates.')
  flags.DEFINE_float('adam_beta2', 0.999,
                     'The exponential decay rate for the 2nd moment '
                     'estimates.')
  flags.DEFINE_float('opt_epsilon', 1.0, 'Epsilon term for the optimizer.')
  flags.DEFINE_float('ftrl_learning_rate_power', -0.5,
                     'The learning rate power.')
  flags.DEFINE_float('ftrl_initial_accumulator_value', 0.1,
                     'Starting value for the FTRL accumulators.')
  flags.DEFINE_float('ftrl_l1', 0.0, 'The FTRL l1 regularization strength.')
  flags.DEFINE_float('ftrl_l2', 0.0, 'The FTRL l2 regularization strength.')
  flags.DEFINE_float('momentum', 0.9,
                     'The momentum for the MomentumOptimizer and '
                     'RMSPropOptimizer.')
  flags.DEFINE_float('rmsprop_momentum', 0.9, 'Momentum.')
  flags.DEFINE_float('rmsprop_decay', 0.9, 'Decay term for RMSProp.')

def _define_learning_rate_flags():
  """The learning-rate schedule, label smoothing, replica sync."""
  flags.DEFINE_string('learning_rate_decay_type', 'exponential',
                      'Specifies how the learning rate is decayed. One of '
                      '"fixed", "exponential", or "polynomial".')
  flags.DEFINE_float('learning_rate', 0.01, 'Initial learning rate.')
  flags.DEFINE_float('end_learning_rate', 0.0001,
                     'The minimal end learning rate used by a polynomial decay '
                     'learning rate.')
  flags.DEFINE_float('label_smoothing', 0.0, 'The amount of label smoothing.')
  flags.DEFINE_float('learning_rate_decay_factor', 0.94,
                     'Learning rate decay factor.')
  flags.DEFINE_float('num_epochs_per_decay', 2.0,
                     'Number of epochs after which learning rate decays.')
  flags.DEFINE_float('warmup_epochs', 0.0,
                     'Epochs over which the learning rate ramps up linearly '
                     'from 0; 0 disables the warm-up.')
  flags.DEFINE_bool('sync_replicas', False,
                    'Whether or not to synchronize the replicas during '
                    'training.')
  flags.DEFINE_integer('replicas_to_aggregate', 1,
                       'The number of gradients to collect before updating '
                       'params.')

def _define_input_and_model_flags(default_split_name):
  """What is trained on what: dataset, network, batch, compute options."""
  common_flags.define_dataset_flags(default_split_name=default_split_name)
  common_flags.define_model_flags()
  flags.DEFINE_integer('batch_size', 32,
                       'The number of samples in each batch (per clone).')
  flags.DEFINE_integer('train_image_size', None,
                       'Train image size; None uses the network\'s default.')
  flags.DEFINE_bool('memory_efficient', False,
                    'DenseNets only: recompute each dense layer in the '
                    'backward pass instead of keeping its activations, '
                    'trading time for memory; same variables and '
                    'checkpoints. Measurements: docs/performance.md.')
  flags.DEFINE_bool('xla', False,
                    'Compile the training step with XLA (auto-clustering); '
                    'meant for GPUs. Measurements: docs/performance.md.')
  flags.DEFINE_bool('mixed_precision', False,
                    'Compute in 16 bits where safe (grappler\'s automatic '
                    'mixed precision) with dynamic loss scaling; variables '
                    'and checkpoints stay float32. GPU: float16. CPU with '
                    'native bfloat16 (AVX512-BF16 or AMX): bfloat16, which '
                    'pays off on large images, not on tiny ones. Other CPUs: '
                    'no effect.')
  flags.DEFINE_integer('quantize_delay', -1,
                       'Quantization-aware training: from this global step '
                       'on, the forward pass uses 8-bit fake-quantized '
                       'weights and activations (BatchNorm folded into its '
                       'layer, as tf.contrib.quantize did); -1: off. Evaluate '
                       'and export the checkpoints with --quantize.')
  common_flags.require_at_least(-1, 'quantize_delay')
  flags.DEFINE_integer('max_number_of_steps', None,
                       'The maximum number of training steps; None trains '
                       'until stopped.')

def _define_fine_tuning_flags():
  """Warm start from a checkpoint and which variables train."""
  flags.DEFINE_string('checkpoint_path', None,
                      'The path (file or directory) to a checkpoint from '
                      'which to fine-tune. Used only when --train_dir holds '
                      'no checkpoint yet.')
  flags.DEFINE_string('checkpoint_exclude_scopes', None,
                      'Comma-separated list of scopes of variables to exclude '
                      'when restoring from a checkpoint.')
  flags.DEFINE_string('trainable_scopes', None,
                      'Comma-separated list of scopes to filter the set of '
                      'variables to train. By default, None would train all '
                      'the variables.')
  flags.DEFINE_bool('ignore_missing_vars', False,
                    'When restoring a checkpoint would ignore missing '
                    'variables.')
