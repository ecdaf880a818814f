"""CifarNet preprocessing: pad, random crop, flip, then standardise.

Training pads 4 pixels on each side, takes a random crop of the output size,
flips and jitters brightness/contrast; evaluation crops or pads to the output
size. Every image is then standardised to zero mean, unit variance.
"""

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf

PADDING = 4


def preprocess_image(image, output_height, output_width, is_training=False,
                     padding=PADDING, use_grayscale=False, **unused_kwargs):
  """Returns float32 [output_height, output_width, C], standardised."""
  channels = image.shape[-1]
  image = tf.cast(image, tf.float32)
  if is_training:
    # Bring the image to the output size first so any input size works.
    image = tf.image.resize_with_crop_or_pad(image, output_height,
                                             output_width)
    if padding > 0:
      image = tf.pad(image, [[padding, padding], [padding, padding], [0, 0]])
    image = tf.image.random_crop(image, [output_height, output_width,
                                         channels])
    image = tf.image.random_flip_left_right(image)
    image = tf.image.random_brightness(image, max_delta=63)
    image = tf.image.random_contrast(image, lower=0.2, upper=1.8)
  else:
    image = tf.image.resize_with_crop_or_pad(image, output_height,
                                             output_width)
  image.set_shape([output_height, output_width, channels])
  if use_grayscale and channels == 3:
    image = tf.image.rgb_to_grayscale(image)
  return tf.image.per_image_standardization(image)
