"""Evaluates an exported model file (.pb, .tflite, .onnx) on a dataset split.

The images go through the evaluation input pipeline of
eval_image_classifier.py with the preprocessing the file records, the
network runs in the file's runtime, and the grader lines are printed exactly
as a checkpoint's evaluation prints them:

    runner = inference.open_runner('/tmp/model_int8.tflite')
    dataset = pipeline.load_dataset('fashion_mnist', 'test', '/data/fmnist')
    metrics = model_evaluation.evaluate_model_file(runner, dataset, 100)
    # prints  eval/Accuracy[0.93...]
    #         eval/Recall_5[0.99...]

`numpy_batches` is also what int8 calibration reads its images with, so
calibration sees exactly what evaluation sees.
"""

import numpy as np

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf

from deployment import evaluation
from deployment.errors import one_line
from deployment.errors import UserError
from preprocessing import preprocessing_factory


def info_preprocessing(info):
  """The evaluation preprocessing function an export's info names."""
  return preprocessing_factory.get_preprocessing(
      info['preprocessing_name'], is_training=False,
      use_grayscale=info['use_grayscale'])


def numpy_batches(dataset, info, batch_size, preprocess_fn=None,
                  max_images=None, num_preprocessing_threads=4):
  """Yields `(images float32, labels int64)` batches of one split, in order.

  Args:
    dataset: a split's descriptor (`pipeline.load_dataset`).
    info: an export's `inference_info` (image size, channels, offset).
    batch_size: images per batch (the last may be short).
    preprocess_fn: None: the preprocessing `info` names.
    max_images: stop after this many images; None: the whole split.
    num_preprocessing_threads: parallel decode + preprocess calls.

  Raises:
    UserError: a record cannot be decoded.
  """
  from datasets import input_pipeline  # pylint: disable=g-import-not-at-top
  with tf.Graph().as_default() as graph:
    data = input_pipeline.make_dataset(
        dataset, preprocess_fn or info_preprocessing(info), batch_size,
        is_training=False, image_size=info['image_size'],
        channels=info['channels'],
        num_preprocessing_threads=num_preprocessing_threads,
        labels_offset=info['labels_offset'], num_epochs=1)
    if max_images:
      data = data.unbatch().take(max_images).batch(batch_size)
    next_batch = tf.data.make_one_shot_iterator(data).get_next()
  with tf.Session(graph=graph) as session:
    while True:
      try:
        yield session.run(next_batch)
      except tf.errors.OutOfRangeError:
        return
      except tf.errors.InvalidArgumentError as error:
        raise UserError(
            'a record of split %s cannot be read (%s); re-convert the '
            'dataset' % (dataset.name, one_line(error.message)[:200])
        ) from error


def evaluate_model_file(runner, dataset, batch_size, max_num_batches=None,
                        num_preprocessing_threads=4):
  """Accuracy and Recall_5 of `runner` (`inference.open_runner`) on a split.

  Prints the grader lines; returns {metric name: float32 value}.

  Raises:
    UserError: the split is empty, or its classes are not the model's.
  """
  info = runner.info
  k = evaluation.recall_k(info['num_classes'])
  if k < evaluation.RECALL_K:
    tf.logging.info('%s is top-%d accuracy: the model has only %d classes',
                    evaluation.RECALL_5, k, k)
  correct = in_top_k = total = 0
  max_images = max_num_batches * batch_size if max_num_batches else None
  for images, labels in numpy_batches(dataset, info, batch_size,
                                      max_images=max_images,
                                      num_preprocessing_threads=(
                                          num_preprocessing_threads)):
    probabilities = runner.run(images)
    if probabilities.shape[-1] != info['num_classes']:
      raise UserError('the model answers %d classes, its info says %d; '
                      'export it again' % (probabilities.shape[-1],
                                           info['num_classes']))
    order = np.argsort(-probabilities, axis=1, kind='stable')
    correct += int(np.sum(order[:, 0] == labels))
    in_top_k += int(np.sum(np.any(order[:, :k] == labels[:, None], axis=1)))
    total += len(labels)
    tf.logging.info('Evaluation [%d images]', total)
  if not total:
    raise UserError('the evaluated split has no records; check --dataset_dir '
                    'and --dataset_split_name')
  metrics = {evaluation.ACCURACY: np.float32(correct) / np.float32(total),
             evaluation.RECALL_5: np.float32(in_top_k) / np.float32(total)}
  evaluation.print_metrics(metrics)
  return metrics
