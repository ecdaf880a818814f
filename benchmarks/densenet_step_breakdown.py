r"""Where a densenet_bc_mini training step spends its time, as a table.

Builds the step the main job (scripts/main_job.sh) trains: densenet_bc_mini
on 28x28x1 images, momentum 0.9, weight decay 1e-4, softmax cross-entropy and
the BatchNorm moving-average updates. Its input is a constant batch in memory,
or with --dataset_dir the real tf.data reader over converted Fashion-MNIST
(lenet preprocessing, 1 reader, 2 preprocessing threads, as the main job).

It times --steps steps end to end (wall ms/step, images/sec), then traces
--trace_steps more and sums the time of every op per category (convolutions,
BatchNorm, ReLU, concatenation, pooling, optimizer, input, other). Op time is
summed over all threads, so it can exceed the wall time; the table shows both
its share and its ms per step.

  .venv/bin/python benchmarks/densenet_step_breakdown.py --batch_size=128 \
      --steps=20 --trace_steps=3 [--dataset_dir=/tmp/exp/fm] [--threads=0]

TF_ENABLE_ONEDNN_OPTS=0 in the environment turns oneDNN off (tf_compat turns
it on otherwise); the header line says which kernels ran.
"""

import collections
import os
import sys
import time
import types

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import tf_compat  # noqa: E402,F401
import numpy as np  # noqa: E402
import tensorflow.compat.v1 as tf  # noqa: E402
import tf_slim as slim  # noqa: E402

from benchmark_lib import cpu_description  # noqa: E402
from benchmark_lib import load_average  # noqa: E402
import common_flags  # noqa: E402
from datasets import input_pipeline  # noqa: E402
from deployment import training  # noqa: E402
from nets import nets_factory  # noqa: E402
from preprocessing import preprocessing_factory  # noqa: E402

flags = tf.app.flags
FLAGS = flags.FLAGS


def define_flags():
  """Defined when run as a script only: the tests import this module, and
  other scripts' --batch_size must not clash with ours there."""
  flags.DEFINE_integer('batch_size', 128,
                       'Images per step (the main job: 128).')
  flags.DEFINE_integer('steps', 20, 'Steps timed end to end.')
  flags.DEFINE_integer('warmup_steps', 3, 'Untimed steps first.')
  flags.DEFINE_integer('trace_steps', 3, 'Steps traced for the op times.')
  flags.DEFINE_string('dataset_dir', None,
                      'Converted Fashion-MNIST (fashion_mnist_train.tfrecord)'
                      ', read through tf.data. Default: a constant batch.')
  flags.DEFINE_integer('threads', 0, 'Intra- and inter-op threads; 0 leaves '
                       "TensorFlow's default (all cores), as the main job.")


MODEL_NAME = 'densenet_bc_mini'
IMAGE_SIZE = 28
NUM_CLASSES = 10
# The main job's peak learning rate; its decay schedule costs nothing here.
LEARNING_RATE = 0.1

# The rows of the table.
CONV_FORWARD = 'convolution forward'
CONV_BACKWARD = 'convolution backward'
BN_FORWARD = 'BatchNorm forward + moving averages'
BN_BACKWARD = 'BatchNorm backward'
RELU = 'ReLU'
CONCAT = 'concatenation (+ gradient Slice/AddN)'
POOLING = 'pooling'
OPTIMIZER = 'optimizer + weight decay'
INPUT = 'input'
OTHER = 'other'
CATEGORIES = (CONV_FORWARD, CONV_BACKWARD, BN_FORWARD, BN_BACKWARD, RELU,
              CONCAT, POOLING, OPTIMIZER, INPUT, OTHER)

# oneDNN's rewrites rename the ops (_MklNativeConv2D, _MklFusedBatchNormV3,
# _FusedConv2D, ...); without their prefix they are the stock names.
_KERNEL_PREFIXES = ('_MklNative', '_Mkl', '_')
_INPUT_OPS = {'IteratorGetNext', 'IteratorGetNextSync', 'IteratorV2',
              'OneShotIterator', 'MakeIterator', 'OneHot'}
_FORWARD_CONV_OPS = {'Conv2D', 'FusedConv2D', 'DepthwiseConv2dNative',
                     'FusedDepthwiseConv2dNative', 'BiasAdd'}


