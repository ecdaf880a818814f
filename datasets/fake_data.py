"""Small generated datasets in any registered format, for tests and demos.

    labels = fake_data.write_fake_dataset('/tmp/quiz', 'quiz', num_classes=5)
    dataset_factory.get_dataset('quiz', 'train', '/tmp/quiz').num_samples  # 40

`write_idx_files` writes the published (Fashion-)MNIST files instead, the
converter's input.

Each class has its own colour and stripe frequency plus noise, so a small
network can learn to tell them apart in a few hundred steps.
"""

import gzip
import io
import os
import struct

import numpy as np
from PIL import Image

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf

from datasets import dataset_factory
from datasets import dataset_utils
from datasets import download_and_convert_mnist

# The course's quiz converter stored this size whatever the image was.
COURSE_QUIZ_STORED_SIZE = 320

_PIL_FORMATS = {'jpeg': 'JPEG', 'jpg': 'JPEG', 'png': 'PNG', 'gif': 'GIF',
                'bmp': 'BMP'}


def fake_image(label, image_shape, rng):
  """uint8 image whose colour and stripes depend on `label`."""
  height, width = image_shape[:2]
  channels = image_shape[2] if len(image_shape) == 3 else 1
  colour_rng = np.random.RandomState(1000 + label)
  colour = colour_rng.randint(40, 216, size=channels).astype(np.float32)
  rows = np.arange(height, dtype=np.float32)[:, None, None]
  stripes = 30.0 * np.sin(rows * (label % 7 + 1) * np.pi / max(height, 1))
  noise = rng.normal(0.0, 12.0, size=(height, width, channels))
  image = np.clip(colour + stripes + noise, 0, 255).astype(np.uint8)
  return image


def encode_image(image, image_format):
  """Encodes a uint8 [H, W, C] array with Pillow."""
  pil_format = _PIL_FORMATS[image_format.lower()]
  pixels = image[:, :, 0] if image.shape[2] == 1 else image
  buffer = io.BytesIO()
  Image.fromarray(pixels).save(buffer, format=pil_format)
  return buffer.getvalue()


def _shard_paths(dataset_dir, file_pattern, split_name, num_shards):
  """Names shards so `file_pattern` (with its %s and *) matches them."""
  pattern = file_pattern % split_name if '%s' in file_pattern else file_pattern
  if '*' not in pattern:
    return [os.path.join(dataset_dir, pattern)]
  return [os.path.join(dataset_dir, pattern.replace(
      '*', '%05d-of-%05d' % (shard, num_shards)))
          for shard in range(num_shards)]


def _class_names(spec, num_classes):
  if spec is not None and spec.class_names and len(
      spec.class_names) == num_classes:
    return dict(enumerate(spec.class_names))
  return {label: 'class_%d' % label for label in range(num_classes)}


