"""One way to build what a run needs: dataset, network and preprocessing.

Training, evaluation, export and inference all build their network and
preprocessing here, from plain arguments (the scripts turn their flags into
these arguments in `common_flags`):

    dataset = pipeline.load_dataset('quiz', 'train', '/data/quiz')
    parts = pipeline.build_pipeline(dataset, 'densenet', is_training=True)
    images, labels = pipeline.make_iterator(parts, True, 32).get_next()

Every failure the user can fix (unknown dataset, split, network or
preprocessing, a missing folder, a class offset that leaves no class, a
video network without a clip length) is a one-line `UserError`.
"""

import collections
import functools
import os

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf

from deployment.errors import one_line
from deployment.errors import tensorflow_reason
from deployment.errors import UserError

Pipeline = collections.namedtuple(
    'Pipeline', ['dataset', 'network_fn', 'preprocess_fn', 'image_size',
                 'num_classes', 'channels'])


def load_dataset(dataset_name, split_name, dataset_dir):
  """The descriptor of one split (`dataset_factory.get_dataset`).

  Raises:
    UserError: a missing folder, an unknown dataset or split, no shard.
  """
  from datasets import dataset_factory  # pylint: disable=g-import-not-at-top
  if not dataset_dir:
    raise UserError('--dataset_dir is required: pass the directory holding '
                    'the TFRecord files')
  if not os.path.isdir(dataset_dir):
    raise UserError('--dataset_dir=%s does not exist or is not a directory; '
                    'convert the data first (download_and_convert_data.py) '
                    'or fix the path' % dataset_dir)
  try:
    return dataset_factory.get_dataset(dataset_name, split_name, dataset_dir)
  except (ValueError, KeyError, IOError) as error:
    raise UserError(one_line(error)) from error


def check_num_frames(model_name, num_frames, video_flags='--num_frames=N'):
  """Raises UserError unless a clip length is given exactly for video nets.

  Args:
    model_name: a registered network name.
    num_frames: frames per clip, None for an image network.
    video_flags: what the user passes to give a clip length, for the message.
  """
  from nets import nets_factory  # pylint: disable=g-import-not-at-top
  video_names = ', '.join(sorted(nets_factory.VIDEO_NETWORKS))
  if num_frames is not None and num_frames < 1:
    raise UserError('--num_frames must be at least 1, got %d' % num_frames)
  if model_name in nets_factory.VIDEO_NETWORKS and num_frames is None:
    raise UserError('--model_name=%s is a video network (input [batch, '
                    'frames, height, width, 3]); pass %s' %
                    (model_name, video_flags))
  if model_name not in nets_factory.VIDEO_NETWORKS and num_frames is not None:
    raise UserError('%s is for the video networks (%s); --model_name=%s '
                    'takes images' % (video_flags, video_names, model_name))


def _on_still_clips(network_fn, num_frames):
  """`network_fn` fed image batches, each image repeated into a clip."""
  from nets import i3d_utils  # pylint: disable=g-import-not-at-top

  def clip_network_fn(images, **kwargs):
    return network_fn(i3d_utils.still_clips(images, num_frames), **kwargs)

  clip_network_fn.default_image_size = network_fn.default_image_size
  return clip_network_fn


def _smallest_size_that_builds(network_fn, shape, too_small, default):
  """The smallest side in (too_small, default] the network builds at.

  Each try builds the network in a throwaway graph (batch 1); a side that
  builds stays buildable above it (every layer's output grows with its
  input). None when even `default` does not build.
  """
  def builds(side):
    with tf.Graph().as_default():
      probe = list(shape)
      probe[0], probe[-3], probe[-2] = 1, side, side
      try:
        network_fn(tf.placeholder(tf.float32, probe))
      except ValueError:
        return False
    return True

  if not builds(default):
    return None
  low, high = too_small, default  # low fails, high builds
  while high - low > 1:
    middle = (low + high) // 2
    low, high = (low, middle) if builds(middle) else (middle, high)
  return high


def _refusing_too_small_images(network_fn, model_name, image_size_flag):
  """`network_fn`, whose shape error on small images is one clear line."""

  @functools.wraps(network_fn)
  def checked_network_fn(images, *args, **kwargs):
    try:
      return network_fn(images, *args, **kwargs)
    except ValueError as error:
      side = images.shape[-2]
      default = network_fn.default_image_size
      if side is None or not default or side >= default:
        raise
      smallest = _smallest_size_that_builds(
          functools.partial(network_fn, *args, **kwargs),
          images.shape.as_list(), side, default)
      if smallest is None:
        raise
      raise UserError(
          '%s=%d: images of %dx%d pixels are too small for --model_name=%s; '
          'the smallest size it takes is %d (its default is %d)' %
          (image_size_flag, side, side, side, model_name, smallest,
           default)) from error

  return checked_network_fn


