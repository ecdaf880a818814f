"""Explicit padding shared by the networks that convolve with VALID padding.

TensorFlow's SAME padding puts the odd pixel at the end only for some input
sizes, so a strided convolution's sampling grid shifts with the input's
parity. The released ResNet and MobileNet checkpoints were trained with
symmetric padding by hand followed by a VALID convolution instead.
"""

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf


def fixed_padding(inputs, kernel_size, rate=1):
  """Pads `inputs` [batch, h, w, c] so a VALID conv gives SAME's output size.

  Args:
    inputs: the tensor to pad.
    kernel_size: [kernel_height, kernel_width] (or an int for a square one).
    rate: the convolution's dilation rate.

  Returns:
    `inputs` padded by (k - 1) * rate per axis, the extra pixel at the end;
    `inputs` itself for 1x1 kernels.
  """
  if isinstance(kernel_size, int):
    kernel_size = [kernel_size, kernel_size]
  pads = []
  for size in kernel_size[:2]:
    total = (size - 1) * rate
    pads.append([total // 2, total - total // 2])
  if not any(any(pad) for pad in pads):
    return inputs
  return tf.pad(inputs, [[0, 0]] + pads + [[0, 0]])