def write_fake_dataset(dataset_dir, dataset_name='quiz', num_classes=5,
                       images_per_class=None, image_format='jpeg',
                       image_shape=(32, 32, 3), num_shards=2, seed=0):
  """Writes a small dataset exactly as the real one is stored.

  Shards follow the registered dataset's file naming (one file for cifar10 /
  mnist style datasets), `labels.txt` names the classes and
  `<dataset_name>_metadata.json` gives the small split sizes so
  `dataset_factory.get_dataset` reports them. Quiz records carry the course's
  bogus 320x320 `image/height`/`image/width`, as the real shards do.

  Args:
    dataset_dir: created if missing.
    dataset_name: a registered name, or any other name (folder-converted
      naming, `<name>_<split>_*.tfrecord`).
    num_classes: classes 0 .. num_classes - 1.
    images_per_class: {split: count}; default {'train': 8, 'validation': 2}.
    image_format: 'jpeg', 'png', 'gif' or 'bmp'.
    image_shape: (height, width, channels), channels 1 or 3.
    num_shards: files per split where the naming has shards.
    seed: numpy seed for the noise and the record order.

  Returns:
    The labels_to_names dict written to labels.txt.
  """
  images_per_class = images_per_class or {'train': 8, 'validation': 2}
  image_shape = tuple(image_shape) if len(image_shape) == 3 else (
      tuple(image_shape) + (1,))
  spec = dataset_factory.SPECS.get(dataset_name)
  file_pattern = spec.file_pattern if spec else dataset_name + '_%s_*.tfrecord'
  rng = np.random.RandomState(seed)
  os.makedirs(dataset_dir, exist_ok=True)
  stored_size = (COURSE_QUIZ_STORED_SIZE, COURSE_QUIZ_STORED_SIZE)
  splits_to_sizes = {}
  for split_name, per_class in sorted(images_per_class.items()):
    labels = np.repeat(np.arange(num_classes), per_class)
    rng.shuffle(labels)
    splits_to_sizes[split_name] = len(labels)
    paths = _shard_paths(dataset_dir, file_pattern, split_name, num_shards)
    for path, (start, end) in zip(paths, dataset_utils.shard_ranges(
        len(labels), len(paths))):
      with tf.io.TFRecordWriter(path) as writer:
        for label in labels[start:end]:
          image = fake_image(int(label), image_shape, rng)
          height, width = (stored_size if dataset_name == 'quiz'
                           else image_shape[:2])
          example = dataset_utils.image_to_tfexample(
              encode_image(image, image_format), image_format.lower(), height,
              width, int(label))
          writer.write(example.SerializeToString())
  labels_to_names = _class_names(spec, num_classes)
  dataset_utils.write_label_file(labels_to_names, dataset_dir)
  dataset_utils.write_metadata(dataset_dir, dataset_name, splits_to_sizes,
                               num_classes, file_pattern,
                               channels=image_shape[2], generated=True)
  return labels_to_names


def write_idx_gz(path, magic, array):
  """One gzipped IDX file: magic, the dimensions, then the uint8 values."""
  header = struct.pack('>%dI' % (1 + array.ndim), magic, *array.shape)
  with gzip.open(path, 'wb') as f:
    f.write(header + array.astype(np.uint8).tobytes())


def write_idx_files(directory, splits_to_sizes, seed=0):
  """Writes the four (Fashion-)MNIST IDX files of random 28x28 digits.

  Args:
    directory: an existing folder; the files get the published names.
    splits_to_sizes: {'train': count, 'test': count}.
    seed: numpy seed of the pixels and labels.

  Returns:
    {split: (images uint8 [N, 28, 28], labels [N])} as written.
  """
  rng = np.random.RandomState(seed)
  written = {}
  for split_name, (images_name, labels_name) in sorted(
      download_and_convert_mnist.SPLIT_FILES.items()):
    size = splits_to_sizes[split_name]
    images = rng.randint(0, 256, (size, 28, 28)).astype(np.uint8)
    labels = rng.randint(0, 10, size).astype(np.uint8)
    write_idx_gz(os.path.join(directory, images_name),
                  download_and_convert_mnist.IMAGES_MAGIC, images)
    write_idx_gz(os.path.join(directory, labels_name),
                  download_and_convert_mnist.LABELS_MAGIC, labels)
    written[split_name] = images, labels
  return written


def write_idx_subset(source_dir, directory, splits_to_sizes):
  """Copies the first images of real (Fashion-)MNIST IDX files, fewer of them.

  A small but real dataset for tests and demos, converted in seconds instead
  of minutes (e.g. from Debian's /usr/share/datasets/fashion-mnist).

  Args:
    source_dir: the four published IDX files (gzipped or not).
    directory: an existing folder; the files get the published names.
    splits_to_sizes: {'train': count, 'test': count}, at most the split's
      size.

  Returns:
    {split: (images uint8 [N, 28, 28], labels [N])} as written.
  """
  written = {}
  for split_name, names in sorted(
      download_and_convert_mnist.SPLIT_FILES.items()):
    size = splits_to_sizes[split_name]
    images_path, labels_path = (os.path.join(source_dir, name)
                                for name in names)
    images = download_and_convert_mnist.read_images(images_path)[:size]
    labels = download_and_convert_mnist.read_labels(labels_path)[:size]
    write_idx_gz(os.path.join(directory, names[0]),
                  download_and_convert_mnist.IMAGES_MAGIC, images)
    write_idx_gz(os.path.join(directory, names[1]),
                  download_and_convert_mnist.LABELS_MAGIC, labels)
    written[split_name] = images, labels
  return written