def stock_op_type(op_type):
  """'_MklNativeConv2DBackpropInput' -> 'Conv2DBackpropInput'."""
  for prefix in _KERNEL_PREFIXES:
    if op_type.startswith(prefix):
      return op_type[len(prefix):]
  return op_type


def category_of(op_type, node_name, input_names=()):
  """The table row of one executed op.

  Args:
    op_type: the type that ran, as the step stats name it (oneDNN's or not).
    node_name: the node's name; its scope tells the ops that every part of
      the step uses (Mul, Sub, AddN, Slice) apart.
    input_names: names of the node's inputs, where the graph still has it.

  Returns:
    One of CATEGORIES.
  """
  stock = stock_op_type(op_type)
  if stock.startswith(('Conv2DBackprop', 'DepthwiseConv2dNativeBackprop')) or (
      stock == 'BiasAddGrad'):
    return CONV_BACKWARD
  if stock in _FORWARD_CONV_OPS:
    return CONV_FORWARD
  if stock.startswith('FusedBatchNorm'):
    return BN_BACKWARD if 'Grad' in stock else BN_FORWARD
  if stock.startswith('Relu'):
    return RELU
  if stock in _INPUT_OPS or stock.startswith(('Parse', 'Decode')):
    return INPUT
  return _category_by_scope(stock, node_name, input_names)


def _category_by_scope(stock, node_name, input_names):
  """Rows of the generic ops, told by where in the graph they are."""
  if 'AssignMovingAvg' in node_name:
    return BN_FORWARD
  if stock.startswith(('ApplyMomentum', 'ResourceApply', 'Apply', 'L2Loss')):
    return OPTIMIZER
  # Weight decay: the regularizer, its gradient and the AddN adding that to
  # the convolution's filter gradient; the global step's increment.
  if 'Regularizer' in node_name or node_name in ('total_loss', 'global_step'):
    return OPTIMIZER
  if stock == 'AddN' and any('Regularizer' in name for name in input_names):
    return OPTIMIZER
  if stock == 'AssignAddVariableOp' and 'global_step' in ' '.join(input_names):
    return OPTIMIZER
  if 'Pool' in stock or 'global_pool' in node_name:
    return POOLING
  if stock.startswith('Concat'):
    return CONCAT
  # The gradient of a concatenation slices it back into its inputs, and a
  # feature map every later layer reads sums their gradients (AddN).
  if stock in ('Slice', 'Split', 'SplitV') and 'concat' in node_name:
    return CONCAT
  if stock == 'AddN' and node_name.startswith('gradients'):
    return CONCAT
  return OTHER


def build_train_op(dataset_dir=None, batch_size=128):
  """The main job's training step on a constant batch or the tf.data reader.

  Returns:
    (train_op, input description)
  """
  if dataset_dir:
    images, labels = tf.data.make_one_shot_iterator(
        fashion_mnist_batches(dataset_dir, batch_size)).get_next()
    source = 'tf.data over %s (lenet preprocessing)' % dataset_dir
  else:
    rng = np.random.RandomState(0)
    images = tf.constant(rng.uniform(-1, 1, (
        batch_size, IMAGE_SIZE, IMAGE_SIZE, 1)).astype(np.float32))
    labels = tf.constant(rng.randint(0, NUM_CLASSES, batch_size))
    source = 'a constant batch in memory'
  tf.train.get_or_create_global_step()
  network_fn = nets_factory.get_network_fn(
      MODEL_NAME, NUM_CLASSES, weight_decay=1e-4, is_training=True)
  logits, _ = network_fn(images)
  tf.losses.softmax_cross_entropy(tf.one_hot(labels, NUM_CLASSES), logits)
  optimizer = tf.train.MomentumOptimizer(LEARNING_RATE, 0.9)
  # create_train_op runs the UPDATE_OPS (BatchNorm statistics) as well.
  train_op = slim.learning.create_train_op(tf.losses.get_total_loss(),
                                           optimizer)
  return train_op, source


