r"""Measurements for the benchmark scripts, each in a process of its own.

Peak memory is the peak resident set size of a whole process, so every
measurement runs in a fresh subprocess (`run_isolated`) that builds one model,
times its steps and reports back one JSON line. The scripts alternate the
sides they compare (A, B, A, B, ...) so that load from other processes on a
shared machine hits both alike, and report medians and ratios.

Run directly, this file is that subprocess:
  python benchmarks/benchmark_lib.py '{"kind": "slim_train", ...}'
"""

import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# What every measured process shares (the machine's cores, no eager mode for
# the slim side, as train_image_classifier.py runs).
DEFAULTS = dict(batch_size=16, image_size=224, num_classes=200, steps=10,
                warmup=3, memory_efficient=False, xla=False, channels=3,
                bfloat16=False)


# The flags the benchmark scripts share: one help text each, the defaults
# the script's own (`define_flags(batch_size=64, ...)`).
SHARED_FLAGS = {
    'model_name': ('string', 'Registered network (see nets_factory).'),
    'batch_size': ('integer', 'Images per step.'),
    'image_size': ('integer', 'Height and width of the input.'),
    'channels': ('integer', 'Input channels: 1 (grayscale) or 3.'),
    'num_classes': ('integer', 'Classes of the classifier.'),
    'steps': ('integer', 'Timed steps.'),
    'warmup': ('integer', 'Untimed steps first.'),
}


def define_flags(**defaults):
  """Defines the shared flags named, each with the default given.

  Raises:
    KeyError: a name that is not in SHARED_FLAGS.
  """
  from absl import flags  # pylint: disable=g-import-not-at-top
  # The flags belong to the calling script, so that its --help lists them.
  flags.disclaim_key_flags()
  for name, default in defaults.items():
    kind, help_text = SHARED_FLAGS[name]
    getattr(flags, 'DEFINE_' + kind)(name, default, help_text)


def start_server(model_file, *server_flags):
  """Starts server.py on a free port; returns (process, port, memory line)."""
  process = subprocess.Popen(
      [sys.executable, os.path.join(ROOT, 'server.py'),
       '--model_file=' + model_file, '--port=0'] + list(server_flags),
      cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
      env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2'))
  memory_line = process.stdout.readline().strip()
  listening = re.search(r'listening on http://[^:]+:(\d+)/',
                        process.stdout.readline())
  if not listening:
    process.kill()
    raise SystemExit('server.py did not start: %s' % memory_line)
  return process, int(listening.group(1)), memory_line


def upload(port, data, max_tries=100, content_type='image/png'):
  """POSTs `data` to server.py's API, again after Retry-After while the
  server is busy; returns the HTTP statuses it got, the last one final."""
  import urllib.error  # pylint: disable=g-import-not-at-top
  import urllib.request  # pylint: disable=g-import-not-at-top
  no_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))
  request = urllib.request.Request(
      'http://127.0.0.1:%d/api/classify' % port, data=data,
      headers={'Content-Type': content_type})
  statuses = []
  while len(statuses) < max_tries:
    try:
      with no_proxy.open(request, timeout=600) as response:
        response.read()
        return statuses + [response.status]
    except urllib.error.HTTPError as error:
      statuses.append(error.code)
      if error.code != 503:
        return statuses
      time.sleep(float(error.headers.get('Retry-After', 1)))
  return statuses


def run_isolated(spec, timeout=1800):
  """Runs one measurement in a new process; returns its result dict.

  Args:
    spec: dict with 'kind' (a key of WORKERS) and overrides of DEFAULTS;
      optional 'python' (the interpreter, e.g. one with torch installed) and
      'env' (variables to set, e.g. {'TF_ENABLE_ONEDNN_OPTS': '0'}).
    timeout: seconds before the measurement counts as failed.

  Returns:
    The worker's dict (images_per_sec, peak_rss_mb, ...), or a dict with an
    'error' line if the process failed.
  """
  full_spec = dict(DEFAULTS, **spec)
  python = full_spec.pop('python', None) or sys.executable
  env = dict(os.environ, **full_spec.pop('env', None) or {})
  try:
    done = subprocess.run(
        [python, os.path.abspath(__file__), json.dumps(full_spec)],
        capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env)
  except subprocess.TimeoutExpired:
    return dict(full_spec, error='timed out after %d s' % timeout)
  except OSError as error:
    return dict(full_spec, error='cannot start %s: %s' % (python, error))
  for line in reversed(done.stdout.splitlines()):
    if line.startswith('{'):
      return dict(full_spec, **json.loads(line))
  return dict(full_spec, error=_failure(done))


