"""Shared set-up for the tests that run the project's scripts and servers.

Data and models: a tiny generated dataset, a checkpoint of freshly initialised
weights, the frozen graph exported from it. Processes: THE way the tests run a
script of this repository (`run_script`, `succeeds`, `error_line`,
`start_script`, `running_server`), so every test starts it with the same
interpreter, working directory and environment. TensorBoard: a short training
run and a `tensorboard` serving it (test_tensorboard, test_browser).
"""

import contextlib
import glob
import json
import mimetypes
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import numpy as np
import tensorflow.compat.v1 as tf

from datasets import dataset_factory
from datasets import dataset_utils
from datasets import fake_data
from datasets import input_pipeline
from deployment import evaluation
from deployment import inference
from nets import nets_factory
from preprocessing import preprocessing_factory

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NUM_CLASSES = 5
ACCURACY_LINE = re.compile(r'^eval/Accuracy\[([0-9.e-]+)\]$', re.M)
# label_image.py: the image's path, then '  1. <name> (<class id>) <score>'.
TOP1_LINE = re.compile(r'^(\S+)\n  1\. .* \((\d+)\) [0-9.]+$', re.M)
SERVER_START_TIMEOUT = 120
# Loopback only: never route through an http_proxy from the environment.
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))
LOOPBACK_HOSTS = '127.0.0.1,localhost'


def write_dataset(dataset_dir, num_classes=NUM_CLASSES):
  """A small quiz-format dataset; returns its labels_to_names."""
  return fake_data.write_fake_dataset(
      dataset_dir, 'quiz', num_classes=num_classes,
      images_per_class={'train': 2, 'validation': 2}, image_shape=(36, 44, 3))


def write_checkpoint(train_dir, model_name, num_classes=NUM_CLASSES,
                     image_size=None, channels=3, seed=1, averages_scale=None):
  """Initialises `model_name` and saves it; returns the checkpoint prefix.

  With `averages_scale` the checkpoint also holds moving averages of the
  model variables (as --moving_average_decay keeps them), each that many
  times its variable, so weights and averages predict differently.
  """
  with tf.Graph().as_default():
    tf.set_random_seed(seed)
    network_fn = nets_factory.get_network_fn(model_name, num_classes)
    size = image_size or network_fn.default_image_size
    network_fn(tf.placeholder(tf.float32, [None, size, size, channels]))
    tf.train.get_or_create_global_step()
    scale_averages = tf.no_op()
    if averages_scale is not None:
      ema = tf.train.ExponentialMovingAverage(0.9)
      model_variables = tf.model_variables()
      ema.apply(model_variables)
      scale_averages = tf.group(*[
          tf.assign(ema.average(var), var * averages_scale)
          for var in model_variables])
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      sess.run(scale_averages)
      return tf.train.Saver().save(sess, os.path.join(train_dir, 'model.ckpt'),
                                   global_step=7)


def export_frozen(dataset_dir, train_dir, output_file, model_name,
                  image_size=None):
  """Exports and freezes like export_inference_graph.py --checkpoint_path."""
  spec = inference.spec_from_dataset(model_name, 'quiz', dataset_dir,
                                     image_size=image_size)
  graph_def, info = inference.export_graph_def(spec)
  frozen = inference.freeze_graph_def(graph_def, train_dir,
                                      inference.output_node_names(info))
  inference.write_graph_def(frozen, output_file)
  inference.write_labels(spec.labels_to_names,
                         inference.labels_path_for(output_file))
  return spec, info


def split_examples(dataset_dir, split_name):
  """[(encoded image bytes, label)] of a split, in file order."""
  pattern = os.path.join(dataset_dir, 'quiz_%s_*.tfrecord' % split_name)
  return dataset_utils.read_examples(sorted(glob.glob(pattern)))


def write_image_files(examples, image_dir):
  """Writes each encoded image to its own file; returns the paths."""
  os.makedirs(image_dir, exist_ok=True)
  paths = []
  for index, (encoded, _) in enumerate(examples):
    path = os.path.join(image_dir, 'image_%02d.jpg' % index)
    with open(path, 'wb') as f:
      f.write(encoded)
    paths.append(path)
  return paths