def _with_arguments(network_fn, network_kwargs):
  """`network_fn` that always gets `network_kwargs` (a call's own win)."""

  def configured_network_fn(images, **kwargs):
    return network_fn(images, **{**network_kwargs, **kwargs})

  configured_network_fn.default_image_size = network_fn.default_image_size
  return configured_network_fn


def network_and_preprocessing(model_name, num_classes, is_training,
                              preprocessing_name=None, weight_decay=0.0,
                              use_grayscale=False, num_frames=None,
                              video_flags='--num_frames=N',
                              preprocess_for_training=None,
                              image_size_flag='--image_size',
                              quantize_delay=None):
  """`(network_fn, preprocess_fn)` of a registered network.

  Args:
    model_name: a registered network.
    num_classes: classes of its classifier.
    is_training: builds the network in training mode.
    preprocessing_name: None: the network's own (its registry row).
    weight_decay: L2 regularisation for the network's weights.
    use_grayscale: the preprocessing converts images to one channel.
    num_frames: clip length of a video network (checked, not applied: the
      network still takes clips); None for an image network.
    video_flags: how the user passes a clip length, for the message.
    preprocess_for_training: None: as `is_training`.
    image_size_flag: the flag that sets the image size, named when the
      network is built on images smaller than it takes.
    quantize_delay: None: a float network; else the network is rewritten for
      8-bit quantization (`deployment.quantize`): in training fake-quantized
      from this global step on, in evaluation as training quantized it.

  Raises:
    UserError: an unknown network or preprocessing, or a clip length missing
      for a video network (given for an image one).
  """
  from nets import nets_factory  # pylint: disable=g-import-not-at-top
  from preprocessing import preprocessing_factory  # pylint: disable=g-import-not-at-top
  try:
    network_fn = nets_factory.get_network_fn(
        model_name, num_classes=num_classes, weight_decay=weight_decay,
        is_training=is_training)
  except ValueError as error:
    raise UserError('--model_name: %s' % one_line(error)) from error
  network_fn = _refusing_too_small_images(network_fn, model_name,
                                          image_size_flag)
  if quantize_delay is not None:
    from deployment import quantize  # pylint: disable=g-import-not-at-top
    network_fn = quantize.quantized_network_fn(network_fn, is_training,
                                               quant_delay=quantize_delay)
  check_num_frames(model_name, num_frames, video_flags)
  if preprocess_for_training is None:
    preprocess_for_training = is_training
  try:
    preprocess_fn = preprocessing_factory.get_preprocessing(
        preprocessing_name or model_name, is_training=preprocess_for_training,
        use_grayscale=use_grayscale)
  except ValueError as error:
    flag = '--preprocessing_name' if preprocessing_name else '--model_name'
    raise UserError('%s: %s' % (flag, one_line(error))) from error
  return network_fn, preprocess_fn


def build_pipeline(dataset, model_name, is_training, image_size=None,
                   weight_decay=0.0, labels_offset=0, preprocessing_name=None,
                   use_grayscale=False, num_frames=None, network_kwargs=None,
                   quantize_delay=None):
  """The network and preprocessing for `dataset`'s classes, as a `Pipeline`.

  Args:
    dataset: a split's descriptor (`load_dataset`).
    model_name: a registered network.
    is_training: whether the network and preprocessing train or evaluate.
    image_size: side of the square network input; None: the network's.
    weight_decay: L2 regularisation for the network's weights.
    labels_offset: classes dropped from the front (slim's imagenet: 1).
    preprocessing_name: None: the network's own.
    use_grayscale: convert images to one channel.
    num_frames: clip length of a video network; None for an image network.
    network_kwargs: None, or arguments every call of the network function
      gets (nets/mobilenet_v1_train.py: {'depth_multiplier': 0.5}).
    quantize_delay: None, or quantize the network (see
      `network_and_preprocessing`).

  Raises:
    UserError: see `network_and_preprocessing`; or a labels_offset that
      leaves no class.
  """
  num_classes = dataset.num_classes - labels_offset
  if num_classes < 1:
    raise UserError('--labels_offset=%d leaves no class of the %d in %s' %
                    (labels_offset, dataset.num_classes, dataset.name))
  network_fn, preprocess_fn = network_and_preprocessing(
      model_name, num_classes, is_training, preprocessing_name, weight_decay,
      use_grayscale, num_frames, image_size_flag=(
          '--train_image_size' if is_training else '--eval_image_size'),
      quantize_delay=quantize_delay)
  if num_frames:  # slim has no video dataset: still clips of the images
    network_fn = _on_still_clips(network_fn, num_frames)
  if network_kwargs:
    network_fn = _with_arguments(network_fn, network_kwargs)
  return Pipeline(dataset=dataset, network_fn=network_fn,
                  preprocess_fn=preprocess_fn,
                  image_size=image_size or network_fn.default_image_size,
                  num_classes=num_classes,
                  channels=1 if use_grayscale else dataset.channels)


