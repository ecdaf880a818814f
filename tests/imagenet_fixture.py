"""A miniature ILSVRC-2012 on disk, laid out as the real archives unpack.

    raw = imagenet_fixture.write_raw_data(tmp_path / 'raw')
    raw.train_dir        train/<synset>/<synset>_<n>.JPEG
    raw.validation_dir   flat ILSVRC2012_val_0000000<n>.JPEG
    raw.validation_labels, raw.bbox_dir (<synset>/<image>.xml)
    raw.images           {file name: ImageInfo(synset, height, width, kind)}

Four synsets of the real list, two small JPEGs each, plus the real set's
oddities under ordinary .JPEG names: PNG data, a CMYK JPEG and a grey JPEG.
`write_archives` packs the same files as ILSVRC2012_img_train.tar (one
<synset>.tar per class), ILSVRC2012_img_val.tar and
ILSVRC2012_bbox_train_v2.tar.gz.
"""

import collections
import io
import os
import tarfile

import numpy as np
from PIL import Image

# The labels these synsets have in imagenet_lsvrc_2015_synsets.txt (1-based).
SYNSET_LABELS = {'n01440764': 1, 'n01443537': 2, 'n01739381': 60,
                 'n02105855': 231}
SYNSET_TEXTS = {
    'n01440764': 'tench, Tinca tinca',
    'n01443537': 'goldfish, Carassius auratus',
    'n01739381': 'vine snake',
    'n02105855': 'Shetland sheepdog, Shetland sheep dog, Shetland',
}
# Line i is the synset of ILSVRC2012_val_<i>.JPEG.
VALIDATION_SYNSETS = ('n01443537', 'n01440764', 'n02105855', 'n01443537',
                      'n01739381')
# (image, [(label in the XML, xmin, ymin, xmax, ymax)], shown width, height)
ANNOTATIONS = {
    'n01440764_1': ([('n01440764', 10, 20, 110, 70)], 200, 100),
    # Two boxes; the second reaches past the image and is clamped.
    'n01443537_1': ([('n01443537', 0, 0, 50, 50),
                     ('n01443537', 150, 40, 250, 120)], 200, 100),
    # A box named with a human label, as many dog boxes are: kept.
    'n02105855_1': ([('Shetland_sheepdog', 20, 10, 180, 90)], 200, 100),
    # Only a box of another listed synset: dropped, the file is skipped.
    'n01739381_1': ([('n01440764', 20, 10, 180, 90)], 200, 100),
    # No box at all: skipped.
    'n01440764_2': ([], 200, 100),
}
# The CSV process_bounding_boxes.py must write for ANNOTATIONS, sorted.
EXPECTED_BOX_LINES = [
    'n01440764_1.JPEG,0.0500,0.2000,0.5500,0.7000',
    'n01443537_1.JPEG,0.0000,0.0000,0.2500,0.5000',
    'n01443537_1.JPEG,0.7500,0.4000,1.0000,1.0000',
    'n02105855_1.JPEG,0.1000,0.1000,0.9000,0.9000',
]

ImageInfo = collections.namedtuple('ImageInfo',
                                   ['synset', 'height', 'width', 'kind'])
RawData = collections.namedtuple('RawData', [
    'root', 'train_dir', 'validation_dir', 'validation_labels', 'bbox_dir',
    'images'])


def _pixels(seed, height, width):
  """A smooth colour gradient with mild noise: JPEG keeps it faithfully."""
  rng = np.random.RandomState(seed)
  colour = rng.uniform(40, 200, size=3)
  rows = np.linspace(-30, 30, height)[:, None, None]
  cols = np.linspace(-20, 20, width)[None, :, None]
  noise = rng.normal(0, 3, size=(height, width, 3))
  return np.clip(colour + rows + cols + noise, 0, 255).astype(np.uint8)


def encode(kind, seed, height, width):
  """Image bytes of `kind`: 'rgb', 'grey', 'cmyk' (JPEGs) or 'png'."""
  image = Image.fromarray(_pixels(seed, height, width))
  buffer = io.BytesIO()
  if kind == 'png':
    image.save(buffer, format='PNG')
  elif kind == 'cmyk':
    image.convert('CMYK').save(buffer, format='JPEG', quality=95)
  elif kind == 'grey':
    image.convert('L').save(buffer, format='JPEG', quality=95)
  else:
    image.save(buffer, format='JPEG', quality=95)
  return buffer.getvalue()