def eval_graph_probabilities(dataset_dir, train_dir, model_name,
                             image_size=None, split_name='validation',
                             preprocessing_name=None,
                             moving_average_decay=None):
  """Class probabilities [images, classes] of the evaluation pipeline
  (input_pipeline + network), images in file order.

  `moving_average_decay` restores the weights' averages, as
  eval_image_classifier.py does with that flag.
  """
  descriptor = dataset_factory.get_dataset('quiz', split_name, dataset_dir)
  with tf.Graph().as_default():
    network_fn = nets_factory.get_network_fn(model_name,
                                             descriptor.num_classes)
    size = image_size or network_fn.default_image_size
    dataset = input_pipeline.make_dataset(
        descriptor, preprocessing_factory.get_preprocessing(
            preprocessing_name or model_name),
        batch_size=3, is_training=False, image_size=size)
    images, _ = tf.data.make_one_shot_iterator(dataset).get_next()
    logits, _ = network_fn(images)
    probabilities = tf.nn.softmax(logits)
    saver = tf.train.Saver(evaluation.variables_to_restore(
        moving_average_decay, tf.train.get_or_create_global_step()))
    batches = []
    with tf.Session() as sess:
      saver.restore(sess, tf.train.latest_checkpoint(train_dir))
      while True:
        try:
          batches.append(sess.run(probabilities))
        except tf.errors.OutOfRangeError:
          return np.concatenate(batches)


def eval_graph_predictions(*args, **kwargs):
  """Top-1 classes of the evaluation pipeline (eval_graph_probabilities'
  arguments)."""
  return eval_graph_probabilities(*args, **kwargs).argmax(axis=1).tolist()


def label_image_top1(model, paths):
  """label_image.py's top-1 class id of each image file."""
  output = succeeds('label_image.py', '--graph=' + model, '--top_k=1', *paths)
  top1 = dict(TOP1_LINE.findall(output))
  return [int(top1[path]) for path in paths]


# Running the project's scripts.


def script_env(env=None):
  """The environment a test starts a process in.

  Quiet TensorFlow, no GPU, loopback hosts past any proxy; then `env`'s
  entries on top (a value of None removes the variable).
  """
  no_proxy = ','.join(filter(None, [os.environ.get('NO_PROXY'),
                                    LOOPBACK_HOSTS]))
  merged = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2', CUDA_VISIBLE_DEVICES='',
                NO_PROXY=no_proxy, no_proxy=no_proxy)
  for name, value in (env or {}).items():
    if value is None:
      merged.pop(name, None)
    else:
      merged[name] = str(value)
  return merged


def script_command(script, *args):
  """The command line of `script` (relative to the repository, or absolute).

  `.py` runs under this interpreter, `.sh` under bash, anything else (a
  console script such as the venv's `tensorboard`) as it is.
  """
  path = os.path.join(ROOT, script)
  interpreter = {'.py': [sys.executable], '.sh': ['bash']}.get(
      os.path.splitext(script)[1], [])
  return interpreter + [path] + [str(arg) for arg in args]


def _run(command, env, timeout, merge_output, cwd):
  return subprocess.run(
      command, cwd=cwd, env=script_env(env), stdin=subprocess.DEVNULL,
      stdout=subprocess.PIPE,
      stderr=subprocess.STDOUT if merge_output else subprocess.PIPE,
      text=True, timeout=timeout, check=False)


def run_script(script, *args, env=None, timeout=240, merge_output=False,
               cwd=ROOT):
  """Runs a repository script to its end; returns the CompletedProcess.

  Args:
    script: path relative to the repository root ('server.py',
      'scripts/convert.sh', 'datasets/build_imagenet_data.py').
    *args: its command-line arguments.
    env: variables set (None: removed) on top of `script_env()`.
    timeout: seconds before subprocess.TimeoutExpired.
    merge_output: stderr into stdout, interleaved as printed (stderr None).
    cwd: working directory, the repository root by default.
  """
  return _run(script_command(script, *args), env, timeout, merge_output, cwd)


def run_python(code, env=None, timeout=120, merge_output=False):
  """Runs `python -c code` (dedented) from the repository root."""
  return _run([sys.executable, '-c', textwrap.dedent(code)], env, timeout,
              merge_output, ROOT)


# Runs each (script, args) in a child forked from one process that imported
# TensorFlow once, as `python script args...` would run it (own argv,
# sys.path[0], stdout, stderr and exit status). Only for runs that stop
# before building a graph (flag parsing, --help): the children share the
# parent's TensorFlow state as it was after the import.
_FORKING_RUNNER = r'''
import json, os, runpy, sys, tempfile, traceback
import tensorflow  # once, before the forks: every child inherits it
root, runs = sys.argv[1], json.loads(sys.argv[2])
results = []
for script, args in runs:
  with tempfile.TemporaryFile('w+') as out, tempfile.TemporaryFile('w+') as err:
    pid = os.fork()
    if pid == 0:
      os.dup2(out.fileno(), 1)
      os.dup2(err.fileno(), 2)
      path = os.path.join(root, script)
      sys.argv = [path] + args
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
    out.seek(0)
    err.seek(0)
    results.append([os.waitstatus_to_exitcode(status), out.read(), err.read()])
json.dump(results, sys.stdout)
'''


