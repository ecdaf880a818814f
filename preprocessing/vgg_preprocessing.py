"""VGG/ResNet preprocessing: resize the smallest side, crop, subtract the mean.

Training resizes the smallest side to a random length in [256, 512], then
takes a random crop and flips; evaluation resizes it to 256 and takes the
central crop. The ImageNet channel means are subtracted, as the released VGG
and ResNet-v1 checkpoints expect (values stay on the 0-255 scale).
"""

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf

RGB_MEANS = (123.68, 116.78, 103.94)
RESIZE_SIDE_MIN = 256
RESIZE_SIDE_MAX = 512


def _resize_smallest_side(image, smallest_side):
  """Resizes so the shorter side is `smallest_side`, keeping the aspect."""
  shape = tf.shape(image)
  height = tf.cast(shape[0], tf.float32)
  width = tf.cast(shape[1], tf.float32)
  scale = tf.cast(smallest_side, tf.float32) / tf.minimum(height, width)
  new_size = tf.cast(tf.math.ceil(tf.stack([height, width]) * scale),
                     tf.int32)
  return tf.image.resize(image, new_size, method=tf.image.ResizeMethod.BILINEAR)


def _subtract_means(image):
  channels = image.shape[-1]
  if channels == 3:
    return image - tf.constant(RGB_MEANS, tf.float32)
  return image - sum(RGB_MEANS) / len(RGB_MEANS)


def preprocess_image(image, output_height, output_width, is_training=False,
                     resize_side_min=RESIZE_SIDE_MIN,
                     resize_side_max=RESIZE_SIDE_MAX, use_grayscale=False,
                     **unused_kwargs):
  """Returns float32 [output_height, output_width, C], mean subtracted.

  Args:
    image: uint8 [H, W, C] image, 1 or 3 channels, any size.
    output_height, output_width: the size returned.
    is_training: random resize/crop/flip, else central crop.
    resize_side_min: the smallest side's length for evaluation, and the
      lower end of its random length for training.
    resize_side_max: the upper end (inclusive) of that random length.
    use_grayscale: return a 1-channel image.

  Neither length goes below the crop, so any output size works.
  """
  channels = image.shape[-1]
  image = tf.cast(image, tf.float32)
  # Never resize below the crop, whatever size the caller asks for.
  floor = max(output_height, output_width)
  if is_training:
    side = tf.random.uniform([], max(resize_side_min, floor),
                             max(resize_side_max, floor) + 1, dtype=tf.int32)
    image = _resize_smallest_side(image, side)
    image = tf.image.random_crop(image, [output_height, output_width,
                                         channels])
    image = tf.image.random_flip_left_right(image)
  else:
    image = _resize_smallest_side(image, max(resize_side_min, floor))
    image = tf.image.resize_with_crop_or_pad(image, output_height,
                                             output_width)
  image.set_shape([output_height, output_width, channels])
  if use_grayscale and channels == 3:
    image = tf.image.rgb_to_grayscale(image)
  return _subtract_means(image)
