r"""Turns the ILSVRC bounding-box XML files into one CSV of relative boxes.

    python3 datasets/process_bounding_boxes.py raw-data/bounding_boxes \
        datasets/imagenet_lsvrc_2015_synsets.txt \
        --output_file=raw-data/imagenet_2012_bounding_boxes.csv

The folder is ILSVRC2012_bbox_train_v2.tar.gz unpacked:
`<dir>/<synset>/<synset>_<n>.xml`. Each box becomes a line

    n00007846_64193.JPEG,0.0060,0.2620,0.7545,0.9940

(file, xmin, ymin, xmax, ymax) relative to the image size the annotator saw,
clamped to [0, 1], lines sorted; build_imagenet_data.py reads it with
--bounding_box_file. Without --output_file the CSV goes to stdout; with it,
the file appears only once complete.

As upstream: with a synsets file only the XML files of those synsets are
kept, and a box naming another synset of the list is dropped (boxes named
with a human label, a known flaw of the data, are kept); boxes with no area
are dropped. XML files that cannot be parsed or keep no box are reported on
stderr and counted as skipped.
"""

import glob
import os
import sys
import xml.etree.ElementTree as ElementTree

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import common_flags  # noqa: E402
from deployment import output_files  # noqa: E402

UserError = common_flags.UserError

USAGE = ('usage: process_bounding_boxes.py <bounding box folder> '
         '[synsets file] [--output_file=FILE]')


class BadAnnotation(Exception):
  """The XML file holds no usable annotation; the message says why."""


def _clamp(value):
  return min(max(value, 0.0), 1.0)


def parse_annotation(xml_file):
  """[(label, xmin, ymin, xmax, ymax)] of one XML file, relative, clamped.

  Raises:
    BadAnnotation: the file is not XML or lacks the image size.
  """
  try:
    root = ElementTree.parse(xml_file).getroot()
    width = float(root.find('size/width').text)
    height = float(root.find('size/height').text)
  except (ElementTree.ParseError, AttributeError, TypeError,
          ValueError) as error:
    raise BadAnnotation('not an annotation with a size (%s)' % error)
  if width <= 0 or height <= 0:
    raise BadAnnotation('image size %gx%g' % (width, height))
  boxes = []
  for item in root.iter('object'):
    try:
      corners = [float(item.find('bndbox/' + key).text)
                 for key in ('xmin', 'ymin', 'xmax', 'ymax')]
    except (AttributeError, TypeError, ValueError):
      continue
    xs = sorted((corners[0] / width, corners[2] / width))
    ys = sorted((corners[1] / height, corners[3] / height))
    # Some boxes reach past the image or have min > max (upstream's note).
    boxes.append(((item.findtext('name') or '').strip(), _clamp(xs[0]),
                  _clamp(ys[0]), _clamp(xs[1]), _clamp(ys[1])))
  return boxes


def _keep_box(box, folder_synset, synsets):
  label, xmin, ymin, xmax, ymax = box
  if synsets is not None and label != folder_synset and label in synsets:
    return False
  return xmin < xmax and ymin < ymax


def process_annotations(bbox_dir, synsets=None, warn=None):
  """Sorted CSV lines of every kept box, and the counts upstream reports."""
  warn = warn or (lambda line: print(line, file=sys.stderr))
  if not os.path.isdir(bbox_dir):
    raise UserError('bounding box folder %s is not a directory; unpack '
                    'ILSVRC2012_bbox_train_v2.tar.gz there' % bbox_dir)
  xml_files = sorted(glob.glob(os.path.join(glob.escape(bbox_dir), '*',
                                            '*.xml')))
  if not xml_files:
    raise UserError('no <synset>/*.xml files in %s; point at the unpacked '
                    'ILSVRC2012_bbox_train_v2.tar.gz' % bbox_dir)
  counts = dict(xml_files=len(xml_files), skipped_files=0, skipped_boxes=0,
                boxes=0, images=0)
  lines = []
  for xml_file in xml_files:
    folder_synset = os.path.basename(os.path.dirname(xml_file))
    if synsets is not None and folder_synset not in synsets:
      counts['skipped_files'] += 1
      continue
    try:
      boxes = parse_annotation(xml_file)
    except BadAnnotation as error:
      boxes, reason = [], str(error)
    else:
      reason = 'no box'
    kept = [box for box in boxes if _keep_box(box, folder_synset, synsets)]
    counts['skipped_boxes'] += len(boxes) - len(kept)
    if not kept:
      warn('Skipped %s: %s' % (xml_file, reason))
      counts['skipped_files'] += 1
      continue
    # The file name inside the XML is sometimes noise ('%s'); the XML's own
    # name is the image's.
    image_name = os.path.splitext(os.path.basename(xml_file))[0] + '.JPEG'
    lines.extend('%s,%.4f,%.4f,%.4f,%.4f' % ((image_name,) + box[1:])
                 for box in kept)
    counts['boxes'] += len(kept)
    counts['images'] += 1
  return sorted(lines), counts


def read_synsets(synsets_file):
  if not os.path.isfile(synsets_file):
    raise UserError('synsets file %s not found; pass e.g. '
                    'datasets/imagenet_lsvrc_2015_synsets.txt' % synsets_file)
  with open(synsets_file, encoding='utf-8') as f:
    return {line.strip() for line in f if line.strip()}


def write_lines(lines, output_file):
  """Writes to stdout, or to `output_file` under a temporary name first."""
  if not output_file:
    sys.stdout.write(''.join(line + '\n' for line in lines))
    return
  text = ''.join(line + '\n' for line in lines)
  output_files.write_output(output_file, text, '--output_file')


def main(argv):
  if len(argv) not in (2, 3):
    raise UserError(USAGE)
  synsets = read_synsets(argv[2]) if len(argv) == 3 else None
  lines, counts = process_annotations(argv[1], synsets)
  write_lines(lines, common_flags.flags.FLAGS.output_file)
  for line in ('Finished processing %(xml_files)d XML files.',
               'Skipped %(skipped_files)d XML files not in ImageNet Challenge '
               'or without a usable box.',
               'Skipped %(skipped_boxes)d bounding boxes not in ImageNet '
               'Challenge or without area.',
               'Wrote %(boxes)d bounding boxes from %(images)d annotated '
               'images.'):
    print(line % counts, file=sys.stderr)
  return 0


if __name__ == '__main__':
  common_flags.flags.DEFINE_string(
      'output_file', None, 'Where the CSV goes (written whole at the end); '
      'stdout when unset.')
  common_flags.run_main(main, positional_args=True)
