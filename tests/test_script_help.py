"""Every script's `--help` and `--helpshort`: its flags, and exit status 0.

absl prints the help and exits with status 1, which a shell or a job platform
reads as a failure; common_flags.run_main turns that into 0.

Starting Python with TensorFlow costs seconds of CPU per process, so one
process imports TensorFlow once and runs each script in a forked child, as
`python <script> <flag>` would (own argv, sys.path[0], stdout and exit
status): the children only pay for the script's own imports.
"""

import json

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
FORKING_RUNNER = r'''
import json, os, runpy, sys, tempfile, traceback
import tensorflow  # once, before the forks: every child inherits it
root, runs = sys.argv[1], json.loads(sys.argv[2])
results = []
for script, flag in runs:
  with tempfile.TemporaryFile('w+') as output:
    pid = os.fork()
    if pid == 0:
      os.dup2(output.fileno(), 1)
      os.dup2(output.fileno(), 2)
      path = os.path.join(root, script)
      sys.argv = [path, flag]
      sys.path[0] = os.path.dirname(path)
      code = 0
      try:
        runpy.run_path(path, run_name='__main__')
      except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else int(
            stop.code is not None)
      except BaseException:  # reported, and an exit status no script uses
        traceback.print_exc()
        code = 70
      sys.stdout.flush()
      sys.stderr.flush()
      os._exit(code)
    _, status = os.waitpid(pid, 0)
    output.seek(0)
    results.append([script, flag, os.waitstatus_to_exitcode(status),
                    output.read()])
json.dump(results, sys.stdout)
'''


@pytest.fixture(scope='module')
def help_runs():
  """{(script, flag): (exit status, output)} for every script and flag."""
  runs = [[script, flag] for script in SCRIPTS for flag in HELP_FLAGS]
  result = helpers.run_python(
      'import sys; sys.argv[1:] = %r; exec(%r)' % (
          [helpers.ROOT, json.dumps(runs)], FORKING_RUNNER), timeout=600)
  assert result.returncode == 0, result.stderr[-3000:]
  return {(script, flag): (code, output)
          for script, flag, code, output in json.loads(result.stdout)}


@pytest.mark.parametrize('flag', HELP_FLAGS)
@pytest.mark.parametrize('script', SCRIPTS)
def test_help_lists_the_flags_and_exits_0(help_runs, script, flag):
  code, output = help_runs[(script, flag)]
  assert 'Traceback' not in output, output[-3000:]
  assert code == 0, (code, output[-3000:])
  assert OWN_HELP[script] in output, output[-3000:]
  assert 'Try --helpfull to get a list of all flags.' in output, output[-2000:]
