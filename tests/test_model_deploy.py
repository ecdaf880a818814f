"""Tests for deployment/model_deploy.py: two CPU clones, checked with numbers."""

import numpy as np
import pytest
import tensorflow.compat.v1 as tf
import tf_slim as slim

import deployment_helpers as helpers
from deployment import model_deploy

WEIGHT_DECAY = 0.1
# Two clones, each with its own batch of two examples of three features.
CLONE_INPUTS = [
    np.array([[1., 2., 0.], [0., 1., 3.]], np.float32),
    np.array([[2., 0., 1.], [1., 1., 1.]], np.float32),
]
CLONE_TARGETS = [
    np.array([[1.], [0.]], np.float32),
    np.array([[2.], [-1.]], np.float32),
]
INITIAL_WEIGHTS = np.array([[0.5], [-0.25], [1.0]], np.float32)


def linear_model_fn_for(batches):
  """A model_fn that takes the next (x, y) batch on each call (one per clone)."""
  batches = iter(batches)

  def model_fn():
    x, y = next(batches)
    weights = slim.model_variable(
        'weights', initializer=tf.constant_initializer(INITIAL_WEIGHTS),
        shape=[3, 1], regularizer=slim.l2_regularizer(WEIGHT_DECAY))
    predictions = tf.matmul(tf.constant(x), weights)
    tf.losses.mean_squared_error(tf.constant(y), predictions)
    return predictions

  return model_fn


def numpy_mse_and_grad(x, y, w):
  residual = x.dot(w) - y
  return np.mean(residual ** 2), 2.0 * x.T.dot(residual) / residual.size


def expected_loss_and_grad():
  """Mean of the clones' losses plus one L2 term (slim: wd * sum(w^2) / 2)."""
  losses, grads = zip(*[numpy_mse_and_grad(x, y, INITIAL_WEIGHTS)
                        for x, y in zip(CLONE_INPUTS, CLONE_TARGETS)])
  loss = sum(losses) / 2 + WEIGHT_DECAY * np.sum(INITIAL_WEIGHTS ** 2) / 2
  grad = sum(grads) / 2 + WEIGHT_DECAY * INITIAL_WEIGHTS
  return loss, grad


def test_two_cpu_clones_share_variables_and_scopes():
  with tf.Graph().as_default():
    config = model_deploy.DeploymentConfig(num_clones=2, clone_on_cpu=True)
    clones = model_deploy.create_clones(
        config, linear_model_fn_for(zip(CLONE_INPUTS, CLONE_TARGETS)))
    assert [c.scope for c in clones] == ['clone_0/', 'clone_1/']
    assert all(c.device == '/device:CPU:0' for c in clones)
    assert [v.op.name for v in tf.global_variables()] == ['weights']
    # One loss per clone, in its own scope; one regularisation loss in all.
    assert len(tf.losses.get_losses('clone_0/')) == 1
    assert len(tf.losses.get_losses('clone_1/')) == 1
    assert len(tf.losses.get_regularization_losses()) == 1


def test_optimize_clones_scales_losses_adds_regularisation_once():
  with tf.Graph().as_default():
    config = model_deploy.DeploymentConfig(num_clones=2, clone_on_cpu=True)
    clones = model_deploy.create_clones(
        config, linear_model_fn_for(zip(CLONE_INPUTS, CLONE_TARGETS)))
    optimizer = tf.train.GradientDescentOptimizer(1.0)
    total_loss, grads_and_vars = model_deploy.optimize_clones(clones,
                                                              optimizer)
    assert len(grads_and_vars) == 1
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      loss_value, grad_value = sess.run([total_loss, grads_and_vars[0][0]])
  want_loss, want_grad = expected_loss_and_grad()
  np.testing.assert_allclose(loss_value, want_loss, rtol=1e-5)
  np.testing.assert_allclose(grad_value, want_grad, rtol=1e-5)


def test_deploy_train_op_applies_summed_gradient_once():
  learning_rate = 0.05
  with tf.Graph().as_default():
    config = model_deploy.DeploymentConfig(num_clones=2, clone_on_cpu=True)
    model = model_deploy.deploy(
        config, linear_model_fn_for(zip(CLONE_INPUTS, CLONE_TARGETS)),
        optimizer=tf.train.GradientDescentOptimizer(learning_rate))
    weights = tf.global_variables('weights')[0]
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      loss_value = sess.run(model.train_op)
      new_weights, step = sess.run([weights, tf.train.get_global_step()])
      summary = tf.Summary.FromString(sess.run(model.summary_op))
  want_loss, want_grad = expected_loss_and_grad()
  np.testing.assert_allclose(loss_value, want_loss, rtol=1e-5)
  np.testing.assert_allclose(new_weights,
                             INITIAL_WEIGHTS - learning_rate * want_grad,
                             rtol=1e-5)
  assert step == 1
  tags = {value.tag for value in summary.value}
  assert {'total_loss', 'Losses/regularization_loss'} <= tags


