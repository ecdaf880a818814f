"""Visual Wake Words: labels from a miniature COCO, records read back."""

import json
import os

import numpy as np
import pytest
import tensorflow.compat.v1 as tf
import tf_slim as slim
from PIL import Image

import deployment_helpers
from datasets import dataset_factory
from datasets import download_and_convert_visualwakewords as converter
from datasets import staged_output
from datasets import visualwakewords

PERSON, DOG = 1, 18  # COCO's category ids
HEIGHT, WIDTH = 40, 50  # 2000 pixels: the 0.005 threshold is 10 pixels

# COCO split -> [(file name, [(category, area, bbox)], expected label)]
MINI_COCO = {
    'train2014': [
        ('above.jpg', [(PERSON, 10.5, [5, 10, 20, 30])], 1),
        ('at.jpg', [(PERSON, 10.0, [0, 0, 4, 5])], 0),
        ('below.jpg', [(PERSON, 9.5, [0, 0, 2, 5])], 0),
        ('dog_only.jpg', [(DOG, 900.0, [0, 0, 30, 30])], 0),
        ('mixed.jpg', [(DOG, 900.0, [0, 0, 30, 30]),
                       (PERSON, 2.0, [1, 1, 1, 2]),
                       (PERSON, 400.0, [10, 5, 20, 20])], 1),
    ],
    'val2014': [
        ('empty.jpg', [], 0),
        ('big_person.jpg', [(PERSON, 2000.0, [0, 0, 50, 40])], 1),
    ],
}


def _colour(index):
  return np.full((HEIGHT, WIDTH, 3), (30 * index + 20, 200 - 20 * index, 90),
                 np.uint8)


def _write_mini_coco(root, skip_annotations_of=None):
  """A COCO 2014 root; returns {(split, file name): (label, pixels)}."""
  expected = {}
  os.makedirs(os.path.join(root, 'annotations'))
  annotation_id = 0
  for coco_split, entries in MINI_COCO.items():
    os.makedirs(os.path.join(root, coco_split))
    images, annotations = [], []
    for index, (file_name, objects, label) in enumerate(entries):
      pixels = _colour(index)
      Image.fromarray(pixels).save(os.path.join(root, coco_split, file_name),
                                   quality=95)
      images.append({'id': 100 + index, 'file_name': file_name,
                     'height': HEIGHT, 'width': WIDTH})
      for category, area, bbox in objects:
        annotation_id += 1
        annotations.append({'id': annotation_id, 'image_id': 100 + index,
                            'category_id': category, 'area': area,
                            'bbox': bbox, 'iscrowd': 0})
      split = 'train' if coco_split == 'train2014' else 'val'
      expected[(split, file_name)] = (label, pixels)
    if coco_split == skip_annotations_of:
      continue
    with open(os.path.join(root, 'annotations',
                           'instances_%s.json' % coco_split), 'w') as f:
      json.dump({'images': images, 'annotations': annotations,
                 'categories': [{'id': PERSON, 'name': 'person'},
                                {'id': DOG, 'name': 'dog'}]}, f)
  return expected


@pytest.mark.parametrize('area, label', [(10.01, 1), (10.0, 0), (9.99, 0)])
def test_label_is_one_only_above_the_area_threshold(area, label):
  image = {'height': HEIGHT, 'width': WIDTH}
  annotation = {'category_id': PERSON, 'area': area, 'bbox': [0, 0, 1, 1]}
  result = converter.filter_annotations([annotation], image, 0.005, PERSON)
  assert result['label'] == label
  assert len(result['objects']) == label


def _provide(dataset, count):
  with tf.Graph().as_default():
    provider = slim.dataset_data_provider.DatasetDataProvider(
        dataset, shuffle=False, num_readers=1)
    tensors = provider.get(['image', 'label', 'object/bbox'])
    with tf.Session() as sess, slim.queues.QueueRunners(sess):
      return [sess.run(tensors) for _ in range(count)]


