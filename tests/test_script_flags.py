"""Every script's command line (common_flags.run_main): typos and bad values.

A mistyped flag or a value a validator refuses ends the script before it
builds anything, with one `ERROR:` line naming the flag and exit status 1.
"""

import pytest
from absl import flags as absl_flags

import common_flags
import deployment_helpers as helpers

# Each script is run once per case: a Python start with TensorFlow costs
# seconds, so the cases are what differs between the scripts; and every run
# is a child forked after one TensorFlow import (`flag_runs`).
SCRIPTS = ['eval_image_classifier.py', 'export_inference_graph.py',
           'freeze_graph.py', 'label_image.py', 'server.py',
           'download_and_convert_data.py', 'convert_keras_densenet.py']
# (script, a flag value it refuses, what the one line says).
REFUSED_VALUES = [
    ('eval_image_classifier.py', '--eval_interval_secs=-1',
     'must be between 0 and 1000000000'),
    ('export_inference_graph.py', '--batch_size=0', 'must be at least 1'),
    ('label_image.py', '--top_k=0', 'must be at least 1'),
    ('server.py', '--max_megapixels=0.0',
     'must be above 0 and at most 1000000'),
    ('download_and_convert_data.py', '--num_shards=-2', 'must be at least 1'),
]


# (script, a value absl cannot parse): one ERROR: line from every script.
WRONG_TYPES = [
    ('train_image_classifier.py', '--batch_size=abc'),
    ('train_image_classifier.py', '--clone_on_cpu=yes'),
    ('eval_image_classifier.py', '--batch_size=abc'),
    ('train_eval_image_classifier.py', '--epochs=abc'),
    ('export_inference_graph.py', '--image_size=abc'),
    ('freeze_graph.py', '--input_binary=maybe'),
    ('label_image.py', '--top_k=abc'),
]

NOT_A_FLAG = ('freeze_graph.py', 'model.pb')


@pytest.fixture(scope='module')
def flag_runs():
  """{(script, argument): CompletedProcess} of every case below."""
  runs = ([(script, ['--bacth_size=3']) for script in SCRIPTS] +
          [(script, [flag]) for script, flag, _ in REFUSED_VALUES] +
          [(script, [flag]) for script, flag in WRONG_TYPES] +
          [(NOT_A_FLAG[0], [NOT_A_FLAG[1]])])
  return {(script, args[0]): result for (script, args), result in zip(
      runs, helpers.run_scripts_forked(runs))}


def _the_error_line(result):
  """The one `ERROR:` line of a run that failed as bad input must."""
  last = helpers.error_line(result)
  errors = [line for line in result.stderr.splitlines()
            if line.startswith('ERROR:')]
  assert errors == [last], result.stderr[-3000:]
  return last


@pytest.mark.parametrize('script', SCRIPTS)
def test_a_mistyped_flag_is_one_error_line(flag_runs, script):
  error = _the_error_line(flag_runs[(script, '--bacth_size=3')])
  assert error == ('ERROR: unknown flag(s) --bacth_size=3%s; see --help for '
                   'the flags of %s' % (
                       ' (did you mean --batch_size?)'
                       if script in ('eval_image_classifier.py',
                                     'export_inference_graph.py') else '',
                       script))


@pytest.mark.parametrize('script,flag,message', REFUSED_VALUES)
def test_a_refused_value_is_one_error_line(flag_runs, script, flag, message):
  error = _the_error_line(flag_runs[(script, flag)])
  assert error == 'ERROR: flag %s: %s' % (flag, message)


@pytest.mark.parametrize('script,flag', WRONG_TYPES)
def test_a_value_of_the_wrong_type_is_one_error_line(flag_runs, script, flag):
  error = _the_error_line(flag_runs[(script, flag)])
  assert error.startswith('ERROR: flag %s' % flag), error


def test_an_argument_that_is_not_a_flag_is_refused(flag_runs):
  error = _the_error_line(flag_runs[NOT_A_FLAG])
  assert error == ('ERROR: unexpected argument(s) model.pb: freeze_graph.py '
                   'takes flags only; see --help')


def test_slim_label_takes_image_paths_as_label_image_py_does():
  # slim-label runs slim_commands.label(): its paths are not refused as
  # arguments that are not flags; the missing model is what stops it.
  result = helpers.run_python('''
      import sys
      import slim_commands
      sys.argv = ['slim-label', '--graph=/nonexistent/model.pb', 'rose.jpg']
      slim_commands.label()
  ''')
  assert _the_error_line(result).startswith(
      'ERROR: /nonexistent/model.pb: no such model')


def test_arguments_after_a_double_dash_are_positional():
  unknown, positional = common_flags._split_unparsed(  # pylint: disable=protected-access
      ['--bacth_size=3', 'a.jpg', '-', '--', '--odd-name.jpg'])
  assert unknown == ['--bacth_size=3']
  assert positional == ['a.jpg', '-', '--odd-name.jpg']


# Flags of this test process only; what the scripts register is the same.
common_flags.flags.DEFINE_integer('flags_test_count', None, 'test only')
common_flags.flags.DEFINE_float('flags_test_rate', 0.5, 'test only')
common_flags.flags.DEFINE_integer('flags_test_wait', 0, 'test only')
common_flags.require_positive('flags_test_count', 'flags_test_rate')
common_flags.require_at_least(0, 'flags_test_wait')


@pytest.mark.parametrize('name,accepted,refused,message', [
    ('flags_test_count', [None, 1, 7], [0, -3], 'must be at least 1'),
    ('flags_test_rate', [1e-9, 2.0], [0.0, -1.0], 'must be above 0'),
    ('flags_test_wait', [0, 5], [-1], 'must be at least 0'),
])
def test_validators_accept_unset_and_in_range_values_only(name, accepted,
                                                          refused, message):
  flag_values = absl_flags.FLAGS  # tf's wrapper would parse sys.argv
  default = flag_values[name].value
  try:
    for value in accepted:
      setattr(flag_values, name, value)
      assert flag_values[name].value == value
    for value in refused:
      with pytest.raises(absl_flags.IllegalFlagValueError,
                         match='flag --%s=%s: %s' % (name, value, message)):
        setattr(flag_values, name, value)
  finally:
    setattr(flag_values, name, default)
