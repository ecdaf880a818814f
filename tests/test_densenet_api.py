"""nets/densenet.py speaks pudae/tensorflow-densenet's API.

Code written for the community `tf-densenet{121,161,169}.ckpt` checkpoints
calls `densenet121(inputs, num_classes, data_format, is_training, reuse)` and
reads the end points '<scope>/logits' and 'predictions'.
"""

import inspect

import numpy as np
import pytest
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import densenet
from nets import nets_factory

PUDAE_NAMES = ['densenet121', 'densenet161', 'densenet169']


def _build(name, shape, *args, **kwargs):
  images = tf.placeholder(tf.float32, shape)
  with slim.arg_scope(densenet.densenet_arg_scope()):
    return images, getattr(densenet, name)(images, *args, **kwargs)


@pytest.mark.parametrize('name', PUDAE_NAMES)
def test_leading_arguments_are_pudaes(name):
  parameters = list(inspect.signature(getattr(densenet, name)).parameters
                    .values())
  assert [(p.name, p.default) for p in parameters[1:5]] == [
      ('num_classes', 1000), ('data_format', 'NHWC'),
      # pudae defaults to True; this module's callers rely on False.
      ('is_training', False), ('reuse', None)]


def test_pudae_positional_call_trains_and_reuses():
  with tf.Graph().as_default():
    images, (logits, end_points) = _build('densenet121', [None, 64, 64, 3],
                                          5, 'NHWC', True)
    assert tf.get_collection(tf.GraphKeys.UPDATE_OPS)  # is_training=True
    names = [v.op.name for v in tf.global_variables()]
    with slim.arg_scope(densenet.densenet_arg_scope()):
      reused, _ = densenet.densenet121(images, 5, 'NHWC', False, True)
    assert [v.op.name for v in tf.global_variables()] == names
  assert logits.shape.as_list() == reused.shape.as_list() == [None, 5]
  assert end_points['densenet121/logits'].shape.as_list() == [None, 1, 1, 5]
  assert end_points['predictions'].shape.as_list() == [None, 1, 1, 5]


@pytest.mark.parametrize('name', PUDAE_NAMES + ['densenet_bc_mini'])
@pytest.mark.parametrize('data_format', ['NCHW', 'nhwc'])
def test_only_nhwc_is_accepted_and_nothing_is_built(name, data_format):
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match="Only data_format='NHWC' is "
                       'supported on CPU'):
      _build(name, [1, 64, 64, 3], 10, data_format=data_format)
    assert not tf.global_variables()


def test_pudae_end_points_hold_the_same_values_unsqueezed():
  batch = np.random.RandomState(0).rand(2, 28, 28, 1).astype(np.float32)
  with tf.Graph().as_default():
    images, (logits, end_points) = _build('densenet_bc_mini',
                                          [None, 28, 28, 1], num_classes=4)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      values = sess.run(
          {'map': end_points['densenet_bc_mini/logits'], 'logits': logits,
           'predictions': end_points['predictions'],
           'Predictions': end_points['Predictions']}, {images: batch})
  np.testing.assert_array_equal(values['map'][:, 0, 0], values['logits'])
  np.testing.assert_array_equal(values['predictions'][:, 0, 0],
                                values['Predictions'])
  shifted = np.exp(values['logits'] - values['logits'].max(1, keepdims=True))
  np.testing.assert_allclose(values['Predictions'],
                             shifted / shifted.sum(1, keepdims=True),
                             rtol=1e-5)


def test_factory_keywords_still_reach_is_training():
  network_fn = nets_factory.get_network_fn('densenet121', num_classes=3,
                                           is_training=True)
  with tf.Graph().as_default():
    logits, _ = network_fn(tf.placeholder(tf.float32, [1, 64, 64, 3]))
    assert tf.get_collection(tf.GraphKeys.UPDATE_OPS)
  assert logits.shape.as_list() == [1, 3]
