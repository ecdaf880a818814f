"""Flags shared by the scripts, what they build, and every script's main.

Both `train_image_classifier.py` and `eval_image_classifier.py` describe the
data and the model with the same flags (slim's names and defaults), so they
are defined once here; export_inference_graph.py takes the subset that names
a network and a dataset. A default that differs between the scripts (the
split) is an argument of the `define_*` functions.

    common_flags.define_dataset_flags(default_split_name='train')
    common_flags.define_model_flags()
    common_flags.require_positive('batch_size', 'max_number_of_steps')
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

import difflib
import os
import sys

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf
from absl import app as absl_app
from absl import flags as absl_flags

from deployment import errors
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
  require_positive('num_preprocessing_threads')


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
  require_positive('num_frames')


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
  # 0 means off, as upstream's `if FLAGS.moving_average_decay` reads it; 1 or
  # more would never move the averages away from their start.
  _register_check('moving_average_decay', lambda value: 0 <= value < 1,
                  'must be at least 0 and below 1 (e.g. 0.9999)')


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


def require_positive(*flag_names):
  """Makes absl refuse a value of 0 or below for each named flag.

  The check runs when the command line is parsed, before `main`: with
  `run_main`, `--batch_size=0` ends the script with the one line
  `ERROR: flag --batch_size=0: must be at least 1` (a float flag: `must be
  above 0`) and exit status 1. A flag left at None (an optional one) passes.
  Assigning `FLAGS.<name>` later is checked too (absl raises
  IllegalFlagValueError).

  Args:
    *flag_names: names of integer or float flags, already defined.
  """
  for name in flag_names:
    if flags.FLAGS[name].flag_type() == 'float':
      _register_check(name, lambda value: value > 0, 'must be above 0')
    else:
      require_at_least(1, name)


def require_at_least(minimum, *flag_names):
  """Like `require_positive`, for a lower bound other than 1 (e.g. 0)."""
  for name in flag_names:
    _register_check(name, lambda value: value >= minimum,
                    'must be at least %s' % minimum)


def _register_check(name, check, message):
  flags.register_validator(name, lambda value: value is None or check(value),
                           message=message)


def run_main(main, positional_args=False):
  """Runs `main(argv)` under absl: every script's one entry point.

  Bad input ends the script with one `ERROR: ...` line on stderr and exit
  status 1, never a traceback: a flag value absl cannot parse or a validator
  refuses (`require_positive`), an unknown flag (a typo must not pass
  silently), and a `UserError` raised by `main`.

  Args:
    main: the script's `main(argv)`.
    positional_args: whether the script takes arguments that are not flags
      (label_image.py's image paths); they reach `main` as `argv[1:]`.
      Otherwise such an argument is refused like an unknown flag.
  """
  show_flags_in_help(main.__module__)

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

  absl_app.run(guarded_main, flags_parser=parse)


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
  for any argument that is not a flag.
  """
  try:
    rest = flags.FLAGS(argv, known_only=True)
  except absl_flags.Error as error:  # one line per flag absl refused
    _exit_with_error('; '.join(str(error).splitlines()))
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
  sys.stderr.write('ERROR: %s\n' % message)
  sys.stderr.flush()
  sys.exit(1)
