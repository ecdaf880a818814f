"""Every script's `--help` and `--helpshort`: its flags, and exit status 0.

absl prints the help and exits with status 1, which a shell or a job platform
reads as a failure; common_flags.run_main turns that into 0.

Every run is a child forked from one process that imported TensorFlow once
(deployment_helpers.run_scripts_forked): seconds of CPU less per script.
"""

import pytest

import deployment_helpers as helpers

SCRIPTS = ('train_image_classifier.py', 'eval_image_classifier.py',
           'train_eval_image_classifier.py', 'export_inference_graph.py',
           'freeze_graph.py', 'label_image.py', 'server.py',
           'download_and_convert_data.py', 'convert_keras_densenet.py',
           'datasets/build_imagenet_data.py',
           'datasets/preprocess_imagenet_validation_data.py',
           'datasets/process_bounding_boxes.py')
HELP_FLAGS = ('--help', '--helpshort')
# What each script's help must show of its own (a flag; the usage line of
# the one script without flags), not only absl's flags.
OWN_HELP = {
    'train_image_classifier.py': '--train_dir',
    'eval_image_classifier.py': '--eval_dir',
    'train_eval_image_classifier.py': '--epochs',
    'export_inference_graph.py': '--output_file',
    'freeze_graph.py': '--output_graph',
    'label_image.py': '--graph',
    'server.py': '--model_file',
    'download_and_convert_data.py': '--dataset_name',
    'convert_keras_densenet.py': '--output_path',
    'datasets/build_imagenet_data.py': '--train_directory',
    'datasets/preprocess_imagenet_validation_data.py': 'one sub-folder per synset',
    'datasets/process_bounding_boxes.py': '--output_file',
}
@pytest.fixture(scope='module')
def help_runs():
  """{(script, flag): (exit status, output)} for every script and flag."""
  runs = [(script, [flag]) for script in SCRIPTS for flag in HELP_FLAGS]
  return {(script, args[0]): (result.returncode, result.stdout + result.stderr)
          for (script, args), result in zip(
              runs, helpers.run_scripts_forked(runs))}


@pytest.mark.parametrize('flag', HELP_FLAGS)
@pytest.mark.parametrize('script', SCRIPTS)
def test_help_lists_the_flags_and_exits_0(help_runs, script, flag):
  code, output = help_runs[(script, flag)]
  assert 'Traceback' not in output, output[-3000:]
  assert code == 0, (code, output[-3000:])
  assert OWN_HELP[script] in output, output[-3000:]
  assert 'Try --helpfull to get a list of all flags.' in output, output[-2000:]