def run_scripts_forked(runs, timeout=600):
  """Runs [(script, [args])] that end before building a graph; cheaply.

  A Python start with TensorFlow costs seconds of CPU; here each run only
  pays for its script's own imports. Returns one CompletedProcess per run.
  """
  runs = [[script, [str(arg) for arg in args]] for script, args in runs]
  result = run_python('import sys; sys.argv[1:] = %r; exec(%r)' % (
      [ROOT, json.dumps(runs)], _FORKING_RUNNER), timeout=timeout)
  assert result.returncode == 0, result.stderr[-3000:]
  return [subprocess.CompletedProcess([script] + args, code, out, err)
          for (script, args), (code, out, err) in zip(
              runs, json.loads(result.stdout))]


def succeeds(script, *args, timeout=400, env=None):
  """Runs a repository script, asserts exit 0; returns stdout + stderr."""
  result = run_script(script, *args, timeout=timeout, env=env)
  assert result.returncode == 0, '%s failed:\n%s' % (
      script, (result.stdout + result.stderr)[-3000:])
  return result.stdout + result.stderr


def error_line(result):
  """Asserts a run failed with exit 1 and no traceback; its last stderr line.

  Bad input must end a script with one line naming what to fix
  (common_flags.run_main).
  """
  assert result.returncode == 1, (result.returncode, result.stderr[-3000:])
  assert 'Traceback' not in result.stderr, result.stderr[-3000:]
  lines = result.stderr.strip().splitlines()
  assert lines, 'exit 1 without a message'
  return lines[-1]


def start_script(script, *args, env=None, cwd=ROOT, stdout=subprocess.PIPE):
  """Starts a repository script in its own session; returns the Popen.

  Its stderr goes into `stdout` (a pipe by default, read as text). End it
  with stop_process_group.
  """
  return subprocess.Popen(script_command(script, *args), cwd=cwd,
                          env=script_env(env), stdin=subprocess.DEVNULL,
                          stdout=stdout, stderr=subprocess.STDOUT, text=True,
                          start_new_session=True)


@contextlib.contextmanager
def running_server(script, *args, env=None):
  """Starts a server script (server.py, scripts/server.sh); yields its port.

  The script must print 'listening on http://127.0.0.1:<port>/'; it is
  stopped on leaving the block.
  """
  process = start_script(script, *args, env=env)
  try:
    yield wait_for_port(process)
  finally:
    stop_process_group(process)


def free_loopback_ports(count=1):
  """`count` different TCP ports free on 127.0.0.1 right now."""
  sockets = [socket.socket() for _ in range(count)]
  try:
    for sock in sockets:
      sock.bind(('127.0.0.1', 0))
    return [sock.getsockname()[1] for sock in sockets]
  finally:
    for sock in sockets:
      sock.close()


def wait_for_port(process, timeout=SERVER_START_TIMEOUT):
  """Reads a server's output until 'listening on'; returns the port."""
  lines = queue.Queue()

  def pump():
    for line in process.stdout:
      lines.put(line)
    lines.put(None)

  threading.Thread(target=pump, daemon=True).start()
  deadline = time.time() + timeout
  seen = []
  while time.time() < deadline:
    try:
      line = lines.get(timeout=max(0.1, deadline - time.time()))
    except queue.Empty:
      break
    if line is None:
      break
    seen.append(line)
    match = re.search(r'listening on http://127\.0\.0\.1:(\d+)/', line)
    if match:
      return int(match.group(1))
  raise AssertionError('the server did not start (exit %s):\n%s' % (
      process.poll(), ''.join(seen[-20:])))


def stop_process_group(process):
  """SIGTERM, then SIGKILL, to a process started with start_new_session."""
  if process.poll() is None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
      process.wait(timeout=20)
    except subprocess.TimeoutExpired:
      os.killpg(process.pid, signal.SIGKILL)
      process.wait(timeout=20)


# HTTP on loopback.


