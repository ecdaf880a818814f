"""Dataset descriptors: where a split's records are and how to parse them.

slim's descriptors built a queue-based `DatasetDataProvider`; this fork keeps
the descriptor idea and reads with `tf.data` (see `input_pipeline.py`).

    dataset = dataset_factory.get_dataset('quiz', 'train', '/data/quiz')
    dataset.num_samples, dataset.num_classes, dataset.labels_to_names
    image, label = dataset.parse(serialized_example)

Registered datasets carry slim's split sizes. Any other name works when its
directory holds `<name>_metadata.json`, which `download_and_convert_data.py`
writes beside the shards it converts from a folder. When a registered dataset's
directory holds that file too (fake data, a re-split copy), its sizes win.
"""

import collections
import glob
import os

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf

from datasets import dataset_utils

DatasetSpec = collections.namedtuple('DatasetSpec', [
    'file_pattern',      # with %s for the split name
    'splits_to_sizes',
    'num_classes',
    'channels',          # what the stored images are: 1 or 3
    'default_format',    # `image/format` when a record lacks it
    'class_names',       # used when labels.txt is absent; None = unnamed
])

FASHION_MNIST_CLASSES = ('T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat',
                         'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot')
CIFAR10_CLASSES = ('airplane', 'automobile', 'bird', 'cat', 'deer', 'dog',
                   'frog', 'horse', 'ship', 'truck')
MNIST_CLASSES = tuple(str(digit) for digit in range(10))

SPECS = {
    # The course's dataset: 200 classes of 300 images, JPEG bytes.
    'quiz': DatasetSpec('quiz_%s_*.tfrecord',
                        {'train': 50000, 'validation': 10000}, 200, 3, 'png',
                        None),
    'flowers': DatasetSpec('flowers_%s_*.tfrecord',
                           {'train': 3320, 'validation': 350}, 5, 3, 'png',
                           None),
    'cifar10': DatasetSpec('cifar10_%s.tfrecord',
                           {'train': 50000, 'test': 10000}, 10, 3, 'png',
                           CIFAR10_CLASSES),
    'mnist': DatasetSpec('mnist_%s.tfrecord',
                         {'train': 60000, 'test': 10000}, 10, 1, 'raw',
                         MNIST_CLASSES),
    'fashion_mnist': DatasetSpec('fashion_mnist_%s.tfrecord',
                                 {'train': 60000, 'test': 10000}, 10, 1,
                                 'png', FASHION_MNIST_CLASSES),
    # 1000 classes plus 'background' as label 0; train with labels_offset=1
    # for a network that has no background class (as slim).
    'imagenet': DatasetSpec('%s-*', {'train': 1281167, 'validation': 50000},
                            1001, 3, 'jpeg', None),
}


def dataset_names():
  return sorted(SPECS)


class DatasetDescriptor(object):
  """One split of one dataset: its files, sizes, classes and record parser.

  Attributes:
    name, split_name: what was asked for.
    data_sources: sorted list of the split's TFRecord files.
    num_samples: examples in the split.
    num_classes: classes, including imagenet's background class.
    labels_to_names: {id: name} from labels.txt (or the dataset's known
      names), None when unknown.
    channels: 1 for grayscale datasets (mnist, fashion_mnist), else 3.
  """

  def __init__(self, name, split_name, data_sources, num_samples, num_classes,
               labels_to_names, channels, default_format='png'):
    self.name = name
    self.split_name = split_name
    self.data_sources = list(data_sources)
    self.num_samples = num_samples
    self.num_classes = num_classes
    self.labels_to_names = labels_to_names
    self.channels = channels
    self.default_format = default_format

  def __repr__(self):
    return ('DatasetDescriptor(%s/%s: %d samples, %d classes, %d files)' %
            (self.name, self.split_name, self.num_samples, self.num_classes,
             len(self.data_sources)))

  def parse(self, serialized, channels=None):
    """Parses one serialized `tf.train.Example`.

    The image is decoded from its bytes (JPEG, PNG, BMP, or a GIF's first
    frame, whatever `image/format` claims) and the stored height/width are
    ignored, so records with wrong sizes (the course's) still read right.

    Args:
      serialized: a scalar string tensor.
      channels: 1 or 3 to convert to; defaults to `self.channels`.

    Returns:
      (image uint8 [H, W, channels], label int64 scalar).
    """
    features = tf.io.parse_single_example(serialized, {
        'image/encoded': tf.io.FixedLenFeature((), tf.string),
        'image/format': tf.io.FixedLenFeature(
            (), tf.string, default_value=self.default_format),
        'image/class/label': tf.io.FixedLenFeature((), tf.int64),
    })
    image = decode_image(features['image/encoded'], channels or self.channels)
    return image, features['image/class/label']


