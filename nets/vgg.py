"""VGG (Simonyan & Zisserman, "Very Deep Convolutional Networks for
Large-Scale Image Recognition", 2014), configurations A, D and E.

https://arxiv.org/abs/1409.1556

Five stacks of 3x3 convolutions separated by 2x2 max pooling, then the three
fully connected layers written as convolutions (fc6 is a 7x7 VALID convolution
over the 7x7 pool5 map, fc7/fc8 are 1x1), so that the released
`vgg_16_2016_08_28` / `vgg_19_2016_08_28` checkpoints load by name.
`vgg_d` and `vgg_e` are the paper's names for `vgg_16` and `vgg_19`.

AlexNet and OverFeat end the same way, so this module also holds the builder
the three share, `fully_convolutional_network`: a table of layers (the
`nets.inception_utils` primitives), then fc6-dropout-fc7-dropout-fc8.

End points are keyed by full scope name ('vgg_16/conv3/conv3_2', 'vgg_16/fc8'),
as in those checkpoints' users' code: upstream's keys exactly, with no
'Logits'/'Predictions' (the logits are `vgg_16/fc8/squeezed`).
The checkpoints have 1000 classes (no background class) and expect
VGG preprocessing (mean-subtracted RGB in 0..255).
"""

import collections
import contextlib

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import inception_utils as iu

# The classifier on top of a network's layer table. AlexNet and OverFeat
# initialise it as cuda-convnet did (`initializer_stddev`: truncated normal
# weights, 0.1 biases, zero fc8 biases); VGG's (None) comes from the arg scope.
Classifier = collections.namedtuple(
    'Classifier', ['fc6_depth', 'fc6_kernel', 'initializer_stddev'])

# A whole network: its default scope name, layer table and classifier.
Architecture = collections.namedtuple(
    'Architecture', ['name', 'layers', 'classifier'])

_VGG_CLASSIFIER = Classifier(fc6_depth=4096, fc6_kernel=[7, 7],
                             initializer_stddev=None)
_FC7_DEPTH = 4096
_STACK_WIDTHS = (64, 128, 256, 512, 512)
_CONVS_PER_STACK = {
    'vgg_a': (1, 1, 2, 2, 2),
    'vgg_16': (2, 2, 3, 3, 3),
    'vgg_19': (2, 2, 4, 4, 4),
}


def classic_arg_scope(weight_decay, biases_initializer, pool_padding=None):
  """The arg scope VGG, AlexNet and OverFeat share.

  ReLU, L2 weight decay and `biases_initializer` for every conv and fully
  connected layer, SAME convolutions, and `pool_padding` for max pooling
  when given (AlexNet and OverFeat pool with VALID).
  """
  with slim.arg_scope(
      [slim.conv2d, slim.fully_connected],
      activation_fn=tf.nn.relu,
      weights_regularizer=slim.l2_regularizer(weight_decay),
      biases_initializer=biases_initializer):
    with slim.arg_scope([slim.conv2d], padding='SAME') as scope:
      if pool_padding is None:
        return scope
      with slim.arg_scope([slim.max_pool2d], padding=pool_padding) as scope:
        return scope


def vgg_arg_scope(weight_decay=0.0005):
  """ReLU everywhere, L2 weight decay, zero biases, SAME convolutions."""
  return classic_arg_scope(weight_decay, tf.zeros_initializer())


def _vgg_layers(convs_per_stack):
  """The layer table of one configuration: 'conv<i>/conv<i>_<j>', 'pool<i>'."""
  layers = []
  for stack, (repeats, width) in enumerate(
      zip(convs_per_stack, _STACK_WIDTHS), start=1):
    layers += [iu.conv('conv%d/conv%d_%d' % (stack, stack, index), width,
                       [3, 3]) for index in range(1, repeats + 1)]
    layers.append(iu.max_pool('pool%d' % stack, [2, 2], stride=2))
  return tuple(layers)


_VGG = {name: Architecture(name, _vgg_layers(convs), _VGG_CLASSIFIER)
        for name, convs in _CONVS_PER_STACK.items()}


def _classifier_initializers(classifier):
  """Arg scope of fc6-fc8 and the extra fc8 arguments for `classifier`."""
  if classifier.initializer_stddev is None:
    return contextlib.nullcontext(), {}
  fc_scope = slim.arg_scope(
      [slim.conv2d],
      weights_initializer=tf.truncated_normal_initializer(
          0.0, classifier.initializer_stddev),
      biases_initializer=tf.constant_initializer(0.1))
  return fc_scope, {'biases_initializer': tf.zeros_initializer()}