def fashion_mnist_batches(dataset_dir, batch_size):
  """The main job's reader: Fashion-MNIST train, lenet preprocessing."""
  where = types.SimpleNamespace(dataset_name='fashion_mnist',
                                dataset_split_name='train',
                                dataset_dir=dataset_dir)
  descriptor = common_flags.load_dataset(where)
  training.check_has_records(descriptor, 'train')
  preprocess = preprocessing_factory.get_preprocessing('lenet',
                                                       is_training=True)
  return input_pipeline.make_dataset(
      descriptor, preprocess, batch_size, is_training=True,
      image_size=IMAGE_SIZE, channels=1, num_readers=1,
      num_preprocessing_threads=2)


def time_steps(sess, train_op, steps, warmup_steps):
  """Wall seconds per step, `steps` steps end to end after a warm-up."""
  for _ in range(warmup_steps):
    sess.run(train_op)
  start = time.perf_counter()
  for _ in range(steps):
    sess.run(train_op)
  return (time.perf_counter() - start) / steps


def input_alone_seconds(dataset_dir, batch_size, steps, warmup_steps):
  """Wall seconds per batch of the reader by itself, with nothing training.

  tf.data decodes and preprocesses in threads of its own, outside the step
  stats (there the input is only the wait in IteratorGetNext), so this says
  what the reader costs on the same cores.
  """
  with tf.Graph().as_default():
    images, _ = tf.data.make_one_shot_iterator(
        fashion_mnist_batches(dataset_dir, batch_size)).get_next()
    # Reduced in the graph so no batch is copied out to numpy.
    checksum = tf.reduce_sum(images)
    with tf.Session() as sess:
      return time_steps(sess, checksum, steps, warmup_steps)


def trace_op_times(sess, train_op, trace_steps):
  """Op seconds per step by category, and by op type within each.

  Returns:
    {category: {op type: seconds per step}}
  """
  inputs_of = {op.name: [name.split(':')[0].lstrip('^') for name in
                         [t.name for t in op.inputs] +
                         [c.name for c in op.control_inputs]]
               for op in sess.graph.get_operations()}
  times = collections.defaultdict(collections.Counter)
  options = tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE)
  for _ in range(trace_steps):
    metadata = tf.RunMetadata()
    sess.run(train_op, options=options, run_metadata=metadata)
    for device in metadata.step_stats.dev_stats:
      for node in device.node_stats:
        op_type = _executed_op_type(node)
        category = category_of(op_type, node.node_name,
                               inputs_of.get(node.node_name, ()))
        times[category][op_type] += _op_seconds(node) / trace_steps
  return times


def _executed_op_type(node):
  # 'name = _MklNativeConv2D(inputs)': the kernel that ran, after grappler's
  # and oneDNN's rewrites (the graph only has the stock type).
  label = node.timeline_label
  if ' = ' not in label:
    return label.split(':')[0] or node.node_name
  return label.split(' = ', 1)[1].split('(', 1)[0]


def _op_seconds(node):
  if node.op_end_rel_nanos:
    return (node.op_end_rel_nanos - node.op_start_rel_nanos) * 1e-9
  return (node.op_end_rel_micros - node.op_start_rel_micros) * 1e-6


def session_config(threads):
  if not threads:
    return tf.ConfigProto()
  return tf.ConfigProto(intra_op_parallelism_threads=threads,
                        inter_op_parallelism_threads=threads)


def measure(batch_size=128, steps=20, trace_steps=3, dataset_dir=None,
            threads=0, warmup_steps=3):
  """Builds the step, times it and traces it.

  Returns:
    A dict: 'wall_s' (seconds per step end to end), 'op_times' (as
    `trace_op_times`), 'input_alone_s' (`input_alone_seconds`, None for the
    constant batch), 'source' (the input), and the arguments.
  """
  with tf.Graph().as_default():
    train_op, source = build_train_op(dataset_dir, batch_size)
    with tf.Session(config=session_config(threads)) as sess:
      sess.run(tf.global_variables_initializer())
      wall_s = time_steps(sess, train_op, steps, warmup_steps)
      op_times = trace_op_times(sess, train_op, trace_steps)
  input_s = dataset_dir and input_alone_seconds(dataset_dir, batch_size,
                                                steps, warmup_steps)
  return dict(wall_s=wall_s, op_times=op_times, source=source,
              batch_size=batch_size, threads=threads, steps=steps,
              trace_steps=trace_steps, input_alone_s=input_s)


