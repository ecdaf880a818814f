"""The preprocessing of the community ImageNet DenseNet checkpoints.

`tf-densenet121.ckpt`, `tf-densenet161.ckpt` and `tf-densenet169.ckpt`
(pudae/tensorflow-densenet) were trained on VGG-style images: the smallest
side resized (to a random length in [256, 512] for training, to 256 for
evaluation), a random (training) or central (evaluation) crop, a random flip
when training, the ImageNet RGB means subtracted, then everything scaled by
0.017 (roughly 1 / the pixels' standard deviation).

Registered as `densenet_imagenet`, not `densenet`: `densenet` is a network
name, and the course's DenseNets keep the inception preprocessing.
"""

import tf_compat  # noqa: F401

from preprocessing import vgg_preprocessing

SCALE = 0.017


def preprocess_image(image, output_height, output_width, is_training=False,
                     resize_side_min=vgg_preprocessing.RESIZE_SIDE_MIN,
                     resize_side_max=vgg_preprocessing.RESIZE_SIDE_MAX,
                     use_grayscale=False, **unused_kwargs):
  """Returns float32 [output_height, output_width, C]: (pixel - mean) * 0.017.

  Args:
    image: uint8 [H, W, C] image, 1 or 3 channels, any size.
    output_height, output_width: the size returned.
    is_training: random resize/crop/flip, else resize to `resize_side_min`
      and take the central crop.
    resize_side_min, resize_side_max: the range of the smallest side.
    use_grayscale: return a 1-channel image.
  """
  # The checkpoints' recipe is VGG's up to the final scaling.
  centred = vgg_preprocessing.preprocess_image(
      image, output_height, output_width, is_training=is_training,
      resize_side_min=resize_side_min, resize_side_max=resize_side_max,
      use_grayscale=use_grayscale)
  return centred * SCALE
