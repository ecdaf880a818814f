"""nets/densenet.py memory-efficient mode: same variables, same gradients.

Peak memory is measured in benchmarks/densenet_memory.py (each measurement in
its own process); here we check the graph property that makes it low: no
gradient op reads a dense layer's forward concatenation.
"""

import numpy as np
import pytest
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import densenet
from nets import nets_factory

# Two blocks of three bottleneck layers: concatenations of 2 to 4 inputs,
# a transition in between, at a size that builds and runs in about a second.
SMALL_CONFIG = densenet.DenseNetConfig(
    block_layers=(3, 3), growth_rate=4, num_initial_features=8,
    bottleneck=True, compression=0.5, stem='cifar', default_image_size=16,
    num_classes=5, dropout_keep_prob=1.0)
TOLERANCE = 1e-4


def _images():
  return np.random.RandomState(0).uniform(-1, 1, (4, 16, 16, 3)).astype(
      np.float32)


def _build_small(memory_efficient, is_training):
  images = tf.constant(_images())
  with slim.arg_scope(densenet.densenet_arg_scope()):
    logits, _ = densenet.densenet_from_config(
        images, SMALL_CONFIG, 5, is_training=is_training,
        memory_efficient=memory_efficient)
  # A loss whose gradient differs per logit, so every path is exercised.
  loss = tf.reduce_sum(logits * tf.range(1.0, 6.0)) + tf.reduce_sum(
      tf.square(logits))
  return images, loss


def _run_small(memory_efficient, is_training):
  """Gradients (images first) and moving statistics after one update."""
  with tf.Graph().as_default():
    tf.set_random_seed(7)
    images, loss = _build_small(memory_efficient, is_training)
    variables = tf.trainable_variables()
    grads = tf.gradients(loss, [images] + variables)
    update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      grad_values = sess.run(grads)
      sess.run(update_ops)
      moving = {v.op.name: sess.run(v) for v in tf.global_variables()
                if 'moving_' in v.op.name}
    return [v.op.name for v in variables], grad_values, len(update_ops), moving


@pytest.mark.parametrize('is_training', [True, False])
def test_gradients_equal_default_path(is_training):
  names, default_grads, default_updates, default_moving = _run_small(
      False, is_training)
  names_me, me_grads, me_updates, me_moving = _run_small(True, is_training)
  assert names == names_me
  assert len(default_grads) == len(names) + 1
  for name, expected, actual in zip(['images'] + names, default_grads,
                                    me_grads):
    assert actual is not None, name
    assert np.abs(expected).max() > 0, name
    np.testing.assert_allclose(actual, expected, atol=TOLERANCE,
                               rtol=TOLERANCE, err_msg=name)
  # The recomputation adds no second BatchNorm statistics update.
  assert me_updates == default_updates
  for name, value in default_moving.items():
    np.testing.assert_allclose(me_moving[name], value, atol=1e-6,
                               err_msg=name)


def _variable_shapes(name, memory_efficient):
  with tf.Graph().as_default():
    network_fn = nets_factory.get_network_fn(name, num_classes=7,
                                             is_training=True)
    size = network_fn.default_image_size
    network_fn(tf.placeholder(tf.float32, [2, size, size, 3]),
               memory_efficient=memory_efficient)
    return [(v.op.name, v.shape.as_list()) for v in tf.global_variables()]


@pytest.mark.parametrize('name', ['densenet_bc_mini', 'densenet121'])
def test_variable_names_unchanged(name):
  default = _variable_shapes(name, memory_efficient=False)
  assert default == _variable_shapes(name, memory_efficient=True)
  assert (name + '/dense_block1/conv_block1/x1/Conv/weights', [1, 1, 64, 128]
          ) in default or name != 'densenet121'


def test_checkpoint_restores_across_modes(tmp_path):
  """A checkpoint written in one mode restores in the other, same outputs."""
  path = str(tmp_path / 'model.ckpt')
  outputs = []
  for memory_efficient in (False, True):
    with tf.Graph().as_default():
      _, loss = _build_small(memory_efficient, is_training=False)
      saver = tf.train.Saver()
      with tf.Session() as sess:
        if memory_efficient:
          saver.restore(sess, path)
        else:
          sess.run(tf.global_variables_initializer())
          saver.save(sess, path)
        outputs.append(sess.run(loss))
  np.testing.assert_allclose(outputs[1], outputs[0], rtol=1e-6)


def _is_gradient_op(op):
  return op.name.startswith('gradients')


def _forward_bottleneck_activations(graph):
  """Forward concat, BatchNorm and ReLU ops of every dense layer's 'x1'."""
  return [op for op in graph.get_operations()
          if not _is_gradient_op(op) and '/conv_block' in op.name and (
              op.type == 'ConcatV2' or
              ('/x1/' in op.name and op.type in ('FusedBatchNormV3', 'Relu')))]


@pytest.mark.parametrize('memory_efficient', [False, True])
def test_backward_does_not_keep_forward_activations(memory_efficient):
  """The saving itself: only the recomputed copy feeds the gradient ops."""
  with tf.Graph().as_default() as graph:
    _, loss = _build_small(memory_efficient, is_training=True)
    tf.gradients(loss, tf.trainable_variables())
    activations = _forward_bottleneck_activations(graph)
    # 4 concats (layers 2 and 3 of both blocks), 6 BatchNorms, 6 ReLUs.
    assert len(activations) == 16
    kept = [op.name for op in activations
            if any(_is_gradient_op(consumer) for output in op.outputs
                   for consumer in output.consumers())]
  if memory_efficient:
    assert not kept
  else:  # the check does see what the default path keeps
    assert len(kept) == len(activations)


def test_recomputation_waits_for_the_gradient():
  """Recomputed ops depend on the incoming gradient, so they cannot run (and
  hold memory) during the forward pass."""
  with tf.Graph().as_default() as graph:
    _, loss = _build_small(True, is_training=True)
    tf.gradients(loss, tf.trainable_variables())
    recomputed = [op for op in graph.get_operations()
                  if op.type == 'ConcatV2' and _is_gradient_op(op)
                  and 'IdentityN_grad' in op.name]
    assert len(recomputed) == 4
    for op in recomputed:
      ancestors, stack = set(), [op]
      while stack:
        for tensor in stack.pop().inputs:
          if tensor.op.name not in ancestors:
            ancestors.add(tensor.op.name)
            stack.append(tensor.op)
      assert any(name.startswith('gradients/') and 'logits' in name
                 for name in ancestors), op.name


def test_train_flag_builds_memory_efficient_network():
  """--memory_efficient reaches the network (deployment/training.py)."""
  from common_flags import Pipeline, UserError  # pylint: disable=g-import-not-at-top
  from deployment import training  # pylint: disable=g-import-not-at-top

  def pipeline(name):
    return Pipeline(dataset=None, preprocess_fn=None, image_size=28,
                    num_classes=3, channels=1,
                    network_fn=nets_factory.get_network_fn(
                        name, 3, is_training=True))

  efficient = training._memory_efficient_pipeline(
      pipeline('densenet_bc_mini'), 'densenet_bc_mini')
  assert efficient.network_fn.default_image_size == 28
  with tf.Graph().as_default() as graph:
    logits, _ = efficient.network_fn(tf.zeros([2, 28, 28, 1]))
    tf.gradients(logits, tf.trainable_variables())
    assert any('IdentityN_grad' in op.name for op in graph.get_operations())
  with pytest.raises(UserError, match='--memory_efficient.*lenet'):
    training._memory_efficient_pipeline(pipeline('lenet'), 'lenet')
