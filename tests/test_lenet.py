"""LeNet: layer shapes, classifier switch, dropout and a short training run."""

import numpy as np
import tensorflow.compat.v1 as tf

from nets import lenet
from nets import nets_factory
import nets_helpers


def _build(batch=2, num_classes=10, is_training=False, channels=1, **kwargs):
  return nets_helpers.build(
      lenet.lenet, lenet.lenet_arg_scope(), [batch, 28, 28, channels],
      num_classes=num_classes, is_training=is_training, **kwargs)


def test_end_point_shapes_follow_the_layers():
  with tf.Graph().as_default():
    _, logits, end_points = _build(batch=3, num_classes=7)
    shapes = nets_helpers.end_point_shapes(end_points)
  assert shapes == {
      'conv1': [3, 28, 28, 32], 'pool1': [3, 14, 14, 32],
      'conv2': [3, 14, 14, 64], 'pool2': [3, 7, 7, 64],
      'Flatten': [3, 3136], 'fc3': [3, 1024], 'dropout3': [3, 1024],
      'Logits': [3, 7], 'Predictions': [3, 7]}
  assert logits.shape.as_list() == [3, 7]


def test_zero_classes_returns_features_without_classifier():
  with tf.Graph().as_default():
    _, features, end_points = _build(num_classes=0)
    names = [v.op.name for v in tf.global_variables()]
  assert features.shape.as_list() == [2, 1024]
  assert 'Logits' not in end_points and 'Predictions' not in end_points
  assert not any('fc4' in name for name in names)


def test_dropout_only_while_training():
  batch = np.random.RandomState(0).rand(2, 28, 28, 1).astype(np.float32)
  results = {}
  for is_training in (False, True):
    with tf.Graph().as_default():
      tf.set_random_seed(1)
      images, logits, _ = _build(is_training=is_training)
      with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        first, second = (sess.run(logits, {images: batch}) for _ in range(2))
    results[is_training] = np.allclose(first, second)
  assert results == {False: True, True: False}


def test_predictions_are_a_softmax_over_logits():
  batch = np.random.RandomState(1).rand(2, 28, 28, 1).astype(np.float32)
  with tf.Graph().as_default():
    images, logits, end_points = _build()
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      logit_values, probs = sess.run([logits, end_points['Predictions']],
                                     {images: batch})
  expected = np.exp(logit_values - logit_values.max(1, keepdims=True))
  expected /= expected.sum(1, keepdims=True)
  np.testing.assert_allclose(probs, expected, rtol=1e-5, atol=1e-6)


def test_weight_decay_adds_one_l2_loss_per_weight_matrix():
  with tf.Graph().as_default():
    images = tf.placeholder(tf.float32, [1, 28, 28, 1])
    network_fn = nets_factory.get_network_fn('lenet', num_classes=10,
                                             weight_decay=1e-3)
    network_fn(images)
    losses = tf.losses.get_regularization_losses()
  assert network_fn.default_image_size == 28
  assert len(losses) == 4  # conv1, conv2, fc3, fc4 weights; biases undecayed


def test_a_few_training_steps_fit_a_tiny_batch():
  nets_helpers.assert_training_fits(_build, [4, 28, 28, 1], num_classes=3,
                                    steps=15, seed=2)
