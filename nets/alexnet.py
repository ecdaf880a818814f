"""AlexNet v2 (Krizhevsky, "One weird trick for parallelizing convolutional
neural networks", 2014).

https://arxiv.org/abs/1404.5997

The single-tower layout of cuda-convnet2's `layers-imagenet-1gpu.cfg`, as
slim ships it: five convolutions (11x11/4, 5x5, three 3x3) with 3x3/2 max
pooling after the first, second and fifth, no local response normalisation,
then the fully connected layers as convolutions (fc6 5x5 VALID over the
5x5 pool5 map, fc7/fc8 1x1) so that the network also runs fully
convolutionally on larger images (`spatial_squeeze=False` or
`global_pool=True`). Variable and end point names are slim's
('alexnet_v2/conv1', ..., 'alexnet_v2/fc8'), and, as upstream, no 'Logits'
or 'Predictions' keys.

Usage:
  with slim.arg_scope(alexnet.alexnet_v2_arg_scope()):
    logits, end_points = alexnet.alexnet_v2(images, num_classes=1000)
"""

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf

from nets import vgg
from nets.inception_utils import conv, max_pool

_ALEXNET_V2 = vgg.Architecture(
    name='alexnet_v2',
    layers=(
        conv('conv1', 64, [11, 11], stride=4, padding='VALID'),
        max_pool('pool1', [3, 3], stride=2),
        conv('conv2', 192, [5, 5]),
        max_pool('pool2', [3, 3], stride=2),
        conv('conv3', 384, [3, 3]),
        conv('conv4', 384, [3, 3]),
        conv('conv5', 256, [3, 3]),
        max_pool('pool5', [3, 3], stride=2),
    ),
    classifier=vgg.Classifier(fc6_depth=4096, fc6_kernel=[5, 5],
                              initializer_stddev=0.005))


def alexnet_v2_arg_scope(weight_decay=0.0005):
  """ReLU, L2 weight decay, 0.1 biases, SAME convolutions, VALID pooling."""
  return vgg.classic_arg_scope(weight_decay, tf.constant_initializer(0.1),
                               pool_padding='VALID')


def alexnet_v2(inputs, num_classes=1000, is_training=True,
               dropout_keep_prob=0.5, spatial_squeeze=True,
               scope='alexnet_v2', global_pool=False):
  """AlexNet v2.

  Takes [batch, 224, 224, 3] for classification; larger images give a map of
  predictions (`spatial_squeeze=False`) or their average (`global_pool=True`,
  not in the original). The arguments are those of
  `vgg.fully_convolutional_network`, the builder VGG, AlexNet and OverFeat
  share.

  Returns:
    (logits, end_points).
  """
  return vgg.fully_convolutional_network(
      inputs, _ALEXNET_V2, num_classes, is_training, dropout_keep_prob,
      spatial_squeeze, scope, global_pool=global_pool)


alexnet_v2.default_image_size = 224
