r"""Builds slim's ImageNet TFRecord shards from the unpacked ILSVRC-2012 images.

    python3 datasets/build_imagenet_data.py \
        --train_directory=raw-data/train \
        --validation_directory=raw-data/validation \
        --bounding_box_file=raw-data/imagenet_2012_bounding_boxes.csv \
        --output_directory=/data/imagenet

Each split directory holds one sub-folder per synset (`n01440764/*.JPEG`);
the validation images get theirs from preprocess_imagenet_validation_data.py.
Leave out --train_directory (or --validation_directory) to build one split,
e.g. only validation to evaluate the released checkpoints.

`--output_directory` receives, all at once when every shard is written:

  train-00000-of-01024 ... validation-00000-of-00128 ...
  labels.txt               0:background, then 1..1000 human-readable names
  imagenet_metadata.json   the split sizes really written, so that
                           dataset_factory reports a partial build right

Labels are 1..N in the order of --labels_file (the 1000 LSVRC synsets,
sorted); 0 is the background class slim's networks have. Each record has
slim's keys: image/encoded (RGB or grey JPEG), image/format ('JPEG'),
image/height, image/width, image/colorspace ('RGB'), image/channels (3),
image/filename, image/class/label, image/class/synset, image/class/text and
the relative boxes image/object/bbox/{xmin,ymin,xmax,ymax,label} from
--bounding_box_file (process_bounding_boxes.py's CSV; the box label is the
image label, also stored as image/object/class/label, the key upstream's
imagenet.py reads).

The training set holds a PNG and 22 CMYK JPEGs under .JPEG names. Upstream
listed those file names; here every image is decoded once and anything that
is not an RGB or grey JPEG is re-encoded as an RGB JPEG (quality 100), so a
renamed or re-downloaded copy is caught too. An image that cannot be decoded
stops the build with its path. Records are shuffled with upstream's seed.
"""

import concurrent.futures
import io
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from PIL import Image  # noqa: E402

import tf_compat  # noqa: E402,F401
import tensorflow.compat.v1 as tf  # noqa: E402

import common_flags  # noqa: E402
from datasets import conversion_progress  # noqa: E402
from datasets import convert_folder  # noqa: E402
from datasets import dataset_utils  # noqa: E402
from datasets import staged_output  # noqa: E402

UserError = common_flags.UserError

DATASETS_DIR = os.path.dirname(os.path.abspath(__file__))
DEFAULT_LABELS_FILE = os.path.join(DATASETS_DIR,
                                   'imagenet_lsvrc_2015_synsets.txt')
DEFAULT_METADATA_FILE = os.path.join(DATASETS_DIR, 'imagenet_metadata.txt')
DATASET_NAME = 'imagenet'
FILE_PATTERN = '%s-*'
BACKGROUND_NAME = 'background'
# Upstream's seed: a rebuild puts the records in the same order as slim's.
SHUFFLE_SEED = 12345
# Upstream re-encodes at quality 100; full-resolution colour (4:4:4) as well
# here, so the repaired images lose as little as can be.
JPEG_QUALITY = 100
IMAGE_EXTENSIONS = ('.jpeg', '.jpg')


def _numbered_lines(path, flag_name, what):
  """[(line number, stripped line)] of the non-blank lines of `path`."""
  if not path or not os.path.isfile(path):
    raise UserError('--%s=%s: no such file; it should be %s' %
                    (flag_name, path, what))
  with open(path, encoding='utf-8') as f:
    return [(number, line.strip()) for number, line in enumerate(f, 1)
            if line.strip()]


def read_synsets(labels_file):
  """The synsets of --labels_file, one per line; label i+1 is line i."""
  synsets = [line for _, line in _numbered_lines(
      labels_file, 'labels_file',
      'the synset list, e.g. imagenet_lsvrc_2015_synsets.txt')]
  if not synsets:
    raise UserError('--labels_file=%s is empty; it should list one synset '
                    'per line' % labels_file)
  seen = set()
  for synset in synsets:
    if synset in seen or len(synset.split()) != 1:
      raise UserError('--labels_file=%s: bad or repeated synset %r; list '
                      'each synset once, one per line' % (labels_file, synset))
    seen.add(synset)
  return synsets


