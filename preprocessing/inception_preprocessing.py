"""Inception-style preprocessing (also what the course used for DenseNet).

Training: a random crop covering 5-100% of the image with aspect ratio 3/4 to
4/3 (Szegedy et al.'s distorted bounding box), resized to the output size, a
random left-right flip and colour distortion. Evaluation: the central 87.5%
resized to the output size. Both return float32 in [-1, 1].

Grayscale (1-channel) images skip the hue/saturation steps, which need colour.
"""

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf

CENTRAL_FRACTION = 0.875


def _to_unit_float(image):
  return tf.image.convert_image_dtype(image, tf.float32)


def _to_signed_unit(image):
  """[0, 1] -> [-1, 1], the range slim's Inception checkpoints expect."""
  return (image - 0.5) * 2.0


def distort_color(image, fast_mode=False, scope=None):
  """Random brightness/saturation/hue/contrast in one of two orders.

  Two orders are enough to stop the network learning one fixed chain of
  colour shifts; slim uses four, the gain is small.

  Args:
    image: float32 in [0, 1], 1 or 3 channels.
    fast_mode: only brightness and (for colour) saturation.
    scope: name scope.

  Returns:
    The distorted image, clipped to [0, 1].
  """
  with tf.name_scope(scope, 'distort_color', [image]):
    has_colour = image.shape[-1] == 3

    def brightness(x):
      return tf.image.random_brightness(x, max_delta=32. / 255.)

    def saturation(x):
      if not has_colour:
        return x
      return tf.image.random_saturation(x, lower=0.5, upper=1.5)

    def hue(x):
      return tf.image.random_hue(x, max_delta=0.2) if has_colour else x

    def contrast(x):
      return tf.image.random_contrast(x, lower=0.5, upper=1.5)

    if fast_mode:
      chain_a = chain_b = (brightness, saturation)
    else:
      chain_a = (brightness, saturation, hue, contrast)
      chain_b = (saturation, brightness, contrast, hue)

    def apply(chain):
      def run():
        result = image
        for step in chain:
          result = step(result)
        return result
      return run

    use_a = tf.less(tf.random.uniform([]), 0.5)
    distorted = tf.cond(use_a, apply(chain_a), apply(chain_b))
    return tf.clip_by_value(distorted, 0.0, 1.0)


def distorted_bounding_box_crop(image, min_object_covered=0.1,
                                aspect_ratio_range=(0.75, 1.33),
                                area_range=(0.05, 1.0), max_attempts=100):
  """Crops a random box of the image (the whole image is the object)."""
  whole_image = tf.constant([0.0, 0.0, 1.0, 1.0], tf.float32, [1, 1, 4])
  begin, size, _ = tf.compat.v2.image.sample_distorted_bounding_box(
      tf.shape(image), bounding_boxes=whole_image,
      min_object_covered=min_object_covered,
      aspect_ratio_range=aspect_ratio_range, area_range=area_range,
      max_attempts=max_attempts)
  return tf.slice(image, begin, size)


def _resize(image, height, width):
  resized = tf.image.resize(image, [height, width],
                            method=tf.image.ResizeMethod.BILINEAR)
  return tf.clip_by_value(resized, 0.0, 1.0)


def preprocess_for_train(image, height, width, fast_mode=False):
  with tf.name_scope('inception_train'):
    channels = image.shape[-1]
    image = _to_unit_float(image)
    image = distorted_bounding_box_crop(image)
    image = _resize(image, height, width)
    image.set_shape([height, width, channels])
    image = tf.image.random_flip_left_right(image)
    image = distort_color(image, fast_mode=fast_mode)
    return _to_signed_unit(image)


def preprocess_for_eval(image, height, width,
                        central_fraction=CENTRAL_FRACTION):
  with tf.name_scope('inception_eval'):
    channels = image.shape[-1]
    image = _to_unit_float(image)
    if central_fraction:
      image = tf.image.central_crop(image, central_fraction=central_fraction)
    image = _resize(image, height, width)
    image.set_shape([height, width, channels])
    return _to_signed_unit(image)


def preprocess_image(image, output_height, output_width, is_training=False,
                     fast_mode=False, use_grayscale=False, **unused_kwargs):
  """Preprocesses one uint8 [H, W, C] image to float32 in [-1, 1].

  Args:
    image: uint8 (or float in [0, 1]) image, 1 or 3 channels, any size.
    output_height, output_width: the size returned.
    is_training: random crop/flip/colour, else central crop.
    fast_mode: cheaper colour distortion.
    use_grayscale: return a 1-channel image.

  Returns:
    float32 [output_height, output_width, C].
  """
  if is_training:
    image = preprocess_for_train(image, output_height, output_width,
                                 fast_mode=fast_mode)
  else:
    image = preprocess_for_eval(image, output_height, output_width)
  if use_grayscale and image.shape[-1] == 3:
    image = tf.image.rgb_to_grayscale(image)
  return image