def _classifier(net, classifier, num_classes, is_training, dropout_keep_prob,
                spatial_squeeze, fc_conv_padding, global_pool, collection):
  """fc6, fc7, optional global pool, fc8; returns (net, end_points)."""
  fc_scope, fc8_arguments = _classifier_initializers(classifier)
  with fc_scope:
    net = slim.conv2d(net, classifier.fc6_depth, classifier.fc6_kernel,
                      padding=fc_conv_padding, scope='fc6')
    net = slim.dropout(net, dropout_keep_prob, is_training=is_training,
                       scope='dropout6')
    net = slim.conv2d(net, _FC7_DEPTH, [1, 1], scope='fc7')
    end_points = slim.utils.convert_collection_to_dict(collection)
    if global_pool:
      net = tf.reduce_mean(net, [1, 2], keepdims=True, name='global_pool')
      end_points['global_pool'] = net
    if not num_classes:
      return net, end_points
    net = slim.dropout(net, dropout_keep_prob, is_training=is_training,
                       scope='dropout7')
    net = slim.conv2d(net, num_classes, [1, 1], activation_fn=None,
                      normalizer_fn=None, scope='fc8', **fc8_arguments)
  if spatial_squeeze:
    net = tf.squeeze(net, [1, 2], name='fc8/squeezed')
  # Upstream's only classifier end point; no softmax in the graph (callers
  # wanting probabilities apply one to the returned logits).
  end_points[tf.get_variable_scope().name + '/fc8'] = net
  return net, end_points


def fully_convolutional_network(inputs, architecture, num_classes,
                                is_training, dropout_keep_prob,
                                spatial_squeeze, scope,
                                fc_conv_padding='VALID', global_pool=False,
                                reuse=None):
  """A layer table, then the fully connected layers as convolutions.

  The builder of VGG, AlexNet and OverFeat.

  Args:
    inputs: float32 [batch, height, width, 3].
    architecture: an `Architecture`. Its layers are `inception_utils.conv` /
      `max_pool` entries; each one's output becomes the end point
      '<scope>/<layer name>'.
    num_classes: number of classes; 0 or None returns the fc7 features
      (globally pooled with `global_pool`) without dropout7/fc8.
    is_training: enables dropout.
    dropout_keep_prob: fraction of fc6/fc7 units kept while training.
    spatial_squeeze: squeeze the logits to [batch, num_classes].
    scope: variable scope of every variable (None: `architecture.name`,
      made unique).
    fc_conv_padding: padding of the fc6 convolution ('SAME' keeps a
      prediction map of input / 32 for VGG in fully convolutional use).
    global_pool: average fc7 over space before fc8, for any input size.
    reuse: whether to reuse the variables of `scope`.

  Returns:
    (logits or features, end_points).
  """
  with tf.variable_scope(scope, architecture.name, [inputs],
                         reuse=reuse) as sc:
    collection = sc.original_name_scope + 'end_points'
    with slim.arg_scope([slim.conv2d, slim.max_pool2d],
                        outputs_collections=collection):
      net = iu.apply_layers(inputs, architecture.layers)
      return _classifier(net, architecture.classifier, num_classes,
                         is_training, dropout_keep_prob, spatial_squeeze,
                         fc_conv_padding, global_pool, collection)


def _vgg(name, inputs, num_classes, is_training, dropout_keep_prob,
         spatial_squeeze, reuse, scope, fc_conv_padding, global_pool):
  return fully_convolutional_network(
      inputs, _VGG[name], num_classes, is_training, dropout_keep_prob,
      spatial_squeeze, scope, fc_conv_padding, global_pool, reuse)


def vgg_a(inputs, num_classes=1000, is_training=True, dropout_keep_prob=0.5,
          spatial_squeeze=True, reuse=None, scope='vgg_a',
          fc_conv_padding='VALID', global_pool=False):
  """VGG-11 (configuration A); arguments as `vgg_16`."""
  return _vgg('vgg_a', inputs, num_classes, is_training, dropout_keep_prob,
              spatial_squeeze, reuse, scope, fc_conv_padding, global_pool)


def vgg_16(inputs, num_classes=1000, is_training=True, dropout_keep_prob=0.5,
           spatial_squeeze=True, reuse=None, scope='vgg_16',
           fc_conv_padding='VALID', global_pool=False):
  """VGG-16 (configuration D).

  Args:
    inputs: float32 [batch, 224, 224, 3] (fc6 needs a 7x7 pool5 map; pass
      `global_pool=True` with `fc_conv_padding='SAME'` for other sizes).
    num_classes: number of classes; 0 or None returns the fc7 features
      [batch, h, w, 4096] without dropout7/fc8.
    is_training: enables dropout.
    dropout_keep_prob: fraction of fc6/fc7 units kept while training.
    spatial_squeeze: squeeze the logits to [batch, num_classes].
    reuse: whether to reuse the variables of `scope`.
    scope: variable scope of every variable.
    fc_conv_padding: padding of the fc6 convolution.
    global_pool: average fc7 over space before the classifier.

  Returns:
    (logits, end_points).
  """
  return _vgg('vgg_16', inputs, num_classes, is_training, dropout_keep_prob,
              spatial_squeeze, reuse, scope, fc_conv_padding, global_pool)


def vgg_19(inputs, num_classes=1000, is_training=True, dropout_keep_prob=0.5,
           spatial_squeeze=True, reuse=None, scope='vgg_19',
           fc_conv_padding='VALID', global_pool=False):
  """VGG-19 (configuration E); arguments as `vgg_16`."""
  return _vgg('vgg_19', inputs, num_classes, is_training, dropout_keep_prob,
              spatial_squeeze, reuse, scope, fc_conv_padding, global_pool)


vgg_a.default_image_size = 224
vgg_16.default_image_size = 224
vgg_19.default_image_size = 224

# The paper's configuration letters.
vgg_d = vgg_16
vgg_e = vgg_19
