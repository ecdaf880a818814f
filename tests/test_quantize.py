"""Quantization-aware training (deployment/quantize.py) and its flags.

The rewrite on a small slim network (folding exact, contrib's names, the
delay), networks of every kind of the factory built under it, and one
MobileNet v1 0.25 (32x32, 2 clones) trained with --quantize_delay through
the script, resumed, evaluated and exported with --quantize, the export
converted to an int8 .tflite. All networks of the factory: benchmarks/
quantize_all_networks.py.
"""

import os
import shutil

import numpy as np
import pytest

import tensorflow.compat.v1 as tf
import tf_slim as slim

import deployment_helpers as helpers
from datasets import dataset_factory
from datasets import fake_data
from datasets import input_pipeline
from deployment import evaluation
from deployment import inference
from deployment import pipeline
from deployment import progress
from deployment import quantize

MODEL = 'mobilenet_v1_025'
SIZE = 32
NUM_CLASSES = 3
STEPS = 24
# Where contrib put MobileNet v1's ranges (its op scopes, not its variable
# scopes: MobilenetV1/MobilenetV1/...).
CONTRIB_RANGE_NAMES = (
    'MobilenetV1/MobilenetV1/Conv2d_0/weights_quant/min',
    'MobilenetV1/MobilenetV1/Conv2d_0/act_quant/max',
    'MobilenetV1/MobilenetV1/Conv2d_1_depthwise/weights_quant/max',
    'MobilenetV1/MobilenetV1/Conv2d_13_pointwise/act_quant/min',
    'MobilenetV1/Logits/Conv2d_1c_1x1/act_quant/max')


def _small_net(images, is_training):
  """Conv+BN, separable+BN, a residual add before a ReLU, a classifier."""
  with slim.arg_scope([slim.batch_norm], is_training=is_training):
    net = slim.conv2d(images, 4, 3, normalizer_fn=slim.batch_norm,
                      scope='conv')
    net = slim.separable_conv2d(net, 4, 3, depth_multiplier=2,
                                normalizer_fn=slim.batch_norm, scope='sep')
    residual = slim.conv2d(net, 4, 1, activation_fn=None,
                           normalizer_fn=slim.batch_norm, scope='res')
    net = tf.nn.relu(net + residual)
    return slim.fully_connected(slim.flatten(net), 3, activation_fn=None,
                                scope='fc')


def _small_net_outputs(is_training, rewrite=None, global_step=0):
  """Logits of `_small_net` on fixed images, statistics and ranges set."""
  rng = np.random.RandomState(0)
  with tf.Graph().as_default():
    tf.set_random_seed(1)
    step = tf.train.get_or_create_global_step()
    logits = _small_net(tf.constant(rng.randn(4, 8, 8, 3), tf.float32),
                        is_training)
    if rewrite:
      logits = quantize.resolve(rewrite(), logits)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      sess.run(step.assign(global_step))
      for var in tf.global_variables():
        name = var.op.name
        if 'moving_' in name or 'beta' in name:  # not the initial 0 and 1
          sess.run(var.assign(rng.uniform(0.5, 1.5, var.shape.as_list())))
        elif quantize.is_range_variable(name):
          sess.run(var.assign(-30.0 if name.endswith('min') else 30.0))
      return sess.run(logits), tf.get_default_graph()


def test_training_rewrite_before_its_delay_computes_the_float_network():
  float_logits, _ = _small_net_outputs(True)
  delayed, graph = _small_net_outputs(
      True, lambda: quantize.create_training_graph(quant_delay=5))
  np.testing.assert_allclose(delayed, float_logits, atol=1e-5)
  names = {op.name for op in graph.get_operations()}
  # contrib's folding: the layer copied with folded weights, the batch
  # statistics corrected, the original BatchNorm kept for its statistics.
  for name in ('conv/mul_fold', 'conv/Conv2D_Fold', 'conv/add_fold',
               'conv/batch_norm_correction/correction_scale',
               'sep/separable_conv2d/weights_quant/FakeQuantWithMinMaxVars',
               'res/conv_quant/FakeQuantWithMinMaxVars',
               'conv/act_quant/delayed_quant'):
    assert name in names, name
  quantized, _ = _small_net_outputs(
      True, lambda: quantize.create_training_graph(quant_delay=5),
      global_step=5)
  assert np.abs(quantized - float_logits).max() > 1e-3


def test_eval_rewrite_folds_moving_statistics_exactly(monkeypatch):
  # 16 bits: what remains is the folding, which must be exact.
  monkeypatch.setattr(quantize, 'NUM_BITS', 16)
  float_logits, _ = _small_net_outputs(False)
  folded, graph = _small_net_outputs(False, quantize.create_eval_graph)
  np.testing.assert_allclose(folded, float_logits, atol=1e-2)
  ranges = sorted(var.op.name for var in graph.get_collection(
      tf.GraphKeys.GLOBAL_VARIABLES) if quantize.is_range_variable(
          var.op.name))
  # The residual add sits in the root scope, so its ranges have no prefix.
  layers = (('conv/', 'weights_quant', 'act_quant'),
            ('sep/separable_conv2d/', 'weights_quant', 'act_quant'),
            ('sep/', 'weights_quant', 'act_quant'),
            ('res/', 'weights_quant', 'conv_quant'),
            ('', 'add_quant', 'act_quant'),
            ('fc/', 'weights_quant', 'act_quant'))
  assert ranges == sorted('%s%s/%s' % (scope, kind, end)
                          for scope, *kinds in layers for kind in kinds
                          for end in ('min', 'max'))
