"""nets/densenet.py: sizes, checkpoint names, switches and trainability."""

import inspect
import json
import os

import numpy as np
import pytest
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import densenet
from nets import nets_factory

from conftest import MANIFEST_DIR

# The exact trainable counts with 10 classes (paper: 1.0M, 7.0M,
# 27.2M, 0.8M, 15.3M, 25.6M).
CIFAR_PARAMETER_COUNTS = {
    'densenet40_k12': 1019722,
    'densenet100_k12': 6979642,
    'densenet100_k24': 27249082,
    'densenet_bc100_k12': 769162,
    'densenet_bc250_k24': 15324406,
    'densenet_bc190_k40': 25624430,
}


def _build(name, image_shape, num_classes, is_training=False, **kwargs):
  """Builds `name` in the current graph under its arg scope."""
  images = tf.placeholder(tf.float32, [None] + list(image_shape))
  with slim.arg_scope(densenet.densenet_arg_scope()):
    logits, end_points = getattr(densenet, name)(
        images, num_classes=num_classes, is_training=is_training, **kwargs)
  return images, logits, end_points


def _trainable_count():
  return sum(int(np.prod(v.shape.as_list())) for v in tf.trainable_variables())


@pytest.mark.parametrize('name', sorted(CIFAR_PARAMETER_COUNTS))
def test_cifar_networks_have_the_exact_parameter_counts(name):
  with tf.Graph().as_default():
    _build(name, (8, 8, 3), num_classes=10)
    assert _trainable_count() == CIFAR_PARAMETER_COUNTS[name]


@pytest.mark.parametrize('name', ['densenet121', 'densenet161', 'densenet169'])
def test_variables_match_the_community_checkpoint_manifest(name):
  with open(os.path.join(MANIFEST_DIR, name + '.json')) as f:
    manifest = json.load(f)
  with tf.Graph().as_default():
    _, logits, end_points = _build(name, (224, 224, 3), num_classes=1000,
                                   is_training=True)
    built = [(v.op.name, v.shape.as_list()) for v in tf.global_variables()]
    trainable = sorted(v.op.name for v in tf.trainable_variables())
  expected = [(v['name'], v['shape']) for v in manifest['variables']]
  assert sorted(built) == sorted(expected)
  assert trainable == sorted(manifest['trainable_variable_names'])
  assert logits.shape.as_list()[1:] == [1000]
  # Blocks, transitions and the stem conv have the reference's shapes.
  for key, shape in manifest['end_point_shapes'].items():
    if key.split('/')[-1].startswith(('dense_block', 'transition_block',
                                      'conv1')):
      assert end_points[key].shape.as_list()[1:] == shape[1:], key


def test_end_points_cover_blocks_transitions_pool_and_outputs():
  with tf.Graph().as_default():
    _, logits, end_points = _build('densenet_bc100_k12', (32, 32, 3),
                                   num_classes=7)
  for key, spatial in [('dense_block1', 32), ('transition_block1', 16),
                       ('dense_block2', 16), ('transition_block2', 8),
                       ('dense_block3', 8)]:
    assert end_points['densenet_bc100_k12/' + key].shape.as_list()[1] == spatial
  assert 'densenet_bc100_k12/dense_block3/conv_block16' in end_points
  # 2k initial features + 3 blocks of 16 layers, halved by both transitions.
  assert end_points['global_pool'].shape.as_list() == [None, 342]
  assert logits.shape.as_list() == [None, 7]
  assert end_points['Logits'] is logits
  assert end_points['Predictions'].shape.as_list() == [None, 7]


def _transition(inputs, dropout_keep_prob):
  """transition_block's output, its ReLU output and its conv's input."""
  with slim.arg_scope(densenet.densenet_arg_scope()):
    output = densenet.transition_block(tf.constant(inputs), 6,
                                       dropout_keep_prob, scope='t')
  graph = tf.get_default_graph()
  relu, = [op.outputs[0] for op in graph.get_operations()
           if op.type == 'Relu']
  conv, = [op for op in graph.get_operations() if op.type == 'Conv2D']
  return output, relu, conv.inputs[0]


