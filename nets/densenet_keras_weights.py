"""Converts Keras' DenseNet121/169/201 weights into a checkpoint for our nets.

`keras.applications.DenseNet121(weights='imagenet')` downloads the ImageNet
weights; this module maps every Keras layer onto the TF-Slim variable of the
same role in `nets.densenet` and saves a checkpoint that `--checkpoint_path`
loads:

  conv1_conv, conv1_bn           -> <net>/conv1, <net>/BatchNorm
  conv{b+1}_block{i}_0_bn, _1_conv -> <net>/dense_block{b}/conv_block{i}/x1
  conv{b+1}_block{i}_1_bn, _2_conv -> <net>/dense_block{b}/conv_block{i}/x2
  pool{b+1}_bn, pool{b+1}_conv   -> <net>/transition_block{b}/blk
  bn                             -> <net>/final_block/BatchNorm
  predictions (Dense)            -> <net>/logits (1x1 conv)

Older tf.keras spelled the names with '/' ('conv1/conv'); both are accepted.

Two differences are folded into the weights so the converted network computes
what Keras computes:
- BatchNorm epsilon: Keras uses 1.001e-5; the moving variances are shifted so
  that variance + epsilon is unchanged for the epsilon our arg scope uses.
- Input scaling: Keras' DenseNets expect 'torch' preprocessing (RGB in [0, 1],
  minus the ImageNet mean, divided by its std). With
  input_preprocessing='inception' (the default, and what the training and
  eval scripts use for DenseNets) the scale goes into the first conv and the
  offset into the stem BatchNorm's moving mean. Only the 3-pixel border the
  7x7 conv pads differs then (the padding is zero in our input space, not in
  Keras'). With input_preprocessing='keras' the weights are copied unchanged
  and the network must be fed Keras-preprocessed images.
"""

import re

import numpy as np

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import densenet

KERAS_APPLICATIONS = {
    'densenet121': 'DenseNet121',
    'densenet169': 'DenseNet169',
    'densenet201': 'DenseNet201',
}
INPUT_PREPROCESSING = ('inception', 'keras')
# keras.applications.imagenet_utils 'torch' mode, RGB order.
TORCH_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
TORCH_STD = np.array([0.229, 0.224, 0.225], np.float32)

_BATCH_NORM_WEIGHTS = ('gamma', 'beta', 'moving_mean', 'moving_variance')


def _keras_layer_to_slim_scope(layer_name):
  """Maps a Keras DenseNet layer name to (slim scope, kind) or None."""
  name = layer_name.replace('/', '_')
  if name == 'conv1_conv':
    return 'conv1', 'conv'
  if name == 'conv1_bn':
    return 'BatchNorm', 'bn'
  if name == 'bn':
    return 'final_block/BatchNorm', 'bn'
  if name == 'predictions':
    return 'logits', 'dense'
  match = re.fullmatch(r'conv(\d+)_block(\d+)_([012])_(bn|conv)', name)
  if match:
    stage, layer, position, kind = match.groups()
    if (position, kind) not in (('0', 'bn'), ('1', 'conv'), ('1', 'bn'),
                                ('2', 'conv')):
      return None
    # _0_bn feeds _1_conv (x1); _1_bn feeds _2_conv (x2).
    part = 'x1' if (position, kind) in (('0', 'bn'), ('1', 'conv')) else 'x2'
    sub = 'Conv' if kind == 'conv' else 'BatchNorm'
    return ('dense_block%d/conv_block%s/%s/%s' % (int(stage) - 1, layer, part,
                                                  sub), kind)
  match = re.fullmatch(r'pool(\d+)_(bn|conv)', name)
  if match:
    stage, kind = match.groups()
    sub = 'Conv' if kind == 'conv' else 'BatchNorm'
    return 'transition_block%d/blk/%s' % (int(stage) - 1, sub), kind
  return None


def keras_weights_by_slim_name(keras_model, network_name,
                               batch_norm_epsilon=densenet.BATCH_NORM_EPSILON,
                               input_preprocessing='inception'):
  """Returns {slim variable name: numpy value} for a Keras DenseNet model.

  Args:
    keras_model: a `keras.applications.DenseNet121/169/201` model.
    network_name: the matching name in `nets.densenet` ('densenet121', ...).
    batch_norm_epsilon: the epsilon our network is built with.
    input_preprocessing: 'inception' (fold Keras' input scaling into the stem)
      or 'keras' (copy unchanged).

  Raises:
    ValueError: on an unknown preprocessing or a layer without a counterpart.
  """
  if input_preprocessing not in INPUT_PREPROCESSING:
    raise ValueError('input_preprocessing must be one of %s, not %r' %
                     (', '.join(INPUT_PREPROCESSING), input_preprocessing))
  values = {}
  for layer in keras_model.layers:
    weights = layer.get_weights()
    if not weights:
      continue
    target = _keras_layer_to_slim_scope(layer.name)
    if target is None:
      raise ValueError('Keras layer %r has weights but no counterpart in %s; '
                       'is this a Keras DenseNet?' % (layer.name, network_name))
    scope, kind = target
    prefix = network_name + '/' + scope + '/'
    if kind == 'conv':
      values[prefix + 'weights'] = weights[0]
    elif kind == 'dense':
      kernel, bias = weights
      values[prefix + 'weights'] = kernel.reshape((1, 1) + kernel.shape)
      values[prefix + 'biases'] = bias
    else:
      bn = dict(zip(_BATCH_NORM_WEIGHTS, weights))
      # Same denominator sqrt(variance + epsilon) under our epsilon.
      bn['moving_variance'] = np.maximum(
          bn['moving_variance'] + layer.epsilon - batch_norm_epsilon, 0.0)
      for key, value in bn.items():
        values[prefix + key] = value
  if input_preprocessing == 'inception':
    _fold_inception_to_torch_scaling(values, network_name)
  return values


