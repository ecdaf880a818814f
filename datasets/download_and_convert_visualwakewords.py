r"""Builds Visual Wake Words (person / not-person) from COCO 2014.

    python download_and_convert_data.py --dataset_name=visualwakewords \
        --dataset_dir=/data/vww --source_dir=/data/coco

`--source_dir` is a COCO 2014 root:

    annotations/instances_train2014.json   annotations/instances_val2014.json
    train2014/*.jpg                        val2014/*.jpg

Without it the three COCO archives are downloaded into
`<dataset_dir>/coco_dataset` (about 19 GB) and kept for reruns.

As upstream's converter: an image is labelled 1 ('person') when at least one
annotation of the foreground class has an `area` above
`small_object_area_threshold` (0.005) of the image's area, else 0
('background'); those annotations become its boxes, normalised
[ymin, xmin, ymax, xmax]. train2014 gives `train.record-*` (100 shards),
val2014 gives `val.record-*` (10 shards; upstream's slim has no minival
split). The filtered annotations (`instances_visualwakewords_<split>.json`),
labels.txt and `visualwakewords_metadata.json` are written beside them, all
at once or not at all.
"""

import collections
import contextlib
import hashlib
import io
import json
import os

from PIL import Image

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf

from datasets import conversion_progress
from datasets import dataset_utils
from datasets import staged_output
from datasets import visualwakewords

SMALL_OBJECT_AREA_THRESHOLD = 0.005
FOREGROUND_CLASS_OF_INTEREST = 'person'
COCO_DIRNAME = 'coco_dataset'
COCO_URLS = (
    'http://images.cocodataset.org/zips/train2014.zip',
    'http://images.cocodataset.org/zips/val2014.zip',
    'http://images.cocodataset.org/annotations/annotations_trainval2014.zip',
)
# split -> (COCO split it is built from, upstream's shard count)
SPLITS = collections.OrderedDict([('train', ('train2014', 100)),
                                  ('val', ('val2014', 10))])


def coco_annotations_file(coco_dir, coco_split):
  return os.path.join(coco_dir, 'annotations',
                      'instances_%s.json' % coco_split)


def load_coco_annotations(path):
  """Reads a COCO instances file, refusing anything else in one line."""
  try:
    with open(path, encoding='utf-8') as f:
      data = json.load(f)
    images, annotations = data['images'], data.get('annotations', [])
    categories = data['categories']
  except FileNotFoundError as error:
    raise staged_output.ConversionError(
        '%s not found; --source_dir must be a COCO 2014 root holding '
        'annotations/instances_train2014.json, instances_val2014.json, '
        'train2014/ and val2014/.' % path) from error
  except (OSError, ValueError, KeyError, TypeError) as error:
    raise staged_output.ConversionError(
        '%s is not a COCO instances file (%s); fetch '
        'annotations_trainval2014.zip again.' % (path, error)) from error
  return images, annotations, categories


def _category_id(categories, category_name, path):
  for category in categories:
    if category.get('name') == category_name:
      return int(category['id'])
  raise staged_output.ConversionError(
      '%s has no category %r; --foreground_class_of_interest must be a COCO '
      'category name.' % (path, category_name))


def filter_annotations(annotations, image, small_object_area_threshold,
                       foreground_category_id):
  """One image's label and boxes: {'objects': [...], 'label': 0 or 1}.

  Args:
    annotations: the image's COCO annotations (`category_id`, `area`,
      `bbox` [x, y, width, height] in pixels).
    image: its COCO image entry (`height`, `width`).
    small_object_area_threshold: annotations of the foreground class count
      only when `area / image area` is above this.
    foreground_category_id: the COCO id of the class of interest.
  """
  image_area = float(image['height'] * image['width'])
  objects = [{'area': annotation['area'], 'bbox': annotation['bbox']}
             for annotation in annotations
             if int(annotation['category_id']) == foreground_category_id and
             annotation['area'] / image_area > small_object_area_threshold]
  return {'objects': objects, 'label': 1 if objects else 0}


