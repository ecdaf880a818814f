"""LeNet-style network for 28x28 digit / Fashion-MNIST images.

Two 5x5 convolutions with 2x2 max pooling, a 1024-unit hidden layer with
dropout, and a linear classifier (LeCun et al. 1998, in the variant slim ships,
so the released variable names `LeNet/conv1`, ..., `LeNet/fc4` are kept).
"""

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf
import tf_slim as slim


def lenet(images, num_classes=10, is_training=False, dropout_keep_prob=0.5,
          prediction_fn=slim.softmax, scope='LeNet', reuse=None):
  """Builds LeNet.

  Args:
    images: float32 [batch, 28, 28, channels].
    num_classes: number of classes. 0 (or None) skips the classifier and
      returns the 1024-d features after dropout as `logits`.
    is_training: enables dropout.
    dropout_keep_prob: fraction of hidden units kept while training.
    prediction_fn: turns logits into `end_points['Predictions']`.
    scope: variable scope of every variable.
    reuse: whether to reuse the variables of `scope`.

  Returns:
    (logits [batch, num_classes] or features [batch, 1024], end_points dict).
  """
  end_points = {}
  with tf.variable_scope(scope, 'LeNet', [images], reuse=reuse):
    net = end_points['conv1'] = slim.conv2d(images, 32, [5, 5], scope='conv1')
    net = end_points['pool1'] = slim.max_pool2d(net, [2, 2], 2, scope='pool1')
    net = end_points['conv2'] = slim.conv2d(net, 64, [5, 5], scope='conv2')
    net = end_points['pool2'] = slim.max_pool2d(net, [2, 2], 2, scope='pool2')
    net = end_points['Flatten'] = slim.flatten(net)
    net = end_points['fc3'] = slim.fully_connected(net, 1024, scope='fc3')
    net = end_points['dropout3'] = slim.dropout(
        net, dropout_keep_prob, is_training=is_training, scope='dropout3')
    if not num_classes:
      return net, end_points
    logits = end_points['Logits'] = slim.fully_connected(
        net, num_classes, activation_fn=None, scope='fc4')
  end_points['Predictions'] = prediction_fn(logits, scope='Predictions')
  return logits, end_points


lenet.default_image_size = 28


def lenet_arg_scope(weight_decay=0.0):
  """Arg scope for LeNet: ReLU, truncated-normal(0.1) weights, L2 decay."""
  with slim.arg_scope(
      [slim.conv2d, slim.fully_connected],
      weights_regularizer=slim.l2_regularizer(weight_decay),
      weights_initializer=tf.truncated_normal_initializer(stddev=0.1),
      activation_fn=tf.nn.relu) as scope:
    return scope