def _failure(done):
  """One line saying why a measurement process ended without a result."""
  if done.returncode < 0:
    # SIGABRT from a failed allocation or SIGKILL from the kernel's OOM
    # killer are how a too-large model ends here.
    return 'killed by signal %d (out of memory?)' % -done.returncode
  lines = [l.strip() for l in done.stderr.splitlines() if l.strip()]
  # TensorFlow prints the graph's stack trace after its exception, so the
  # last line is a stack frame; its OOM line and the exception say more.
  oom = [l for l in lines if l.startswith('OOM when allocating')]
  if oom:
    return 'out of memory (%s)' % oom[0].split(' and type ')[0]
  exceptions = [l for l in lines if re.match(r'[\w.]+(Error|Exception)\b', l)]
  errors = [l for l in lines if 'Error' in l or 'error' in l]
  return (exceptions or errors or lines or ['exit %d' % done.returncode])[-1]


def alternate(specs, rounds):
  """Runs every spec once per round, in turn; returns results per spec."""
  results = [[] for _ in specs]
  for _ in range(rounds):
    for i, spec in enumerate(specs):
      results[i].append(run_isolated(spec))
  return results


def best(results):
  """The fastest successful run (least disturbed by other processes)."""
  good = [r for r in results if 'error' not in r]
  if not good:
    return results[-1]
  return max(good, key=lambda r: r['images_per_sec'])


# oneDNN (TensorFlow's and torch's) and torch's ATen choose their kernels by
# the CPU's instruction set at run time. Capping it makes an AVX-512 machine
# run the kernels an AVX2 machine runs, which is where the margins differ
# most (docs/performance.md).
ISA_CAPS = {
    'native': {},
    'avx2': {'ONEDNN_MAX_CPU_ISA': 'AVX2', 'ATEN_CPU_CAPABILITY': 'avx2'},
}


def load_average():
  return os.getloadavg()[0]


def cpu_description(isa_cap='native'):
  """E.g. 'AMD EPYC, AVX-512': which oneDNN kernels run depends on it."""
  description = _cpu_model_and_isa()
  if isa_cap != 'native':
    description += ', kernels capped at ' + isa_cap.upper()
  return description


def _cpu_model_and_isa():
  try:
    with open('/proc/cpuinfo') as cpuinfo:
      text = cpuinfo.read()
  except OSError:
    return 'unknown CPU'
  model = next((line.split(':', 1)[1].strip() for line in text.splitlines()
                if line.startswith('model name')), 'unknown CPU')
  if ' avx512f' in text:
    return model + ', AVX-512'
  return model + (', AVX2' if ' avx2' in text else ', no AVX2')


# ---------------------------------------------------------------------------
# Workers (run inside the subprocess).


def _peak_rss_mb():
  # ru_maxrss is in KiB on Linux.
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def step_seconds(run_step, warmup, steps):
  """Seconds each of `steps` calls of `run_step` took, after `warmup` more."""
  for _ in range(warmup):
    run_step()
  times = []
  for _ in range(steps):
    start = time.perf_counter()
    run_step()
    times.append(time.perf_counter() - start)
  return times


def _time_steps(run_step, spec):
  median = statistics.median(step_seconds(run_step, spec['warmup'],
                                          spec['steps']))
  return dict(images_per_sec=spec['batch_size'] / median,
              step_ms=1000 * median, peak_rss_mb=_peak_rss_mb())


def _random_batch(spec):
  import numpy as np  # pylint: disable=g-import-not-at-top
  rng = np.random.RandomState(0)
  images = rng.uniform(-1, 1, (spec['batch_size'], spec['image_size'],
                               spec['image_size'], spec['channels']))
  labels = rng.randint(0, spec['num_classes'], spec['batch_size'])
  return images.astype(np.float32), labels.astype(np.int64)


def _import_slim():
  sys.path.insert(0, ROOT)
  import tf_compat  # noqa: F401  pylint: disable=g-import-not-at-top,unused-import
  import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
  tf.disable_eager_execution()
  return tf


