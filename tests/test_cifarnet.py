"""CifarNet: layer shapes, classifier switch, decay placement, training."""

import numpy as np
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import cifarnet
from nets import nets_factory


def _build(batch=2, num_classes=10, is_training=False, weight_decay=0.004,
           **kwargs):
  images = tf.placeholder(tf.float32, [batch, 32, 32, 3])
  with slim.arg_scope(cifarnet.cifarnet_arg_scope(weight_decay)):
    logits, end_points = cifarnet.cifarnet(images, num_classes=num_classes,
                                           is_training=is_training, **kwargs)
  return images, logits, end_points


def test_end_point_shapes_follow_the_layers():
  with tf.Graph().as_default():
    _, logits, end_points = _build(batch=3, num_classes=4)
    shapes = {k: v.shape.as_list() for k, v in end_points.items()}
  assert shapes == {
      'conv1': [3, 32, 32, 64], 'pool1': [3, 16, 16, 64],
      'conv2': [3, 16, 16, 64], 'pool2': [3, 8, 8, 64],
      'Flatten': [3, 4096], 'fc3': [3, 384], 'fc4': [3, 192],
      'Logits': [3, 4], 'Predictions': [3, 4]}
  assert logits.shape.as_list() == [3, 4]


def test_zero_classes_returns_fc4_features():
  with tf.Graph().as_default():
    _, features, end_points = _build(num_classes=0)
    names = [v.op.name for v in tf.global_variables()]
  assert features.shape.as_list() == [2, 192]
  assert features is end_points['fc4']
  assert not any('logits' in name for name in names)


def test_weight_decay_only_on_hidden_fully_connected_layers():
  with tf.Graph().as_default():
    _build(weight_decay=0.01)
    decayed = sorted(loss.op.name.split('/')[1]
                     for loss in tf.losses.get_regularization_losses())
  assert decayed == ['fc3', 'fc4']


def test_factory_builds_it_at_its_default_size():
  with tf.Graph().as_default():
    network_fn = nets_factory.get_network_fn('cifarnet', num_classes=10)
    size = network_fn.default_image_size
    logits, _ = network_fn(tf.zeros([1, size, size, 3]))
  assert size == 32
  assert logits.shape.as_list() == [1, 10]


def test_a_few_training_steps_fit_a_tiny_batch():
  rng = np.random.RandomState(0)
  batch = rng.rand(4, 32, 32, 3).astype(np.float32)
  labels = np.arange(4) % 2
  with tf.Graph().as_default():
    tf.set_random_seed(0)
    images, logits, _ = _build(batch=4, num_classes=2, is_training=True,
                               dropout_keep_prob=1.0)
    loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)
    train_op = tf.train.AdamOptimizer(1e-3).minimize(loss)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      start = sess.run(loss, {images: batch})
      for _ in range(20):
        sess.run(train_op, {images: batch})
      end = sess.run(loss, {images: batch})
  assert end < 0.5 * start
