"""Flags shared by the scripts, what they build, and every script's main.

Both `train_image_classifier.py` and `eval_image_classifier.py` describe the
data and the model with the same flags (slim's names and defaults), so they
are defined once here; export_inference_graph.py takes the subset that names
a network and a dataset. A default that differs between the scripts (the
split) is an argument of the `define_*` functions.

    common_flags.define_dataset_flags(default_split_name='train')
    common_flags.define_model_flags()
    ...
    parts = common_flags.build_pipeline(FLAGS, is_training=True,
                                        image_size=FLAGS.train_image_size)
    images, labels = common_flags.make_batches(FLAGS, parts, is_training=True,
                                               batch_size=FLAGS.batch_size)
    ...
    if __name__ == '__main__':
      common_flags.run_main(main)

`run_main` is every script's entry point: an unknown flag, a value absl
cannot parse or a validator refuses, and a `UserError` raised for bad input
each end the script with one line on stderr and exit status 1 instead of a
traceback.
"""

import collections
import difflib
import errno
import functools
import math
import os
import sys

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf
from absl import app as absl_app
from absl import flags as absl_flags

from deployment import distributed
from deployment import errors
from deployment import interrupts
from deployment import pipeline

flags = tf.app.flags


# The scripts' name for the library's one user-fixable error.
UserError = errors.UserError


DATASET_DIR_HELP = ('The directory holding the dataset files. Only read, '
                    'never written, so it may be read-only.')


def define_dataset_flags(default_split_name='train'):
  """Defines the flags that pick and read a dataset."""
  define_dataset_name_flags(DATASET_DIR_HELP)
  flags.DEFINE_string('dataset_split_name', default_split_name,
                      'The name of the split to use (train, validation, '
                      'test, ...).')
  flags.DEFINE_integer('num_preprocessing_threads', 4,
                       'The number of threads used to preprocess images.')


def define_dataset_name_flags(dataset_dir_help):
  """Defines the flags that name a dataset and shift its labels.

  Also what export_inference_graph.py takes to learn the classes a network
  predicts, so both describe a dataset with the same flags.

  Args:
    dataset_dir_help: what the script reads from --dataset_dir.
  """
  flags.DEFINE_string('dataset_name', 'imagenet',
                      'The name of the dataset (see dataset_factory, or your '
                      'own converted folder\'s).')
  flags.DEFINE_string('dataset_dir', None, dataset_dir_help)
  flags.DEFINE_integer('labels_offset', 0,
                       'An offset for the labels in the dataset. Use 1 for a '
                       'model trained without a background class on a '
                       'dataset that has one (ImageNet).')


PREPROCESSING_NAME_HELP = (
    'The preprocessing: inception, vgg, lenet, cifarnet or densenet_imagenet; '
    'None: the one registered for --model_name. Use the one the checkpoint '
    'was trained with: slim\'s released checkpoints, the course\'s '
    'DenseNets and Keras weights converted by convert_keras_densenet.py '
    '(its default --input_preprocessing=inception folds Keras\' scaling '
    'into the first layer; --input_preprocessing=keras ones need Keras\' '
    'own scaling, which none of these makes) take the default; the community '
    'tf-densenet121/161/169.ckpt (pudae/tensorflow-densenet) take '
    'densenet_imagenet; a network trained with another one (the main job: '
    'lenet) must be evaluated and exported with it too.')


def define_model_flags():
  """Defines the flags that pick the network and its preprocessing."""
  define_network_flags()
  define_moving_average_flag()
  # Video networks take clips; slim has no video dataset, so build_pipeline
  # turns each preprocessed image into a still clip for them.
  flags.DEFINE_integer('num_frames', None,
                       'Frames per clip for the video networks (i3d, s3dg): '
                       'required for them, unset (None) for image networks. '
                       'slim has no video dataset, so each preprocessed '
                       'image is repeated num_frames times on a new frames '
                       'axis (a still clip): enough to check a set-up or to '
                       'fine-tune on stills, not to learn motion.')


