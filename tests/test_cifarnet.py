"""CifarNet: layer shapes, classifier switch, decay placement, training."""

import tensorflow.compat.v1 as tf

from nets import cifarnet
from nets import nets_factory
import nets_helpers


def _build(batch=2, num_classes=10, is_training=False, weight_decay=0.004,
           **kwargs):
  return nets_helpers.build(
      cifarnet.cifarnet, cifarnet.cifarnet_arg_scope(weight_decay),
      [batch, 32, 32, 3], num_classes=num_classes, is_training=is_training,
      **kwargs)


def test_end_point_shapes_follow_the_layers():
  with tf.Graph().as_default():
    _, logits, end_points = _build(batch=3, num_classes=4)
    shapes = nets_helpers.end_point_shapes(end_points)
  assert shapes == {
      'conv1': [3, 32, 32, 64], 'pool1': [3, 16, 16, 64],
      'conv2': [3, 16, 16, 64], 'pool2': [3, 8, 8, 64],
      'Flatten': [3, 4096], 'fc3': [3, 384], 'fc4': [3, 192],
      'Logits': [3, 4], 'Predictions': [3, 4]}
  assert logits.shape.as_list() == [3, 4]


def test_pools_as_upstream_2x2_stride_2_valid():
  # On an odd size the tutorial's 3x3 SAME pooling (33 -> 17 -> 9) and
  # upstream's 2x2 VALID pooling (33 -> 16 -> 8) part ways.
  with tf.Graph().as_default():
    _, _, end_points = nets_helpers.build(
        cifarnet.cifarnet, cifarnet.cifarnet_arg_scope(), [1, 33, 33, 3],
        num_classes=4)
    pool = end_points['pool1'].op
  assert end_points['pool1'].shape.as_list() == [1, 16, 16, 64]
  assert end_points['pool2'].shape.as_list() == [1, 8, 8, 64]
  assert list(pool.get_attr('ksize')) == [1, 2, 2, 1]
  assert list(pool.get_attr('strides')) == [1, 2, 2, 1]
  assert pool.get_attr('padding') == b'VALID'
  # Upstream scores inside the network's scope.
  assert end_points['Predictions'].op.name == 'CifarNet/Predictions/Reshape_1'


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
  nets_helpers.assert_training_fits(_build, [4, 32, 32, 3], num_classes=2,
                                    steps=20, seed=0)
