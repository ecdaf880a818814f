"""memory_efficient=True (nets/densenet_memory_efficient.py): same variables,
same gradients, and the model module free of the recomputation.

Peak memory is measured in benchmarks/densenet_memory_sweep.py (each measurement in
its own process); here we check the graph property that makes it low: no
gradient op reads a dense layer's forward concatenation.
"""

import inspect
import sys

import numpy as np
import pytest
import tensorflow.compat.v1 as tf
import tf_slim as slim

import nets
from nets import densenet
from nets import densenet_memory_efficient
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


def _build_small(memory_efficient, is_training, config=SMALL_CONFIG):
  images = tf.constant(_images())
  with slim.arg_scope(densenet.densenet_arg_scope()):
    logits, _ = densenet.densenet_from_config(
        images, config, 5, is_training=is_training,
        memory_efficient=memory_efficient)
  # A loss whose gradient differs per logit, so every path is exercised.
  loss = tf.reduce_sum(logits * tf.range(1.0, 6.0)) + tf.reduce_sum(
      tf.square(logits))
  return images, loss


def _run_small(memory_efficient, is_training, config=SMALL_CONFIG):
  """Gradients (images first) and moving statistics after one update."""
  with tf.Graph().as_default():
    tf.set_random_seed(7)
    images, loss = _build_small(memory_efficient, is_training, config)
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


# With dropout between the convs only the 1x1 part is recomputed (a second
# dropout would draw another mask); dropout is off when not training, which
# is what makes the gradients comparable.
WITH_DROPOUT = SMALL_CONFIG._replace(dropout_keep_prob=0.8)


@pytest.mark.parametrize('is_training,config', [
    (True, SMALL_CONFIG), (False, SMALL_CONFIG), (False, WITH_DROPOUT),
    (True, SMALL_CONFIG._replace(stem='early_downsampling'))])
def test_gradients_equal_default_path(is_training, config):
  names, default_grads, default_updates, default_moving = _run_small(
      False, is_training, config)
  names_me, me_grads, me_updates, me_moving = _run_small(True, is_training,
                                                         config)
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


# The stem's BN-ReLU-pool is recomputed too; this stem has one.
POOLED_STEM = SMALL_CONFIG._replace(stem='early_downsampling')
WIDE_ACTIVATIONS = ('ConcatV2', 'FusedBatchNormV3', 'Relu', 'MaxPool', 'Pad')


def _kept_wide_activations(memory_efficient):
  """Forward concat/BN/ReLU/pool ops whose feature maps gradient ops read.

  Only [batch, height, width, channels] outputs count: a BatchNorm's batch
  statistics are a few numbers per channel.
  """
  with tf.Graph().as_default() as graph:
    _, loss = _build_small(memory_efficient, True, POOLED_STEM)
    tf.gradients(loss, tf.trainable_variables())
    return sorted(
        op.name for op in graph.get_operations()
        if not _is_gradient_op(op) and op.type in WIDE_ACTIVATIONS and any(
            _is_gradient_op(consumer) for output in op.outputs
            if output.shape.ndims == 4 for consumer in output.consumers()))


def test_backward_does_not_keep_forward_activations():
  """The saving itself: only recomputed copies feed the gradient ops, except
  for the last block's output and the final BN-ReLU before the pooling."""
  kept = _kept_wide_activations(memory_efficient=True)
  assert kept == ['densenet/dense_block2/concat',
                  'densenet/final_block/BatchNorm/Relu']
  # The check does see what the default path keeps: in every dense layer
  # (6) the x1 and x2 ReLU and, after the first, the concat (4); the first
  # block's output and the transition's ReLU; the stem's ReLU, pad and pool.
  default_kept = _kept_wide_activations(memory_efficient=False)
  assert len(default_kept) == 6 * 2 + 4 + 2 + 3 + len(kept), default_kept


def test_recomputed_batch_norms_reuse_the_forward_statistics():
  """The copies normalise with the forward pass's batch statistics instead
  of computing them again: every BatchNorm built for the backward pass runs
  in inference mode (the gradients stay equal, see above)."""
  with tf.Graph().as_default() as graph:
    _, loss = _build_small(True, True, POOLED_STEM)
    tf.gradients(loss, tf.trainable_variables())
    batch_norms = [op for op in graph.get_operations()
                   if op.type == 'FusedBatchNormV3']
  forward = [op for op in batch_norms if not _is_gradient_op(op)]
  recomputed = [op for op in batch_norms if _is_gradient_op(op)]
  assert all(op.get_attr('is_training') for op in forward)
  assert not any(op.get_attr('is_training') for op in recomputed)
  # Stem, 6 layers x 2, transition; the final BN-ReLU is not recomputed.
  assert len(forward) == 15
  assert len(recomputed) == 14
  # The backward reads the forward ops' per-channel statistics, never the
  # third reserve space (it can be a workspace as large as the input).
  for op in forward:
    if 'final_block' in op.name:
      continue  # not recomputed: TensorFlow's own gradient reads it
    readers = [consumer.name for consumer in op.outputs[5].consumers()]
    assert not readers, (op.name, readers)