EXPORT_AVERAGES_NOTE = (
    'Set it (to any value: the averages are stored under one name) to put '
    'the averages training kept with this flag in the graph instead of the '
    'weights, as eval_image_classifier.py evaluates them.')


def define_moving_average_flag(note=''):
  """Defines --moving_average_decay, with `note` appended to its help.

  Training keeps the averages; eval, export and freeze read them instead of
  the weights.
  """
  flags.DEFINE_float('moving_average_decay', None,
                     'The decay of the moving averages of the weights. If '
                     'None, no moving averages are used.' +
                     (' ' + note if note else ''))


def define_network_flags(preprocessing_note=''):
  """Defines the flags naming the network, its preprocessing and channels.

  Shared with export_inference_graph.py, which builds the same network and
  preprocessing into the graph it writes.

  Args:
    preprocessing_note: a sentence added to --preprocessing_name's help.
  """
  flags.DEFINE_string('model_name', 'inception_v3',
                      'The name of the architecture (see nets_factory).')
  flags.DEFINE_string('preprocessing_name', None,
                      ' '.join(filter(None, (PREPROCESSING_NAME_HELP,
                                             preprocessing_note))))
  flags.DEFINE_bool('use_grayscale', False,
                    'Whether to convert input images to grayscale.')


def define_master_timeout_flag():
  """--master_timeout_secs: how long a grpc:// --master may stay silent."""
  flags.DEFINE_integer('master_timeout_secs', distributed.MASTER_TIMEOUT_S,
                       'With a grpc:// --master: seconds to wait for it to '
                       'accept connections (a line is logged meanwhile) '
                       'before stopping with an error.')


def define_quantize_flag():
  """Defines --quantize (eval and export of quantization-aware training)."""
  flags.DEFINE_bool('quantize', False,
                    'Build the 8-bit fake-quantized graph (BatchNorm folded, '
                    'FakeQuant ops; tf.contrib.quantize\'s eval graph) that '
                    'a checkpoint trained with --quantize_delay needs to be '
                    'evaluated or exported as it was trained.')


def require_flag(flags_obj, name, hint):
  """Raises UserError when flag `name` is empty; `hint` says what to pass."""
  if not getattr(flags_obj, name):
    raise UserError('--%s is required: %s' % (name, hint))


def load_dataset(flags_obj):
  """The dataset descriptor the dataset flags name (`pipeline.load_dataset`)."""
  return pipeline.load_dataset(flags_obj.dataset_name,
                               flags_obj.dataset_split_name,
                               flags_obj.dataset_dir)


def build_pipeline(flags_obj, is_training, image_size=None, weight_decay=0.0):
  """`pipeline.build_pipeline` for the dataset and model flags.

  Scripts (and test flag objects) without --num_frames feed images.
  """
  return pipeline.pipeline_from_config(flags_obj, is_training, image_size,
                                       weight_decay)


def build_evaluation(flags_obj, batch_size, image_size=None):
  """The evaluation graph of the flags' split, and its number of batches.

  What eval_image_classifier.py and train_eval_image_classifier.py evaluate
  with: built once, then `evaluation.evaluate_checkpoint` runs it on each
  checkpoint (--max_num_batches caps the batches).

  Returns:
    `(evaluation.EvalGraph, num_batches)`.
  """
  from deployment import evaluation  # pylint: disable=g-import-not-at-top
  parts = build_pipeline(flags_obj, is_training=False, image_size=image_size)
  num_batches = evaluation.num_batches_for(
      parts.dataset.num_samples, batch_size, flags_obj.max_num_batches)
  eval_graph = evaluation.build_eval_graph(
      parts, batch_size, flags_obj.moving_average_decay,
      flags_obj.num_preprocessing_threads, flags_obj.labels_offset)
  return eval_graph, num_batches


def make_iterator(flags_obj, parts, is_training, batch_size, num_readers=4,
                  num_epochs=None, seed=None):
  """`pipeline.make_iterator` with the flags' threads and label offset."""
  return pipeline.make_iterator(
      parts, is_training, batch_size, num_readers=num_readers,
      num_preprocessing_threads=flags_obj.num_preprocessing_threads,
      labels_offset=flags_obj.labels_offset, num_epochs=num_epochs,
      seed=seed)


