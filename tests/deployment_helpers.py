"""Shared set-up for the export/freeze/label_image/server tests.

A tiny generated dataset, a checkpoint of freshly initialised weights, and
the frozen graph and SavedModel exported from it.
"""

import glob
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request

import tensorflow.compat.v1 as tf

from datasets import dataset_factory
from datasets import fake_data
from datasets import input_pipeline
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


def write_dataset(dataset_dir, num_classes=NUM_CLASSES):
  """A small quiz-format dataset; returns its labels_to_names."""
  return fake_data.write_fake_dataset(
      dataset_dir, 'quiz', num_classes=num_classes,
      images_per_class={'train': 2, 'validation': 2}, image_shape=(36, 44, 3))


def write_checkpoint(train_dir, model_name, num_classes=NUM_CLASSES,
                     image_size=None, channels=3, seed=1):
  """Initialises `model_name` and saves it; returns the checkpoint prefix."""
  with tf.Graph().as_default():
    tf.set_random_seed(seed)
    network_fn = nets_factory.get_network_fn(model_name, num_classes)
    size = image_size or network_fn.default_image_size
    network_fn(tf.placeholder(tf.float32, [None, size, size, channels]))
    tf.train.get_or_create_global_step()
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
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
  examples = []
  pattern = os.path.join(dataset_dir, 'quiz_%s_*.tfrecord' % split_name)
  for path in sorted(glob.glob(pattern)):
    for record in tf.io.tf_record_iterator(path):
      example = tf.train.Example.FromString(record)
      feature = example.features.feature
      examples.append((feature['image/encoded'].bytes_list.value[0],
                       feature['image/class/label'].int64_list.value[0]))
  return examples


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


def eval_graph_predictions(dataset_dir, train_dir, model_name, image_size=None,
                           split_name='validation', preprocessing_name=None):
  """Top-1 classes of the evaluation pipeline (input_pipeline + network)."""
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
    top1 = tf.argmax(logits, axis=1)
    predictions = []
    with tf.Session() as sess:
      tf.train.Saver().restore(sess, tf.train.latest_checkpoint(train_dir))
      while True:
        try:
          predictions.extend(sess.run(top1).tolist())
        except tf.errors.OutOfRangeError:
          return predictions


def run_script(script, *args, timeout=240):
  """Runs a repository script; returns the CompletedProcess (text)."""
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2', CUDA_VISIBLE_DEVICES='')
  return subprocess.run([sys.executable, os.path.join(ROOT, script)] +
                        list(args), cwd=ROOT, env=env, capture_output=True,
                        text=True, timeout=timeout, check=False)


def succeeds(script, *args, timeout=400):
  """Runs a repository script, asserts exit 0; returns stdout + stderr."""
  result = run_script(script, *args, timeout=timeout)
  assert result.returncode == 0, '%s failed:\n%s' % (
      script, (result.stdout + result.stderr)[-3000:])
  return result.stdout + result.stderr


def label_image_top1(model, paths):
  """label_image.py's top-1 class id of each image file."""
  output = succeeds('label_image.py', '--graph=' + model, '--top_k=1', *paths)
  top1 = dict(TOP1_LINE.findall(output))
  return [int(top1[path]) for path in paths]


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
