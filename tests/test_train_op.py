"""model_deploy.deploy()'s keyword arguments that the training script uses.

var_list (--trainable_scopes), moving_averages (--moving_average_decay),
the NaN guard, the unchecked total_loss summary and where the gradients
run; plus optimization.optimizer_from_flags's replica sync.
"""

import collections

import numpy as np
import pytest
import tensorflow.compat.v1 as tf
import tf_slim as slim

from deployment import model_deploy
from deployment import optimization

INPUTS = np.array([[1., 2.], [0., 1.]], np.float32)
TARGETS = np.array([[1.], [0.]], np.float32)


def two_layer_model_fn(inputs=INPUTS):
  """'body' and 'head' weights, both trainable, and a squared-error loss."""

  def model_fn():
    body = slim.model_variable('body', shape=[2, 2],
                               initializer=tf.ones_initializer())
    head = slim.model_variable('head', shape=[2, 1],
                               initializer=tf.ones_initializer())
    predictions = tf.matmul(tf.matmul(tf.constant(inputs), body), head)
    tf.losses.mean_squared_error(tf.constant(TARGETS), predictions)
    return predictions

  return model_fn


# model_deploy places a single clone on /device:GPU:0 as upstream does; the
# training session lets it fall back to the CPU (session_config), so do these.
SOFT_PLACEMENT = tf.ConfigProto(allow_soft_placement=True)


def run_steps(model, steps, fetch):
  with tf.Session(config=SOFT_PLACEMENT) as sess:
    sess.run(tf.global_variables_initializer())
    for _ in range(steps):
      sess.run(model.train_op)
    return sess.run(fetch)


def test_var_list_function_is_called_once_the_variables_exist():
  calls = []

  def head_only():
    calls.append([v.op.name for v in tf.trainable_variables()])
    return tf.trainable_variables('head')

  with tf.Graph().as_default():
    model = model_deploy.deploy(
        model_deploy.DeploymentConfig(), two_layer_model_fn(),
        optimizer=tf.train.GradientDescentOptimizer(0.1), var_list=head_only)
    body, head = run_steps(model, 1, [tf.global_variables('body')[0],
                                      tf.global_variables('head')[0]])
  assert calls == [['body', 'head']]
  np.testing.assert_array_equal(body, np.ones([2, 2]))
  assert not np.allclose(head, np.ones([2, 1]))


def test_moving_averages_are_updated_by_every_step():
  with tf.Graph().as_default():
    averages = tf.train.ExponentialMovingAverage(0.5)
    model = model_deploy.deploy(
        model_deploy.DeploymentConfig(), two_layer_model_fn(),
        optimizer=tf.train.GradientDescentOptimizer(0.1),
        moving_averages=averages)
    head = tf.global_variables('head')[0]
    shadow = averages.average(head)
    assert shadow is not None
    initial_shadow = run_steps(model, 0, shadow)
    shadows = [run_steps(model, steps, shadow) for steps in (2, 3)]
  np.testing.assert_array_equal(initial_shadow, np.ones([2, 1]))
  # Each step moves the average (the step's update and the average's read
  # of the weights are not ordered, so only the movement is checked).
  assert not np.allclose(shadows[0], initial_shadow)
  assert not np.allclose(shadows[1], shadows[0])


def test_nan_loss_fails_the_train_op_but_not_the_summaries():
  """The Supervisor's summary thread must not be the one to hit the NaN."""
  with tf.Graph().as_default():
    model = model_deploy.deploy(
        model_deploy.DeploymentConfig(),
        two_layer_model_fn(INPUTS * np.float32('nan')),
        optimizer=tf.train.GradientDescentOptimizer(0.1))
    with tf.Session(config=SOFT_PLACEMENT) as sess:
      sess.run(tf.global_variables_initializer())
      summary = tf.Summary.FromString(sess.run(model.summary_op))
      with pytest.raises(tf.errors.InvalidArgumentError,
                         match=model_deploy.NON_FINITE_LOSS_MESSAGE):
        sess.run(model.train_op)
  total_loss = [value.simple_value for value in summary.value
                if value.tag == 'total_loss']
  assert len(total_loss) == 1 and np.isnan(total_loss[0])


def test_single_clone_gradients_are_not_pinned_to_the_cpu():
  """One clone has no device of its own: its backward pass goes where its
  forward pass goes (a GPU when there is one), not to optimizer_device()."""
  with tf.Graph().as_default():
    config = model_deploy.DeploymentConfig()
    model_deploy.deploy(config, two_layer_model_fn(),
                        optimizer=tf.train.GradientDescentOptimizer(0.1))
    gradient_ops = [op for op in tf.get_default_graph().get_operations()
                    if op.name.startswith('gradients/')]
  assert gradient_ops
  assert not any('CPU' in op.device for op in gradient_ops), {
      op.device for op in gradient_ops}


def test_optimize_clones_takes_compute_gradients_kwargs_as_a_dict():
  """Upstream's signature: optimize_clones(..., kwargs={'var_list': ...})."""
  with tf.Graph().as_default():
    clones = model_deploy.create_clones(model_deploy.DeploymentConfig(),
                                        two_layer_model_fn())
    _, grads_and_vars = model_deploy.optimize_clones(
        clones, tf.train.GradientDescentOptimizer(0.1),
        kwargs={'var_list': tf.trainable_variables('head')})
  assert [var.op.name for _, var in grads_and_vars] == ['head']


SyncFlags = collections.namedtuple('SyncFlags', [
    'optimizer', 'mixed_precision', 'sync_replicas', 'replicas_to_aggregate',
    'worker_replicas'])


def test_sync_replicas_averages_the_variables_built_after_the_optimizer():
  """deploy() builds the network after the optimizer exists; the replica
  sync must still average every model variable."""
  with tf.Graph().as_default():
    averages = tf.train.ExponentialMovingAverage(0.9)
    optimizer = optimization.optimizer_from_flags(
        SyncFlags('sgd', False, True, 2, 2), 0.1, averages)
    assert isinstance(optimizer, tf.train.SyncReplicasOptimizer)
    two_layer_model_fn()()
    # pylint: disable=protected-access
    assert [v.op.name for v in optimizer._variables_to_average] == ['body',
                                                                   'head']
    without_averages = optimization.optimizer_from_flags(
        SyncFlags('sgd', False, True, 2, 2), 0.1)
    assert without_averages._variables_to_average is None
