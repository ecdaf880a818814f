"""Memory-efficient DenseNet training: recompute instead of keep.

Pleiss et al., "Memory-Efficient Implementation of DenseNets", 2017,
https://arxiv.org/abs/1707.06990

A dense layer reads the concatenation of every earlier feature map of its
block and normalises it; kept for the backward pass, those concatenations
and their normalised copies make a block's training memory quadratic in its
depth. Here the forward pass frees them as soon as the layer's output exists,
and the backward pass builds them again from the (kept) feature maps.

`nets/densenet.py` imports this module only when a network is built with
`memory_efficient=True`, and uses nothing from it but `BUILDERS`:

  add_layer(features, growth_rate, bottleneck, dropout_keep_prob, scope)
      One dense layer, recomputed, reading its inputs through a gradient
      chain (`_gradient_chain`); returns `features` with its k maps appended.
  run(build, inputs)
      build(inputs) for a stem's BN-ReLU-pool or a transition's
      BN-ReLU-(pool-)conv, recomputed from the feature maps whose
      concatenation `inputs` is.

The recomputed copies reuse the variables (checkpoints are interchangeable
with the default mode) and, in training, the forward pass's BatchNorm batch
statistics (`_where_the_copy_is_built`), so values and gradients are those
of the default mode.
"""

import contextlib

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import densenet

_REPLAYED_BATCH_NORM = 'DenseNetReplayedBatchNorm'


def add_layer(features, growth_rate, bottleneck, dropout_keep_prob, scope):
  """`densenet.conv_block` with its activations recomputed in the backward.

  Without dropout the whole layer is recomputed, so it keeps nothing but its
  k output maps (which later layers read anyway). With dropout only
  concat-BN-ReLU-1x1 conv is: a recomputed dropout would draw another mask.

  Args:
    features: the block input and every earlier layer's output.
    growth_rate: k, the number of feature maps the layer adds.
    bottleneck: must be True; without the 1x1 conv there is little to save.
    dropout_keep_prob: dropout after each conv; None or 1.0 for none.
    scope: the layer's variable scope, e.g. 'conv_block2'.

  Returns:
    The (chained) `features` with the layer's output appended.
  """
  if not bottleneck:
    raise ValueError('The memory-efficient dense layer needs bottleneck=True.')
  features = _gradient_chain(features)
  with tf.variable_scope(scope, 'conv_block', features):
    if not densenet.has_dropout(dropout_keep_prob):
      new_maps = recompute_in_backward(
          lambda maps: densenet.dense_layer(maps, growth_rate), features)
    else:
      net = recompute_in_backward(
          lambda maps: densenet.bn_relu_conv(
              densenet.concat_features(maps), 4 * growth_rate, 1, scope='x1'),
          features)
      net = densenet.dropout(net, dropout_keep_prob)
      new_maps = densenet.bn_relu_conv(net, growth_rate, 3, dropout_keep_prob,
                                       scope='x2')
  return features + [new_maps]


def _gradient_chain(features):
  """The same tensors, passed through one identity op per dense layer.

  Every later layer adds a partial gradient to each feature map. Left to
  tf.gradients, a map's partials are all kept until the last of them exists
  and then summed, which takes memory quadratic in the block depth. Reading
  each layer's inputs from the previous layer's identity op gives every
  partial a next hop where it is added at once, so at most one running sum
  per map is alive. The forward pass copies nothing.
  """
  return list(tf.identity_n(features, name='gradient_chain'))


def run(build, inputs):
  """build(inputs), recomputed in the backward pass from `inputs`' parts.

  A transition's input is its dense block's output, the concatenation of the
  block's feature maps; recomputing from the maps instead means the block's
  full-width concatenation (and its normalised copy, the largest tensors a
  block leaves behind) are never kept. Any other tensor is its own part.
  """
  return recompute_in_backward(
      lambda maps: build(densenet.concat_features(maps)), _parts(inputs))


def _parts(tensor):
  """The tensors `tensor` concatenates along the channels, or [tensor]."""
  op = tensor.op
  if op.type == 'ConcatV2' and tf.get_static_value(op.inputs[-1]) in (3, -1):
    return list(op.inputs[:-1])
  return [tensor]


# What `densenet._builders(memory_efficient=True)` hands the model.
BUILDERS = densenet.Builders(add_layer=add_layer, run=run)


@contextlib.contextmanager
def _no_new_update_ops():
  """Drops BatchNorm statistics updates registered inside the block.

  The forward pass made the real updates; the recomputed copy's would run
  the same update a second time if they reached tf.GraphKeys.UPDATE_OPS.
  """
  update_ops = tf.get_collection_ref(tf.GraphKeys.UPDATE_OPS)
  num_before = len(update_ops)
  yield
  del update_ops[num_before:]


def recompute_in_backward(build, inputs):
  """Runs `build(inputs)` without keeping its activations for the backward.

  The gradient function builds `build` again from the (kept) inputs, once the
  gradient of the output exists, and differentiates that copy.

  Args:
    build: function of a list like `inputs` returning one tensor; it may
      create variables and BatchNorm updates (made once, in the forward
      pass) but nothing random.
    inputs: list of tensors (a dense layer's input feature maps).

  Returns:
    build(inputs).
  """
  var_scope = tf.get_variable_scope()
  # The gradient is built outside the network's arg scope (is_training,
  # BatchNorm epsilon, ...); the copy must be built inside it.
  layer_args = slim.current_arg_scope()

  @tf.custom_gradient
  def recomputed_segment(*segment_inputs):
    output, statistics = _build_recording_batch_norms(build,
                                                      list(segment_inputs))

    def grad_fn(output_grad, variables=None):
      later_inputs = _after_gradient(list(segment_inputs), output_grad)
      with _where_the_copy_is_built(var_scope, layer_args, statistics):
        recomputed = build(later_inputs)
      variables = list(variables or [])
      # Partial derivatives: later inputs may be computed from earlier ones
      # (a transition's inputs are a whole block), and those paths belong to
      # the layers that made them, not to this segment.
      grads = tf.gradients(recomputed, later_inputs + variables,
                           grad_ys=output_grad, stop_gradients=later_inputs)
      return grads[:len(segment_inputs)], grads[len(segment_inputs):]

    return output, grad_fn

  return recomputed_segment(*inputs)


