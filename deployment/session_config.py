"""The session's config: --xla, --mixed_precision and distributed filters.

Benchmarks use these without training anything:

    config = session_config.session_config_from_flags(flags)
    session_config.enable_mixed_precision(config, 'bfloat16')
    session_config.cpu_has_bfloat16()
"""

import os

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf
from tensorflow.core.protobuf import rewriter_config_pb2

# CPU features with which oneDNN multiplies bfloat16 natively (Intel Cooper
# Lake and later, AMD Zen 4 and later); without them its bfloat16 kernels
# are emulated and slower than float32.
BFLOAT16_CPU_FLAGS = ('avx512_bf16', 'amx_bf16')


def cpu_flags(cpuinfo_path='/proc/cpuinfo'):
  """The first CPU's feature flags ('avx2', 'avx512f', ...); empty if none."""
  try:
    with open(cpuinfo_path) as cpuinfo:
      return set(next((line.split(':', 1)[1].split() for line in cpuinfo
                       if line.startswith('flags')), []))
  except OSError:
    return set()


def cpu_has_bfloat16(cpuinfo_path='/proc/cpuinfo'):
  """Whether this CPU has native bfloat16 math (see BFLOAT16_CPU_FLAGS)."""
  return bool(cpu_flags(cpuinfo_path) & set(BFLOAT16_CPU_FLAGS))


def mixed_precision_dtype(clone_on_cpu=False):
  """What --mixed_precision computes in here: 'float16', 'bfloat16' or None.

  float16 on a GPU (with loss scaling). On a CPU, bfloat16 where oneDNN has
  native kernels for it (float32's exponent range, so no overflow; DenseNet-
  121 trained 1.7x faster, docs/performance.md), else nothing: emulated
  bfloat16 would be slower than float32.
  """
  if not clone_on_cpu and tf.config.list_physical_devices('GPU'):
    return 'float16'
  onednn_off = os.environ.get('TF_ENABLE_ONEDNN_OPTS') in ('0', 'false')
  if cpu_has_bfloat16() and not onednn_off:
    return 'bfloat16'
  return None


def enable_mixed_precision(config, dtype):
  """Turns on grappler's rewrite of the graph's math ops to `dtype`.

  The rewrite keeps variables, losses and reductions in float32, so
  checkpoints are the same as without it.

  Args:
    config: the tf.ConfigProto to change.
    dtype: 'float16', 'bfloat16', or None to leave float32.
  """
  rewrite_options = config.graph_options.rewrite_options
  if dtype == 'float16':
    rewrite_options.auto_mixed_precision = rewriter_config_pb2.RewriterConfig.ON
  elif dtype == 'bfloat16':
    rewrite_options.auto_mixed_precision_onednn_bfloat16 = (
        rewriter_config_pb2.RewriterConfig.ON)


def _enable_xla():
  """Session-wide XLA auto-clustering, CPU ops included."""
  # Auto-clustering skips CPU ops unless asked; read when the first session
  # optimises its graph, so setting it here is early enough.
  xla_flags = os.environ.get('TF_XLA_FLAGS', '')
  if '--tf_xla_cpu_global_jit' not in xla_flags:
    os.environ['TF_XLA_FLAGS'] = (xla_flags + ' --tf_xla_cpu_global_jit'
                                 ).strip()


def session_config_from_flags(flags_obj):
  """The tf.ConfigProto for --xla, --mixed_precision and distributed runs."""
  # model_deploy places a GPU clone on '/device:GPU:<n>' as upstream does
  # (--clone_on_cpu=False, the default); on a machine without that GPU the
  # clone runs on the CPU instead of failing.
  config = tf.ConfigProto(allow_soft_placement=True)
  if flags_obj.num_ps_tasks > 0:
    # A worker only talks to the ps and itself, never waits for its peers.
    config.device_filters.extend(
        ['/job:ps', '/job:worker/task:%d' % flags_obj.task])
  if getattr(flags_obj, 'xla', False):
    config.graph_options.optimizer_options.global_jit_level = (
        tf.OptimizerOptions.ON_1)
    _enable_xla()
  if getattr(flags_obj, 'mixed_precision', False):
    dtype = mixed_precision_dtype(getattr(flags_obj, 'clone_on_cpu', False))
    enable_mixed_precision(config, dtype)
    tf.logging.info(
        '--mixed_precision: %s', '%s compute' % dtype if dtype else
        'no GPU and no native bfloat16 on this CPU (%s), so float32' %
        ' or '.join(BFLOAT16_CPU_FLAGS))
  return config


# Above this many bytes of weights, grappler's first pass over a frozen graph
# costs more than its fusions ever give back: it copies the whole GraphDef,
# constants included, several times per pass. Measured on 2 cores
# (2026-12-07, first run of a 10-image batch): VGG-A's 515 MB graph 29.8 s
# with grappler, 2.9 s without, 0.4 s per later batch either way;
# MobileNet-v2 (9 MB) runs 1.6x faster with it, ResNet-v1-50 (94 MB) 1.1x.
GRAPPLER_MAX_GRAPH_BYTES = 256 << 20


def frozen_graph_config(graph_bytes):
  """The session config for running a frozen graph of `graph_bytes`."""
  config = tf.ConfigProto()
  if graph_bytes > GRAPPLER_MAX_GRAPH_BYTES:
    config.graph_options.rewrite_options.disable_meta_optimizer = True
  return config