def onednn_state(op_times):
  """'on (TF_ENABLE_ONEDNN_OPTS=1, ...)': the switch and what ran."""
  switch = os.environ.get('TF_ENABLE_ONEDNN_OPTS', 'unset')
  ran = any(op_type.startswith('_Mkl')
            for by_type in op_times.values() for op_type in by_type)
  return '%s (TF_ENABLE_ONEDNN_OPTS=%s, %s)' % (
      'on' if ran else 'off', switch,
      '_Mkl* kernels ran' if ran else 'no _Mkl* kernel ran')


def header_line(result):
  cores = len(os.sched_getaffinity(0))
  return ('%s training step, TF %s, oneDNN %s, %d cores (%s, load %.2f), '
          '%s threads, batch %d of %dx%dx1, input: %s' % (
              MODEL_NAME, tf.__version__, onednn_state(result['op_times']),
              cores, cpu_description(), load_average(),
              result['threads'] or 'default', result['batch_size'],
              IMAGE_SIZE, IMAGE_SIZE, result['source']))


def table_rows(op_times):
  """[(category, ms per step, share %, top op types)], largest first."""
  total = sum(sum(by_type.values()) for by_type in op_times.values()) or 1.0
  rows = []
  for category in CATEGORIES:
    by_type = op_times.get(category, collections.Counter())
    seconds = sum(by_type.values())
    top = ', '.join('%s %.1f' % (op_type, 1000 * s)
                    for op_type, s in by_type.most_common(3) if s >= 5e-5)
    rows.append((category, 1000 * seconds, 100 * seconds / total, top))
  return sorted(rows, key=lambda row: -row[1])


def format_report(result):
  """The header, the wall time and the markdown table, one string."""
  wall_ms = 1000 * result['wall_s']
  op_ms = sum(sum(t.values()) for t in result['op_times'].values()) * 1000
  lines = [
      header_line(result),
      'wall: %.1f ms/step, %.1f images/sec (%d steps end to end); op time: '
      '%.1f ms/step summed over threads (%.2fx wall, %d traced steps)' % (
          wall_ms, result['batch_size'] / result['wall_s'], result['steps'],
          op_ms, op_ms / wall_ms, result['trace_steps']),
      '',
      '| category | op ms/step | op share % | top op types (ms/step) |',
      '|---|---:|---:|---|']
  for category, ms, share, top in table_rows(result['op_times']):
    lines.append('| %s | %.2f | %.1f | %s |' % (category, ms, share, top))
  return '\n'.join(lines + footnotes(result))


def footnotes(result):
  """What the table cannot show by itself."""
  notes = []
  forward_types = result['op_times'].get(BN_FORWARD, {})
  if any(stock_op_type(t).startswith('FusedBatchNormEx')
         for t in forward_types):
    notes.append('FusedBatchNormEx is BatchNorm with its ReLU fused in: the '
                 'forward ReLU counts as BatchNorm.')
  if result['input_alone_s']:
    notes.append('input: IteratorGetNext is the wait for a batch; tf.data '
                 'decodes and preprocesses in threads of its own, outside '
                 'the step stats. The reader by itself, nothing training, '
                 'takes %.1f ms/batch (%.0f images/sec).' % (
                     1000 * result['input_alone_s'],
                     result['batch_size'] / result['input_alone_s']))
  return [''] + notes if notes else []


def check_flags():
  for name in ('batch_size', 'steps', 'trace_steps'):
    if getattr(FLAGS, name) < 1:
      raise common_flags.UserError('--%s=%d: must be at least 1' %
                                   (name, getattr(FLAGS, name)))
  if FLAGS.threads < 0 or FLAGS.warmup_steps < 0:
    raise common_flags.UserError('--threads and --warmup_steps cannot be '
                                 'negative')


def main(argv):
  del argv  # run_main refuses unknown flags and arguments
  check_flags()
  result = measure(FLAGS.batch_size, FLAGS.steps, FLAGS.trace_steps,
                   FLAGS.dataset_dir, FLAGS.threads, FLAGS.warmup_steps)
  print(format_report(result))


if __name__ == '__main__':
  define_flags()
  common_flags.run_main(main)
