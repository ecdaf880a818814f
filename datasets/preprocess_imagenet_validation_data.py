r"""Sorts the flat ImageNet validation folder into one sub-folder per synset.

    python3 datasets/preprocess_imagenet_validation_data.py \
        raw-data/validation imagenet_2012_validation_synset_labels.txt

ILSVRC2012_img_val.tar unpacks to 50,000 files ILSVRC2012_val_00000001.JPEG
... ILSVRC2012_val_00050000.JPEG; line i of the labels file is the synset of
image i. That file (50,000 lines) is not part of this repository: take
`research/slim/datasets/imagenet_2012_validation_synset_labels.txt` from
tensorflow/models, or write it from the ILSVRC2012 devkit's
validation ground truth mapped to synsets.

Afterwards `raw-data/validation/n01440764/ILSVRC2012_val_00000293.JPEG` and
so on, the layout build_imagenet_data.py reads. Every listed image is checked
before the first one moves, and images already in their synset folder count
as done, so an interrupted run can simply be run again.
"""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import common_flags  # noqa: E402

UserError = common_flags.UserError

USAGE = ('usage: preprocess_imagenet_validation_data.py <validation folder> '
         '<validation labels file>')
SYNSET_RE = re.compile(r'^n\d{8}$')
IMAGE_NAME = 'ILSVRC2012_val_%08d.JPEG'
IMAGE_NAME_RE = re.compile(r'^ILSVRC2012_val_(\d{8})\.JPEG$')


def read_validation_labels(labels_file):
  """The synset of each validation image, in image-number order."""
  if not os.path.isfile(labels_file):
    raise UserError('validation labels file %s not found; it is '
                    'imagenet_2012_validation_synset_labels.txt (50,000 '
                    'synsets, one per line) from tensorflow/models '
                    'research/slim/datasets' % labels_file)
  with open(labels_file, encoding='utf-8') as f:
    lines = [line.strip() for line in f]
  while lines and not lines[-1]:
    lines.pop()
  for line_number, synset in enumerate(lines, 1):
    if not SYNSET_RE.match(synset):
      raise UserError('%s line %d is %r, not a synset like n01440764; use '
                      'imagenet_2012_validation_synset_labels.txt' %
                      (labels_file, line_number, synset))
  if not lines:
    raise UserError('validation labels file %s is empty' % labels_file)
  return lines


def plan_moves(data_dir, labels):
  """[(source, target)] still to move; checks nothing is missing or extra."""
  moves, missing = [], []
  for number, synset in enumerate(labels, 1):
    name = IMAGE_NAME % number
    source = os.path.join(data_dir, name)
    target = os.path.join(data_dir, synset, name)
    if os.path.isfile(target):
      continue
    if os.path.isfile(source):
      moves.append((source, target))
    else:
      missing.append(name)
  if missing:
    raise UserError('%d of the %d validation images listed are in neither '
                    '%s nor its synset folders (first: %s); unpack '
                    'ILSVRC2012_img_val.tar there again' %
                    (len(missing), len(labels), data_dir, missing[0]))
  unlisted = [name for name in os.listdir(data_dir)
              if IMAGE_NAME_RE.match(name)
              and int(IMAGE_NAME_RE.match(name).group(1)) > len(labels)]
  if unlisted:
    raise UserError('%s holds %d images beyond the %d the labels file lists '
                    '(e.g. %s); the labels file is truncated or the wrong one'
                    % (data_dir, len(unlisted), len(labels), min(unlisted)))
  return moves


def sort_validation_images(data_dir, labels_file, log=print):
  """Moves each validation image into `data_dir/<synset>/`.

  Returns:
    The number of images moved (0 when the folder was already sorted).

  Raises:
    UserError: a missing folder, labels file or image, or a labels file
      that does not match the folder; nothing has moved then.
  """
  if not os.path.isdir(data_dir):
    raise UserError('validation folder %s is not a directory; unpack '
                    'ILSVRC2012_img_val.tar there' % data_dir)
  labels = read_validation_labels(labels_file)
  moves = plan_moves(data_dir, labels)
  for synset in sorted(set(labels)):
    os.makedirs(os.path.join(data_dir, synset), exist_ok=True)
  for source, target in moves:
    os.replace(source, target)
  log('Sorted %d validation images into %d synset folders of %s (%d were '
      'already in place)' % (len(moves), len(set(labels)), data_dir,
                             len(labels) - len(moves)))
  return len(moves)


def main(argv):
  if len(argv) != 3:
    raise UserError(USAGE)
  sort_validation_images(argv[1], argv[2],
                         log=lambda line: print(line, flush=True))
  return 0


if __name__ == '__main__':
  common_flags.run_main(main, positional_args=True)
