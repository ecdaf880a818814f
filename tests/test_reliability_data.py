"""Data that is not what it claims: one line naming the shard, never a result.

Records flipped, cut short, replaced by random bytes, without their image,
or whose image is no image: the reader's TensorFlow error names no file, so
`input_pipeline.find_bad_record` finds it, and training, evaluation and
train_eval (which trains and evaluates with the same code) say which shard
and record to reconvert.
"""

import glob
import os
import shutil

import pytest
import tensorflow.compat.v1 as tf

import deployment_helpers as helpers
from datasets import fake_data
from datasets import input_pipeline
from deployment import pipeline
from deployment import training
from deployment.errors import UserError

TINY = ['--dataset_name=quiz', '--model_name=lenet',
        '--num_preprocessing_threads=1']


@pytest.fixture(scope='module')
def good_dataset(tmp_path_factory):
  path = str(tmp_path_factory.mktemp('quiz') / 'good')
  fake_data.write_fake_dataset(path, 'quiz', num_classes=3,
                               images_per_class={'train': 4, 'validation': 2},
                               image_shape=(28, 28, 3))
  return path


def _rewrite_records(shard, change):
  """Rewrites every record of `shard` with `change(tf.train.Example)`."""
  examples = [tf.train.Example.FromString(record)
              for record in tf.io.tf_record_iterator(shard)]
  with tf.io.TFRecordWriter(shard) as writer:
    for example in examples:
      change(example.features.feature)
      writer.write(example.SerializeToString())


def _flip_bytes(shard):
  data = bytearray(open(shard, 'rb').read())
  middle = len(data) // 2
  data[middle:middle + 16] = bytes(255 - b for b in data[middle:middle + 16])
  open(shard, 'wb').write(bytes(data))


def _truncate(shard):
  with open(shard, 'r+b') as handle:
    # Not on a record boundary, where a cut would go unnoticed.
    handle.truncate(os.path.getsize(shard) * 2 // 3 - 5)


def _random_bytes(shard):
  size = os.path.getsize(shard)
  open(shard, 'wb').write(os.urandom(size))


def _without_image(shard):
  def change(feature):
    feature['image/wrong_key'].CopyFrom(feature['image/encoded'])
    del feature['image/encoded']
  _rewrite_records(shard, change)


def _not_an_image(shard):
  def change(feature):
    feature['image/encoded'].bytes_list.value[0] = b'just some text'
  _rewrite_records(shard, change)


# (how the shard is broken, the record found bad, what the line says)
DAMAGES = {
    'flipped': (_flip_bytes, None, 'corrupted record'),
    'truncated': (_truncate, None, 'truncated record'),
    'random': (_random_bytes, 0, 'corrupted record at 0'),
    'no_image': (_without_image, 0, 'it has no image/encoded feature'),
    'not_an_image': (_not_an_image, 0, 'is not a JPEG, PNG, GIF or BMP'),
}


def damaged_copy(good_dataset, target, damage, split='validation'):
  """A copy of the dataset whose second shard of `split` is damaged."""
  shutil.copytree(good_dataset, target)
  shard = sorted(glob.glob(os.path.join(target, 'quiz_%s_*' % split)))[1]
  DAMAGES[damage][0](shard)
  return shard


@pytest.mark.parametrize('damage', sorted(DAMAGES))
def test_the_bad_shard_and_record_are_found(good_dataset, tmp_path, damage):
  shard = damaged_copy(good_dataset, str(tmp_path / 'data'), damage)
  shards = sorted(glob.glob(str(tmp_path / 'data' / 'quiz_validation_*')))
  bad = input_pipeline.find_bad_record(shards)
  _, index, problem = DAMAGES[damage]
  assert bad.shard == shard
  if index is not None:
    assert bad.index == index
  assert problem in bad.problem


def test_an_intact_split_has_no_bad_record(good_dataset):
  shards = glob.glob(os.path.join(good_dataset, 'quiz_*.tfrecord'))
  assert input_pipeline.find_bad_record(shards) is None


def test_the_search_gives_up_after_its_time_budget(good_dataset):
  ticks = iter(range(1000))
  shards = sorted(glob.glob(os.path.join(good_dataset, 'quiz_train_*')))
  assert input_pipeline.find_bad_record(
      shards, time_budget_secs=1.5, clock=lambda: next(ticks)) is None


def test_the_reader_error_becomes_one_line_naming_the_shard(good_dataset,
                                                            tmp_path):
  shard = damaged_copy(good_dataset, str(tmp_path / 'data'), 'flipped')
  dataset = pipeline.load_dataset('quiz', 'validation',
                                  str(tmp_path / 'data'))
  error = tf.errors.DataLossError(None, None, 'corrupted record at 5691')
  assert pipeline.is_data_error(error)
  message = str(pipeline.bad_data_error(dataset, error))
  assert '\n' not in message
  assert 'of %s (quiz split validation)' % shard in message
  assert 'convert the dataset again' in message


def _assert_names_the_shard(result, shard):
  line = helpers.error_line(result)
  assert shard in line, line
  assert 'convert the dataset again' in line, line


def test_evaluation_of_a_corrupt_shard_is_one_line(good_dataset, tmp_path):
  shard = damaged_copy(good_dataset, str(tmp_path / 'data'), 'truncated')
  helpers.write_checkpoint(str(tmp_path / 'train'), 'lenet', num_classes=3,
                           image_size=28)
  result = helpers.run_script(
      'eval_image_classifier.py', '--dataset_dir=%s' % (tmp_path / 'data'),
      '--dataset_split_name=validation', '--eval_image_size=28',
      '--batch_size=2', '--checkpoint_path=%s' % (tmp_path / 'train'),
      '--eval_dir=%s' % (tmp_path / 'eval'), *TINY)
  _assert_names_the_shard(result, shard)
  assert 'eval/Accuracy' not in result.stdout


def test_training_on_records_that_are_no_images_is_one_line(good_dataset,
                                                           tmp_path):
  shard = damaged_copy(good_dataset, str(tmp_path / 'data'), 'not_an_image',
                       split='train')
  train_dir = str(tmp_path / 'train')
  result = helpers.run_script(
      'train_image_classifier.py', '--dataset_dir=%s' % (tmp_path / 'data'),
      '--train_dir=%s' % train_dir, '--train_image_size=28', '--batch_size=2',
      '--max_number_of_steps=20', '--save_interval_secs=100000',
      '--num_readers=1', *TINY)
  _assert_names_the_shard(result, shard)
  assert not os.path.exists(os.path.join(train_dir, 'final_step'))


def test_a_first_shard_of_random_bytes_is_named_before_training(good_dataset,
                                                                tmp_path):
  shutil.copytree(good_dataset, str(tmp_path / 'data'))
  first = sorted(glob.glob(str(tmp_path / 'data' / 'quiz_train_*')))[0]
  _random_bytes(first)
  dataset = pipeline.load_dataset('quiz', 'train', str(tmp_path / 'data'))
  with pytest.raises(UserError) as error:
    training.check_has_records(dataset, 'train')
  assert 'record 0 (counting from 0) of %s' % first in str(error.value)