def make_batches(flags_obj, parts, is_training, batch_size, num_readers=4,
                 num_epochs=None, seed=None):
  """Returns graph tensors `(images, labels)` for one batch of the pipeline."""
  return make_iterator(flags_obj, parts, is_training, batch_size,
                       num_readers, num_epochs, seed).get_next()


# --------------------------------------------------------------------------
# The valid range of every numeric flag.
#
# One table, `FLAG_RANGES`, says for each flag name what its values mean to
# the scripts; `run_main` gives every integer and float flag of the running
# script its row before parsing the command line, so a value outside it ends
# the script with the one line `ERROR: flag --label_smoothing=1.5: must be at
# least 0 and below 1 (...)`. Flags without a row still get the checks every
# number needs: an integer must fit in 64 bits (TensorFlow's int64), a float
# must be finite (a row of None: only those). A flag of yours: add its row
# below, or call `require_range(name, at_least(0))` after defining it (a
# range given that way wins over the table's row).

INT64_MIN, INT64_MAX = -2**63, 2**63 - 1
# Seconds flags end up in time.sleep/threading waits, which overflow far
# below int64; a billion seconds (31 years) is "never" for all of them.
MAX_SECONDS = 10**9
# Image sides: TensorFlow's resize takes int32 sizes, and a 16384-pixel
# square is already 3 GiB as float RGB.
MAX_IMAGE_SIDE = 16384

Range = collections.namedtuple('Range', ['check', 'message'])


def at_least(minimum, maximum=None):
  """Values from `minimum` (up to `maximum` when given), both included."""
  if maximum is None:
    return Range(lambda value: value >= minimum,
                 'must be at least %s' % minimum)
  return Range(lambda value: minimum <= value <= maximum,
               'must be between %s and %s' % (minimum, maximum))


def above(minimum, maximum=None):
  """Values above `minimum` (and at most `maximum` when given)."""
  if maximum is None:
    return Range(lambda value: value > minimum, 'must be above %s' % minimum)
  return Range(lambda value: minimum < value <= maximum,
               'must be above %s and at most %s' % (minimum, maximum))


def at_least_and_below(minimum, limit, why=''):
  """Values in [minimum, limit): a rate or fraction that must not reach 1."""
  return Range(lambda value: minimum <= value < limit,
               'must be at least %s and below %s%s' % (
                   minimum, limit, ' (%s)' % why if why else ''))


def at_most(maximum, why=''):
  return Range(lambda value: value <= maximum, 'must be at most %s%s' % (
      maximum, ' (%s)' % why if why else ''))


_COUNT = at_least(1)          # batches, threads, shards, clones...
_SECONDS = at_least(0, MAX_SECONDS)
_IMAGE_SIDE = at_least(1, MAX_IMAGE_SIDE)
_DECAY = at_least_and_below(0, 1, 'the share of the old value kept at each '
                            'step; 1 or more never forgets')

