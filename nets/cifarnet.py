"""CifarNet: the small CIFAR-10 convolutional network.

Two 5x5 convolution / 2x2 max-pool / local response normalisation stages
followed by 384- and 192-unit hidden layers, with slim's variable names
`CifarNet/conv1`, ..., `CifarNet/logits`. The layers are those of the
TensorFlow CIFAR-10 tutorial, but pooled as slim pools them (2x2 windows,
stride 2, VALID; the tutorial's are overlapping 3x3 SAME windows): the same
map sizes and variables, so a slim CifarNet checkpoint computes here what it
computes upstream.
"""

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf
import tf_slim as slim


def _local_response_norm(net, name):
  # The tutorial's LRN settings: radius 4, bias 1, alpha 0.001/9, beta 0.75.
  return tf.nn.lrn(net, depth_radius=4, bias=1.0, alpha=0.001 / 9.0,
                   beta=0.75, name=name)


def cifarnet(images, num_classes=10, is_training=False, dropout_keep_prob=0.5,
             prediction_fn=slim.softmax, scope='CifarNet', reuse=None):
  """Builds CifarNet.

  Args:
    images: float32 [batch, 32, 32, 3].
    num_classes: number of classes. 0 (or None) skips the classifier and
      returns the 192-d features of `fc4` as `logits`.
    is_training: enables dropout after `fc3`.
    dropout_keep_prob: fraction of `fc3` units kept while training.
    prediction_fn: turns logits into `end_points['Predictions']`.
    scope: variable scope of every variable.
    reuse: whether to reuse the variables of `scope`.

  Returns:
    (logits [batch, num_classes] or features [batch, 192], end_points dict).
  """
  end_points = {}
  with tf.variable_scope(scope, 'CifarNet', [images], reuse=reuse):
    net = end_points['conv1'] = slim.conv2d(images, 64, [5, 5], scope='conv1')
    net = end_points['pool1'] = slim.max_pool2d(
        net, [2, 2], 2, padding='VALID', scope='pool1')
    net = _local_response_norm(net, 'norm1')
    net = end_points['conv2'] = slim.conv2d(net, 64, [5, 5], scope='conv2')
    net = _local_response_norm(net, 'norm2')
    net = end_points['pool2'] = slim.max_pool2d(
        net, [2, 2], 2, padding='VALID', scope='pool2')
    net = end_points['Flatten'] = slim.flatten(net)
    net = end_points['fc3'] = slim.fully_connected(net, 384, scope='fc3')
    net = slim.dropout(net, dropout_keep_prob, is_training=is_training,
                       scope='dropout3')
    net = end_points['fc4'] = slim.fully_connected(net, 192, scope='fc4')
    if not num_classes:
      return net, end_points
    logits = end_points['Logits'] = slim.fully_connected(
        net, num_classes, activation_fn=None,
        weights_initializer=tf.truncated_normal_initializer(stddev=1 / 192.0),
        biases_initializer=tf.zeros_initializer(),
        weights_regularizer=None, scope='logits')
    # Inside the network's scope: CifarNet/Predictions/Reshape_1 upstream.
    end_points['Predictions'] = prediction_fn(logits, scope='Predictions')
  return logits, end_points


cifarnet.default_image_size = 32


def cifarnet_arg_scope(weight_decay=0.004):
  """Arg scope for CifarNet as in the CIFAR-10 tutorial.

  Convolutions: truncated-normal(0.05) weights, no weight decay (the tutorial
  decays only the hidden fully connected layers). Fully connected layers:
  truncated-normal(0.04) weights, biases starting at 0.1, L2 `weight_decay`.
  """
  with slim.arg_scope(
      [slim.conv2d],
      weights_initializer=tf.truncated_normal_initializer(stddev=5e-2),
      activation_fn=tf.nn.relu):
    with slim.arg_scope(
        [slim.fully_connected],
        biases_initializer=tf.constant_initializer(0.1),
        weights_initializer=tf.truncated_normal_initializer(stddev=0.04),
        weights_regularizer=slim.l2_regularizer(weight_decay),
        activation_fn=tf.nn.relu) as scope:
      return scope
