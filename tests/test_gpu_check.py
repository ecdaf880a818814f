"""scripts/gpu_check.sh on a machine without a GPU: one line, exit status 2.

The rest of the script needs an NVIDIA GPU (docs/performance.md has its
figures when one was lent); here it must stop before making its venv.
"""

import os

import pytest

import deployment_helpers as helpers

NO_GPU = ('gpu check: ERROR: no NVIDIA GPU here (%s); run this on a machine '
          'with an NVIDIA GPU and its driver')


def _fake_nvidia_smi_listing_nothing(directory):
  path = os.path.join(directory, 'nvidia-smi')
  with open(path, 'w') as f:
    f.write('#!/bin/sh\nexit 0\n')
  os.chmod(path, 0o755)
  return path


@pytest.mark.parametrize('case', ['missing', 'lists_none'])
def test_without_a_gpu_it_stops_with_one_line(tmp_path, case):
  if case == 'missing':
    nvidia_smi = str(tmp_path / 'no' / 'nvidia-smi')
    reason = '%s not found' % nvidia_smi
  else:
    nvidia_smi = _fake_nvidia_smi_listing_nothing(str(tmp_path))
    reason = '%s lists none' % nvidia_smi
  venv = tmp_path / 'venv'
  result = helpers.run_script(
      'scripts/gpu_check.sh', env={'NVIDIA_SMI': nvidia_smi,
                                   'GPU_VENV': venv,
                                   'GPU_CHECK_DIR': tmp_path / 'work'},
      timeout=60)
  assert result.returncode == 2, (result.stdout, result.stderr)
  assert result.stderr.splitlines() == [NO_GPU % reason]
  assert result.stdout == ''
  assert not venv.exists() and not (tmp_path / 'work').exists()
