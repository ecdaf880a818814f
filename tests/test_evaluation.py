"""deployment/evaluation.py: metrics, the grader lines, once and loop modes."""

import os
import threading
import time
import types

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import common_flags
import evaluation_helpers as helpers
from deployment import evaluation
from deployment import checkpoints


@pytest.fixture
def dataset_dir(evaluation_dataset_dir):
  return evaluation_dataset_dir  # conftest's, built once per session


def _pipeline(dataset_dir, model_name='lenet', labels_offset=0):
  flags_obj = types.SimpleNamespace(
      dataset_name='quiz', dataset_split_name='validation',
      dataset_dir=dataset_dir, labels_offset=labels_offset,
      model_name=model_name, preprocessing_name=None, use_grayscale=False)
  return common_flags.build_pipeline(flags_obj, is_training=False,
                                     image_size=28)


def _eval_graph(dataset_dir, batch_size=5, **kwargs):
  return evaluation.build_eval_graph(_pipeline(dataset_dir, **kwargs),
                                     batch_size)


def test_metric_lines_print_float32_with_nine_digits():
  assert evaluation.format_metric(
      evaluation.ACCURACY, np.float32(1033) / 4096) == (
          'eval/Accuracy[0.252197266]')
  assert evaluation.format_metric(evaluation.RECALL_5, 1.0) == (
      'eval/Recall_5[1]')


def test_recall_k_is_capped_by_the_class_count():
  assert evaluation.recall_k(200) == 5
  assert evaluation.recall_k(3) == 3


def test_num_batches_covers_the_split_or_stops_at_max():
  assert evaluation.num_batches_for(24, 5) == 5
  assert evaluation.num_batches_for(24, 5, max_num_batches=2) == 2


def test_streaming_metrics_match_numpy_over_two_batches():
  rng = np.random.RandomState(3)
  logits = rng.normal(size=(2, 16, 7)).astype(np.float32)
  labels = rng.randint(0, 7, size=(2, 16)).astype(np.int64)
  with tf.Graph().as_default():
    logits_in = tf.placeholder(tf.float32, [None, 7])
    labels_in = tf.placeholder(tf.int64, [None])
    values, updates = evaluation.build_metrics(logits_in, labels_in, 7)
    with tf.Session() as sess:
      sess.run(tf.local_variables_initializer())
      for batch in range(2):
        sess.run(updates, {logits_in: logits[batch], labels_in: labels[batch]})
      got = sess.run(values)
  flat_logits, flat_labels = logits.reshape(-1, 7), labels.reshape(-1)
  top5 = np.argsort(-flat_logits, axis=1)[:, :5]
  assert got[evaluation.ACCURACY] == pytest.approx(
      np.mean(flat_logits.argmax(1) == flat_labels))
  assert got[evaluation.RECALL_5] == pytest.approx(
      np.mean([label in row for label, row in zip(flat_labels, top5)]))


def test_evaluate_checkpoint_gives_known_metrics_and_summaries(
    dataset_dir, tmp_path, capsys):
  checkpoint = helpers.write_biased_checkpoint(str(tmp_path / 'train'), 7)
  eval_dir = str(tmp_path / 'eval')
  evaluation.prepare_eval_dir(eval_dir)
  graph = _eval_graph(dataset_dir)
  # 24 images in batches of 5: the last, short batch must count too.
  result = evaluation.evaluate_checkpoint(graph, checkpoint, 10, eval_dir)
  assert result.global_step == 7 and result.num_batches == 5
  out = capsys.readouterr().out.splitlines()
  assert out == [
      evaluation.format_metric('eval/Accuracy', helpers.EXPECTED_ACCURACY),
      evaluation.format_metric('eval/Recall_5', helpers.EXPECTED_RECALL_5)]
  events = tf.gfile.Glob(os.path.join(eval_dir, 'events.out.tfevents.*'))
  scalars = {(value.tag, event.step): value.simple_value
             for path in events for event in tf.train.summary_iterator(path)
             for value in event.summary.value}
  assert scalars[('eval/Accuracy', 7)] == pytest.approx(1 / 6.)
  assert scalars[('eval/Recall_5', 7)] == pytest.approx(5 / 6.)


def test_max_num_batches_limits_the_pass(dataset_dir, tmp_path):
  checkpoint = helpers.write_biased_checkpoint(str(tmp_path), 3)
  result = evaluation.evaluate_checkpoint(_eval_graph(dataset_dir), checkpoint,
                                          2)
  assert result.num_batches == 2


def test_checkpoint_without_global_step_takes_it_from_its_name(
    dataset_dir, tmp_path):
  checkpoint = helpers.write_biased_checkpoint(str(tmp_path), 42,
                                               with_global_step=False)
  result = evaluation.evaluate_checkpoint(_eval_graph(dataset_dir), checkpoint,
                                          1)
  assert result.global_step == 42


