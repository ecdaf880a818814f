"""nets/mobilenet_v1_train.py and nets/mobilenet_v1_eval.py: upstream's
command lines on the project's training and evaluation, at a tiny size."""

import os
import re
import types

import pytest
import tensorflow.compat.v1 as tf

import deployment_helpers as helpers
from deployment import pipeline
from deployment.errors import UserError
import mobilenet_v1_flags
import training_flags

TRAIN = 'nets/mobilenet_v1_train.py'
EVAL = 'nets/mobilenet_v1_eval.py'
# Width 0.25 at 32x32 keeps each run to seconds; the 5-class quiz dataset.
TINY = ('--depth_multiplier=0.25', '--image_size=32',
        '--num_classes=%d' % helpers.NUM_CLASSES, '--dataset_name=quiz')
FLOAT_RUN_LINE = 'learning rate 0.045, quantize_delay -1'


def _train(dataset_dir, checkpoint_dir, *args):
  return helpers.succeeds(
      TRAIN, '--dataset_dir=%s' % dataset_dir,
      '--checkpoint_dir=%s' % checkpoint_dir, '--batch_size=2',
      '--log_every_n_steps=1', *(TINY + args))


def _evaluate(dataset_dir, checkpoint_dir, eval_dir, *args):
  output = helpers.succeeds(
      EVAL, '--dataset_dir=%s' % dataset_dir,
      '--checkpoint_dir=%s' % checkpoint_dir, '--eval_dir=%s' % eval_dir,
      '--batch_size=4', *(TINY + args))
  accuracy = helpers.ACCURACY_LINE.findall(output)
  assert len(accuracy) == 1 and 0.0 <= float(accuracy[0]) <= 1.0, output
  assert len(re.findall(r'^eval/Recall_5\[[0-9.e-]+\]$', output,
                        re.M)) == 1, output
  return output


@pytest.fixture(scope='module')
def float_checkpoint_dir(deployment_dataset_dir, tmp_path_factory):
  """Two steps of float training from scratch, and the run's log."""
  checkpoint_dir = str(tmp_path_factory.mktemp('mobilenet_v1_float'))
  log = _train(deployment_dataset_dir, checkpoint_dir, '--number_of_steps=2',
               '--dataset_split_name=train')
  return checkpoint_dir, log


def test_train_then_evaluate(deployment_dataset_dir, float_checkpoint_dir,
                             tmp_path):
  checkpoint_dir, log = float_checkpoint_dir
  assert FLOAT_RUN_LINE in log  # upstream's from-scratch recipe
  checkpoint = tf.train.latest_checkpoint(checkpoint_dir)
  assert checkpoint.endswith('model.ckpt-2')
  shapes = dict(tf.train.list_variables(checkpoint))
  # --depth_multiplier=0.25 thins 32 filters to 8; --num_classes sets 5.
  assert shapes['MobilenetV1/Conv2d_0/weights'] == [3, 3, 3, 8]
  assert shapes['MobilenetV1/Logits/Conv2d_1c_1x1/biases'] == [5]
  _evaluate(deployment_dataset_dir, checkpoint_dir, str(tmp_path / 'eval'))
  assert tf.io.gfile.glob(str(tmp_path / 'eval' / 'events.out.tfevents.*'))


def test_fine_tuning_starts_from_the_checkpoint_at_upstreams_rate(
    deployment_dataset_dir, float_checkpoint_dir, tmp_path):
  source, _ = float_checkpoint_dir
  log = _train(deployment_dataset_dir, str(tmp_path / 'tuned'),
               '--number_of_steps=1', '--fine_tune_checkpoint=%s' % source)
  assert 'learning rate 0.0001, quantize_delay -1' in log
  assert 'Fine-tuning from %s' % os.path.join(source, 'model.ckpt-2') in log