def _fold_inception_to_torch_scaling(values, network_name):
  """Lets the stem take [-1, 1] input instead of Keras' normalised input.

  Keras input = x / (2 std) + (0.5 - mean) / std for x in [-1, 1]: the scale
  multiplies the first conv's kernel per input channel; the constant it adds
  to each conv output is subtracted again through the BatchNorm moving mean.
  """
  kernel_name = network_name + '/conv1/weights'
  kernel = values[kernel_name]
  offset = (0.5 - TORCH_MEAN) / TORCH_STD
  conv_of_offset = np.einsum('hwio,i->o', kernel, offset)
  values[kernel_name] = kernel / (2.0 * TORCH_STD)[None, None, :, None]
  values[network_name + '/BatchNorm/moving_mean'] = (
      values[network_name + '/BatchNorm/moving_mean'] - conv_of_offset)


def save_checkpoint(values, network_name, checkpoint_path,
                    batch_norm_epsilon=densenet.BATCH_NORM_EPSILON):
  """Builds `network_name`, assigns `values` one for one and saves them.

  Raises:
    ValueError: naming every variable that is missing, extra or misshapen.
  """
  num_classes = 0
  if network_name + '/logits/biases' in values:
    num_classes = values[network_name + '/logits/biases'].shape[0]
  network_fn = getattr(densenet, network_name)
  size = network_fn.default_image_size
  with tf.Graph().as_default():
    with slim.arg_scope(densenet.densenet_arg_scope(
        batch_norm_epsilon=batch_norm_epsilon)):
      network_fn(tf.zeros([1, size, size, 3]), num_classes=num_classes)
    variables = {v.op.name: v for v in tf.global_variables()}
    _check_one_for_one(variables, values)
    with tf.Session() as sess:
      # Feeding each initializer's value input sets every variable in one run
      # (Variable.load per variable takes over a minute for DenseNet-121).
      sess.run([v.initializer for v in variables.values()],
               {v.initializer.inputs[1]: values[name]
                for name, v in variables.items()})
      return tf.train.Saver(variables).save(sess, checkpoint_path,
                                            write_meta_graph=False)


def _check_one_for_one(variables, values):
  problems = ['missing from the Keras model: %s' % name
              for name in sorted(set(variables) - set(values))]
  problems += ['not in the network: %s' % name
               for name in sorted(set(values) - set(variables))]
  problems += ['shape %s, network wants %s: %s' %
               (values[name].shape, variables[name].shape.as_list(), name)
               for name in sorted(set(values) & set(variables))
               if list(values[name].shape) != variables[name].shape.as_list()]
  if problems:
    raise ValueError('The Keras weights do not fit the network (%d problems; '
                     'is it the same DenseNet depth?): %s' %
                     (len(problems), '; '.join(problems[:5])))


def load_keras_densenet(network_name, weights='imagenet'):
  """Builds the Keras application matching `network_name` with `weights`.

  Args:
    network_name: 'densenet121', 'densenet169' or 'densenet201'.
    weights: 'imagenet' (Keras downloads it), a weights file path, or None.
  """
  import keras  # pylint: disable=g-import-not-at-top  (slow, only needed here)
  if network_name not in KERAS_APPLICATIONS:
    raise ValueError('Keras only ships ImageNet weights for %s, not %r' %
                     (', '.join(sorted(KERAS_APPLICATIONS)), network_name))
  application = getattr(keras.applications, KERAS_APPLICATIONS[network_name])
  include_top = not (isinstance(weights, str) and 'notop' in weights)
  return application(weights=weights, include_top=include_top,
                     classifier_activation=None)


def convert(network_name, checkpoint_path, weights='imagenet',
            input_preprocessing='inception',
            batch_norm_epsilon=densenet.BATCH_NORM_EPSILON):
  """Converts Keras' `network_name` weights; returns the checkpoint path."""
  keras_model = load_keras_densenet(network_name, weights)
  values = keras_weights_by_slim_name(keras_model, network_name,
                                      batch_norm_epsilon, input_preprocessing)
  return save_checkpoint(values, network_name, checkpoint_path,
                         batch_norm_epsilon)