def decode_image(encoded, channels):
  """Decodes JPEG/PNG/GIF/BMP bytes to uint8 [H, W, channels] (1 or 3)."""
  if channels == 3:
    # DecodeImage itself turns grey into RGB and drops alpha for every format.
    image = tf.io.decode_image(encoded, channels=3, expand_animations=False)
  elif channels == 1:
    # GIF and BMP cannot be decoded to one channel directly.
    image = tf.io.decode_image(encoded, channels=0, expand_animations=False)
    image = tf.cond(tf.equal(tf.shape(image)[-1], 1),
                    lambda: image,
                    lambda: tf.image.rgb_to_grayscale(image[:, :, :3]))
  else:
    raise ValueError('channels must be 1 or 3, got %r' % (channels,))
  image.set_shape([None, None, channels])
  return image


def _spec_from_metadata(name, metadata, base_spec):
  return DatasetSpec(
      file_pattern=metadata['file_pattern'],
      splits_to_sizes=metadata['splits_to_sizes'],
      num_classes=metadata['num_classes'],
      channels=int(metadata['channels']),
      default_format=base_spec.default_format if base_spec else 'png',
      class_names=base_spec.class_names if base_spec else None)


def _resolve_spec(name, dataset_dir):
  base_spec = SPECS.get(name)
  metadata = dataset_utils.read_metadata(dataset_dir, name)
  if metadata is not None:
    return _spec_from_metadata(name, metadata, base_spec)
  if base_spec is None:
    raise ValueError(
        'Unknown dataset_name %r: it is not one of %s and %s does not exist. '
        'Convert your folder first: python download_and_convert_data.py '
        '--dataset_name=%s --dataset_dir=%s' %
        (name, ', '.join(dataset_names()),
         dataset_utils.metadata_path(dataset_dir, name), name, dataset_dir))
  return base_spec


def _labels_to_names(dataset_dir, spec):
  if dataset_utils.has_labels(dataset_dir):
    return dataset_utils.read_label_file(dataset_dir)
  if spec.class_names:
    return dict(enumerate(spec.class_names))
  return None


def _data_sources(dataset_dir, file_pattern, split_name):
  if '%s' in file_pattern:
    file_pattern = file_pattern % split_name
  pattern = os.path.join(dataset_dir, file_pattern)
  files = sorted(glob.glob(pattern))
  if not files:
    raise ValueError(
        'No files match %s. Check --dataset_dir and --dataset_split_name, or '
        'convert the data first with download_and_convert_data.py.' % pattern)
  return files


def get_dataset(name, split_name, dataset_dir, file_pattern=None):
  """Returns the `DatasetDescriptor` of one split.

  Args:
    name: a registered dataset name, or the name of a dataset converted from
      a folder (its directory holds `<name>_metadata.json`).
    split_name: 'train', 'validation', 'test', ... as the dataset has.
    dataset_dir: the directory holding the shards (read only).
    file_pattern: overrides the dataset's file pattern; may contain %s for
      the split name and is relative to `dataset_dir`.

  Raises:
    ValueError: with one line naming the bad name, split or directory.
  """
  if not dataset_dir or not os.path.isdir(dataset_dir):
    raise ValueError('--dataset_dir %r is not a directory; point it at the '
                     'folder holding the TFRecord files.' % (dataset_dir,))
  spec = _resolve_spec(name, dataset_dir)
  if split_name not in spec.splits_to_sizes:
    raise ValueError('Dataset %r has no split %r; valid splits: %s' %
                     (name, split_name, ', '.join(sorted(
                         spec.splits_to_sizes))))
  return DatasetDescriptor(
      name=name,
      split_name=split_name,
      data_sources=_data_sources(dataset_dir, file_pattern or spec.file_pattern,
                                 split_name),
      num_samples=spec.splits_to_sizes[split_name],
      num_classes=spec.num_classes,
      labels_to_names=_labels_to_names(dataset_dir, spec),
      channels=spec.channels,
      default_format=spec.default_format)
