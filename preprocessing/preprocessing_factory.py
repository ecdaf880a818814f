"""Maps a network (or preprocessing) name to its preprocessing function.

    fn = preprocessing_factory.get_preprocessing('densenet121', True)
    image = fn(uint8_image, 224, 224)   # float32 [224, 224, 3]

Any output size works for any network (`--train_image_size`,
`--eval_image_size`). Keyword arguments of the module's `preprocess_image`
(inception's `fast_mode`, `bbox`, ...; vgg's `resize_side_min`, ...) pass
through the returned function.
"""

import functools

import tf_compat  # noqa: F401

from nets import nets_factory
from preprocessing import cifarnet_preprocessing
from preprocessing import densenet_imagenet_preprocessing
from preprocessing import inception_preprocessing
from preprocessing import lenet_preprocessing
from preprocessing import vgg_preprocessing

PREPROCESSORS = {
    'cifarnet': cifarnet_preprocessing,
    # Not 'densenet': that is a network (the course's, inception-style).
    'densenet_imagenet': densenet_imagenet_preprocessing,
    'inception': inception_preprocessing,
    'lenet': lenet_preprocessing,
    'vgg': vgg_preprocessing,
}


def preprocessing_name_for(name):
  """Returns the preprocessing name used by network (or preprocessing) `name`.

  A network's preprocessing is part of its row in `nets_factory.NETWORKS`.

  Raises:
    ValueError: naming the valid choices.
  """
  if name in PREPROCESSORS:
    return name
  if name in nets_factory.NETWORKS:
    return nets_factory.preprocessing_name(name)
  raise ValueError(
      'No preprocessing for %r (--preprocessing_name/--model_name); valid: %s, '
      'or a network name (see --model_name)' %
      (name, ', '.join(sorted(PREPROCESSORS))))


def get_preprocessing(name, is_training=False, use_grayscale=False):
  """Returns `fn(image, output_height, output_width, **kw) -> float32 image`.

  Args:
    name: a network name ('densenet121', 'inception_v4', ...) or a
      preprocessing name ('inception', 'vgg', 'cifarnet', 'lenet',
      'densenet_imagenet').
    is_training: training (random augmentation) or evaluation.
    use_grayscale: the function returns 1-channel images.
  """
  module = PREPROCESSORS[preprocessing_name_for(name)]
  return functools.partial(module.preprocess_image, is_training=is_training,
                           use_grayscale=use_grayscale)
