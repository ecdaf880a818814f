"""Visual Wake Words: COCO 2014 images labelled person (1) / not-person (0).

    dataset = visualwakewords.get_split('val', '/data/vww')
    provider = slim.dataset_data_provider.DatasetDataProvider(dataset)
    image, label, bboxes = provider.get(['image', 'label', 'object/bbox'])

An image is 'person' when at least one person annotation covers more than
0.5% of the image (`small_object_area_threshold`); its boxes are those
persons'. `download_and_convert_data.py --dataset_name=visualwakewords
--source_dir=<COCO root>` writes `train.record-*` (from train2014) and
`val.record-*` (from val2014), labels.txt and the metadata file.
"""

import tf_compat  # noqa: F401

from datasets import dataset_utils

NAME = 'visualwakewords'
SPLITS_TO_SIZES = {'train': 82783, 'val': 40504}
SPEC = dataset_utils.DatasetSpec(
    '%s.record-*', SPLITS_TO_SIZES, num_classes=2, default_format='jpeg',
    # What the converter writes to labels.txt (upstream's names).
    class_names=('background', 'person'), missing_label=-1,
    items_to_descriptions={
        'image': 'A color image of varying height and width.',
        'label': 'The label id of the image, an integer in {0, 1}',
        'object/bbox': 'A list of bounding boxes.',
    })
get_split = dataset_utils.split_getter(NAME, SPEC)