def _after_gradient(inputs, output_grad):
  """`inputs`, made to depend on `output_grad` (same values).

  A data dependency on the incoming gradient (a control dependency could be
  pruned by graph rewrites) keeps the copy from being built during the
  forward pass, which would keep it alive after all. One input suffices:
  every recomputed op depends on all of them.
  """
  first = tf.reshape(output_grad, [-1])[0]
  zero = tf.stop_gradient(
      tf.where(tf.math.is_nan(first), first, tf.zeros_like(first)))
  return inputs[:-1] + [inputs[-1] + zero]


def _build_recording_batch_norms(build, inputs):
  """build(inputs), and its BatchNorms' batch statistics for a replay.

  Returns:
    (output, statistics): `statistics` lists (mean, variance) per BatchNorm
    in build order if every one of them ran in training mode with a Python
    bool `is_training`, else None (inference mode, or `is_training` a tensor:
    the copy then runs them as the forward pass did).
  """
  graph = tf.get_default_graph()
  num_ops_before = len(graph.get_operations())
  output = build(inputs)
  batch_norms = [op for op in graph.get_operations()[num_ops_before:]
                 if op.type == 'FusedBatchNormV3']
  if not batch_norms or not all(op.get_attr('is_training')
                                for op in batch_norms):
    return output, None
  return output, [(op.outputs[1], _population_variance(op))
                  for op in batch_norms]


def _population_variance(forward_op):
  """The variance `forward_op` normalised with.

  Its variance output carries Bessel's correction (it feeds the moving
  average); the normalisation divides by the uncorrected one. Built here in
  the forward pass, so the copy reads no forward activation for its size.
  """
  inputs, batch_mean, batch_variance = (forward_op.inputs[0],
                                        forward_op.outputs[1],
                                        forward_op.outputs[2])
  count = tf.cast(tf.size(inputs, out_type=tf.int64) //
                  tf.size(batch_mean, out_type=tf.int64), tf.float32)
  return batch_variance * (tf.maximum(count - 1.0, 1.0) / count)


@contextlib.contextmanager
def _where_the_copy_is_built(var_scope, layer_args, statistics):
  """The segment's variable scope (reused) and arg scope, for its copy.

  With `statistics`, the copy's BatchNorms replay the forward pass's batch
  statistics: each runs in inference mode with the forward pass's batch mean
  and variance in place of its moving ones (a custom getter hands them out
  in build order). That is the same output, with the one-pass kernel and no
  second pass over the data; the gradient is the training-mode one
  (`_replayed_batch_norm_grad`).
  """
  getter = None if statistics is None else _batch_statistics_getter(
      statistics)
  with tf.variable_scope(var_scope, reuse=True, custom_getter=getter), \
      slim.arg_scope(layer_args), _no_new_update_ops():
    if statistics is None:
      yield
      return
    # An override, not tf.custom_gradient: its IdentityN would keep grappler
    # from fusing the BatchNorm with the ReLU after it.
    with slim.arg_scope([slim.batch_norm], is_training=False), \
        tf.get_default_graph().gradient_override_map(
            {'FusedBatchNormV3': _REPLAYED_BATCH_NORM}):
      yield


def _batch_statistics_getter(statistics):
  """A custom getter: (mean, variance) of `statistics` as moving ones."""
  pending = iter(statistics)
  current = {}

  def getter(get_variable, name, *args, **kwargs):
    if name.endswith('/moving_mean'):
      current['mean'], current['variance'] = next(pending)
      return current['mean']
    if name.endswith('/moving_variance'):
      return current['variance']
    return get_variable(name, *args, **kwargs)

  return getter


@tf.RegisterGradient(_REPLAYED_BATCH_NORM)
def _replayed_batch_norm_grad(op, y_grad, *unused_statistics_grads):
  """The training-mode BatchNorm gradient, from the forward op's statistics.

  `op` is the replay; its `mean` input is the forward op's output, which
  leads back to the forward op. In training mode x_grad already includes
  the path through the batch statistics, so they get no gradient of their
  own. The V2 kernel takes only the two per-channel reserve spaces. The
  third, which V3 reads, can hold a workspace the size of the input (oneDNN
  fusing BatchNorm and ReLU), and reading it here would keep it alive from
  the forward pass on: DenseNet-BC-100 at batch 64 peaked at 1.68 GB with
  V3 against 1.31 GB with V2.
  """
  forward_op = op.inputs[3].op
  x_grad, scale_grad, offset_grad = tf.raw_ops.FusedBatchNormGradV2(
      y_backprop=y_grad, x=op.inputs[0], scale=op.inputs[1],
      reserve_space_1=forward_op.outputs[3],
      reserve_space_2=forward_op.outputs[4], epsilon=op.get_attr('epsilon'),
      data_format=op.get_attr('data_format'), is_training=True)[:3]
  return x_grad, scale_grad, offset_grad, None, None
