"""The pixel limit every tool applies before it decodes an image.

An image file's header says how many pixels it holds; a small file (a 1 MB
PNG of 20000x20000 pixels) can take gigabytes once decoded. server.py
(`serving.check_image`) and label_image.py (`inference.classify_files`) read
that header with Pillow and refuse what is above `--max_megapixels` before
TensorFlow decodes anything.
"""

import io

from PIL import Image

# --max_megapixels' default in server.py and label_image.py.
DEFAULT_MAX_PIXELS = 16 * 1000 * 1000


class BadImage(ValueError):
  """Bytes that are not a complete JPEG, PNG, GIF or BMP image."""


class ImageTooLarge(BadImage):
  """The image has more pixels than the limit."""


def check_size(image, max_pixels):
  """Raises ImageTooLarge when the opened Pillow `image` is above the limit.

  Only the header is read. A GIF counts every frame: TensorFlow's decoder
  reads them all, even for the first one.
  """
  width, height = image.size
  frames = getattr(image, 'n_frames', 1) if image.format == 'GIF' else 1
  pixels = width * height * frames
  if pixels > max_pixels:
    raise ImageTooLarge(
        'the image has %dx%d pixels%s (%.1f megapixels); at most %.1f '
        'megapixels are decoded (--max_megapixels), so scale it down first' %
        (width, height, ' x %d frames' % frames if frames > 1 else '',
         pixels / 1e6, max_pixels / 1e6))


def bomb_error(error, max_pixels):
  """The ImageTooLarge for Pillow's DecompressionBombError `error`."""
  return ImageTooLarge('the image has more pixels than Pillow decodes (%s); '
                       'at most %.1f megapixels are decoded '
                       '(--max_megapixels)' %
                       (' '.join(str(error).split())[:120], max_pixels / 1e6))


def check_encoded_size(data, max_pixels):
  """`check_size` from encoded bytes; bytes Pillow cannot open pass.

  Whether they are an image at all is left to the decoder that follows.
  """
  try:
    with Image.open(io.BytesIO(data)) as image:
      check_size(image, max_pixels)
  except ImageTooLarge:
    raise
  except Image.DecompressionBombError as error:
    raise bomb_error(error, max_pixels) from error
  except (OSError, SyntaxError, ValueError):
    pass  # not an image Pillow reads: the decoder will say so