def _session_config(tf, spec):
  config = tf.ConfigProto()
  if spec['xla']:
    config.graph_options.optimizer_options.global_jit_level = (
        tf.OptimizerOptions.ON_1)
  if spec['bfloat16']:
    # What train_image_classifier.py --mixed_precision does on such a CPU.
    from deployment import session_config  # pylint: disable=g-import-not-at-top
    session_config.enable_mixed_precision(config, 'bfloat16')
  return config


def slim_train(spec):
  """Our network: forward, backward, momentum update, BatchNorm updates."""
  tf = _import_slim()
  import tf_slim as slim  # pylint: disable=g-import-not-at-top
  from nets import nets_factory  # pylint: disable=g-import-not-at-top
  images, labels = _random_batch(spec)
  network_fn = nets_factory.get_network_fn(
      spec['model_name'], spec['num_classes'], weight_decay=1e-4,
      is_training=True)
  kwargs = {'memory_efficient': True} if spec['memory_efficient'] else {}
  logits, _ = network_fn(tf.constant(images), **kwargs)
  tf.losses.sparse_softmax_cross_entropy(tf.constant(labels), logits)
  optimizer = tf.train.MomentumOptimizer(0.01, 0.9)
  train_op = slim.learning.create_train_op(tf.losses.get_total_loss(),
                                           optimizer)
  with tf.Session(config=_session_config(tf, spec)) as sess:
    sess.run(tf.global_variables_initializer())
    return _time_steps(lambda: sess.run(train_op), spec)


def slim_infer(spec):
  """Our network frozen (variables folded into constants), as exported."""
  tf = _import_slim()
  from nets import nets_factory  # pylint: disable=g-import-not-at-top
  images, _ = _random_batch(spec)
  with tf.Graph().as_default():
    network_fn = nets_factory.get_network_fn(spec['model_name'],
                                             spec['num_classes'])
    placeholder = tf.placeholder(tf.float32, [None] + list(images.shape[1:]),
                                 name='input')
    logits, end_points = network_fn(placeholder)
    output_name = nets_factory.predictions(logits, end_points).op.name
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      frozen = tf.graph_util.convert_variables_to_constants(
          sess, sess.graph.as_graph_def(), [output_name])
  with tf.Graph().as_default() as graph:
    tf.import_graph_def(frozen, name='')
    output = graph.get_tensor_by_name(output_name + ':0')
    with tf.Session(config=_session_config(tf, spec)) as sess:
      return _time_steps(lambda: sess.run(output, {'input:0': images}), spec)


def _keras_model(spec):
  import keras  # pylint: disable=g-import-not-at-top
  if spec['bfloat16']:
    keras.mixed_precision.set_global_policy('mixed_bfloat16')
  return keras.applications.DenseNet121(
      weights=None, classes=spec['num_classes'],
      input_shape=(spec['image_size'], spec['image_size'], spec['channels']))


def keras_train(spec):
  """Keras 3 DenseNet121 with its compiled train step (oneDNN as TF sets)."""
  model = _keras_model(spec)
  model.compile(optimizer='sgd', loss='sparse_categorical_crossentropy',
                jit_compile=spec['xla'])
  images, labels = _random_batch(spec)
  return _time_steps(lambda: model.train_on_batch(images, labels), spec)


def keras_graph_train(spec):
  """tf_keras's DenseNet121 in a tf.compat.v1 graph, trained by a session.

  How Keras ran under TensorFlow 1.x, and often faster than Keras 3's train
  step; same optimizer as ours (momentum), BatchNorm updates included.
  """
  tf = _import_slim()
  import tf_keras  # pylint: disable=g-import-not-at-top
  images, labels = _random_batch(spec)
  model = tf_keras.applications.DenseNet121(
      weights=None, classes=spec['num_classes'], input_shape=images.shape[1:])
  inputs = tf.constant(images)
  probabilities = model(inputs, training=True)
  loss = tf.reduce_mean(tf_keras.losses.sparse_categorical_crossentropy(
      tf.constant(labels), probabilities))
  train_op = tf.train.MomentumOptimizer(0.01, 0.9).minimize(
      loss, var_list=model.trainable_weights)
  # The moving averages of this call (model.updates would also hold those
  # of the model's own input placeholder).
  batch_norm_updates = model.get_updates_for(inputs)
  assert batch_norm_updates, 'tf_keras made no BatchNorm updates'
  train_op = tf.group(train_op, *batch_norm_updates)
  with tf.Session(config=_session_config(tf, spec)) as sess:
    sess.run(tf.global_variables_initializer())
    return _time_steps(lambda: sess.run(train_op), spec)