def _paper_order(relu_output, weights):
  """1x1 conv, then 2x2/2 average pool (VALID drops an odd last row/col)."""
  conv = np.einsum('bhwc,cd->bhwd', relu_output, weights[0, 0])
  rows, cols = conv.shape[1] // 2 * 2, conv.shape[2] // 2 * 2
  conv = conv[:, :rows, :cols]
  return conv.reshape(conv.shape[0], rows // 2, 2, cols // 2, 2, -1).mean(
      axis=(2, 4))


@pytest.mark.parametrize('size', [8, 7])
def test_transition_pools_before_its_conv_with_the_papers_output(size):
  inputs = np.random.RandomState(0).randn(2, size, size, 10).astype(np.float32)
  with tf.Graph().as_default():
    output, relu, conv_input = _transition(inputs, dropout_keep_prob=None)
    weights, = tf.trainable_variables('t/blk/Conv')
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      output, relu, weights = sess.run([output, relu, weights])
  assert weights.shape == (1, 1, 10, 6)
  # The conv reads the pooled map: a quarter of the pixels.
  assert conv_input.shape.as_list() == [2, size // 2, size // 2, 10]
  np.testing.assert_allclose(output, _paper_order(relu, weights),
                             rtol=1e-5, atol=1e-5)


def test_transition_with_dropout_keeps_the_papers_order():
  inputs = np.random.RandomState(0).randn(2, 8, 8, 10).astype(np.float32)
  with tf.Graph().as_default():
    output, _, conv_input = _transition(inputs, dropout_keep_prob=0.5)
  # Dropout between conv and pool does not commute with the pool.
  assert conv_input.shape.as_list() == [2, 8, 8, 10]
  assert output.shape.as_list() == [2, 4, 4, 6]


@pytest.mark.parametrize('is_training', [False, True])
def test_dropout_network_builds_dropout_and_paper_order_only_for_training(
    is_training):
  with tf.Graph().as_default():
    _, _, end_points = _build('densenet', (64, 64, 3), 5, is_training)
    transition_convs = [
        op for op in tf.get_default_graph().get_operations()
        if op.type == 'Conv2D' and '/transition_block' in op.name]
    has_dropout = any('Dropout' in op.name
                      for op in tf.get_default_graph().get_operations())
  assert len(transition_convs) == 3
  assert has_dropout == is_training
  # The first transition's conv reads the 16x16 block output or its pool.
  assert end_points['densenet/dense_block1'].shape.as_list()[1] == 16
  expected = 16 if is_training else 8
  assert transition_convs[0].inputs[0].shape.as_list()[1] == expected


@pytest.mark.parametrize('name', ['densenet40_k12', 'densenet_bc_mini'])
def test_small_networks_accept_28x28_grayscale(name):
  batch = np.random.RandomState(0).rand(3, 28, 28, 1).astype(np.float32)
  with tf.Graph().as_default():
    images, logits, end_points = _build(name, (28, 28, 1), num_classes=10)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      values, probabilities = sess.run([logits, end_points['Predictions']],
                                       {images: batch})
  assert values.shape == (3, 10)
  assert np.all(np.isfinite(values))
  np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_mini_stem_halves_the_resolution():
  with tf.Graph().as_default():
    _, _, end_points = _build('densenet_bc_mini', (28, 28, 1), num_classes=10)
  assert end_points['densenet_bc_mini/pool1'].shape.as_list()[1:3] == [14, 14]
  assert end_points['densenet_bc_mini/dense_block3'].shape.as_list()[1:3] == [
      3, 3]


def test_num_classes_zero_returns_pooled_features_without_classifier():
  with tf.Graph().as_default():
    _, features, end_points = _build('densenet40_k12', (32, 32, 3),
                                     num_classes=0)
    names = [v.op.name for v in tf.global_variables()]
  # 16 + 3 * 12 * 12 channels reach the pool (no compression).
  assert features.shape.as_list() == [None, 448]
  assert features is end_points['global_pool']
  assert 'Logits' not in end_points
  assert not [n for n in names if 'logits' in n]


def _run_twice(is_training):
  """Logits of a batch, run twice, and of its first image alone."""
  batch = np.random.RandomState(1).rand(4, 28, 28, 1).astype(np.float32)
  with tf.Graph().as_default():
    tf.set_random_seed(0)
    images, logits, _ = _build('densenet_bc_mini', (28, 28, 1), 10,
                               is_training=is_training, dropout_keep_prob=0.5)
    update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      first, second = (sess.run(logits, {images: batch}) for _ in range(2))
      alone = sess.run(logits, {images: batch[:1]})
  return first, second, alone, update_ops


def test_is_training_switches_batch_norm_and_dropout():
  first, second, alone, update_ops = _run_twice(is_training=False)
  assert not update_ops
  np.testing.assert_allclose(first, second)  # no dropout
  np.testing.assert_allclose(first[:1], alone, rtol=1e-4, atol=1e-5)

  first, second, _, update_ops = _run_twice(is_training=True)
  assert update_ops  # BatchNorm moving statistics get updated
  assert not np.allclose(first, second)  # dropout is on


def test_course_densenet_keeps_the_skeleton_signature():
  parameters = inspect.signature(densenet.densenet).parameters
  defaults = {name: p.default for name, p in parameters.items()}
  assert list(defaults)[:5] == ['images', 'num_classes', 'is_training',
                                'dropout_keep_prob', 'scope']
  assert defaults['num_classes'] == 1001
  assert defaults['is_training'] is False
  assert defaults['dropout_keep_prob'] == 0.8
  assert defaults['scope'] == 'densenet'
  assert densenet.densenet.default_image_size == 224


def test_every_configuration_is_registered_in_nets_factory():
  for name, config in densenet.CONFIGS.items():
    network_fn = nets_factory.get_network_fn(name, num_classes=3)
    assert network_fn.default_image_size == config.default_image_size


def test_unknown_stem_is_rejected_with_the_valid_choices():
  config = densenet.CONFIGS['densenet40_k12']._replace(stem='resnet')
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match='imagenet, cifar, early_downsampling'):
      densenet.densenet_from_config(tf.zeros([1, 8, 8, 3]), config, 10)