def get_json(url, timeout=10):
  with NO_PROXY.open(url, timeout=timeout) as response:
    return json.loads(response.read().decode('utf-8'))


def classify_over_http(port, image_path, content_type=None, timeout=60):
  """POSTs an image file to /api/classify on `port`; the JSON answer.

  `content_type` defaults to the one the file's extension implies.
  """
  content_type = content_type or mimetypes.guess_type(image_path)[0]
  with open(image_path, 'rb') as f:
    request = urllib.request.Request(
        'http://127.0.0.1:%d/api/classify' % port, data=f.read(),
        headers={'Content-Type': content_type or 'application/octet-stream'})
  with NO_PROXY.open(request, timeout=timeout) as response:
    return json.loads(response.read())


# TensorBoard: a short training run and a `tensorboard` serving it.

TENSORBOARD = os.path.join(os.path.dirname(sys.executable), 'tensorboard')
TENSORBOARD_TAGS = ('total_loss', 'learning_rate')
# Steps take ~5 ms on LeNet: 800 of them span several one-second summaries.
# The learning rate falls linearly over the run, so its curve is not flat.
SHORT_RUN_FLAGS = ('--model_name=lenet', '--max_number_of_steps=800',
                   '--batch_size=2', '--optimizer=sgd',
                   '--learning_rate=0.002',
                   '--learning_rate_decay_type=polynomial',
                   '--num_epochs_per_decay=160', '--save_summaries_secs=1',
                   '--clone_on_cpu=True', '--num_readers=1',
                   '--num_preprocessing_threads=1', '--log_every_n_steps=400')


def train_short_run(work_dir):
  """Trains LeNet on a generated dataset; returns its train_dir."""
  dataset_dir = os.path.join(work_dir, 'quiz')
  write_dataset(dataset_dir)
  train_dir = os.path.join(work_dir, 'train')
  succeeds('train_image_classifier.py', '--dataset_name=quiz',
           '--dataset_dir=' + dataset_dir, '--train_dir=' + train_dir,
           *SHORT_RUN_FLAGS)
  return train_dir


def event_scalars(train_dir, tag):
  """[(step, value)] of `tag` in the run's event files, one per step.

  A step summarised twice (the summary thread fires again while one slow
  step runs) keeps its last value, as TensorBoard shows it.
  """
  values = {}
  for path in sorted(glob.glob(os.path.join(train_dir,
                                            'events.out.tfevents.*'))):
    for event in tf.train.summary_iterator(path):
      values.update((event.step, value.simple_value)
                    for value in event.summary.value if value.tag == tag)
  return sorted(values.items())


def served_scalars(base_url, tag):
  """The scalars plugin's (step, value) points of run '.' (the logdir)."""
  url = base_url + 'data/plugin/scalars/scalars?' + urllib.parse.urlencode(
      {'run': '.', 'tag': tag})
  return [(step, value) for _, step, value in get_json(url)]


def wait_for_scalars(process, base_url, expected, timeout=120):
  """Polls until TensorBoard serves every expected point (it loads lazily)."""
  deadline = time.time() + timeout
  served = None
  while time.time() < deadline and process.poll() is None:
    try:
      served = {tag: served_scalars(base_url, tag) for tag in expected}
      if all(len(served[tag]) >= len(points)
             for tag, points in expected.items()):
        return served
    except (urllib.error.URLError, ConnectionError, ValueError):
      pass  # not listening yet, or the run is not loaded yet (400)
    time.sleep(0.5)
  process.log.seek(0)
  raise AssertionError('TensorBoard (exit %s) served %s, not %s:\n%s' % (
      process.poll(), served, expected, process.log.read()[-3000:]))


@contextlib.contextmanager
def running_tensorboard(logdir, log_path):
  """Starts the venv's `tensorboard` on a loopback port; yields (proc, url).

  The process's output goes to `log_path` (`proc.log`, open for reading).
  """
  assert os.access(TENSORBOARD, os.X_OK), (
      '%s missing: pip install -r requirements.txt' % TENSORBOARD)
  [port] = free_loopback_ports()
  with open(log_path, 'w+') as log:
    # Started beside the logdir: the page shows --logdir as given, 'train'.
    process = start_script(TENSORBOARD, '--logdir=' + os.path.basename(logdir),
                           '--host=127.0.0.1', '--port=%d' % port,
                           cwd=os.path.dirname(logdir), stdout=log)
    process.log = log
    try:
      yield process, 'http://127.0.0.1:%d/' % port
    finally:
      stop_process_group(process)