def keras_infer(spec):
  model = _keras_model(spec)
  model.compile(jit_compile=spec['xla'])
  images, _ = _random_batch(spec)
  return _time_steps(lambda: model.predict_on_batch(images), spec)


def _torch_model(spec):
  """torchvision's DenseNet-121, or the CIFAR DenseNet-BC (L=100, k=12) with
  the paper's 3x3 stem when spec['model_name'] says so."""
  import torch  # pylint: disable=g-import-not-at-top
  from torchvision.models import densenet  # pylint: disable=g-import-not-at-top
  if spec['model_name'] == 'densenet_bc100_k12':
    model = densenet.DenseNet(growth_rate=12, block_config=(16, 16, 16),
                              num_init_features=24,
                              num_classes=spec['num_classes'],
                              memory_efficient=spec['memory_efficient'])
    model.features.conv0 = torch.nn.Conv2d(spec['channels'], 24, 3, padding=1,
                                           bias=False)
    model.features.pool0 = torch.nn.Identity()
  else:
    model = densenet.densenet121(weights=None,
                                 num_classes=spec['num_classes'],
                                 memory_efficient=spec['memory_efficient'])
  return model


def _torch_batch(spec):
  import torch  # pylint: disable=g-import-not-at-top
  images, labels = _random_batch(spec)
  return (torch.from_numpy(images.transpose(0, 3, 1, 2).copy()),
          torch.from_numpy(labels))


def _torch_autocast(spec):
  """bfloat16 autocast for spec['bfloat16'] (torch's CPU mixed precision)."""
  import torch  # pylint: disable=g-import-not-at-top
  return torch.autocast('cpu', dtype=torch.bfloat16,
                        enabled=spec['bfloat16'])


def torch_train(spec):
  """torchvision, eager training step (run with an interpreter that has
  torch; torch is never a dependency of this repository)."""
  import torch  # pylint: disable=g-import-not-at-top
  model = _torch_model(spec).train()
  optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9,
                              weight_decay=1e-4)
  images, labels = _torch_batch(spec)
  loss_fn = torch.nn.CrossEntropyLoss()

  def step():
    optimizer.zero_grad(set_to_none=True)
    with _torch_autocast(spec):
      loss = loss_fn(model(images), labels)
    loss.backward()
    optimizer.step()
  result = _time_steps(step, spec)
  result['threads'] = torch.get_num_threads()
  return result


def torch_infer(spec):
  import torch  # pylint: disable=g-import-not-at-top
  model = _torch_model(spec).eval()
  images, _ = _torch_batch(spec)

  def step():
    with torch.inference_mode(), _torch_autocast(spec):
      model(images)
  return _time_steps(step, spec)


def baseline(spec):
  """TensorFlow and tf_slim imported, one trivial session run: the fixed
  memory every measurement carries, subtracted for memory per image."""
  del spec
  tf = _import_slim()
  import tf_slim  # noqa: F401  pylint: disable=g-import-not-at-top,unused-import
  with tf.Session() as sess:
    sess.run(tf.constant(1.0) + 1.0)
  return dict(images_per_sec=0.0, peak_rss_mb=_peak_rss_mb())


def model_file_infer(spec):
  """Forward passes of an exported model file (.pb, .tflite, .onnx) in its
  own runtime (`inference.open_runner`), on preprocessed random images."""
  _import_slim()
  from deployment import inference  # pylint: disable=g-import-not-at-top
  runner = inference.open_runner(spec['model_file'], spec.get('num_threads'))
  images, _ = _random_batch(spec)
  return _time_steps(lambda: runner.run(images), spec)


WORKERS = dict(baseline=baseline, model_file_infer=model_file_infer, slim_train=slim_train, slim_infer=slim_infer,
               keras_train=keras_train, keras_infer=keras_infer,
               keras_graph_train=keras_graph_train,
               torch_train=torch_train, torch_infer=torch_infer)


def main():
  spec = json.loads(sys.argv[1])
  result = WORKERS[spec['kind']](spec)
  print(json.dumps(result))


if __name__ == '__main__':
  main()
