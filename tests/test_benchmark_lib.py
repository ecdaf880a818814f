"""benchmarks/benchmark_lib.py: the instruction-set cap of the comparisons.

The timings themselves are benchmarks, not tests; here only what decides
which kernels a measurement runs.
"""
import os
import subprocess
import sys

import pytest

from conftest import ROOT
from deployment import session_config

sys.path.insert(0, os.path.join(ROOT, 'benchmarks'))
import benchmark_lib  # noqa: E402  pylint: disable=g-import-not-at-top

# One convolution in a v1 session, as our scripts run it (tf_compat first,
# so oneDNN is on); ONEDNN_VERBOSE=1 names the kernel that ran it. The input
# is fed, or grappler would fold the convolution into a constant.
_ONE_CONVOLUTION = '''
import numpy as np
import tf_compat
import tensorflow.compat.v1 as tf
tf.disable_eager_execution()
images = tf.placeholder(tf.float32, [1, 8, 8, 16])
net = tf.nn.conv2d(images, tf.ones([3, 3, 16, 16]), 1, 'SAME')
with tf.Session() as sess:
  sess.run(net, {images: np.ones([1, 8, 8, 16])})
'''


def _convolution_kernels(isa_cap):
  env = dict(os.environ, ONEDNN_VERBOSE='1',
             **benchmark_lib.ISA_CAPS[isa_cap])
  done = subprocess.run([sys.executable, '-c', _ONE_CONVOLUTION], cwd=ROOT,
                        env=env, capture_output=True, text=True, timeout=300,
                        check=True)
  # onednn_verbose,v1,primitive,exec,cpu,convolution,<kernel:isa>,...
  return {line.split(',')[6] for line in done.stdout.splitlines()
          if ',exec,cpu,convolution,' in line}


@pytest.mark.skipif('avx2' not in session_config.cpu_flags(), reason='CPU without AVX2')
def test_avx2_cap_makes_tensorflow_run_avx2_kernels():
  kernels = _convolution_kernels('avx2')
  assert kernels and all(kernel.endswith(':avx2') for kernel in kernels)


@pytest.mark.skipif('avx512f' not in session_config.cpu_flags(),
                    reason='only an AVX-512 CPU has kernels to cap')
def test_native_runs_the_avx512_kernels_the_cap_takes_away():
  kernels = _convolution_kernels('native')
  assert kernels and all('avx512' in kernel for kernel in kernels)


def test_cpu_description_names_the_cap():
  native = benchmark_lib.cpu_description()
  assert 'capped' not in native
  assert (benchmark_lib.cpu_description('avx2') ==
          native + ', kernels capped at AVX2')


def test_bfloat16_with_a_cap_is_a_usage_error():
  done = subprocess.run(
      [sys.executable, os.path.join('benchmarks', 'densenet_vs_keras.py'),
       '--bfloat16', '--max_cpu_isa=avx2'],
      cwd=ROOT, capture_output=True, text=True, timeout=300)
  assert done.returncode != 0
  assert 'Traceback' not in done.stderr
  assert '--max_cpu_isa=avx2 turns off' in done.stderr


def _failing_interpreter(tmp_path, stderr_text, exit_code=1):
  """A stand-in for `python` that fails as a measurement process would."""
  (tmp_path / 'stderr.txt').write_text(stderr_text)
  script = tmp_path / 'python'
  script.write_text('#!/bin/sh\ncat %s >&2\nexit %d\n'
                    % (tmp_path / 'stderr.txt', exit_code))
  script.chmod(0o755)
  return str(script)


def test_failure_of_a_tensorflow_out_of_memory_names_the_tensor(tmp_path):
  # What TensorFlow prints when a graph runs out of memory: the exception,
  # the OOM line, then the stack trace of the node that asked.
  python = _failing_interpreter(tmp_path, '\n'.join([
      'Traceback (most recent call last):',
      '  File "benchmarks/benchmark_lib.py", line 358, in <module>',
      'tensorflow.python.framework.errors_impl.ResourceExhaustedError: '
      'Graph execution error:',
      "Node: 'densenet/dense_block3/conv_block13/concat'",
      'OOM when allocating tensor with shape[64,8,8,1430] and type float '
      'on /job:localhost/replica:0/task:0/device:CPU:0 by allocator mklcpu',
      "Original stack trace for 'densenet/dense_block3/conv_block13/concat':",
      '  File "/venv/tensorflow/python/util/traceback_utils.py", line 164, '
      'in error_handler',
      '  File "/venv/tensorflow/python/framework/ops.py", line 1221, '
      'in from_node_def', '']))
  result = benchmark_lib.run_isolated(dict(kind='baseline', python=python))
  assert result['error'] == (
      'out of memory (OOM when allocating tensor with shape[64,8,8,1430])')


def test_failure_gives_the_exception_not_the_last_line(tmp_path):
  python = _failing_interpreter(tmp_path, '\n'.join([
      'Traceback (most recent call last):',
      '  File "benchmarks/benchmark_lib.py", line 183, in slim_train',
      "ValueError: Unknown DenseNet stem 'x'",
      'Exception ignored in: <function error_handler at 0x7f>', '']))
  result = benchmark_lib.run_isolated(dict(kind='baseline', python=python))
  assert result['error'] == "ValueError: Unknown DenseNet stem 'x'"


_SHARED_FLAGS_SCRIPT = '''
import sys
sys.path.insert(0, 'benchmarks')
from absl import app, flags
import benchmark_lib
benchmark_lib.define_flags(batch_size=7, model_name='lenet')
app.run(lambda _: print(flags.FLAGS.batch_size, flags.FLAGS.model_name))
'''


def test_shared_flags_take_the_scripts_defaults_and_show_in_its_help():
  def run(*args):
    return subprocess.run([sys.executable, '-c', _SHARED_FLAGS_SCRIPT] +
                          list(args), cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
  assert run().stdout.split() == ['7', 'lenet']
  assert run('--batch_size=3').stdout.split() == ['3', 'lenet']
  help_text = run('--help').stdout
  assert '--batch_size: Images per step.' in help_text
  assert '--model_name:' in help_text and '--steps' not in help_text