def test_recomputation_waits_for_the_gradient():
  """Recomputed ops depend on the incoming gradient, so they cannot run (and
  hold memory) during the forward pass."""
  with tf.Graph().as_default() as graph:
    _, loss = _build_small(True, is_training=True)
    tf.gradients(loss, tf.trainable_variables())
    recomputed = [op for op in graph.get_operations()
                  if op.type == 'ConcatV2' and _is_gradient_op(op)
                  and 'IdentityN_grad' in op.name]
    # Layers 2 and 3 of both blocks, and the transition.
    assert len(recomputed) == 5
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
  from deployment.errors import UserError  # pylint: disable=g-import-not-at-top
  from deployment.pipeline import Pipeline  # pylint: disable=g-import-not-at-top
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


def test_model_module_builds_without_the_recomputation_module(monkeypatch):
  """nets/densenet.py holds the model only: with the recomputation module
  made unimportable, plain networks still build (training mode, dropout)
  and only memory_efficient=True asks for it. None of the gradient
  machinery is in the model's text."""
  monkeypatch.delattr(nets, 'densenet_memory_efficient')
  monkeypatch.setitem(sys.modules, 'nets.densenet_memory_efficient', None)
  for config in (POOLED_STEM, WITH_DROPOUT):
    with tf.Graph().as_default():
      _build_small(False, True, config)
  with tf.Graph().as_default(), pytest.raises(ImportError,
                                              match='densenet_memory_eff'):
    _build_small(True, True, POOLED_STEM)
  source = inspect.getsource(densenet)
  for machinery in ('custom_gradient', 'RegisterGradient', 'identity_n',
                    'gradient_override_map', 'tf.gradients'):
    assert machinery not in source, machinery


def test_memory_efficient_networks_use_the_modules_hook(monkeypatch):
  """memory_efficient=True builds through the module's BUILDERS: every
  recomputed segment goes through its recompute_in_backward."""
  segments = []
  recompute = densenet_memory_efficient.recompute_in_backward

  def counting_recompute(build, inputs):
    segments.append(len(inputs))
    return recompute(build, inputs)

  monkeypatch.setattr(densenet_memory_efficient, 'recompute_in_backward',
                      counting_recompute)
  assert densenet._builders(True) is densenet_memory_efficient.BUILDERS
  with tf.Graph().as_default():
    _build_small(True, True, POOLED_STEM)
  # The stem's conv output, then per block three layers reading 1, 2 and 3
  # maps; the transition reads the first block's four maps.
  assert segments == [1, 1, 2, 3, 4, 1, 2, 3]
  del segments[:]
  with tf.Graph().as_default():
    _build_small(False, True, POOLED_STEM)
  assert not segments


def _block_and_transition(memory_efficient, values=None):
  """dense_block, then transition_block on its output; (tensors, values)."""
  with tf.Graph().as_default():
    inputs = tf.constant(_images()[..., :2] * 3)
    with slim.arg_scope(densenet.densenet_arg_scope()), slim.arg_scope(
        [slim.batch_norm], is_training=True):
      block = densenet.dense_block(inputs, 3, 4,
                                   memory_efficient=memory_efficient,
                                   scope='block')
      transition = densenet.transition_block(
          block, 5, memory_efficient=memory_efficient, scope='transition')
    variables = tf.global_variables()
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      for variable in variables:
        if values:
          variable.load(values[variable.op.name], sess)
      outputs = sess.run([block, transition])
      values = {v.op.name: sess.run(v) for v in variables}
  return (block, transition), outputs, values


def test_blocks_take_and_return_one_tensor_in_both_modes():
  (block, transition), expected, values = _block_and_transition(False)
  (block_me, transition_me), actual, _ = _block_and_transition(True, values)
  for tensors in ((block, transition), (block_me, transition_me)):
    assert all(isinstance(tensor, tf.Tensor) for tensor in tensors)
    # 2 input channels + 3 layers * k=4; the transition halves the size.
    assert tensors[0].shape.as_list() == [4, 16, 16, 14]
    assert tensors[1].shape.as_list() == [4, 8, 8, 5]
  for plain, efficient in zip(expected, actual):
    assert np.abs(plain).max() > 0
    np.testing.assert_allclose(efficient, plain, rtol=1e-5, atol=1e-5)