FLAG_RANGES = {
    # Data, model and evaluation (common_flags, eval, train_eval, export).
    'batch_size': _COUNT, 'eval_batch_size': _COUNT,
    'num_preprocessing_threads': _COUNT, 'num_readers': _COUNT,
    'labels_offset': at_least(0), 'num_frames': _COUNT,
    'max_num_batches': _COUNT, 'max_number_of_steps': _COUNT,
    'epochs': at_least(1, 10**6),
    'train_image_size': _IMAGE_SIDE, 'eval_image_size': _IMAGE_SIDE,
    'image_size': _IMAGE_SIDE,
    'eval_interval_secs': _SECONDS, 'eval_timeout_secs': above(0, MAX_SECONDS),
    'top_k': _COUNT, 'num_top_predictions': _COUNT,
    # label_image's TensorFlow-style feed: (pixel - input_mean) / input_std.
    'input_mean': None, 'input_std': above(0),
    # Exported models: LiteRT/onnxruntime threads; int8 calibration images.
    'num_threads': _COUNT, 'calibration_images': _COUNT,
    # 0 means off, as upstream's `if FLAGS.moving_average_decay` reads it; 1
    # or more would never move the averages away from their start.
    'moving_average_decay': at_least_and_below(0, 1, 'e.g. 0.9999'),
    # Training deployment.
    'num_clones': _COUNT, 'worker_replicas': _COUNT,
    'num_ps_tasks': at_least(0), 'task': at_least(0),
    'replicas_to_aggregate': _COUNT, 'log_every_n_steps': _COUNT,
    'save_summaries_secs': _SECONDS, 'save_interval_secs': _SECONDS,
    'master_timeout_secs': at_least(1, MAX_SECONDS),
    # upstream's quantization delay: -1 disables it.
    'quantize_delay': at_least(-1),
    # Optimizers, as TensorFlow's optimizers define their parameters.
    'weight_decay': at_least(0),
    'adadelta_rho': _DECAY, 'adam_beta1': _DECAY, 'adam_beta2': _DECAY,
    'rmsprop_decay': _DECAY,
    'momentum': at_least_and_below(0, 1, 'the share of the last update '
                                   'kept; 1 or more diverges'),
    'rmsprop_momentum': at_least_and_below(0, 1, 'the share of the last '
                                           'update kept; 1 or more diverges'),
    'opt_epsilon': above(0),
    'adagrad_initial_accumulator_value': above(0),
    'ftrl_initial_accumulator_value': at_least(0),
    'ftrl_learning_rate_power': at_most(0, 'FTRL divides by the step count '
                                        'to this power'),
    'ftrl_l1': at_least(0), 'ftrl_l2': at_least(0),
    # The learning-rate schedule and the loss.
    'learning_rate': above(0), 'end_learning_rate': at_least(0),
    'learning_rate_decay_factor': above(0, 1),
    'num_epochs_per_decay': above(0), 'warmup_epochs': at_least(0),
    'label_smoothing': at_least_and_below(0, 1, 'the share of the target '
                                          'spread over all classes; at 1 '
                                          'nothing is learnt'),
    # Conversion (download_and_convert_data, build_imagenet_data).
    'num_shards': _COUNT, 'train_shards': _COUNT, 'validation_shards': _COUNT,
    'num_threads': _COUNT, 'max_image_side': _IMAGE_SIDE,
    'seed': None,  # any integer seeds Python's random
    'small_object_area_threshold': at_least_and_below(
        0, 1, 'a fraction of the image area'),
    # The server.
    'port': Range(lambda port: 0 <= port <= 65535,
                  'not a TCP port; pick one in 0..65535 (0: any free port)'),
    'max_upload_mb': at_least(1, 2**20), 'max_megapixels': above(0, 10**6),
    'max_in_flight': _COUNT, 'client_timeout_s': at_least(1, MAX_SECONDS),
    'max_connections': _COUNT, 'upload_quota_mb': at_least(0, 2**30),
}

# Flags given their range in this process (by require_range or run_main).
_RANGED = {}


def require_range(name, flag_range):
  """Makes absl refuse values of flag `name` outside `flag_range`.

  The check runs when the command line is parsed, before `main`; a flag
  left at None (an optional one) passes, and assigning `FLAGS.<name>` later
  is checked too (absl raises IllegalFlagValueError). Called after defining
  the flag, it replaces the table's row for this script.

  Args:
    name: an integer or float flag, already defined.
    flag_range: a `Range` (`at_least(1)`, `above(0)`, ...), or None for the
      checks every number gets (fits in int64, finite).
  """
  if name in _RANGED:
    return
  _RANGED[name] = flag_range
  flags.register_validator(
      name, functools.partial(_check_number, flags.FLAGS[name].flag_type(),
                              flag_range))


def _check_number(flag_type, flag_range, value):
  if value is None:
    return True
  if flag_type == 'float' and not math.isfinite(value):
    raise absl_flags.ValidationError('must be a finite number')
  if flag_type == 'int' and not INT64_MIN <= value <= INT64_MAX:
    raise absl_flags.ValidationError(
        'must fit in 64 bits (at most %d)' % INT64_MAX)
  if flag_range is not None and not flag_range.check(value):
    raise absl_flags.ValidationError(flag_range.message)
  return True