def create_visual_wakeword_annotations(annotations_file,
                                       small_object_area_threshold,
                                       foreground_class_of_interest):
  """Filters a COCO instances file to Visual Wake Words annotations.

  Returns:
    {'images': COCO's images, 'annotations': {image id: filter_annotations
    result}, 'categories': {id: the foreground category}}.
  """
  images, annotations, categories = load_coco_annotations(annotations_file)
  category_id = _category_id(categories, foreground_class_of_interest,
                             annotations_file)
  by_image = collections.defaultdict(list)
  for annotation in annotations:
    by_image[annotation['image_id']].append(annotation)
  return {
      'images': images,
      'annotations': {image['id']: filter_annotations(
          by_image[image['id']], image, small_object_area_threshold,
          category_id) for image in images},
      'categories': {category['id']: category for category in categories
                     if int(category['id']) == category_id},
  }


def _read_image(image_dir, file_name):
  """The image's bytes and format ('jpeg' for COCO), checked by Pillow."""
  path = os.path.join(image_dir, file_name)
  try:
    with open(path, 'rb') as f:
      encoded = f.read()
    with Image.open(io.BytesIO(encoded)) as image:
      image_format = image.format.lower()
      image.verify()
  except FileNotFoundError as error:
    raise staged_output.ConversionError(
        '%s not found; the annotations list it, so the image folder is '
        'incomplete: unpack the COCO images again.' % path) from error
  except (OSError, SyntaxError, ValueError) as error:
    raise staged_output.ConversionError(
        '%s is not a readable image (%s); fetch it again.' %
        (path, error)) from error
  return encoded, image_format


def create_tf_example(image, annotations, image_dir):
  """The record of one image, with upstream's keys."""
  height, width = image['height'], image['width']
  encoded, image_format = _read_image(image_dir, image['file_name'])
  xmin, xmax, ymin, ymax, area = [], [], [], [], []
  for obj in annotations['objects']:
    x, y, box_width, box_height = obj['bbox']
    xmin.append(float(x) / width)
    xmax.append(float(x + box_width) / width)
    ymin.append(float(y) / height)
    ymax.append(float(y + box_height) / height)
    area.append(obj['area'])
  feature = {
      'image/height': dataset_utils.int64_feature(height),
      'image/width': dataset_utils.int64_feature(width),
      'image/filename': dataset_utils.bytes_feature(
          image['file_name'].encode('utf8')),
      'image/source_id': dataset_utils.bytes_feature(
          str(image['id']).encode('utf8')),
      'image/key/sha256': dataset_utils.bytes_feature(
          hashlib.sha256(encoded).hexdigest().encode('utf8')),
      'image/encoded': dataset_utils.bytes_feature(encoded),
      'image/format': dataset_utils.bytes_feature(image_format.encode('utf8')),
      'image/class/label': dataset_utils.int64_feature(annotations['label']),
      'image/object/bbox/xmin': dataset_utils.float_list_feature(xmin),
      'image/object/bbox/xmax': dataset_utils.float_list_feature(xmax),
      'image/object/bbox/ymin': dataset_utils.float_list_feature(ymin),
      'image/object/bbox/ymax': dataset_utils.float_list_feature(ymax),
      'image/object/area': dataset_utils.float_list_feature(area),
  }
  return tf.train.Example(features=tf.train.Features(feature=feature))


def create_tf_record_for_visualwakewords_dataset(vww_annotations, image_dir,
                                                 output_path, num_shards,
                                                 log=None):
  """Writes `<output_path>-0000k-of-0000N`, images dealt round-robin.

  Args:
    vww_annotations: what `create_visual_wakeword_annotations` returns.
    image_dir: the COCO folder of the split's images.
    output_path: the shards' path before the `-0000k-of-0000N` suffix.
    num_shards: how many shards (no more than images).
    log: None, or where the `Converted N/M images ... ETA` lines go.

  Returns:
    (number of images, number labelled 1).
  """
  images = vww_annotations['images']
  num_shards = max(1, min(num_shards, len(images)))  # no empty shards
  positives = 0
  progress = conversion_progress.ConversionProgress(
      len(images), log or (lambda _: None))
  with contextlib.ExitStack() as stack:
    writers = dataset_utils.open_sharded_output_tfrecords(stack, output_path,
                                                          num_shards)
    for index, image in enumerate(images):
      annotations = vww_annotations['annotations'][image['id']]
      positives += annotations['label']
      writers[index % num_shards].write(create_tf_example(
          image, annotations, image_dir).SerializeToString())
      progress.step()
  return len(images), positives


