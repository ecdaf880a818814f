"""VGG 16 and 19 (Simonyan & Zisserman 2014, configurations D and E).

Five stacks of 3x3 convolutions separated by 2x2 max pooling, then the three
fully connected layers written as convolutions (fc6 is a 7x7 VALID convolution
over the 7x7 pool5 map, fc7/fc8 are 1x1), so that the released
`vgg_16_2016_08_28` / `vgg_19_2016_08_28` checkpoints load by name.

End points are keyed by full scope name ('vgg_16/conv3/conv3_2', 'vgg_16/fc8'),
as in those checkpoints' users' code, plus 'Logits' and 'Predictions'.
The checkpoints have 1000 classes (no background class) and expect
VGG preprocessing (mean-subtracted RGB in 0..255).
"""

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf
import tf_slim as slim

_STACK_WIDTHS = (64, 128, 256, 512, 512)
_CONVS_PER_STACK = {
    'vgg_16': (2, 2, 3, 3, 3),
    'vgg_19': (2, 2, 4, 4, 4),
}


def vgg_arg_scope(weight_decay=0.0005):
  """ReLU everywhere, L2 weight decay, zero biases, SAME convolutions."""
  with slim.arg_scope(
      [slim.conv2d, slim.fully_connected],
      activation_fn=tf.nn.relu,
      weights_regularizer=slim.l2_regularizer(weight_decay),
      biases_initializer=tf.zeros_initializer()):
    with slim.arg_scope([slim.conv2d], padding='SAME') as scope:
      return scope


def _conv_stacks(net, convs_per_stack):
  for index, (repeats, width) in enumerate(
      zip(convs_per_stack, _STACK_WIDTHS), start=1):
    name = 'conv%d' % index
    net = slim.repeat(net, repeats, slim.conv2d, width, [3, 3], scope=name)
    net = slim.max_pool2d(net, [2, 2], scope='pool%d' % index)
  return net


def _vgg(inputs, name, num_classes, is_training, dropout_keep_prob,
         spatial_squeeze, scope, fc_conv_padding, global_pool, reuse):
  """Builds one VGG configuration; see `vgg_16` for the arguments."""
  with tf.variable_scope(scope, name, [inputs], reuse=reuse) as sc:
    collection = sc.original_name_scope + 'end_points'
    with slim.arg_scope([slim.conv2d, slim.fully_connected, slim.max_pool2d],
                        outputs_collections=collection):
      net = _conv_stacks(inputs, _CONVS_PER_STACK[name])
      net = slim.conv2d(net, 4096, [7, 7], padding=fc_conv_padding,
                        scope='fc6')
      net = slim.dropout(net, dropout_keep_prob, is_training=is_training,
                         scope='dropout6')
      net = slim.conv2d(net, 4096, [1, 1], scope='fc7')
      end_points = slim.utils.convert_collection_to_dict(collection)
      if global_pool:
        net = tf.reduce_mean(net, [1, 2], keepdims=True, name='global_pool')
        end_points['global_pool'] = net
      if not num_classes:
        return net, end_points
      net = slim.dropout(net, dropout_keep_prob, is_training=is_training,
                         scope='dropout7')
      net = slim.conv2d(net, num_classes, [1, 1], activation_fn=None,
                        normalizer_fn=None, scope='fc8')
      if spatial_squeeze:
        net = tf.squeeze(net, [1, 2], name='fc8/squeezed')
      end_points[sc.name + '/fc8'] = net
  end_points['Logits'] = net
  end_points['Predictions'] = slim.softmax(net, scope='Predictions')
  return net, end_points


def vgg_16(inputs, num_classes=1000, is_training=True, dropout_keep_prob=0.5,
           spatial_squeeze=True, scope='vgg_16', fc_conv_padding='VALID',
           global_pool=False, reuse=None):
  """VGG-16 (configuration D).

  Args:
    inputs: float32 [batch, 224, 224, 3] (fc6 needs a 7x7 pool5 map; pass
      `global_pool=True` with `fc_conv_padding='SAME'` for other sizes).
    num_classes: number of classes; 0 or None returns the fc7 features
      [batch, h, w, 4096] without dropout7/fc8.
    is_training: enables dropout.
    dropout_keep_prob: fraction of fc6/fc7 units kept while training.
    spatial_squeeze: squeeze the logits to [batch, num_classes].
    scope: variable scope of every variable.
    fc_conv_padding: padding of the fc6 convolution.
    global_pool: average fc7 over space before the classifier.
    reuse: whether to reuse the variables of `scope`.

  Returns:
    (logits, end_points).
  """
  return _vgg(inputs, 'vgg_16', num_classes, is_training, dropout_keep_prob,
              spatial_squeeze, scope, fc_conv_padding, global_pool, reuse)


def vgg_19(inputs, num_classes=1000, is_training=True, dropout_keep_prob=0.5,
           spatial_squeeze=True, scope='vgg_19', fc_conv_padding='VALID',
           global_pool=False, reuse=None):
  """VGG-19 (configuration E); arguments as `vgg_16`."""
  return _vgg(inputs, 'vgg_19', num_classes, is_training, dropout_keep_prob,
              spatial_squeeze, scope, fc_conv_padding, global_pool, reuse)


vgg_16.default_image_size = 224
vgg_19.default_image_size = 224
