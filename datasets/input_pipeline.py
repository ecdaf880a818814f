"""The tf.data reader that replaces slim's queue-based DatasetDataProvider.

    descriptor = dataset_factory.get_dataset('quiz', 'train', dataset_dir)
    preprocess = preprocessing_factory.get_preprocessing('densenet', True)
    ds = input_pipeline.make_dataset(descriptor, preprocess, batch_size=32,
                                     is_training=True, image_size=224)
    images, labels = tf.data.make_one_shot_iterator(ds).get_next()

Works the same in graph mode (`tf.compat.v1`, what the slim scripts use) and
eagerly.
"""

import collections
import time

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf

from datasets import dataset_utils

AUTOTUNE = tf.data.experimental.AUTOTUNE


def _shuffle_buffer_size(descriptor, batch_size, requested):
  if requested:
    return int(requested)
  # Records are still encoded here, so the buffer is cheap; slim's queue kept
  # 10-20 batches. Cap it at the split so a tiny dataset shuffles fully.
  return max(1, min(max(1000, 20 * batch_size), descriptor.num_samples))


def _read_records(descriptor, is_training, num_readers, seed):
  """Interleaves the shards for training, reads them in order otherwise."""
  files = tf.data.Dataset.from_tensor_slices(descriptor.data_sources)
  if not is_training:
    return files.flat_map(tf.data.TFRecordDataset)
  files = files.shuffle(len(descriptor.data_sources), seed=seed,
                        reshuffle_each_iteration=True)
  cycle_length = max(1, min(num_readers, len(descriptor.data_sources)))
  return files.interleave(tf.data.TFRecordDataset, cycle_length=cycle_length,
                          num_parallel_calls=cycle_length,
                          deterministic=seed is not None)


def make_dataset(descriptor, preprocess_fn, batch_size, is_training,
                 image_size, channels=3, num_readers=4,
                 num_preprocessing_threads=4, labels_offset=0,
                 num_epochs=None, shuffle_buffer_size=None, seed=None):
  """Builds the batched input of one split.

  Args:
    descriptor: from `dataset_factory.get_dataset`.
    preprocess_fn: `fn(image uint8, height, width) -> float32 image`, e.g.
      from `preprocessing_factory.get_preprocessing`.
    batch_size: images per batch.
    is_training: training shuffles shards and records, repeats, and drops the
      last partial batch (static batch size); evaluation reads in file order
      and keeps the last partial batch.
    image_size: height and width handed to `preprocess_fn`.
    channels: 1 or 3, what the network takes; images are converted.
    num_readers: shards read at once while training.
    num_preprocessing_threads: parallel decode + preprocess calls.
    labels_offset: subtracted from every label (1 to drop imagenet's
      background class, as slim).
    num_epochs: passes over the data; None = forever when training, one pass
      when evaluating.
    shuffle_buffer_size: records in the shuffle buffer (training only).
    seed: shuffle seed; also makes the parallel stages keep their order, so
      a seeded run repeats exactly (tests).

  Returns:
    A `tf.data.Dataset` of (images float32 [B, image_size, image_size,
    channels], labels int64 [B]).
  """
  if channels not in (1, 3):
    raise ValueError('channels must be 1 or 3, got %r' % (channels,))
  records = _read_records(descriptor, is_training, num_readers, seed)
  if is_training:
    records = records.shuffle(
        _shuffle_buffer_size(descriptor, batch_size, shuffle_buffer_size),
        seed=seed, reshuffle_each_iteration=True)
    records = records.repeat(num_epochs)
  elif num_epochs:
    records = records.repeat(num_epochs)

  def parse_and_preprocess(serialized):
    image, label = descriptor.parse(serialized, channels=channels)
    image = preprocess_fn(image, image_size, image_size)
    image = tf.cast(image, tf.float32)
    image.set_shape([image_size, image_size, channels])
    return image, label - labels_offset

  dataset = records.map(parse_and_preprocess,
                        num_parallel_calls=num_preprocessing_threads,
                        deterministic=not is_training or seed is not None)
  dataset = dataset.batch(batch_size, drop_remainder=is_training)
  return dataset.prefetch(AUTOTUNE)


# Where a split's data is broken: the shard, the record's index in it (None
# when the shard cannot be read from its start) and what is wrong with it.
BadRecord = collections.namedtuple('BadRecord', ['shard', 'index', 'problem'])


def _record_problem(serialized):
  """What keeps one serialized record from being read, or None."""
  try:
    features = tf.train.Example.FromString(serialized).features.feature
  except Exception:  # pylint: disable=broad-except  (protobuf's DecodeError)
    return 'it is not a tf.train.Example'
  for key in (dataset_utils.ENCODED_KEY, dataset_utils.LABEL_KEY):
    if key not in features:
      return 'it has no %s feature' % key
  encoded = features[dataset_utils.ENCODED_KEY].bytes_list.value
  if not encoded or not encoded[0].startswith(
      dataset_utils.IMAGE_SIGNATURES):
    return 'its %s is not a JPEG, PNG, GIF or BMP image' % (
        dataset_utils.ENCODED_KEY)
  return None


def find_bad_record(data_sources, time_budget_secs=120.0, clock=time.time):
  """The first record of `data_sources` that the reader cannot use.

  Reads the shards in order, as evaluation does: a record TensorFlow cannot
  read (flipped or cut bytes, a file that is no TFRecord at all), one
  without the image or the label, or whose image bytes are no image format
  `decode_image` knows. Used after the reader failed, since TensorFlow's
  errors do not name the file.

  Args:
    data_sources: the split's shard paths.
    time_budget_secs: give up (None) after this long: a huge split is not
      read through to explain one error.
    clock: the time source (tests).

  Returns:
    A `BadRecord`, or None when none was found (in time).
  """
  deadline = clock() + time_budget_secs
  for shard in data_sources:
    index = 0
    try:
      for serialized in tf.io.tf_record_iterator(shard):
        problem = _record_problem(serialized)
        if problem:
          return BadRecord(shard, index, problem)
        index += 1
        if clock() > deadline:
          return None
    except tf.errors.OpError as error:
      reason = ' '.join((error.message or type(error).__name__).split())
      return BadRecord(shard, index, 'TensorFlow cannot read it (%s)' %
                       reason[:120])
  return None