def test_mini_coco_converts_and_reads_back_through_get_split(tmp_path):
  expected = _write_mini_coco(str(tmp_path / 'coco'))
  out = str(tmp_path / 'vww')
  result = deployment_helpers.run_script(
      'download_and_convert_data.py', '--dataset_name=visualwakewords',
      '--dataset_dir=%s' % out, '--source_dir=%s' % (tmp_path / 'coco'),
      timeout=120)
  assert result.returncode == 0, result.stderr[-2000:]
  assert 'train.record-00000-of-00005' in os.listdir(out)
  assert 'val.record-00001-of-00002' in os.listdir(out)
  for size in (5, 2):  # each split counts its own images to the end
    assert ('Converted %d/%d images (100%%)' % (size, size)) in (
        result.stdout + result.stderr)
  for split_name, count in (('train', 5), ('val', 2)):
    dataset = visualwakewords.get_split(split_name, out)
    assert isinstance(dataset, slim.dataset.Dataset)
    assert (dataset.num_samples, dataset.num_classes) == (count, 2)
    assert dataset.labels_to_names == {0: 'background', 1: 'person'}
    entries = MINI_COCO['%s2014' % split_name]
    for image, label, bbox in _provide(dataset, count):
      # Round-robin shards: no fixed order, so match the image by colour.
      index = int(np.argmin([np.abs(image.astype(int) - _colour(i)).mean()
                             for i in range(len(entries))]))
      file_name, objects, want_label = entries[index]
      assert label == want_label == expected[(split_name, file_name)][0]
      np.testing.assert_allclose(image, _colour(index), atol=3)
      persons = [b for c, a, b in objects
                 if c == PERSON and a / (HEIGHT * WIDTH) > 0.005]
      want_boxes = [[y / HEIGHT, x / WIDTH, (y + h) / HEIGHT, (x + w) / WIDTH]
                    for x, y, w, h in persons]
      np.testing.assert_allclose(bbox.reshape(-1, 4), np.reshape(
          want_boxes, (-1, 4)), rtol=1e-6)
  via_factory = dataset_factory.get_dataset('visualwakewords', 'val', out)
  labels = sorted(int(via_factory.parse(r)[1])
                  for r in tf.data.TFRecordDataset(via_factory.data_sources))
  assert labels == [0, 1]


def test_missing_annotations_file_is_one_line_and_writes_nothing(tmp_path):
  _write_mini_coco(str(tmp_path / 'coco'), skip_annotations_of='val2014')
  out = tmp_path / 'vww'
  with pytest.raises(staged_output.ConversionError,
                     match='instances_val2014.json not found'):
    converter.convert(str(out), str(tmp_path / 'coco'), log=lambda _: None)
  assert os.listdir(out) == []
  result = deployment_helpers.run_script(
      'download_and_convert_data.py', '--dataset_name=visualwakewords',
      '--dataset_dir=%s' % out, '--source_dir=%s' % (tmp_path / 'coco'),
      timeout=120)
  assert result.returncode == 1
  assert 'Traceback' not in result.stderr
  errors = [line for line in result.stderr.splitlines()
            if line.startswith('ERROR: ')]
  assert len(errors) == 1 and 'instances_val2014.json' in errors[0]


def test_missing_image_and_unknown_category_are_one_line(tmp_path):
  _write_mini_coco(str(tmp_path / 'coco'))
  os.remove(str(tmp_path / 'coco' / 'val2014' / 'empty.jpg'))
  with pytest.raises(staged_output.ConversionError, match='empty.jpg not'):
    converter.convert(str(tmp_path / 'a'), str(tmp_path / 'coco'),
                      log=lambda _: None)
  with pytest.raises(staged_output.ConversionError, match="category 'cat'"):
    converter.convert(str(tmp_path / 'b'), str(tmp_path / 'coco'),
                      foreground_class_of_interest='cat', log=lambda _: None)
  assert os.listdir(str(tmp_path / 'a')) == []