def _coco_root(dataset_dir, source_dir, log):
  if source_dir:
    if not os.path.isdir(source_dir):
      raise staged_output.ConversionError(
          '--source_dir=%s is not a folder; point it at the COCO 2014 root '
          '(annotations/, train2014/, val2014/).' % source_dir)
    return source_dir
  coco_dir = os.path.join(dataset_dir, COCO_DIRNAME)
  os.makedirs(coco_dir, exist_ok=True)
  for url in COCO_URLS:
    log('Fetching %s' % url)
    dataset_utils.download_and_uncompress_zipfile(url, coco_dir)
  return coco_dir


def _write_split(staged_dir, coco_dir, split_name, threshold, foreground,
                 num_shards, log):
  coco_split, default_shards = SPLITS[split_name]
  vww = create_visual_wakeword_annotations(
      coco_annotations_file(coco_dir, coco_split), threshold, foreground)
  with open(os.path.join(staged_dir, 'instances_visualwakewords_%s.json' %
                         coco_split), 'w', encoding='utf-8') as f:
    json.dump(vww, f)
  count, positives = create_tf_record_for_visualwakewords_dataset(
      vww, os.path.join(coco_dir, coco_split),
      os.path.join(staged_dir, '%s.record' % split_name),
      num_shards or default_shards, log)
  log('%s: %d images from %s, %d with a %s' %
      (split_name, count, coco_split, positives, foreground))
  return count


def convert(dataset_dir, source_dir=None,
            small_object_area_threshold=SMALL_OBJECT_AREA_THRESHOLD,
            foreground_class_of_interest=FOREGROUND_CLASS_OF_INTEREST,
            num_shards=None, overwrite=False, log=print):
  """Converts COCO 2014 into the Visual Wake Words TFRecords.

  Raises:
    staged_output.ConversionError: one line saying what to fix.
  """
  if not 0 <= small_object_area_threshold < 1:
    raise staged_output.ConversionError(
        '--small_object_area_threshold=%s must be a fraction of the image '
        'area in [0, 1).' % small_object_area_threshold)
  splits_to_sizes = {}
  with staged_output.StagedDataset(dataset_dir, visualwakewords.NAME,
                                   overwrite) as staged:
    coco_dir = _coco_root(dataset_dir, source_dir, log)
    for split_name in SPLITS:
      splits_to_sizes[split_name] = _write_split(
          staged.path, coco_dir, split_name, small_object_area_threshold,
          foreground_class_of_interest, num_shards, log)
    dataset_utils.write_dataset_labels(
        {0: 'background', 1: foreground_class_of_interest}, staged.path,
        dataset_dir, visualwakewords.NAME)
    dataset_utils.write_metadata(
        staged.path, visualwakewords.NAME, splits_to_sizes,
        visualwakewords.SPEC.num_classes, visualwakewords.SPEC.file_pattern,
        small_object_area_threshold=small_object_area_threshold,
        foreground_class_of_interest=foreground_class_of_interest)
  log('Wrote visualwakewords to %s: %s.' % (
      dataset_dir, dataset_utils.sizes_text(splits_to_sizes)))
  return splits_to_sizes


def run(dataset_dir,
        small_object_area_threshold=SMALL_OBJECT_AREA_THRESHOLD,
        foreground_class_of_interest=FOREGROUND_CLASS_OF_INTEREST):
  """slim's entry point: downloads COCO 2014 and converts it.

  Does nothing when the dataset is already in `dataset_dir`, as upstream.
  """
  return staged_output.convert_unless_present(
      dataset_dir, visualwakewords.NAME, convert, dataset_dir, None,
      small_object_area_threshold, foreground_class_of_interest)
