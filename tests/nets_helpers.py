"""Shared checks for the tests of the networks under nets/.

Every network test builds the same way (`build`: a placeholder, the
network's arg scope, the call), compares end points as shapes
(`end_point_shapes`) and public signatures with upstream's (`parameters`);
`shapes_only` builds a graph with constants for variables, which is all a
shape test needs. Behaviour two networks share is checked by one body here,
called from each network's test file: learning on a tiny batch
(`assert_training_fits`: CifarNet, LeNet), the fully convolutional
classifier (`FullyConvolutionalChecks`: AlexNet, OverFeat), upstream's ResNet
builders (`assert_resnet_builders_are_upstreams`), refused depth multipliers
(Inception v2, v3), unknown input sizes (`assert_runs_at_any_size`:
MobileNet v2, v3) and the drop path schedule (NASNet, PNASNet).
"""

import contextlib
import inspect

import numpy as np
import pytest
import tensorflow.compat.v1 as tf
import tf_slim as slim

EMPTY = inspect.Parameter.empty


def build(network_fn, arg_scope, shape, *args, **kwargs):
  """(images placeholder, network output, end points) in the current graph."""
  images = tf.placeholder(tf.float32, shape)
  with slim.arg_scope(arg_scope):
    net, end_points = network_fn(images, *args, **kwargs)
  return images, net, end_points


def end_point_shapes(end_points):
  return {name: tensor.shape.as_list() for name, tensor in end_points.items()}


def parameters(function):
  """[(name, default)] of `function`'s parameters, in order."""
  return [(p.name, p.default)
          for p in inspect.signature(function).parameters.values()]


def variable_names():
  return [v.op.name for v in tf.global_variables()]


def assert_training_fits(build_fn, shape, num_classes, steps, seed):
  """A few Adam steps on a tiny random batch halve the loss.

  Args:
    build_fn: a test module's `_build` over `build`, called inside a new
      graph as `build_fn(batch=, num_classes=, is_training=True,
      dropout_keep_prob=1.0)` (no dropout, so the loss can only fall);
      returns (images placeholder, logits, end_points).
    shape: [batch, height, width, channels] of the batch.
    num_classes: labels cycle through 0 .. num_classes - 1.
    steps: training steps.
    seed: seeds both the batch and the initialisation.
  """
  batch = np.random.RandomState(seed).rand(*shape).astype(np.float32)
  labels = np.arange(shape[0]) % num_classes
  with tf.Graph().as_default():
    tf.set_random_seed(seed)
    images, logits, _ = build_fn(batch=shape[0], num_classes=num_classes,
                                 is_training=True, dropout_keep_prob=1.0)
    loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)
    train_op = tf.train.AdamOptimizer(1e-3).minimize(loss)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      start = sess.run(loss, {images: batch})
      for _ in range(steps):
        sess.run(train_op, {images: batch})
      end = sess.run(loss, {images: batch})
  assert end < 0.5 * start, (start, end)


class FullyConvolutionalChecks:
  """Tests of a network built by `vgg.fully_convolutional_network`.

  A subclass named Test... sets `network_fn`, `arg_scope_fn`, `scope`,
  `image_size`, `end_points` (every end point's shape at the default size,
  batch None, 1000 classes) and `larger_size`, `larger_map` (an input size
  and the side of the map of predictions it gives).
  """

  def _build(self, shape, *args, **kwargs):
    return build(self.network_fn, self.arg_scope_fn(), shape, *args,
                 **kwargs)[1:]

  def test_signature_is_upstreams(self):
    assert parameters(self.network_fn) == [
        ('inputs', EMPTY), ('num_classes', 1000), ('is_training', True),
        ('dropout_keep_prob', 0.5), ('spatial_squeeze', True),
        ('scope', self.scope), ('global_pool', False)]
    assert self.network_fn.default_image_size == self.image_size

  def test_positional_call_in_upstream_order(self):
    size = self.image_size
    with tf.Graph().as_default():
      # num_classes, is_training, dropout_keep_prob, spatial_squeeze, scope,
      # global_pool
      logits, end_points = self._build([1, size, size, 3], 7, False, 0.9,
                                       False, 'my_net', True)
      names = variable_names()
    assert len(names) == 16 and all(n.startswith('my_net/') for n in names)
    assert logits.shape.as_list() == [1, 1, 1, 7]
    assert end_points['global_pool'].shape.as_list() == [1, 1, 1, 4096]

  def test_every_end_point_at_the_default_size(self):
    size = self.image_size
    with tf.Graph().as_default():
      logits, end_points = self._build([None, size, size, 3], 1000)
    # Upstream's keys exactly: the logits are '<scope>/fc8', and there is
    # no 'Logits' or 'Predictions' (upstream's testEndPoints).
    assert end_point_shapes(end_points) == self.end_points
    assert end_points[self.scope + '/fc8'] is logits

  def test_larger_image_gives_a_map_of_predictions(self):
    size, side = self.larger_size, self.larger_map
    with tf.Graph().as_default():
      logits, end_points = self._build([1, size, size, 3], 5,
                                       spatial_squeeze=False)
    assert logits.shape.as_list() == [1, side, side, 5]
    assert end_points[self.scope + '/fc8'] is logits