def read_synset_texts(metadata_file, synsets):
  """{synset: human-readable name} for every synset of the labels file."""
  texts = {}
  for line_number, line in _numbered_lines(
      metadata_file, 'imagenet_metadata_file',
      'synset<TAB>name lines, e.g. imagenet_metadata.txt'):
    parts = line.split('\t')
    if len(parts) != 2:
      raise UserError('--imagenet_metadata_file=%s line %d is %r; every line '
                      'must be synset<TAB>name' %
                      (metadata_file, line_number, line))
    texts[parts[0]] = parts[1]
  missing = [synset for synset in synsets if synset not in texts]
  if missing:
    raise UserError('--imagenet_metadata_file=%s has no name for %d synsets '
                    'of --labels_file (first: %s); use the metadata file that '
                    'covers them' % (metadata_file, len(missing), missing[0]))
  return texts


def read_bounding_boxes(bounding_box_file):
  """{image file name: [(xmin, ymin, xmax, ymax)]} from the boxes CSV."""
  if not bounding_box_file:
    return {}
  boxes = {}
  for line_number, line in _numbered_lines(
      bounding_box_file, 'bounding_box_file',
      'the CSV written by process_bounding_boxes.py'):
    parts = line.split(',')
    try:
      if len(parts) != 5:
        raise ValueError('expected 5 fields')
      box = tuple(float(value) for value in parts[1:])
    except ValueError:
      raise UserError('--bounding_box_file=%s line %d is %r; every line must '
                      'be file,xmin,ymin,xmax,ymax (process_bounding_boxes.py '
                      'output)' % (bounding_box_file, line_number, line)
                      ) from None
    boxes.setdefault(parts[0], []).append(box)
  return boxes


def find_image_files(directory, synsets, flag_name):
  """Shuffled [(path, label, synset)] of `directory/<synset>/*.JPEG`.

  As upstream's glob, only .JPEG (or .jpeg/.jpg) files are taken; other
  files in a synset folder are ignored.

  Raises:
    UserError: the directory is missing, holds loose images (an unsorted
      validation folder), a folder that is no synset of the list, or no image.
  """
  if not os.path.isdir(directory):
    raise UserError('--%s=%s is not a directory; unpack the images there '
                    '(download_and_preprocess_imagenet.sh does)' %
                    (flag_name, directory))
  labels = {synset: label for label, synset in enumerate(synsets, 1)}
  names = sorted(name for name in os.listdir(directory)
                 if not name.startswith('.'))
  loose = [name for name in names if name.lower().endswith(IMAGE_EXTENSIONS)]
  if loose:
    raise UserError('--%s=%s holds %d images directly (e.g. %s), not in '
                    'synset folders; run preprocess_imagenet_validation_data.py'
                    ' on it first' % (flag_name, directory, len(loose),
                                      loose[0]))
  files = []
  for name in names:
    folder = os.path.join(directory, name)
    if not os.path.isdir(folder):
      continue
    if name not in labels:
      raise UserError('--%s=%s: folder %s is not a synset of --labels_file; '
                      'remove it or use the matching synset list' %
                      (flag_name, directory, name))
    files.extend((os.path.join(folder, image_name), labels[name], name)
                 for image_name in sorted(os.listdir(folder))
                 if image_name.lower().endswith(IMAGE_EXTENSIONS))
  if not files:
    raise UserError('--%s=%s has no <synset>/*.JPEG images' %
                    (flag_name, directory))
  random.Random(SHUFFLE_SEED).shuffle(files)
  return files


def load_image(path):
  """Returns (JPEG bytes, height, width, why it was re-encoded or None)."""
  try:
    with open(path, 'rb') as f:
      data = f.read()
    image = Image.open(io.BytesIO(data))
    image.load()
  except (OSError, SyntaxError, ValueError,
          Image.DecompressionBombError) as error:
    raise UserError('%s is not a readable image (%s); extract it from the '
                    'archive again or delete it' % (path, error)) from error
  width, height = image.size
  if image.format == 'JPEG' and image.mode in ('RGB', 'L'):
    # Grey JPEGs are kept as they are: the readers decode to 3 channels.
    return data, height, width, None
  if image.format == 'JPEG':
    reason = '%s JPEG' % image.mode
  else:
    reason = '%s data' % image.format
  rgb = convert_folder._to_rgb(image)  # pylint: disable=protected-access
  buffer = io.BytesIO()
  rgb.save(buffer, format='JPEG', quality=JPEG_QUALITY, subsampling=0)
  return buffer.getvalue(), height, width, reason


