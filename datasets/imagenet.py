"""ImageNet ILSVRC-2012 with its bounding boxes, as slim reads it.

    dataset = imagenet.get_split('validation', '/data/imagenet')
    provider = slim.dataset_data_provider.DatasetDataProvider(dataset)
    image, label, bboxes = provider.get(['image', 'label', 'object/bbox'])

The shards (`train-*`, `validation-*`) come from slim's
build_imagenet_data.py. Label 0 is 'background' and the 1000 classes are
1..1000 (1001 in all); train with labels_offset=1 for a network without a
background class. The boxes all belong to the image's class: this is not a
detection dataset.
"""

import os
import urllib.error
import urllib.request

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf

from datasets import dataset_utils

NAME = 'imagenet'
SPLITS_TO_SIZES = {'train': 1281167, 'validation': 50000}
SPEC = dataset_utils.DatasetSpec(
    '%s-*', SPLITS_TO_SIZES, num_classes=1001, default_format='jpeg',
    missing_label=-1, items_to_descriptions={
        'image': 'A color image of varying height and width.',
        'label': 'The label id of the image, integer between 0 and 999',
        'label_text': 'The text of the label.',
        'object/bbox': 'A list of bounding boxes.',
        'object/label': 'A list of labels, one per each object.',
    })

# False keeps get_split off the network when labels.txt is missing.
LOAD_READABLE_NAMES = True
# Where upstream's get_split fetches them from.
_NAMES_BASE_URL = ('https://raw.githubusercontent.com/tensorflow/models/'
                   'master/research/inception/inception/data/')
SYNSETS_URL = _NAMES_BASE_URL + 'imagenet_lsvrc_2015_synsets.txt'
SYNSET_TO_HUMAN_URL = _NAMES_BASE_URL + 'imagenet_metadata.txt'


def _fetch_lines(url):
  """The lines of `url`, from the copy beside this module when there is one.

  The repository ships both name files (build_imagenet_data.py reads them),
  so the download is only for a checkout without them.
  """
  local_copy = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                            url.rsplit('/', 1)[-1])
  if os.path.isfile(local_copy):
    with open(local_copy, encoding='utf-8') as f:
      return f.read().splitlines()
  with urllib.request.urlopen(url, timeout=30) as response:
    return response.read().decode('utf-8').splitlines()


def create_readable_names_for_imagenet_labels():
  """Downloads the 1000 ILSVRC synsets' names: {0: 'background', 1: ...}.

  The synsets, sorted as the ILSVRC list gives them, get labels 1..1000,
  which is how build_imagenet_data.py numbered the records.

  Raises:
    urllib.error.URLError, OSError: the files cannot be downloaded.
    ValueError: they are not the 1000-synset list and its name table.
  """
  synsets = [line.strip() for line in _fetch_lines(SYNSETS_URL)
             if line.strip()]
  synset_to_human = {}
  for line in _fetch_lines(SYNSET_TO_HUMAN_URL):
    synset, sep, human = line.strip().partition('\t')
    if sep:
      synset_to_human[synset] = human
  missing = [synset for synset in synsets if synset not in synset_to_human]
  if len(synsets) != 1000 or missing:
    raise ValueError('%s lists %d synsets (want 1000), %d without a name in '
                     '%s' % (SYNSETS_URL, len(synsets), len(missing),
                             SYNSET_TO_HUMAN_URL))
  labels_to_names = {0: 'background'}
  for label, synset in enumerate(synsets, 1):
    labels_to_names[label] = synset_to_human[synset]
  return labels_to_names


def _readable_names(dataset_dir):
  """The names downloaded once and kept in labels.txt.

  None when `LOAD_READABLE_NAMES` is False or the names cannot be had.
  """
  if not LOAD_READABLE_NAMES:
    return None
  try:
    labels_to_names = create_readable_names_for_imagenet_labels()
  except (urllib.error.URLError, OSError, ValueError) as error:
    tf.logging.warning('ImageNet class names unavailable (%s); put a '
                       'labels.txt in %s to name the classes.', error,
                       dataset_dir)
    return None
  try:
    dataset_utils.write_label_file(labels_to_names, dataset_dir)
  except OSError:
    pass  # A read-only dataset folder: the names are just not cached.
  return labels_to_names


# Without labels.txt in the dataset folder the class names are downloaded
# once (and cached there) while LOAD_READABLE_NAMES is True, as upstream.
get_split = dataset_utils.split_getter(NAME, SPEC,
                                       labels_fallback=_readable_names)