def _write(path, data):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, 'wb') as f:
    f.write(data)


def _train_images():
  """{file name: ImageInfo}: 2 RGB JPEGs per synset plus the oddities."""
  images = {}
  for index, synset in enumerate(sorted(SYNSET_LABELS)):
    for number in (1, 2):
      images['%s_%d.JPEG' % (synset, number)] = ImageInfo(
          synset, 20 + 2 * index, 30 + number, 'rgb')
  images['n02105855_7.JPEG'] = ImageInfo('n02105855', 18, 26, 'png')
  images['n01739381_7.JPEG'] = ImageInfo('n01739381', 22, 20, 'cmyk')
  images['n01443537_7.JPEG'] = ImageInfo('n01443537', 16, 24, 'grey')
  return images


def annotation_xml(image_stem, boxes, width, height):
  objects = ''.join(
      '<object><name>%s</name><bndbox><xmin>%d</xmin><ymin>%d</ymin>'
      '<xmax>%d</xmax><ymax>%d</ymax></bndbox></object>' % box
      for box in boxes)
  return ('<annotation><folder>x</folder><filename>%s</filename><size>'
          '<width>%d</width><height>%d</height><depth>3</depth></size>%s'
          '</annotation>' % (image_stem, width, height, objects))


def write_raw_data(root):
  """Writes the miniature unpacked ImageNet under `root`; returns RawData."""
  root = str(root)
  train_dir = os.path.join(root, 'train')
  validation_dir = os.path.join(root, 'validation')
  bbox_dir = os.path.join(root, 'bounding_boxes')
  images = _train_images()
  for seed, (name, info) in enumerate(sorted(images.items())):
    _write(os.path.join(train_dir, info.synset, name),
           encode(info.kind, seed, info.height, info.width))
  for number, synset in enumerate(VALIDATION_SYNSETS, 1):
    name = 'ILSVRC2012_val_%08d.JPEG' % number
    images[name] = ImageInfo(synset, 28, 22 + number, 'rgb')
    _write(os.path.join(validation_dir, name),
           encode('rgb', 100 + number, 28, 22 + number))
  labels_file = os.path.join(root, 'validation_synset_labels.txt')
  with open(labels_file, 'w') as f:
    f.write(''.join(synset + '\n' for synset in VALIDATION_SYNSETS))
  for stem, (boxes, width, height) in ANNOTATIONS.items():
    _write(os.path.join(bbox_dir, stem.split('_')[0], stem + '.xml'),
           annotation_xml(stem, boxes, width, height).encode('utf-8'))
  # A synset outside the challenge: its annotations are not used.
  _write(os.path.join(bbox_dir, 'n00007846', 'n00007846_1.xml'),
         annotation_xml('n00007846_1', [('n00007846', 1, 1, 9, 9)], 10,
                        10).encode('utf-8'))
  return RawData(root, train_dir, validation_dir, labels_file, bbox_dir,
                 images)


def write_archives(raw, archive_dir):
  """Packs `raw` as the three ILSVRC-2012 archives into `archive_dir`."""
  os.makedirs(archive_dir, exist_ok=True)
  with tarfile.open(os.path.join(archive_dir, 'ILSVRC2012_img_train.tar'),
                    'w') as train_tar:
    for synset in sorted(os.listdir(raw.train_dir)):
      inner = io.BytesIO()
      with tarfile.open(fileobj=inner, mode='w') as synset_tar:
        folder = os.path.join(raw.train_dir, synset)
        for name in sorted(os.listdir(folder)):
          synset_tar.add(os.path.join(folder, name), arcname=name)
      member = tarfile.TarInfo(synset + '.tar')
      member.size = len(inner.getvalue())
      train_tar.addfile(member, io.BytesIO(inner.getvalue()))
  with tarfile.open(os.path.join(archive_dir, 'ILSVRC2012_img_val.tar'),
                    'w') as val_tar:
    for name in sorted(os.listdir(raw.validation_dir)):
      val_tar.add(os.path.join(raw.validation_dir, name), arcname=name)
  with tarfile.open(os.path.join(archive_dir,
                                 'ILSVRC2012_bbox_train_v2.tar.gz'),
                    'w:gz') as bbox_tar:
    for synset in sorted(os.listdir(raw.bbox_dir)):
      bbox_tar.add(os.path.join(raw.bbox_dir, synset), arcname=synset)