def require_positive(*flag_names):
  """`require_range` with the lowest value 1 (integers) or above 0 (floats).

  `--batch_size=0` ends the script with `ERROR: flag --batch_size=0: must be
  at least 1` (a float flag: `must be above 0`).
  """
  for name in flag_names:
    require_range(name, above(0) if flags.FLAGS[name].flag_type() == 'float'
                  else at_least(1))


def require_at_least(minimum, *flag_names):
  """Like `require_positive`, for a lower bound other than 1 (e.g. 0)."""
  for name in flag_names:
    require_range(name, at_least(minimum))


def require_non_empty(*flag_names):
  """Refuses an empty value (`--eval_dir=`) for each named string flag.

  Left out, such a flag keeps its default (None included); given empty it
  would silently mean the default or the current directory.
  """
  for name in flag_names:
    flags.register_validator(
        name, lambda value: value is None or bool(value.strip()),
        message='is empty; pass a path, or leave the flag out for its '
        'default')


def numeric_flag_names(flag_values=None):
  """Names of the integer and float flags defined in `flag_values`."""
  flag_values = flag_values or flags.FLAGS
  return sorted(name for name, flag in flag_values._flags().items()  # pylint: disable=protected-access
                if name == flag.name and flag.flag_type() in ('int', 'float'))


def require_ranges_of_defined_flags():
  """Gives each numeric flag its `FLAG_RANGES` row (or the generic checks).

  `run_main` calls it before parsing; a flag ranged already keeps its range.
  """
  for name in numeric_flag_names():
    require_range(name, FLAG_RANGES.get(name))


def run_main(main, positional_args=False):
  """Runs `main(argv)` under absl: every script's one entry point.

  Bad input ends the script with one `ERROR: ...` line on stderr and exit
  status 1, never a traceback: a flag value absl cannot parse or a validator
  refuses (`FLAG_RANGES`, `require_range`), an unknown flag (a typo must not
  pass silently), and a `UserError` raised by `main`. What stdout cannot
  encode is printed as '?'. Ctrl-C and SIGTERM end it with one line and exit
  status 130 / 143 (`deployment.interrupts`); a closed stdout (`| head`)
  quietly, a full one (`> /dev/full`) with one line.

  Args:
    main: the script's `main(argv)`.
    positional_args: whether the script takes arguments that are not flags
      (label_image.py's image paths); they reach `main` as `argv[1:]`.
      Otherwise such an argument is refused like an unknown flag.
  """
  show_flags_in_help(main.__module__)
  require_ranges_of_defined_flags()
  _replace_what_the_terminal_cannot_print()

  def guarded_main(argv):
    # TensorFlow gave its logger its own stderr handler before absl set up
    # the root one; without this every tf.logging line shows up twice.
    tf.get_logger().propagate = False
    try:
      return main(argv)
    except UserError as error:
      _exit_with_error(errors.one_line(error))

  def parse(argv):
    return _parse_flags_in_one_line(argv, positional_args)

  interrupts.install()
  sys.stdout = _GuardedStdout(sys.stdout)
  try:
    absl_app.run(guarded_main, flags_parser=parse)
  except KeyboardInterrupt as error:  # Ctrl-C, SIGTERM (interrupts.py)
    _exit_quietly(interrupts.describe(error), interrupts.exit_status(error))
  except StdoutError as error:
    _silence_stdout()
    if error.errno == errno.EPIPE:
      # `script | head`: the reader has all it wanted; say nothing more.
      sys.exit(1)
    _exit_with_error('cannot write the output to stdout (%s); check where '
                     'it is redirected' % error.strerror)
  finally:
    if isinstance(sys.stdout, _GuardedStdout):
      sys.stdout = sys.stdout._stream  # pylint: disable=protected-access


def _replace_what_the_terminal_cannot_print():
  """Characters stdout/stderr cannot encode become '?' instead of a crash.

  A class name like 'rosé' under PYTHONIOENCODING=ascii, or a path holding
  bytes that are not UTF-8 (kept by Python as surrogates), would otherwise
  end a finished run in UnicodeEncodeError when it is printed.
  """
  for stream in (sys.stdout, sys.stderr):
    if getattr(stream, 'errors', None) == 'strict' and hasattr(
        stream, 'reconfigure'):
      stream.reconfigure(errors='replace')