def test_nan_loss_fails_before_updating_variables():
  with tf.Graph().as_default():
    config = model_deploy.DeploymentConfig(num_clones=2, clone_on_cpu=True)
    bad_inputs = [x * np.float32('nan') for x in CLONE_INPUTS]
    model = model_deploy.deploy(
        config, linear_model_fn_for(zip(bad_inputs, CLONE_TARGETS)),
        optimizer=tf.train.GradientDescentOptimizer(0.1))
    weights = tf.global_variables('weights')[0]
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      with pytest.raises(tf.errors.InvalidArgumentError,
                         match=model_deploy.NON_FINITE_LOSS_MESSAGE):
        sess.run(model.train_op)
      np.testing.assert_array_equal(sess.run(weights), INITIAL_WEIGHTS)
      assert sess.run(tf.train.get_global_step()) == 0


def test_devices_with_parameter_servers():
  # Upstream's strings: no task in the worker's devices (each worker's
  # session filters the cluster down to itself and the ps).
  config = model_deploy.DeploymentConfig(num_clones=2, clone_on_cpu=True,
                                         replica_id=1, num_replicas=2,
                                         num_ps_tasks=2)
  assert config.clone_device(1) == '/job:worker/device:CPU:0'
  assert config.inputs_device() == '/job:worker/device:CPU:0'
  assert config.optimizer_device() == '/job:worker/device:CPU:0'
  with tf.Graph().as_default():
    with tf.device(config.variables_device()):
      first = tf.Variable(1.0, name='first')
      second = tf.Variable(1.0, name='second')
      local_op = tf.identity(first)
  # Variables round-robin over the ps tasks; other ops keep their device.
  assert first.device == '/job:ps/task:0/device:CPU:0'
  assert second.device == '/job:ps/task:1/device:CPU:0'
  assert local_op.device == ''


def test_gpu_clones_are_named_as_upstream():
  config = model_deploy.DeploymentConfig()
  assert config.clone_scope(0) == ''
  assert config.clone_device(0) == '/device:GPU:0'
  assert config.variables_device() == '/device:CPU:0'
  assert model_deploy.DeploymentConfig(
      num_clones=2, num_ps_tasks=1).clone_device(1) == (
          '/job:worker/device:GPU:1')


def test_losses_and_summaries_are_placed_and_named_as_upstream():
  """GPU clones: every summary on the CPU (the optimizer's device), the
  summed loss the op `total_loss`, tagged `total_loss` in TensorBoard."""
  with tf.Graph().as_default():
    config = model_deploy.DeploymentConfig(num_clones=2)
    model = model_deploy.deploy(
        config, linear_model_fn_for(zip(CLONE_INPUTS, CLONE_TARGETS)),
        optimizer=tf.train.GradientDescentOptimizer(0.1))
    assert model.total_loss.op.name == 'total_loss'
    assert model.train_op.op.name == 'train_op'
    assert [c.device for c in model.clones] == ['/device:GPU:0',
                                                '/device:GPU:1']
    assert model.summary_op.op.inputs
    assert {tensor.device for tensor in model.summary_op.op.inputs} == {
        '/device:CPU:0'}
    config = tf.ConfigProto(allow_soft_placement=True)  # no GPU here
    with tf.Session(config=config) as sess:
      sess.run(tf.global_variables_initializer())
      summary = tf.Summary.FromString(sess.run(model.summary_op))
  assert 'total_loss' in {value.tag for value in summary.value}


# Upstream's tests ran with TensorFlow 1's reference variables, whose
# value() sits on the variable's device; resource variables read where used.
REFERENCE_VARIABLES_SCRIPT = """
import tensorflow.compat.v1 as tf
tf.disable_v2_behavior()
import tf_slim as slim
from deployment import model_deploy

def model_fn():
  net = slim.batch_norm(tf.ones([4, 3]), fused=True)
  slim.losses.log_loss(slim.fully_connected(net, 1, tf.sigmoid), tf.ones([4, 1]))

config = model_deploy.DeploymentConfig(num_clones=2, num_ps_tasks=2)
model_deploy.create_clones(config, model_fn)
for variable in slim.get_variables():
  assert variable.value().device == variable.device, variable
print(sorted({variable.device for variable in slim.get_variables()}))
"""


def test_reference_variables_are_read_on_their_parameter_server():
  result = helpers.run_python(REFERENCE_VARIABLES_SCRIPT)
  assert result.returncode == 0, result.stderr[-2000:]
  assert result.stdout.split('\n')[-2] == str([
      '/job:ps/task:0/device:CPU:0', '/job:ps/task:1/device:CPU:0'])


@pytest.mark.parametrize('kwargs', [
    dict(num_clones=0),
    dict(num_replicas=2, num_ps_tasks=0),
    dict(replica_id=2, num_replicas=2, num_ps_tasks=1),
])
def test_rejects_impossible_configs(kwargs):
  with pytest.raises(ValueError):
    model_deploy.DeploymentConfig(**kwargs)
