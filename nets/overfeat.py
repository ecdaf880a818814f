"""OverFeat, the "fast" model (Sermanet et al., "OverFeat: Integrated
Recognition, Localization and Detection using Convolutional Networks", 2014).

https://arxiv.org/abs/1312.6229

Five convolutions (11x11/4, 5x5 VALID, three 3x3) with 2x2 max pooling after
the first, second and fifth, then the fully connected layers as convolutions
(fc6 3072 wide, 6x6 VALID over the 6x6 pool5 map of a 231x231 image;
fc7/fc8 1x1), which is how the paper slides the classifier over larger
images. Variable and end point names are slim's ('overfeat/conv1', ...,
'overfeat/fc8'), and, as upstream, no 'Logits' or 'Predictions' keys.

Usage:
  with slim.arg_scope(overfeat.overfeat_arg_scope()):
    logits, end_points = overfeat.overfeat(images, num_classes=1000)
"""

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf

from nets import vgg
from nets.inception_utils import conv, max_pool

_OVERFEAT = vgg.Architecture(
    name='overfeat',
    layers=(
        conv('conv1', 64, [11, 11], stride=4, padding='VALID'),
        max_pool('pool1', [2, 2], stride=2),
        conv('conv2', 256, [5, 5], padding='VALID'),
        max_pool('pool2', [2, 2], stride=2),
        conv('conv3', 512, [3, 3]),
        conv('conv4', 1024, [3, 3]),
        conv('conv5', 1024, [3, 3]),
        max_pool('pool5', [2, 2], stride=2),
    ),
    classifier=vgg.Classifier(fc6_depth=3072, fc6_kernel=[6, 6],
                              initializer_stddev=0.005))


def overfeat_arg_scope(weight_decay=0.0005):
  """ReLU, L2 weight decay, zero biases, SAME convolutions, VALID pooling."""
  return vgg.classic_arg_scope(weight_decay, tf.zeros_initializer(),
                               pool_padding='VALID')


def overfeat(inputs, num_classes=1000, is_training=True,
             dropout_keep_prob=0.5, spatial_squeeze=True, scope='overfeat',
             global_pool=False):
  """OverFeat (fast model).

  Takes [batch, 231, 231, 3] for classification; larger images give a map of
  predictions (`spatial_squeeze=False`) or their average (`global_pool=True`,
  not in the original). The arguments are those of
  `vgg.fully_convolutional_network`, the builder VGG, AlexNet and OverFeat
  share.

  Returns:
    (logits, end_points).
  """
  return vgg.fully_convolutional_network(
      inputs, _OVERFEAT, num_classes, is_training, dropout_keep_prob,
      spatial_squeeze, scope, global_pool=global_pool)


overfeat.default_image_size = 231