def show_flags_in_help(module_name):
  """Makes `--help` of an installed slim-* command list its script's flags.

  absl's `--help` lists the flags of the module named by sys.argv[0] and the
  docstring of `__main__`; for a console command those are the command's path
  and its generated stub, not the script's. A no-op for `python script.py`.
  """
  if module_name == '__main__':
    return
  for flag in flags.FLAGS.get_key_flags_for_module(module_name):
    flags.FLAGS.register_key_flag_for_module(sys.argv[0], flag)
  command = sys.modules['__main__']
  if not command.__doc__:
    command.__doc__ = sys.modules[module_name].__doc__


def _parse_flags_in_one_line(argv, positional_args):
  """Parses the flags; returns argv[0] and the positional arguments.

  Exits with one line for a value absl cannot parse (`--batch_size=abc`) or
  a validator refuses, for an unknown flag and, unless `positional_args`,
  for any argument that is not a flag; with status 0 after a help flag.
  """
  try:
    rest = flags.FLAGS(argv, known_only=True)
  except absl_flags.Error as error:  # one line per flag absl refused
    _exit_with_error('; '.join(str(error).splitlines()))
  except SystemExit as stop:
    # Only absl's help flags (--help, --helpshort, --helpfull, --helpxml)
    # exit while parsing, with status 1 once the help is printed. The user
    # got what was asked for: exit 0, as other command-line tools do.
    sys.exit(0 if stop.code == 1 else stop.code)
  unknown, positional = _split_unparsed(rest[1:])
  script = os.path.basename(argv[0])
  if unknown:
    _exit_with_error('unknown flag(s) %s; see --help for the flags of %s' % (
        ', '.join(_with_suggestion(arg) for arg in unknown), script))
  if positional and not positional_args:
    _exit_with_error('unexpected argument(s) %s: %s takes flags only; see '
                     '--help' % (' '.join(positional), script))
  return rest[:1] + positional


def _split_unparsed(args):
  """(unknown flags, positional arguments) absl left; `--` ends flags."""
  unknown, positional = [], []
  for index, arg in enumerate(args):
    if arg == '--':
      return unknown, positional + args[index + 1:]
    if arg.startswith('-') and arg != '-':  # '-' names stdin, not a flag
      unknown.append(arg)
    else:
      positional.append(arg)
  return unknown, positional


def _with_suggestion(arg):
  """`--bacth_size=3` -> `--bacth_size=3 (did you mean --batch_size?)`."""
  name = arg.lstrip('-').split('=', 1)[0]
  close = difflib.get_close_matches(name, list(flags.FLAGS), n=1, cutoff=0.75)
  return '%s (did you mean --%s?)' % (arg, close[0]) if close else arg


def _exit_with_error(message):
  _exit_quietly('ERROR: %s' % message, 1)


def _exit_quietly(line, status):
  try:
    sys.stderr.write(line + '\n')
    sys.stderr.flush()
  except OSError:  # stderr itself is gone: the status still tells
    pass
  sys.exit(status)


class StdoutError(OSError):
  """Writing the script's standard output failed (closed pipe, full disk)."""


class _GuardedStdout(object):
  """sys.stdout, whose failed writes are raised as StdoutError.

  So run_main tells a closed or full stdout from any other OSError.
  """

  def __init__(self, stream):
    self._stream = stream

  def write(self, text):
    try:
      return self._stream.write(text)
    except OSError as error:
      raise StdoutError(error.errno, error.strerror) from error

  def flush(self):
    try:
      return self._stream.flush()
    except OSError as error:
      raise StdoutError(error.errno, error.strerror) from error

  def __getattr__(self, name):
    return getattr(self._stream, name)


def _silence_stdout():
  """Points stdout at /dev/null so Python's exit flush cannot fail again."""
  try:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
  except (OSError, ValueError, AttributeError):
    pass