def test_moving_averages_replace_the_weights(dataset_dir, tmp_path):
  """The shadow biases are all equal: every class ties, so all are top-5."""
  checkpoint = helpers.write_biased_checkpoint(str(tmp_path), 5)
  with tf.Graph().as_default():
    reader = tf.train.load_checkpoint(checkpoint)
    variables = []
    for name in reader.get_variable_to_shape_map():
      value = reader.get_tensor(name)
      variables.append(tf.Variable(value, name=name))
      if name.startswith('LeNet/'):
        shadow = np.zeros_like(value)
        variables.append(tf.Variable(shadow, name=name +
                                     '/ExponentialMovingAverage'))
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      averaged = tf.train.Saver(variables).save(
          sess, str(tmp_path / 'ema.ckpt'), global_step=5)
  graph = evaluation.build_eval_graph(_pipeline(dataset_dir), 5,
                                      moving_average_decay=0.99)
  result = evaluation.evaluate_checkpoint(graph, averaged, 10)
  assert result.metrics[evaluation.RECALL_5] == pytest.approx(1.0)


def test_wrong_class_count_names_the_variable_and_shapes(tmp_path):
  data_dir = str(tmp_path / 'data3')
  helpers.write_dataset(data_dir, num_classes=3)
  checkpoint = helpers.write_biased_checkpoint(str(tmp_path / 'ckpt'), 1)
  with pytest.raises(common_flags.UserError,
                     match=r'LeNet/fc4/biases has shape \[3\] in the model '
                     r'but \[6\] in checkpoint'):
    evaluation.evaluate_checkpoint(_eval_graph(data_dir), checkpoint, 1)


def test_other_model_says_the_checkpoint_lacks_its_variables(
    dataset_dir, tmp_path):
  checkpoint = helpers.write_biased_checkpoint(str(tmp_path), 1)
  with pytest.raises(common_flags.UserError,
                     match=r'variable CifarNet/\S+ is not in checkpoint \S+ '
                     r'\(which holds variables under LeNet/'):
    evaluation.evaluate_checkpoint(
        _eval_graph(dataset_dir, model_name='cifarnet'), checkpoint, 1)


def test_eval_dir_that_cannot_be_created_is_one_clear_error(tmp_path):
  # A file in the way fails for root too (a read-only dir would not).
  blocker = tmp_path / 'blocker'
  blocker.write_text('')
  with pytest.raises(common_flags.UserError, match='--eval_dir=.*blocker'):
    evaluation.prepare_eval_dir(str(blocker / 'eval'))


def test_loop_evaluates_a_new_checkpoint_then_times_out(dataset_dir,
                                                        tmp_path):
  train_dir = str(tmp_path)
  helpers.write_biased_checkpoint(train_dir, 7)
  graph = _eval_graph(dataset_dir)
  writer = threading.Timer(
      1.0, helpers.write_biased_checkpoint, args=(train_dir, 9))
  writer.start()
  start = time.time()
  results = evaluation.evaluation_loop(graph, train_dir, 1, None,
                                       eval_interval_secs=0,
                                       eval_timeout_secs=4)
  writer.join()
  assert [r.global_step for r in results] == [7, 9]
  assert time.time() - start >= 4  # it waited out the timeout at the end


def test_loop_stops_after_the_final_step_without_waiting(dataset_dir,
                                                         tmp_path):
  train_dir = str(tmp_path)
  helpers.write_biased_checkpoint(train_dir, 7)
  graph = _eval_graph(dataset_dir)
  start = time.time()
  results = evaluation.evaluation_loop(graph, train_dir, 1, None, 0,
                                       eval_timeout_secs=60, final_step=7)
  assert [r.global_step for r in results] == [7]
  assert time.time() - start < 30


def test_loop_reads_the_final_step_the_training_recorded(dataset_dir,
                                                         tmp_path):
  train_dir = str(tmp_path)
  helpers.write_biased_checkpoint(train_dir, 4)
  (tmp_path / checkpoints.FINAL_STEP_FILE).write_text('4\n')
  start = time.time()
  results = evaluation.evaluation_loop(_eval_graph(dataset_dir), train_dir, 1,
                                       None, 0, eval_timeout_secs=60)
  assert [r.global_step for r in results] == [4]
  assert time.time() - start < 30


def test_a_vanished_checkpoint_is_left_to_the_loop_to_skip(dataset_dir,
                                                           tmp_path):
  # The trainer deletes old checkpoints; the loop catches NotFoundError.
  with pytest.raises(tf.errors.NotFoundError):
    evaluation.evaluate_checkpoint(_eval_graph(dataset_dir),
                                   str(tmp_path / 'model.ckpt-3'), 1)