def image_example(encoded, height, width, filename, label, synset, text,
                  boxes):
  """The `tf.train.Example` of one image, with upstream's keys."""
  example = dataset_utils.image_to_tfexample(encoded, b'JPEG', height, width,
                                             label)
  feature = example.features.feature
  extra = {
      'image/colorspace': dataset_utils.bytes_feature(b'RGB'),
      'image/channels': dataset_utils.int64_feature(3),
      'image/filename': dataset_utils.bytes_feature(filename.encode('utf-8')),
      'image/class/synset': dataset_utils.bytes_feature(
          synset.encode('utf-8')),
      'image/class/text': dataset_utils.bytes_feature(text.encode('utf-8')),
      'image/object/bbox/xmin': dataset_utils.float_feature(
          [box[0] for box in boxes]),
      'image/object/bbox/ymin': dataset_utils.float_feature(
          [box[1] for box in boxes]),
      'image/object/bbox/xmax': dataset_utils.float_feature(
          [box[2] for box in boxes]),
      'image/object/bbox/ymax': dataset_utils.float_feature(
          [box[3] for box in boxes]),
  }
  # Upstream writes the box labels as bbox/label but its imagenet.py reads
  # object/class/label; both are written so either reader finds them.
  for key in ('image/object/bbox/label', 'image/object/class/label'):
    extra[key] = dataset_utils.int64_feature([label] * len(boxes))
  for key, value in extra.items():
    feature[key].CopyFrom(value)
  return example


def write_split(staging_dir, split_name, files, num_shards, context, executor,
                log, progress):
  """Writes one split's shards into `staging_dir`; returns the record count.

  `progress` (a `ConversionProgress`) counts every image written.
  """
  ranges = dataset_utils.shard_ranges(len(files), num_shards)
  for shard_id, (start, end) in enumerate(ranges):
    name = '%s-%05d-of-%05d' % (split_name, shard_id, len(ranges))
    shard_files = files[start:end]
    loaded = executor.map(load_image, [path for path, _, _ in shard_files])
    with tf.io.TFRecordWriter(os.path.join(staging_dir, name)) as writer:
      for (path, label, synset), (encoded, height, width, reason) in zip(
          shard_files, loaded):
        filename = os.path.basename(path)
        if reason:
          log('Re-encoded %s (%s) as an RGB JPEG' % (path, reason))
        example = image_example(encoded, height, width, filename, label,
                                synset, context['texts'][synset],
                                context['boxes'].get(filename, ()))
        writer.write(example.SerializeToString())
        progress.step()
    log('Wrote %s (%d images)' % (name, end - start))
  return len(files)


def _check_positive(**values):
  for name, value in sorted(values.items()):
    if value is None or value < 1:
      raise UserError('--%s must be at least 1, got %s' % (name, value))


def _wanted_splits(output_directory, train_directory, validation_directory,
                   train_shards, validation_shards, num_threads):
  """[(split name, directory, shards)] to build; checks the numbers."""
  if not output_directory:
    raise UserError('--output_directory is required: where the shards go')
  _check_positive(train_shards=train_shards,
                  validation_shards=validation_shards, num_threads=num_threads)
  wanted = [(split_name, directory, shards) for split_name, directory, shards
            in (('validation', validation_directory, validation_shards),
                ('train', train_directory, train_shards)) if directory]
  if not wanted:
    raise UserError('pass --train_directory and/or --validation_directory: '
                    'the folders of <synset>/*.JPEG images to convert')
  return wanted


def _write_splits(staging_dir, wanted, split_files, context, num_threads,
                  log):
  """Writes every wanted split; returns {split name: records written}."""
  # One count over all splits: the ETA is the whole build's.
  progress = conversion_progress.ConversionProgress(
      sum(len(files) for files in split_files.values()), log)
  sizes = {}
  with concurrent.futures.ThreadPoolExecutor(num_threads) as executor:
    for split_name, directory, shards in wanted:
      files = split_files[split_name]
      with_boxes = sum(os.path.basename(path) in context['boxes']
                       for path, _, _ in files)
      log('Converting %d %s images of %d synsets from %s (%d with boxes)' %
          (len(files), split_name, len({f[2] for f in files}), directory,
           with_boxes))
      sizes[split_name] = write_split(staging_dir, split_name, files, shards,
                                      context, executor, log, progress)
  return sizes