def assert_resnet_builders_are_upstreams(module, version, builder_extra=(),
                                         unit_extra=()):
  """`resnet_<version>`, `bottleneck` and `resnet_<version>_block` keep
  upstream's signatures; `*_extra` are the parameters only v1 has."""
  builder = getattr(module, 'resnet_' + version)
  assert parameters(builder) == [
      ('inputs', EMPTY), ('blocks', EMPTY), ('num_classes', None),
      ('is_training', True), ('global_pool', True), ('output_stride', None),
      ('include_root_block', True), ('spatial_squeeze', True),
      *builder_extra, ('reuse', None), ('scope', None)]
  assert parameters(module.bottleneck) == [
      ('inputs', EMPTY), ('depth', EMPTY), ('depth_bottleneck', EMPTY),
      ('stride', EMPTY), ('rate', 1), ('outputs_collections', None),
      ('scope', None), *unit_extra]
  assert parameters(getattr(module, 'resnet_%s_block' % version)) == [
      ('scope', EMPTY), ('base_depth', EMPTY), ('num_units', EMPTY),
      ('stride', EMPTY)]
  assert builder.default_image_size == 224


def build_resnet(module, network_fn, *args, shape=(2, 64, 64, 3), **kwargs):
  """(output, end points) of `network_fn` under `module`'s arg scope."""
  return build(network_fn, module.resnet_arg_scope(), shape, *args,
               **kwargs)[1:]


def resnet_custom_blocks(block_fn):
  """A two-block table of one's own, as DeepLab builds them."""
  return [block_fn('block1', base_depth=4, num_units=2, stride=2),
          block_fn('block2', base_depth=8, num_units=1, stride=1)]


# --- Graphs built for their shapes only; Inception, MobileNet ---


@contextlib.contextmanager
def cheap_layers():
  with slim.arg_scope([slim.conv2d, slim.separable_conv2d],
                      biases_initializer=None,
                      weights_initializer=tf.zeros_initializer(),
                      activation_fn=None):
    yield


@contextlib.contextmanager
def shapes_only():
  """`cheap_layers()` with constants for variables.

  Yields:
    {variable name: shape} of every variable the network asked for.
  """
  requested = {}

  def constant_getter(getter, name, shape=None, dtype=None, **kwargs):
    del getter, kwargs  # no variable is created
    requested[name] = list(shape)
    return tf.zeros(shape, dtype or tf.float32)

  with tf.variable_scope(tf.get_variable_scope(),
                         custom_getter=constant_getter), cheap_layers():
    yield requested


def images(height, width=None, batch=2, channels=3):
  """A [batch, height, width (default: height), channels] placeholder."""
  return tf.placeholder(tf.float32,
                        [batch, height, width or height, channels])


def dropout_is_active():
  """Whether the default graph draws dropout masks."""
  return any(op.type == 'RandomUniform' and 'Dropout' in op.name
             for op in tf.get_default_graph().get_operations())


def assert_each_final_endpoint(base_fn, size, scope, end_point_names,
                               **kwargs):
  """Building up to each name returns that end point and none after it."""
  for index, name in enumerate(end_point_names):
    with tf.Graph().as_default(), shapes_only():
      net, end_points = base_fn(images(size, batch=1), final_endpoint=name,
                                **kwargs)
    assert list(end_points) == end_point_names[:index + 1], name
    assert net is end_points[name]
    if name != 'PreAuxLogits':  # a stack of blocks, scoped Repeat_1
      assert net.op.name.startswith('%s/%s' % (scope, name)), net.op.name
  with tf.Graph().as_default(), pytest.raises(ValueError, match='Mixed_9z'):
    base_fn(images(size, batch=1), final_endpoint='Mixed_9z', **kwargs)


def assert_rejects_depth_multiplier(network_fns, inputs_fn, multiplier):
  """Each function refuses `multiplier` before creating any variable."""
  with tf.Graph().as_default():
    for network_fn in network_fns:
      with pytest.raises(ValueError, match='depth_multiplier'):
        network_fn(inputs_fn(), depth_multiplier=multiplier)
    assert tf.global_variables() == []


