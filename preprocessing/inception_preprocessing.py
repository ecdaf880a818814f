"""Inception-style preprocessing (also what the course used for DenseNet).

Training: a random crop covering 5-100% of the image with aspect ratio 3/4 to
4/3 that keeps at least 10% of the object box (Szegedy et al.'s distorted
bounding box; without a box the whole image is the object), resized to the
output size, a random left-right flip and colour distortion. Evaluation: the
central 87.5% resized to the output size. Both return float32 in [-1, 1].

The arguments are upstream slim's: `fast_mode` (default True) resizes
bilinearly and distorts only brightness and saturation, without it the resize
method is random and hue and contrast are distorted too; `crop_image` False
skips the crop (random or central); `add_image_summaries` records the
training steps as image summaries when built in a plain graph (not in a
tf.data map, whose summaries nothing could read); `bbox` is the object box.

Grayscale (1-channel) images skip the hue/saturation steps, which need colour.
"""

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf

CENTRAL_FRACTION = 0.875
# Every method tf.image.resize had in slim's day; fast mode keeps the first.
_RESIZE_METHODS = (tf.image.ResizeMethod.BILINEAR,
                   tf.image.ResizeMethod.NEAREST_NEIGHBOR,
                   tf.image.ResizeMethod.BICUBIC,
                   tf.image.ResizeMethod.AREA)


def _to_unit_float(image):
  return tf.image.convert_image_dtype(image, tf.float32)


def _to_signed_unit(image):
  """[0, 1] -> [-1, 1], the range slim's Inception checkpoints expect."""
  return (image - 0.5) * 2.0


def _whole_image_box():
  return tf.constant([0.0, 0.0, 1.0, 1.0], tf.float32, [1, 1, 4])


def _image_summary(add_image_summaries, name, images):
  """Adds an image summary to a plain graph's SUMMARIES collection.

  Eagerly and inside a function (a tf.data map, as the training pipeline
  runs this) nothing would ever merge it, so it is skipped there.
  """
  graph = tf.get_default_graph()
  if (add_image_summaries and not tf.executing_eagerly() and
      not graph.building_function):
    tf.summary.image(name, images)


def distort_color(image, fast_mode=True, scope=None):
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
      chain_a, chain_b = (brightness, saturation), (saturation, brightness)
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


def distorted_bounding_box_crop(image, bbox=None, min_object_covered=0.1,
                                aspect_ratio_range=(0.75, 1.33),
                                area_range=(0.05, 1.0), max_attempts=100):
  """Crops a random box of the image that keeps part of the object.

  Args:
    image: [H, W, C] image.
    bbox: float32 [1, num_boxes, 4] boxes (ymin, xmin, ymax, xmax in [0, 1]);
      None: the whole image is the object.
    min_object_covered, aspect_ratio_range, area_range, max_attempts: as
      `tf.image.sample_distorted_bounding_box` (after `max_attempts` misses
      it returns the whole image).

  Returns:
    `(cropped image, [1, 1, 4] box of the crop)`.
  """
  begin, size, crop_box = tf.compat.v2.image.sample_distorted_bounding_box(
      tf.shape(image),
      bounding_boxes=_whole_image_box() if bbox is None else bbox,
      min_object_covered=min_object_covered,
      aspect_ratio_range=aspect_ratio_range, area_range=area_range,
      max_attempts=max_attempts)
  return tf.slice(image, begin, size), crop_box


def _resize(image, height, width, method=tf.image.ResizeMethod.BILINEAR):
  resized = tf.image.resize(image, [height, width], method=method)
  # Bicubic overshoots; every method must stay in [0, 1].
  return tf.clip_by_value(resized, 0.0, 1.0)


def _resize_with_random_method(image, height, width):
  """Resizes with one of the four methods, picked at random per image."""
  branches = [lambda method=method: _resize(image, height, width, method)
              for method in _RESIZE_METHODS]
  pick = tf.random.uniform([], 0, len(branches), dtype=tf.int32)
  return tf.switch_case(pick, branches)


def preprocess_for_train(image, height, width, bbox=None, fast_mode=True,
                         scope=None, add_image_summaries=True,
                         random_crop=True):
  """Random crop (of `bbox`'s surroundings), resize, flip, colour; [-1, 1]."""
  with tf.name_scope(scope, 'inception_train', [image, height, width, bbox]):
    channels = image.shape[-1]
    image = _to_unit_float(image)
    box = _whole_image_box() if bbox is None else bbox
    whole = image[None]
    _image_summary(add_image_summaries, 'image_with_bounding_boxes',
                   tf.image.draw_bounding_boxes(whole, box))
    if random_crop:
      image, crop_box = distorted_bounding_box_crop(image, box)
      _image_summary(add_image_summaries, 'images_with_distorted_bounding_box',
                     tf.image.draw_bounding_boxes(whole, crop_box))
    if fast_mode:
      image = _resize(image, height, width)
    else:
      image = _resize_with_random_method(image, height, width)
    image.set_shape([height, width, channels])
    _image_summary(add_image_summaries, 'cropped_resized_image', image[None])
    image = tf.image.random_flip_left_right(image)
    image = distort_color(image, fast_mode=fast_mode)
    _image_summary(add_image_summaries, 'final_distorted_image', image[None])
    return _to_signed_unit(image)


def preprocess_for_eval(image, height, width,
                        central_fraction=CENTRAL_FRACTION, scope=None,
                        central_crop=True):
  """The central `central_fraction` (if `central_crop`), resized; [-1, 1]."""
  with tf.name_scope(scope, 'inception_eval', [image, height, width]):
    channels = image.shape[-1]
    image = _to_unit_float(image)
    if central_crop and central_fraction:
      image = tf.image.central_crop(image, central_fraction=central_fraction)
    image = _resize(image, height, width)
    image.set_shape([height, width, channels])
    return _to_signed_unit(image)


def preprocess_image(image, output_height, output_width, is_training=False,
                     bbox=None, fast_mode=True, add_image_summaries=True,
                     crop_image=True, use_grayscale=False, **unused_kwargs):
  """Preprocesses one uint8 [H, W, C] image to float32 in [-1, 1].

  Args:
    image: uint8 (or float in [0, 1]) image, 1 or 3 channels, any size.
    output_height, output_width: the size returned.
    is_training: random crop/flip/colour, else central crop.
    bbox: training only: float32 [1, num_boxes, 4] object boxes (ymin, xmin,
      ymax, xmax in [0, 1]); None: the whole image.
    fast_mode: training only: bilinear resize, brightness/saturation only.
    add_image_summaries: training only: image summaries of each step.
    crop_image: random (training) or central (evaluation) crop; False
      resizes the whole image.
    use_grayscale: return a 1-channel image.

  Returns:
    float32 [output_height, output_width, C].
  """
  if is_training:
    image = preprocess_for_train(
        image, output_height, output_width, bbox=bbox, fast_mode=fast_mode,
        add_image_summaries=add_image_summaries, random_crop=crop_image)
  else:
    image = preprocess_for_eval(image, output_height, output_width,
                                central_crop=crop_image)
  if use_grayscale and image.shape[-1] == 3:
    image = tf.image.rgb_to_grayscale(image)
  return image
