r"""Depth sweep: training time and peak memory per image, with and without
memory-efficient mode, for the ImageNet DenseNets and the CIFAR DenseNet-BCs.

Each (network, mode) pair trains a few steps on random input in its own
process; the two modes run back to back so they see the same load. Memory per
image is (peak RSS - RSS of a process that only imported TensorFlow) / batch.
Prints a Markdown table, draws it as a PNG and keeps the raw figures in a
JSON file beside it.

  # quick (~15 min on 2 cores): ImageNet nets at batch 4, CIFAR at batch 16
  .venv/bin/python benchmarks/densenet_memory_sweep.py \
      --output=docs/densenet_memory_sweep.png
  # the issue's settings: batch 16 at 224x224 and batch 64 at 32x32
  .venv/bin/python benchmarks/densenet_memory_sweep.py --full
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from absl import app  # noqa: E402
from absl import flags  # noqa: E402

import benchmark_lib  # noqa: E402

# (name, depth, family): depth is the paper's L.
NETWORKS = [
    ('densenet121', 121, 'ImageNet 224x224'),
    ('densenet169', 169, 'ImageNet 224x224'),
    ('densenet201', 201, 'ImageNet 224x224'),
    ('densenet264', 264, 'ImageNet 224x224'),
    ('densenet_bc100_k12', 100, 'CIFAR BC 32x32'),
    ('densenet_bc190_k40', 190, 'CIFAR BC 32x32'),
    ('densenet_bc250_k24', 250, 'CIFAR BC 32x32'),
]

flags.DEFINE_bool('full', False,
                  'The issue settings: batch 16 (ImageNet) and 64 (CIFAR), '
                  'more steps. Takes about an hour on 2 cores.')
flags.DEFINE_integer('imagenet_batch_size', None,
                     'Override: batch of the ImageNet networks (4, 16 full).')
flags.DEFINE_integer('cifar_batch_size', None,
                     'Override: batch of the CIFAR networks (16, 64 full).')
flags.DEFINE_integer('steps', None, 'Timed steps (2, 5 with --full).')
flags.DEFINE_list('networks', [n for n, _, _ in NETWORKS],
                  'Subset of the sweep to run.')
flags.DEFINE_string('output', '/tmp/densenet_memory_sweep.png',
                    'Where to write the figure.')
FLAGS = flags.FLAGS


def _spec(name, family, memory_efficient):
  imagenet = family.startswith('ImageNet')
  if imagenet:
    batch = FLAGS.imagenet_batch_size or (16 if FLAGS.full else 4)
  else:
    batch = FLAGS.cifar_batch_size or (64 if FLAGS.full else 16)
  return dict(kind='slim_train', model_name=name, batch_size=batch,
              image_size=224 if imagenet else 32,
              num_classes=1000 if imagenet else 10,
              steps=FLAGS.steps or (5 if FLAGS.full else 2),
              warmup=2 if FLAGS.full else 1,
              memory_efficient=memory_efficient)


def sweep():
  """Returns the baseline RSS and one row per (network, mode) measured."""
  unknown = set(FLAGS.networks) - {n for n, _, _ in NETWORKS}
  if unknown:
    raise app.UsageError('--networks: unknown %s; choose from %s' % (
        ', '.join(sorted(unknown)), ', '.join(n for n, _, _ in NETWORKS)))
  baseline = benchmark_lib.run_isolated(dict(kind='baseline'))['peak_rss_mb']
  rows = []
  for name, depth, family in NETWORKS:
    if name not in FLAGS.networks:
      continue
    for memory_efficient in (False, True):
      result = benchmark_lib.run_isolated(
          _spec(name, family, memory_efficient))
      result.update(depth=depth, family=family)
      if 'error' not in result:
        batch = result['batch_size']
        result['ms_per_image'] = result['step_ms'] / batch
        result['mb_per_image'] = (result['peak_rss_mb'] - baseline) / batch
      rows.append(result)
      _print_row(result)
  return baseline, rows


def _print_row(r):
  if 'error' in r:
    print('| %s | %d | %s | failed: %s | | |' % (
        r['model_name'], r['batch_size'],
        'yes' if r['memory_efficient'] else 'no', r['error']), flush=True)
    return
  print('| %s | %d | %s | %.1f | %.0f | %.1f |' % (
      r['model_name'], r['batch_size'],
      'yes' if r['memory_efficient'] else 'no', r['ms_per_image'],
      r['peak_rss_mb'], r['mb_per_image']), flush=True)


def _print_ratios(rows):
  print('\n| network | extra time | peak RSS saved |')
  print('|---|---|---|')
  by_key = {(r['model_name'], r['memory_efficient']): r for r in rows
            if 'error' not in r}
  for name, _, _ in NETWORKS:
    default, efficient = by_key.get((name, False)), by_key.get((name, True))
    if default and efficient:
      print('| %s | %+.0f %% | %.0f %% |' % (
          name, 100 * (efficient['step_ms'] / default['step_ms'] - 1),
          100 * (1 - efficient['peak_rss_mb'] / default['peak_rss_mb'])))


def plot(rows, path):
  """Time and memory per image against depth, one line per family/mode."""
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use('Agg')
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  figure, (time_axis, memory_axis) = plt.subplots(1, 2, figsize=(11, 4.2))
  families = sorted({r['family'] for r in rows})
  for family in families:
    for memory_efficient in (False, True):
      points = sorted((r['depth'], r['ms_per_image'], r['mb_per_image'])
                      for r in rows if 'error' not in r and
                      r['family'] == family and
                      r['memory_efficient'] == memory_efficient)
      if not points:
        continue
      depths, times, memories = zip(*points)
      style = dict(marker='o' if family.startswith('ImageNet') else 's',
                   linestyle='--' if memory_efficient else '-',
                   label='%s, %s' % (family, 'memory-efficient'
                                     if memory_efficient else 'default'))
      time_axis.plot(depths, times, **style)
      memory_axis.plot(depths, memories, **style)
  # Depth alone does not order the CIFAR nets (BC-190 has k=40, BC-250 k=24).
  failed = {r['model_name'] for r in rows if 'error' in r}
  for r in rows:
    name = r['model_name']
    if 'error' in r or (r['memory_efficient'] and name not in failed):
      continue
    label = name.replace('densenet', '').strip('_')
    if name in failed:
      label += ' (default mode failed)'
    for axis, value in ((time_axis, r['ms_per_image']),
                        (memory_axis, r['mb_per_image'])):
      axis.annotate(label, (r['depth'], value), fontsize=7, xytext=(3, 3),
                    textcoords='offset points')
  batches = sorted({'%s batch %d' % (r['family'].split()[0], r['batch_size'])
                    for r in rows if 'error' not in r})
  time_axis.set(xlabel='depth L', ylabel='training ms per image',
                title='Time per image (%s)' % ', '.join(batches))
  memory_axis.set(xlabel='depth L',
                  ylabel='(peak RSS - TF baseline) / batch, MB',
                  title='Peak memory per image')
  for axis in (time_axis, memory_axis):
    axis.grid(alpha=0.3)
  memory_axis.legend(fontsize=8)
  figure.tight_layout()
  figure.savefig(path, dpi=100)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError('Unknown arguments: %s' % ' '.join(argv[1:]))
  print('load average %.1f, %d cores (%s)' % (
      benchmark_lib.load_average(), os.cpu_count(),
      benchmark_lib.cpu_description()))
  print('| network | batch | memory-efficient | ms/image | peak RSS (MB) '
        '| MB/image |')
  print('|---|---|---|---|---|---|')
  baseline, rows = sweep()
  _print_ratios(rows)
  print('\nTensorFlow baseline RSS %.0f MB; load average %.1f at the end' %
        (baseline, benchmark_lib.load_average()))
  with open(os.path.splitext(FLAGS.output)[0] + '.json', 'w') as handle:
    json.dump(dict(baseline_rss_mb=baseline, rows=rows), handle, indent=1)
  plot(rows, FLAGS.output)
  print('figure: %s' % FLAGS.output)


if __name__ == '__main__':
  app.run(main)
