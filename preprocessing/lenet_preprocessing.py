"""LeNet preprocessing: crop or pad to the output size, scale to [-1, 1)."""

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf


def preprocess_image(image, output_height, output_width, is_training=False,
                     use_grayscale=False, **unused_kwargs):
  """Returns float32 [output_height, output_width, C] in [-1, 1).

  `is_training` changes nothing: LeNet trains on the digits as they are.
  """
  del is_training
  channels = image.shape[-1]
  image = tf.cast(image, tf.float32)
  image = tf.image.resize_with_crop_or_pad(image, output_height, output_width)
  image.set_shape([output_height, output_width, channels])
  if use_grayscale and channels == 3:
    image = tf.image.rgb_to_grayscale(image)
  return (image - 128.0) / 128.0