def assert_runs_at_any_size(network_fn, num_classes, shapes):
  """Built on a [None, None, None, 3] placeholder, `network_fn` predicts a
  distribution over `num_classes` for batches of each of `shapes`."""
  with tf.Graph().as_default():
    inputs = images(None, None, batch=None)
    logits, end_points = network_fn(inputs, num_classes=num_classes)
    assert logits.shape.as_list() == [None, num_classes]
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      for shape in shapes:
        values = sess.run(end_points['Predictions'],
                          {inputs: np.ones(shape, np.float32)})
        assert values.shape == (shape[0], num_classes)
        np.testing.assert_allclose(values.sum(axis=1), 1.0, rtol=1e-5)
  return end_points


# --- NASNet and PNASNet ---


def assert_drop_path_follows_global_step(build_fn, batch, num_classes):
  """Drop path keeps every path at global step 0 and drops some at step 10.

  Args:
    build_fn: returns (images placeholder of unknown batch, logits), built
      with `total_training_steps=10` and no randomness but drop path.
    batch: how many random images to run.
    num_classes: the width of the logits.
  """
  with tf.Graph().as_default():
    global_step = tf.train.get_or_create_global_step()
    images, logits = build_fn()
    feed = np.random.RandomState(0).rand(batch, *images.shape.as_list()[1:])
    assert logits.shape.as_list() == [None, num_classes]
    # The graph's global step, and no other.
    assert [name for name in variable_names() if 'global_step' in name] == [
        'global_step']
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      at_start = [sess.run(logits, {images: feed}) for _ in range(2)]
      sess.run(global_step.assign(10))
      at_end = [sess.run(logits, {images: feed}) for _ in range(2)]
  assert at_start[0].shape == (batch, num_classes)
  np.testing.assert_allclose(at_start[0], at_start[1], rtol=1e-5)
  assert not np.allclose(at_end[0], at_end[1])  # examples dropped at random


# --- Image generators and discriminators (CycleGAN, DCGAN, pix2pix) ---


def assert_adversarial_steps_move(generate, discriminate, real, steps=3,
                                  seed=0):
  """A generator and a discriminator trained against each other a few steps.

  Alternating Adam steps on the standard GAN losses (sigmoid cross entropy:
  the discriminator tells `real` from generated, the generator fools it)
  must keep both losses finite, change both, and move every trainable
  variable of both networks.

  Args:
    generate: builds the generator, returns its images (same shape as
      `real`); called under variable scope 'G'.
    discriminate: `fn(images) -> logits`; called under variable scope 'D',
      the second time (generated images) reusing its variables.
    real: float32 numpy batch of real images.
    steps: discriminator + generator step pairs.
    seed: graph seed.

  Returns:
    (losses before, losses after): each (discriminator, generator).
  """
  with tf.Graph().as_default():
    tf.set_random_seed(seed)
    with tf.variable_scope('G'):
      fake = generate()
    with tf.variable_scope('D'):
      real_logits = discriminate(tf.constant(real))
    with tf.variable_scope('D', reuse=True):
      fake_logits = discriminate(fake)
    d_loss = (tf.losses.sigmoid_cross_entropy(tf.ones_like(real_logits),
                                              real_logits) +
              tf.losses.sigmoid_cross_entropy(tf.zeros_like(fake_logits),
                                              fake_logits))
    g_loss = tf.losses.sigmoid_cross_entropy(tf.ones_like(fake_logits),
                                             fake_logits)
    g_vars, d_vars = tf.trainable_variables('G'), tf.trainable_variables('D')
    assert g_vars and d_vars
    # Batch norm's moving averages (DCGAN) update with every step.
    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
      d_step = tf.train.AdamOptimizer(2e-4, 0.5).minimize(d_loss,
                                                          var_list=d_vars)
      g_step = tf.train.AdamOptimizer(2e-4, 0.5).minimize(g_loss,
                                                          var_list=g_vars)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      start_values = sess.run(g_vars + d_vars)
      before = sess.run((d_loss, g_loss))
      for _ in range(steps):
        sess.run(d_step)
        sess.run(g_step)
      after = sess.run((d_loss, g_loss))
      end_values = sess.run(g_vars + d_vars)
  assert np.all(np.isfinite(before + after)), (before, after)
  assert before[0] != after[0] and before[1] != after[1], (before, after)
  for var, start, end in zip(g_vars + d_vars, start_values, end_values):
    assert not np.array_equal(start, end), var.op.name
  return before, after
