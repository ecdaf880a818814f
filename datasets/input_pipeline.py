"""The tf.data reader that replaces slim's queue-based DatasetDataProvider.

    descriptor = dataset_factory.get_dataset('quiz', 'train', dataset_dir)
    preprocess = preprocessing_factory.get_preprocessing('densenet', True)
    ds = input_pipeline.make_dataset(descriptor, preprocess, batch_size=32,
                                     is_training=True, image_size=224)
    images, labels = tf.data.make_one_shot_iterator(ds).get_next()

Works the same in graph mode (`tf.compat.v1`, what the slim scripts use) and
eagerly.
"""

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf

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