def build(output_directory, train_directory=None, validation_directory=None,
          train_shards=1024, validation_shards=128, num_threads=8,
          labels_file=DEFAULT_LABELS_FILE,
          imagenet_metadata_file=DEFAULT_METADATA_FILE,
          bounding_box_file=None, overwrite=False, log=print):
  """Converts the split directories given into `output_directory`.

  Every input is checked before the first shard is written; the shards,
  labels.txt and imagenet_metadata.json appear together at the end. The
  log shows `Converted N/M images (P%), R images/sec, ETA h:mm:ss` lines
  over all the images of the build.

  Returns:
    {split name: records written}.

  Raises:
    UserError: with one line naming the flag or file to fix.
  """
  wanted = _wanted_splits(output_directory, train_directory,
                          validation_directory, train_shards,
                          validation_shards, num_threads)
  synsets = read_synsets(labels_file)
  context = {'texts': read_synset_texts(imagenet_metadata_file, synsets),
             'boxes': read_bounding_boxes(bounding_box_file)}
  split_files = {split_name: find_image_files(directory, synsets,
                                              split_name + '_directory')
                 for split_name, directory, _ in wanted}
  try:
    with staged_output.StagedDataset(output_directory, DATASET_NAME,
                                     overwrite) as staged:
      sizes = _write_splits(staged.path, wanted, split_files, context,
                            num_threads, log)
      _write_dataset_files(staged.path, output_directory, synsets,
                           context['texts'], sizes, labels_file,
                           bounding_box_file)
  except staged_output.ConversionError as error:
    raise UserError(str(error)) from error
  log('Wrote ImageNet to %s: %s' % (output_directory,
                                    dataset_utils.sizes_text(sizes)))
  return sizes


def _write_dataset_files(staging_dir, output_directory, synsets, texts, sizes,
                         labels_file, bounding_box_file):
  labels_to_names = {0: BACKGROUND_NAME}
  labels_to_names.update((label, texts[synset])
                         for label, synset in enumerate(synsets, 1))
  dataset_utils.write_dataset_labels(labels_to_names, staging_dir,
                                     output_directory, DATASET_NAME)
  dataset_utils.write_metadata(
      staging_dir, DATASET_NAME, sizes, len(synsets) + 1, FILE_PATTERN,
      channels=3, labels_file=os.path.abspath(labels_file),
      bounding_box_file=(os.path.abspath(bounding_box_file)
                         if bounding_box_file else None))


def define_flags():
  """Upstream's flags (kept out of import time: other scripts share names)."""
  flags = common_flags.flags
  flags.DEFINE_string('train_directory', None,
                      'Folder of <synset>/*.JPEG training images; empty to '
                      'skip the training split.')
  flags.DEFINE_string('validation_directory', None,
                      'Folder of <synset>/*.JPEG validation images (sorted '
                      'by preprocess_imagenet_validation_data.py); empty to '
                      'skip the validation split.')
  flags.DEFINE_string('output_directory', None,
                      'Where the shards, labels.txt and metadata are written.')
  flags.DEFINE_integer('train_shards', 1024, 'Shards of the training split.')
  flags.DEFINE_integer('validation_shards', 128,
                       'Shards of the validation split.')
  flags.DEFINE_integer('num_threads', 8, 'Images decoded at once.')
  flags.DEFINE_string('labels_file', DEFAULT_LABELS_FILE,
                      'Synsets, one per line; line i gets label i (1-based).')
  flags.DEFINE_string('imagenet_metadata_file', DEFAULT_METADATA_FILE,
                      'synset<TAB>human-readable name lines.')
  flags.DEFINE_string('bounding_box_file', None,
                      'CSV of file,xmin,ymin,xmax,ymax from '
                      'process_bounding_boxes.py; unset for no boxes.')
  flags.DEFINE_boolean('overwrite', False,
                       'Replace an ImageNet build already in '
                       '--output_directory.')


def main(_):
  flags_obj = common_flags.flags.FLAGS
  build(flags_obj.output_directory,
        train_directory=flags_obj.train_directory,
        validation_directory=flags_obj.validation_directory,
        train_shards=flags_obj.train_shards,
        validation_shards=flags_obj.validation_shards,
        num_threads=flags_obj.num_threads,
        labels_file=flags_obj.labels_file,
        imagenet_metadata_file=flags_obj.imagenet_metadata_file,
        bounding_box_file=flags_obj.bounding_box_file,
        overwrite=flags_obj.overwrite,
        log=lambda line: print(line, flush=True))
  return 0


if __name__ == '__main__':
  define_flags()
  common_flags.run_main(main)