def test_help_lists_upstreams_flags():
  # The exit status of --help is run_main's business, not asserted here.
  train_help = helpers.run_script(TRAIN, '--help').stdout
  for name in ('master', 'task', 'ps_tasks', 'batch_size', 'num_classes',
               'number_of_steps', 'image_size', 'depth_multiplier',
               'quantize', 'fine_tune_checkpoint', 'checkpoint_dir',
               'dataset_dir', 'log_every_n_steps', 'save_summaries_secs',
               'save_interval_secs', 'dataset_name'):
    assert '--%s' % name in train_help.replace('--[no]', '--'), name
  eval_help = helpers.run_script(EVAL, '--help').stdout
  for name in ('master', 'batch_size', 'num_classes', 'num_examples',
               'image_size', 'depth_multiplier', 'quantize', 'checkpoint_dir',
               'eval_dir', 'dataset_dir', 'dataset_name'):
    assert '--%s' % name in eval_help.replace('--[no]', '--'), name
  assert "(default: '64')" in train_help and "(default: '250')" in eval_help


def test_bad_input_is_one_line(deployment_dataset_dir):
  # Upstream's name for the training directory, not train_dir.
  line = helpers.error_line(helpers.run_script(
      TRAIN, '--dataset_dir=%s' % deployment_dataset_dir, *TINY))
  assert line.startswith('ERROR: --checkpoint_dir is required'), line


def test_num_classes_may_leave_out_class_zero_only():
  dataset = types.SimpleNamespace(name='imagenet', num_classes=1001)
  assert mobilenet_v1_flags.labels_offset(dataset, 1001) == 0
  assert mobilenet_v1_flags.labels_offset(dataset, 1000) == 1
  for wrong in (999, 1002):
    with pytest.raises(UserError, match='--num_classes=1001 \\(or 1000'):
      mobilenet_v1_flags.labels_offset(dataset, wrong)


def test_quantized_fine_tuning_and_evaluation(deployment_dataset_dir,
                                              float_checkpoint_dir, tmp_path):
  source, _ = float_checkpoint_dir
  checkpoint_dir = str(tmp_path / 'quant')
  log = _train(deployment_dataset_dir, checkpoint_dir, '--number_of_steps=2',
               '--quantize=True', '--fine_tune_checkpoint=%s' % source)
  # Upstream quantizes a fine-tuned float network from the first step.
  assert 'learning rate 0.0001, quantize_delay 0' in log
  names = [name for name, _ in tf.train.list_variables(checkpoint_dir)]
  assert any('weights_quant/min' in name for name in names), names
  assert any('act_quant/max' in name for name in names), names
  _evaluate(deployment_dataset_dir, checkpoint_dir, str(tmp_path / 'eval'),
            '--quantize=True')


def test_training_flag_defaults_are_slims_and_leave_no_flag_defined():
  flag_values = tf.app.flags.FLAGS
  before = set(flag_values)
  defaults = training_flags.training_flag_defaults()
  assert set(flag_values) == before
  # train_image_classifier.py's defaults (slim's), every training flag.
  assert (defaults['batch_size'], defaults['optimizer'],
          defaults['learning_rate'], defaults['train_dir'],
          defaults['max_number_of_steps'], defaults['dataset_name']) == (
              32, 'rmsprop', 0.01, '/tmp/tfmodel/', None, 'imagenet')
  assert len(defaults) > 40
  assert training_flags.training_flag_defaults() == defaults  # repeatable


def test_network_kwargs_reach_every_call_of_the_network():
  dataset = types.SimpleNamespace(name='fake', num_classes=5, channels=3)
  with tf.Graph().as_default():
    parts = pipeline.build_pipeline(
        dataset, 'mobilenet_v1', is_training=False, image_size=32,
        network_kwargs={'depth_multiplier': 0.25})
    assert parts.network_fn.default_image_size == 224
    parts.network_fn(tf.zeros([1, 32, 32, 3]))
    shapes = {v.op.name: v.shape.as_list() for v in tf.global_variables()}
  assert shapes['MobilenetV1/Conv2d_0/weights'] == [3, 3, 3, 8]
