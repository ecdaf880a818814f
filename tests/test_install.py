"""`pip install .` of the checkout: packages, data files and slim-* commands.

The package is installed, offline, into a fresh virtualenv whose only view of
the checkout is the installed copy; the commands run from outside it.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from importlib import metadata

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMMANDS = ('slim-train', 'slim-eval', 'slim-train-eval', 'slim-export',
            'slim-freeze', 'slim-label', 'slim-serve', 'slim-convert')
# Copied to build from: a build must not write build/ or *.egg-info into the
# shared checkout, and the copy is deleted once installed.
NOT_SOURCES = shutil.ignore_patterns('.venv', '.git', 'tests', 'docs', 'runs',
                                     'benchmarks', 'build', '*.egg-info',
                                     '__pycache__', '.pytest_cache')
TIMEOUT = 180
# Run inside the installed venv: where everything resolves from, and whether
# each command's target is a function of an installed module. (The scripts
# are not imported together: several define the same flag names.)
PROBE = r'''
import ast, json, os, sys
from importlib import metadata, util
import common_flags, nets.nets_factory
from datasets import imagenet
from deployment import serving


def defines(module, function):
  with open(util.find_spec(module).origin) as f:
    tree = ast.parse(f.read())
  return any(isinstance(node, ast.FunctionDef) and node.name == function
             for node in tree.body)


commands = {ep.name: defines(ep.module, ep.attr) for ep in
            metadata.distribution('densenet-slim').entry_points
            if ep.group == 'console_scripts'}
json.dump({
    'nets_factory': nets.nets_factory.__file__,
    'common_flags': common_flags.__file__,
    'train_script': util.find_spec('train_image_classifier').origin,
    'template': os.path.isfile(os.path.join(serving.TEMPLATE_FOLDER,
                                            'index.html')),
    'synsets': os.path.isfile(os.path.join(
        os.path.dirname(imagenet.__file__), 'imagenet_metadata.txt')),
    'commands': commands}, sys.stdout)
'''


def _run(args, cwd, timeout=TIMEOUT):
  env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
  env.update(TF_CPP_MIN_LOG_LEVEL='2', CUDA_VISIBLE_DEVICES='')
  return subprocess.run([str(arg) for arg in args], cwd=str(cwd), env=env,
                        capture_output=True, text=True, timeout=timeout,
                        check=False)


def _site_packages(python, cwd):
  result = _run([python, '-c',
                 'import sysconfig; print(sysconfig.get_paths()["purelib"])'],
                cwd)
  assert result.returncode == 0, result.stderr
  return result.stdout.strip()


@pytest.fixture(scope='module')
def installed(tmp_path_factory):
  """(work dir outside the checkout, venv bin dir, venv site-packages)."""
  work = tmp_path_factory.mktemp('install')
  source = work / 'src'
  shutil.copytree(ROOT, str(source), ignore=NOT_SOURCES)
  venv_dir = work / 'venv'
  made = _run([sys.executable, '-m', 'venv', '--system-site-packages',
               venv_dir], work)
  if made.returncode != 0:
    pytest.skip('cannot create a virtualenv: %s' % (
        (made.stderr or made.stdout).strip().splitlines() or ['?'])[-1])
  bin_dir = venv_dir / 'bin'
  site_packages = _site_packages(bin_dir / 'python', work)
  # A venv made from a venv sees only the base interpreter's packages: lend
  # it this venv's (TensorFlow, setuptools) so the install downloads nothing.
  with open(os.path.join(site_packages, 'project_venv.pth'), 'w') as f:
    f.write(sysconfig.get_paths()['purelib'] + '\n')
  result = _run([bin_dir / 'pip', 'install', '--no-index', '--no-deps',
                 '--no-build-isolation', '--quiet', source], work)
  assert result.returncode == 0, 'pip install . failed:\n' + (
      result.stdout + result.stderr)[-3000:]
  shutil.rmtree(str(source))
  return work, bin_dir, site_packages


def test_every_command_is_installed_and_loads(installed):
  work, bin_dir, site_packages = installed
  for command in COMMANDS:
    assert os.access(str(bin_dir / command), os.X_OK), command
  result = _run([bin_dir / 'python', '-c', PROBE], work)
  assert result.returncode == 0, result.stderr[-3000:]
  found = json.loads(result.stdout)
  assert found['commands'] == {command: True for command in COMMANDS}
  for module in ('nets_factory', 'common_flags', 'train_script'):
    assert found[module].startswith(site_packages + os.sep), found[module]
  assert found['template'], 'templates/index.html was not installed'
  assert found['synsets'], 'datasets/imagenet_metadata.txt was not installed'


def test_slim_train_help_lists_the_training_flags(installed):
  work, bin_dir, _ = installed
  result = _run([bin_dir / 'slim-train', '--help'], work)
  assert 'Traceback' not in result.stderr, result.stderr[-3000:]
  assert result.returncode == 0, result.stderr[-3000:]
  assert 'Trains a model on a dataset' in result.stdout, result.stdout[:2000]
  for flag in ('--model_name', '--train_dir', '--dataset_dir',
               '--save_summaries_secs', '--learning_rate'):
    assert flag in result.stdout, '%s missing from slim-train --help:\n%s' % (
        flag, result.stdout[-2000:])


# The distributions that install the `tensorflow` package: two of them in one
# site-packages overwrite each other's files (and the full wheel's CUDA stubs
# log errors on every CPU machine).
TENSORFLOW_DISTRIBUTIONS = frozenset((
    'tensorflow', 'tensorflow-cpu', 'tensorflow-gpu', 'tensorflow-intel',
    'tensorflow-macos', 'tensorflow-aarch64', 'tensorflow-cpu-aws',
    'tf-nightly', 'tf-nightly-cpu', 'tf-nightly-gpu', 'intel-tensorflow'))


def _canonical(name):
  return re.sub(r'[-_.]+', '-', name).lower()


def _requirement_names(path):
  """The distribution names a requirements file installs (following -r)."""
  names = []
  with open(path) as f:
    for line in f:
      line = line.split('#', 1)[0].strip()
      if line.startswith('-r'):
        names += _requirement_names(os.path.join(os.path.dirname(path),
                                                 line[2:].strip()))
      elif line:
        names.append(_canonical(re.split(r'[\[<>=!~;\s]', line, 1)[0]))
  return names


def test_exactly_one_tensorflow_is_installed():
  installed = sorted({_canonical(dist.metadata['Name'])
                      for dist in metadata.distributions()}
                     & TENSORFLOW_DISTRIBUTIONS)
  assert len(installed) == 1, (
      '%s installed in %s: rebuild the venv (rm -rf .venv && make venv), which '
      'installs tf-keras with --no-deps (requirements-no-deps.txt)' % (
          installed, sys.prefix))
  keras_version = metadata.version('tf-keras').split('.')[:2]
  assert metadata.version(installed[0]).split('.')[:2] == keras_version


def test_no_requirement_pulls_in_a_second_tensorflow():
  """tf-keras requires `tensorflow`: only the --no-deps step may install it."""
  no_deps = _requirement_names(os.path.join(ROOT, 'requirements-no-deps.txt'))
  assert 'tf-keras' in no_deps
  for name in ('requirements.txt', 'requirements-dev.txt'):
    names = _requirement_names(os.path.join(ROOT, name))
    assert not set(names) & set(no_deps), name
    assert len(set(names) & TENSORFLOW_DISTRIBUTIONS) == 1, (name, names)
  # `pip install .` installs requirements.txt, nothing else.
  with open(os.path.join(ROOT, 'pyproject.toml'), 'rb') as f:
    project = tomllib.load(f)
  assert project['project']['dynamic'] == ['dependencies']
  assert project['tool']['setuptools']['dynamic']['dependencies'] == {
      'file': ['requirements.txt']}
