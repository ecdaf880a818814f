"""Shared pytest set-up: import paths, quiet TensorFlow, shared fixtures.

Test files import the project by package (`from datasets import ...`) and
the helpers beside them by bare module name (`import deployment_helpers as
helpers`): both directories go on sys.path here, so that works under any
pytest import mode, from the repository root or a clean clone.

The fixtures below are built once per test session (each is a generated
dataset, a checkpoint or a training run several test files use); tests read
them and never write into them.
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS_DIR = os.path.join(ROOT, 'tests')
# Copies of ../shared/checkpoint_manifests (variable names and shapes of the
# released slim checkpoints), kept in the repo so the tests run anywhere.
MANIFEST_DIR = os.path.join(TESTS_DIR, 'data', 'checkpoint_manifests')
for _path in (TESTS_DIR, ROOT):
  if _path not in sys.path:
    sys.path.insert(0, _path)
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import tf_compat  # noqa: E402,F401
import pytest  # noqa: E402

import deployment_helpers  # noqa: E402


def pytest_configure(config):
  """The library warnings tf_compat leaves out of our logs, out of pytest's.

  pytest records every warning again under its own filters, so tf_compat's
  list (its "Library log noise") is handed to it here: one list, and a new
  warning from our own code still shows in the summary.
  """
  for message in tf_compat.LIBRARY_PYTHON_WARNINGS:
    config.addinivalue_line('filterwarnings',
                            'ignore:%s:UserWarning' % message)
import evaluation_helpers  # noqa: E402

# The server's tests and the browser's share one model: 6 classes, so a
# top-5 never lists every class.
FROZEN_LENET_CLASSES = 6


def _read_only(path):
  for name in os.listdir(path):
    os.chmod(os.path.join(path, name), 0o444)
  os.chmod(path, 0o555)


@pytest.fixture(scope='session')
def deployment_dataset_dir(tmp_path_factory):
  """deployment_helpers.write_dataset's 5-class quiz dataset."""
  path = str(tmp_path_factory.mktemp('deployment_quiz'))
  deployment_helpers.write_dataset(path)
  return path


@pytest.fixture(scope='session')
def evaluation_dataset_dir(tmp_path_factory):
  """evaluation_helpers' 6-class dataset (known metrics), read-only.

  Read-only like a job platform's data mount: a script that writes beside
  its data fails here (for non-root users) instead of on the platform.
  """
  path = str(tmp_path_factory.mktemp('evaluation_quiz'))
  evaluation_helpers.write_dataset(path)
  _read_only(path)
  yield path
  os.chmod(path, 0o755)  # so pytest can remove its temporary directory


@pytest.fixture(scope='session')
def frozen_lenet(tmp_path_factory):
  """(inference spec, frozen graph path) of a freshly initialised LeNet."""
  work = tmp_path_factory.mktemp('frozen_lenet')
  dataset_dir = str(work / 'quiz')
  deployment_helpers.write_dataset(dataset_dir,
                                   num_classes=FROZEN_LENET_CLASSES)
  train_dir = str(work / 'train')
  deployment_helpers.write_checkpoint(train_dir, 'lenet',
                                      num_classes=FROZEN_LENET_CLASSES)
  frozen = str(work / 'lenet_freeze.pb')
  spec, _ = deployment_helpers.export_frozen(dataset_dir, train_dir, frozen,
                                             'lenet')
  return spec, frozen


@pytest.fixture(scope='session')
def tensorboard_train_dir(tmp_path_factory):
  """The train_dir of deployment_helpers.train_short_run (800 LeNet steps)."""
  return deployment_helpers.train_short_run(
      str(tmp_path_factory.mktemp('tensorboard')))