def pipeline_from_config(config, is_training, image_size=None,
                         weight_decay=0.0):
  """`build_pipeline` for a run's config (the scripts' dataset/model flags).

  Args:
    config: an object with `dataset_name`, `dataset_split_name`,
      `dataset_dir`, `model_name`, `labels_offset`, `preprocessing_name`,
      `use_grayscale` and optionally `num_frames` (absent: images),
      `network_kwargs` (absent: none), `quantize_delay` (training, -1 or
      absent: float) and `quantize` (evaluation; absent: False).
    is_training, image_size, weight_decay: as `build_pipeline`.
  """
  return build_pipeline(
      load_dataset(config.dataset_name, config.dataset_split_name,
                   config.dataset_dir),
      config.model_name, is_training, image_size=image_size,
      weight_decay=weight_decay, labels_offset=config.labels_offset,
      preprocessing_name=config.preprocessing_name,
      use_grayscale=config.use_grayscale,
      num_frames=getattr(config, 'num_frames', None),
      network_kwargs=getattr(config, 'network_kwargs', None),
      quantize_delay=quantize_delay_of(config, is_training))


def quantize_delay_of(config, is_training):
  """The `quantize_delay` argument a run's config asks for, or None.

  Training quantizes with --quantize_delay >= 0; evaluation with --quantize,
  or (train_eval) when the training it evaluates quantizes.
  """
  delay = getattr(config, 'quantize_delay', -1)
  if delay is not None and delay >= 0:
    return delay
  if not is_training and getattr(config, 'quantize', False):
    return 0
  return None


def make_iterator(pipeline, is_training, batch_size, num_readers=4,
                  num_preprocessing_threads=4, labels_offset=0,
                  num_epochs=None, seed=None):
  """A one-shot iterator over `(images, labels)` batches of `pipeline`.

  Each `get_next()` call is a different batch: one call per model clone.
  """
  from datasets import input_pipeline  # pylint: disable=g-import-not-at-top
  dataset = input_pipeline.make_dataset(
      pipeline.dataset, pipeline.preprocess_fn, batch_size=batch_size,
      is_training=is_training, image_size=pipeline.image_size,
      channels=pipeline.channels, num_readers=num_readers,
      num_preprocessing_threads=num_preprocessing_threads,
      labels_offset=labels_offset, num_epochs=num_epochs, seed=seed)
  return tf.data.make_one_shot_iterator(dataset)


# What TensorFlow's reader and decoder say about records they cannot use;
# matched, since their errors do not name the file.
DATA_ERROR_MARKS = ('corrupted record', 'truncated record', 'is required but',
                    'Unknown image file format', 'Feature: image/',
                    'Could not parse example input', 'Invalid JPEG data',
                    'Invalid PNG data', 'Invalid GIF data', 'Invalid BMP')


def is_data_error(error):
  """Whether a TensorFlow error is about the records of a split."""
  if isinstance(error, tf.errors.DataLossError):
    return True
  text = str(getattr(error, 'message', '') or error)
  return isinstance(error, tf.errors.OpError) and any(
      mark in text for mark in DATA_ERROR_MARKS)


def bad_data_error(dataset, error):
  """The one-line UserError for a reader `error` on `dataset`'s records.

  Finds the shard (and record) at fault, since TensorFlow does not say.

  Args:
    dataset: the split's descriptor (its `data_sources` are searched).
    error: what the reader raised (`is_data_error`).

  Returns:
    A UserError naming the shard, the record and what to do.
  """
  from datasets import input_pipeline  # pylint: disable=g-import-not-at-top
  split = '%s split %s' % (getattr(dataset, 'name', 'the dataset'),
                           getattr(dataset, 'split_name', ''))
  sources = list(getattr(dataset, 'data_sources', None) or [])
  tf.logging.info('Reading %s failed; looking for the bad record in its %d '
                  'file(s)', split, len(sources))
  bad = input_pipeline.find_bad_record(sources)
  advice = ('convert the dataset again (download_and_convert_data.py '
            '--overwrite), or remove that file if the rest is enough')
  if bad is None:
    return UserError('a record of the %s cannot be read (%s) in %s; %s' % (
        split, tensorflow_reason(error)[:200],
        os.path.dirname(sources[0]) if sources else 'its files', advice))
  return UserError('record %d (counting from 0) of %s (%s) cannot be used: '
                   '%s; %s' % (
      bad.index, bad.shard, split, bad.problem, advice))
