r"""Our DenseNet-121 against Keras' DenseNet121: images/sec and peak memory.

Training (forward, backward, momentum update) and inference (our frozen
graph against Keras' compiled predict step) on random input, each
measurement in its own process, the sides alternated round by round so that
other load on a shared machine hits both. Prints the best round of each side
and the ratio of ours (the mode's first "ours" row) to every row, plus the
load average, as a Markdown table.

  .venv/bin/python benchmarks/densenet_vs_keras.py            # ~8 min, 2 cores
  .venv/bin/python benchmarks/densenet_vs_keras.py --rounds=3 --steps=20

torchvision's densenet121 joins the comparison when an interpreter with
torch and torchvision is given (torch is never a dependency of this
repository; see docs/performance.md for how we install it beside it):

  .venv/bin/python benchmarks/densenet_vs_keras.py \
      --torch_python=/tmp/torchvenv/bin/python

Keras runs with TF_ENABLE_ONEDNN_OPTS=1 (its best setting on CPUs where
TensorFlow leaves oneDNN off); --keras_default adds a row with TensorFlow's
own default. Two Keras training rows: Keras 3's own train step, and
tf_keras's DenseNet121 trained in a tf.compat.v1 graph by a session, as
Keras ran under TensorFlow 1.x (--nokeras_graph leaves it out).

The kernels oneDNN and torch run depend on the CPU's instruction set;
--max_cpu_isa=avx2 makes an AVX-512 machine run the ones an AVX2 machine
runs, for the figures of such a machine:

  .venv/bin/python benchmarks/densenet_vs_keras.py --max_cpu_isa=avx2

On a CPU with native bfloat16 (AVX512-BF16 or AMX), --bfloat16 adds a
mixed-precision comparison: ours as `--mixed_precision` trains (grappler's
oneDNN bfloat16 rewrite), Keras 3 with its 'mixed_bfloat16' policy, tf_keras
in a v1 graph with the same rewrite as ours, torchvision under bfloat16
autocast.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from absl import app  # noqa: E402
from absl import flags  # noqa: E402

import benchmark_lib  # noqa: E402

# Our network's; the Keras and torchvision rows are always DenseNet-121.
benchmark_lib.define_flags(model_name='densenet121', image_size=224,
                           num_classes=200, steps=10, warmup=3)
flags.DEFINE_integer('train_batch_size', 16, 'Images per training step.')
flags.DEFINE_integer('infer_batch_size', 32, 'Images per inference step.')
flags.DEFINE_integer('rounds', 2, 'Alternating rounds; the best one counts.')
flags.DEFINE_bool('memory_efficient', True,
                  'Also measure our training with memory_efficient=True.')
flags.DEFINE_bool('xla', False,
                  'Also measure both sides with XLA (jit) compilation.')
flags.DEFINE_string('torch_python', None,
                    'Python interpreter with torch + torchvision installed; '
                    'adds torchvision densenet121 rows.')
flags.DEFINE_bool('keras_graph', True,
                  'Also measure tf_keras\'s DenseNet121 trained in a '
                  'tf.compat.v1 graph by a session (Keras as TF 1.x ran it).')
flags.DEFINE_bool('keras_default', False,
                  'Also measure Keras with TensorFlow\'s default oneDNN '
                  'setting for this CPU.')
flags.DEFINE_bool('cifar', False,
                  'Also compare the CIFAR DenseNet-BC (L=100, k=12, 3x3 '
                  'stem) at 32x32, batch 64, default and memory-efficient, '
                  'with torchvision\'s when --torch_python is given.')
flags.DEFINE_bool('bfloat16', False,
                  'Also compare every side in bfloat16 mixed precision '
                  '(CPUs with AVX512-BF16 or AMX only).')
flags.DEFINE_enum('max_cpu_isa', 'native', sorted(benchmark_lib.ISA_CAPS),
                  'Instruction set the kernels of every side may use: '
                  '"avx2" makes an AVX-512 CPU run what an AVX2 CPU runs '
                  '(oneDNN and torch kernels; sets ONEDNN_MAX_CPU_ISA and '
                  'ATEN_CPU_CAPABILITY for the measuring processes).')
FLAGS = flags.FLAGS

ONEDNN_ON = {'TF_ENABLE_ONEDNN_OPTS': '1'}


def _specs():
  """(label, spec) pairs; the Keras rows are the references."""
  common = dict(image_size=FLAGS.image_size, num_classes=FLAGS.num_classes,
                steps=FLAGS.steps, warmup=FLAGS.warmup)
  train = dict(common, batch_size=FLAGS.train_batch_size)
  infer = dict(common, batch_size=FLAGS.infer_batch_size)
  ours = dict(model_name=FLAGS.model_name)
  keras_train = dict(train, kind='keras_train', env=ONEDNN_ON)
  keras_infer = dict(infer, kind='keras_infer', env=ONEDNN_ON)
  torch = dict(model_name='densenet121', python=FLAGS.torch_python)
  rows = [('train', 'Keras DenseNet121 (oneDNN on)', keras_train)]
  if FLAGS.keras_graph:
    rows.append(('train', 'tf_keras DenseNet121, v1 graph (oneDNN on)',
                 dict(keras_train, kind='keras_graph_train')))
  rows.append(('train', 'ours', dict(train, kind='slim_train', **ours)))
  if FLAGS.keras_default:
    rows.append(('train', 'Keras DenseNet121 (TF default)',
                 dict(keras_train, env={})))
  if FLAGS.torch_python:
    rows.append(('train', 'torchvision densenet121',
                 dict(train, kind='torch_train', **torch)))
  if FLAGS.memory_efficient:
    rows.append(('train', 'ours, memory_efficient',
                 dict(train, kind='slim_train', memory_efficient=True,
                      **ours)))
    if FLAGS.torch_python:
      rows.append(('train', 'torchvision, memory_efficient',
                   dict(train, kind='torch_train', memory_efficient=True,
                        **torch)))
  if FLAGS.xla:
    rows.append(('train', 'Keras, XLA', dict(keras_train, xla=True)))
    rows.append(('train', 'ours, XLA',
                 dict(train, kind='slim_train', xla=True, **ours)))
  rows += [('infer', 'Keras DenseNet121 (oneDNN on)', keras_infer),
           ('infer', 'ours (frozen graph)',
            dict(infer, kind='slim_infer', **ours))]
  if FLAGS.torch_python:
    rows.append(('infer', 'torchvision densenet121',
                 dict(infer, kind='torch_infer', **torch)))
  if FLAGS.bfloat16:
    rows += _bfloat16_rows(keras_train, keras_infer, train, infer, ours,
                           torch)
  if FLAGS.cifar:
    cifar = dict(common, batch_size=64, image_size=32, num_classes=10,
                 model_name='densenet_bc100_k12')
    for memory_efficient in (False, True):
      suffix = ', memory_efficient' if memory_efficient else ''
      rows.append(('train BC-100', 'ours' + suffix,
                   dict(cifar, kind='slim_train',
                        memory_efficient=memory_efficient)))
      if FLAGS.torch_python:
        rows.append(('train BC-100', 'torchvision' + suffix,
                     dict(cifar, kind='torch_train', python=FLAGS.torch_python,
                          memory_efficient=memory_efficient)))
  return rows


def _cpu_has_bfloat16():
  # Imported here: it loads TensorFlow, which only the measuring processes
  # need otherwise.
  sys.path.insert(0, benchmark_lib.ROOT)
  from deployment import session_config  # pylint: disable=g-import-not-at-top
  return session_config.cpu_has_bfloat16()


def _bfloat16_rows(keras_train, keras_infer, train, infer, ours, torch):
  """The same comparison with every side in bfloat16 mixed precision."""
  bf16 = dict(bfloat16=True)
  rows = [('train bf16', 'Keras DenseNet121, mixed_bfloat16',
           dict(keras_train, **bf16))]
  if FLAGS.keras_graph:
    rows.append(('train bf16', 'tf_keras DenseNet121, v1 graph, bf16 rewrite',
                 dict(keras_train, kind='keras_graph_train', **bf16)))
  rows.append(('train bf16', 'ours --mixed_precision',
               dict(train, kind='slim_train', **ours, **bf16)))
  if FLAGS.torch_python:
    rows.append(('train bf16', 'torchvision densenet121, bf16 autocast',
                 dict(train, kind='torch_train', **torch, **bf16)))
  rows += [('infer bf16', 'Keras DenseNet121, mixed_bfloat16',
            dict(keras_infer, **bf16)),
           ('infer bf16', 'ours (frozen graph), bf16 rewrite',
            dict(infer, kind='slim_infer', **ours, **bf16))]
  if FLAGS.torch_python:
    rows.append(('infer bf16', 'torchvision densenet121, bf16 autocast',
                 dict(infer, kind='torch_infer', **torch, **bf16)))
  return rows


def main(argv):
  if len(argv) > 1:
    raise app.UsageError('Unknown arguments: %s' % ' '.join(argv[1:]))
  if FLAGS.torch_python and not os.access(FLAGS.torch_python, os.X_OK):
    raise app.UsageError(
        '--torch_python=%s is not an executable Python; give the interpreter '
        'of a venv with torch and torchvision, or leave the flag out'
        % FLAGS.torch_python)
  if FLAGS.bfloat16 and FLAGS.max_cpu_isa != 'native':
    raise app.UsageError(
        '--bfloat16 needs the CPU\'s bfloat16 instructions, which '
        '--max_cpu_isa=%s turns off; use one of the two' % FLAGS.max_cpu_isa)
  if FLAGS.bfloat16 and not _cpu_has_bfloat16():
    raise app.UsageError(
        '--bfloat16: this CPU has no native bfloat16 math (AVX512-BF16 or '
        'AMX), so its rows would time an emulation; leave the flag out')
  os.environ.update(benchmark_lib.ISA_CAPS[FLAGS.max_cpu_isa])
  rows = _specs()
  load_before = benchmark_lib.load_average()
  results = benchmark_lib.alternate([spec for _, _, spec in rows],
                                    FLAGS.rounds)
  load_after = benchmark_lib.load_average()
  print('\n%s, batch %d (train) / %d (inference), %dx%d, %d classes, '
        'best of %d alternated rounds; load average %.1f before, %.1f after, '
        '%d cores (%s)\n' % (FLAGS.model_name, FLAGS.train_batch_size,
                             FLAGS.infer_batch_size, FLAGS.image_size,
                             FLAGS.image_size, FLAGS.num_classes, FLAGS.rounds,
                             load_before, load_after, os.cpu_count(),
                             benchmark_lib.cpu_description(
                                 FLAGS.max_cpu_isa)))
  print('| mode | model | images/sec | ours / this | peak RSS (MB) '
        '| all rounds |')
  print('|---|---|---|---|---|---|')
  ours = {}
  for (mode, label, _), runs in zip(rows, results):
    top = benchmark_lib.best(runs)
    if 'error' not in top and label.startswith('ours'):
      ours.setdefault(mode, top['images_per_sec'])
  for (mode, label, _), runs in zip(rows, results):
    top = benchmark_lib.best(runs)
    if 'error' in top:
      print('| %s | %s | failed: %s | | | |' % (mode, label, top['error']))
      continue
    ratio = ('%.2fx' % (ours[mode] / top['images_per_sec'])
             if mode in ours else '')
    print('| %s | %s | %.2f | %s | %.0f | %s |' % (
        mode, label, top['images_per_sec'], ratio, top['peak_rss_mb'],
        ' '.join('%.2f' % r['images_per_sec'] for r in runs
                 if 'error' not in r)))


if __name__ == '__main__':
  app.run(main)