def _generated_dataset(num_classes, per_class, size, seed=0):
  """Images whose class is their dominant colour, plus noise."""
  rng = np.random.RandomState(seed)
  colours = rng.uniform(-1, 1, (num_classes, 3))
  labels = np.repeat(np.arange(num_classes), per_class)
  images = colours[labels][:, None, None, :] + rng.normal(
      0, 0.5, (len(labels), size, size, 3))
  return images.astype(np.float32), labels


def test_course_densenet_trains_from_scratch_with_rmsprop_lr_0_1():
  images_np, labels_np = _generated_dataset(num_classes=4, per_class=8,
                                            size=32)
  with tf.Graph().as_default():
    tf.set_random_seed(0)
    network_fn = nets_factory.get_network_fn('densenet', num_classes=4,
                                             weight_decay=4e-5,
                                             is_training=True)
    logits, _ = network_fn(tf.constant(images_np))
    tf.losses.sparse_softmax_cross_entropy(labels_np, logits)
    total_loss = tf.losses.get_total_loss()
    # The training script's rmsprop: decay 0.9, momentum 0.9, epsilon 1.0.
    optimizer = tf.train.RMSPropOptimizer(0.1, decay=0.9, momentum=0.9,
                                          epsilon=1.0)
    train_op = slim.learning.create_train_op(total_loss, optimizer)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      losses = [sess.run(train_op) for _ in range(30)]
  assert np.all(np.isfinite(losses)), losses
  assert max(losses) < 3 * losses[0], losses
  assert np.mean(losses[-5:]) < 0.5 * losses[0], losses
