"""DenseNet (Huang et al., "Densely Connected Convolutional Networks", 2017).

https://arxiv.org/abs/1608.06993

Every layer of a dense block sees the concatenation of the block input and of
all feature maps the earlier layers of the block produced, and adds
`growth_rate` new ones. Between blocks a transition (BN-ReLU-1x1 conv-2x2
average pool) halves the resolution and, in the "C" variants, multiplies the
channel count by `compression`. The "B" variants put a 1x1 bottleneck conv
with `4 * growth_rate` outputs in front of each 3x3 conv.

One builder, `densenet_from_config`, makes every variant; the registered names
are thin configurations of it:

  ImageNet layout (paper Table 1, DenseNet-BC, 7x7/2 conv + 3x3/2 max pool stem)
    densenet121, densenet169, densenet201, densenet264 (k=32),
    densenet161 (k=48), and `densenet`, the course's entry (k=24).
  CIFAR layout (paper Table 2, 3 blocks, 3x3 conv stem, 32x32 input)
    densenet40_k12, densenet100_k12, densenet100_k24 (no bottleneck, no
    compression), densenet_bc100_k12, densenet_bc250_k24, densenet_bc190_k40.
  densenet_bc_mini: a small DenseNet-BC whose stem halves the resolution
    early, for 28x28 grayscale Fashion-MNIST on a CPU.

Variable names follow the community TF-Slim port (pudae/tensorflow-densenet),
so `tf-densenet121.ckpt`, `tf-densenet161.ckpt` and `tf-densenet169.ckpt` load
by name, e.g. `densenet121/dense_block1/conv_block1/x1/Conv/weights`.

Usage:
  with slim.arg_scope(densenet.densenet_arg_scope()):
    logits, end_points = densenet.densenet121(images, num_classes=1000,
                                              is_training=False)

For training with less memory, pass `memory_efficient=True` (recomputes the
dense layers in the backward pass instead of keeping their activations; same
variables, same gradients; figures in docs/performance.md).

densenet121, densenet161 and densenet169 also take pudae's arguments in
pudae's order, `(inputs, num_classes, data_format, is_training, reuse)`, and
their end points include pudae's '<scope>/logits' and 'predictions'
([batch, 1, 1, num_classes]), so code written for those checkpoints runs.
"""

import collections
import contextlib

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf
import tf_slim as slim

# Keras' epsilon; the converted Keras ImageNet weights reproduce exactly with
# it, and it is within rounding of the 1e-5 the other ports use.
BATCH_NORM_EPSILON = 1.001e-5

DenseNetConfig = collections.namedtuple('DenseNetConfig', [
    'block_layers',  # layers in each dense block
    'growth_rate',  # k: feature maps each layer adds
    'num_initial_features',  # output channels of the stem
    'bottleneck',  # 1x1 conv with 4k outputs before each 3x3 conv ("B")
    'compression',  # transition output channels / input channels ("C")
    'stem',  # 'imagenet', 'cifar' or 'early_downsampling'
    'default_image_size',
    'num_classes',  # default class count of the named network
    'dropout_keep_prob',  # default; 1.0 = no dropout
])

# The networks pudae/tensorflow-densenet defines, with its argument order.
PUDAE_NETWORKS = ('densenet121', 'densenet161', 'densenet169')

# ImageNet networks get symmetric padding in the stem, as the paper's Torch
# code, torchvision and Keras do ('SAME' would pad 2 before and 3 after).
STEM_TYPES = ('imagenet', 'cifar', 'early_downsampling')


def _imagenet(block_layers, growth_rate, num_initial_features):
  return DenseNetConfig(block_layers, growth_rate, num_initial_features,
                        bottleneck=True, compression=0.5, stem='imagenet',
                        default_image_size=224, num_classes=1000,
                        dropout_keep_prob=1.0)


def _cifar(depth, growth_rate, bc):
  """Paper Table 2: 3 equal blocks; depth counts every conv and the FC."""
  convs_per_layer = 2 if bc else 1
  layers_per_block = (depth - 4) // (3 * convs_per_layer)
  return DenseNetConfig((layers_per_block,) * 3, growth_rate,
                        num_initial_features=2 * growth_rate if bc else 16,
                        bottleneck=bc, compression=0.5 if bc else 1.0,
                        stem='cifar', default_image_size=32, num_classes=10,
                        dropout_keep_prob=1.0)


CONFIGS = {
    # The course skeleton's values: growth 24, 2 * 24 initial features,
    # compression 0.5, with DenseNet-121's block layout.
    'densenet': DenseNetConfig((6, 12, 24, 16), growth_rate=24,
                               num_initial_features=48, bottleneck=True,
                               compression=0.5, stem='imagenet',
                               default_image_size=224, num_classes=1001,
                               dropout_keep_prob=0.8),
    'densenet121': _imagenet((6, 12, 24, 16), 32, 64),
    'densenet161': _imagenet((6, 12, 36, 24), 48, 96),
    'densenet169': _imagenet((6, 12, 32, 32), 32, 64),
    'densenet201': _imagenet((6, 12, 48, 32), 32, 64),
    'densenet264': _imagenet((6, 12, 64, 48), 32, 64),
    'densenet40_k12': _cifar(40, 12, bc=False),
    'densenet100_k12': _cifar(100, 12, bc=False),
    'densenet100_k24': _cifar(100, 24, bc=False),
    'densenet_bc100_k12': _cifar(100, 12, bc=True),
    'densenet_bc250_k24': _cifar(250, 24, bc=True),
    'densenet_bc190_k40': _cifar(190, 40, bc=True),
    # Fashion-MNIST on two CPU cores: the stem takes 28x28 to 14x14 so the
    # three blocks run at 14, 7 and 3 pixels.
    'densenet_bc_mini': DenseNetConfig((6, 6, 6), growth_rate=12,
                                       num_initial_features=24,
                                       bottleneck=True, compression=0.5,
                                       stem='early_downsampling',
                                       default_image_size=28, num_classes=10,
                                       dropout_keep_prob=1.0),
}


def densenet_arg_scope(weight_decay=1e-4,
                       batch_norm_decay=0.99,
                       batch_norm_epsilon=BATCH_NORM_EPSILON,
                       use_fused_batch_norm=True):
  """Arg scope for every DenseNet: bias-free convs, BatchNorm with scale.

  Args:
    weight_decay: L2 regularisation of conv (and classifier) weights.
    batch_norm_decay: moving-average decay of the BatchNorm statistics.
    batch_norm_epsilon: added to the variance; the Keras weights use 1.001e-5.
    use_fused_batch_norm: the fused kernel is the fast one on CPU and GPU.

  Returns:
    An arg scope for `slim.arg_scope`.
  """
  with slim.arg_scope(
      [slim.conv2d],
      weights_regularizer=slim.l2_regularizer(weight_decay),
      weights_initializer=slim.variance_scaling_initializer(),
      activation_fn=None,
      normalizer_fn=None,
      biases_initializer=None,
      padding='SAME'):
    with slim.arg_scope([slim.batch_norm],
                        decay=batch_norm_decay,
                        epsilon=batch_norm_epsilon,
                        scale=True,
                        fused=use_fused_batch_norm) as scope:
      return scope


def _has_dropout(keep_prob):
  return keep_prob is not None and keep_prob < 1.0


def _dropout(net, keep_prob):
  if not _has_dropout(keep_prob):
    return net
  return slim.dropout(net, keep_prob)


def bn_relu_conv(inputs, num_outputs, kernel_size, dropout_keep_prob=None,
                 scope=None, pool_first=False):
  """The pre-activation composite H(x) = conv(ReLU(BN(x))), then dropout.

  `pool_first` puts a 2x2 average pool between the ReLU and the conv (see
  `transition_block`).
  """
  with tf.variable_scope(scope, 'bn_relu_conv', [inputs]):
    net = batch_norm_relu(inputs)
    if pool_first:
      net = _average_pool(net)
    net = slim.conv2d(net, num_outputs, kernel_size)
    return _dropout(net, dropout_keep_prob)


def conv_block(features, growth_rate, bottleneck=True, dropout_keep_prob=None,
               memory_efficient=False, scope=None):
  """One dense layer: sees every earlier feature map, returns k new ones.

  Args:
    features: list of the block input and all earlier layers' outputs.
    growth_rate: k, the number of feature maps this layer adds.
    bottleneck: put a 1x1 conv with 4k outputs before the 3x3 conv.
    dropout_keep_prob: dropout after each conv; None or 1.0 for none.
    memory_efficient: recompute the layer in the backward pass instead of
      keeping its activations (see `_memory_efficient_layer`). Same
      variables and the same gradients; only with `bottleneck`.
    scope: variable scope, e.g. 'conv_block1'.

  Returns:
    The k new feature maps [batch, height, width, growth_rate].
  """
  with tf.variable_scope(scope, 'conv_block', features):
    if bottleneck and memory_efficient:
      return _memory_efficient_layer(features, growth_rate, dropout_keep_prob)
    return _layer(features, growth_rate, bottleneck, dropout_keep_prob)


def _layer(features, growth_rate, bottleneck=True, dropout_keep_prob=None):
  """conv_block's body, in the caller's variable scope."""
  net = _concat(features)
  if bottleneck:
    net = bn_relu_conv(net, 4 * growth_rate, 1, dropout_keep_prob, scope='x1')
  return bn_relu_conv(net, growth_rate, 3, dropout_keep_prob, scope='x2')


def _memory_efficient_layer(features, growth_rate, dropout_keep_prob):
  """conv_block's bottleneck layer with its activations recomputed.

  Without dropout the whole layer is recomputed in the backward pass, so it
  keeps nothing but its k output maps (which later layers read anyway). With
  dropout only concat-BN-ReLU-1x1 conv is: a recomputed dropout would draw
  a different mask.
  """
  if not _has_dropout(dropout_keep_prob):
    return recompute_in_backward(
        lambda inputs: _layer(inputs, growth_rate), features)

  def bottleneck(inputs):
    return bn_relu_conv(_concat(inputs), 4 * growth_rate, 1, scope='x1')

  net = _dropout(recompute_in_backward(bottleneck, features),
                 dropout_keep_prob)
  return bn_relu_conv(net, growth_rate, 3, dropout_keep_prob, scope='x2')


# While `recompute_in_backward` builds a segment: 'record' is the list the
# forward pass's training-mode BatchNorm ops go to, 'replay' an iterator over
# that list while the copy in the gradient function is built.
_batch_norm_log = {'record': None, 'replay': None}


@contextlib.contextmanager
def _batch_norm_log_mode(record=None, replay=None):
  saved = dict(_batch_norm_log)
  _batch_norm_log.update(record=record, replay=replay)
  try:
    yield
  finally:
    _batch_norm_log.update(saved)


def batch_norm_relu(inputs):
  """ReLU(slim.batch_norm(inputs)), the pre-activation of every DenseNet conv.

  In the copy that `recompute_in_backward` builds, a BatchNorm that the
  forward pass ran in training mode is not run again but replayed with the
  forward pass's batch statistics (`_replayed_batch_norm`): the same output
  and gradient without a second pass over the data for the statistics.
  """
  replay = _batch_norm_log['replay']
  forward_op = next(replay, None) if replay is not None else None
  if forward_op is not None:
    return tf.nn.relu(_replayed_batch_norm(inputs, forward_op))
  net = slim.batch_norm(inputs, activation_fn=tf.nn.relu)
  if _batch_norm_log['record'] is not None:
    _batch_norm_log['record'].append(_training_batch_norm_op(net))
  return net


def _training_batch_norm_op(relu_output):
  """The fused training-mode BatchNorm op under a ReLU, or None."""
  if relu_output.op.type != 'Relu':
    return None
  op = relu_output.op.inputs[0].op
  if op.type == 'FusedBatchNormV3' and op.get_attr('is_training'):
    return op
  return None


def _replayed_batch_norm(inputs, forward_op):
  """`forward_op` (a training-mode FusedBatchNormV3) again, on equal inputs.

  Normalises with the forward pass's batch statistics, with the one-pass
  inference kernel, and differentiates as TensorFlow differentiates
  `forward_op` (`_replayed_batch_norm_grad`), so values and gradients are
  those of the default path.
  """
  _, scale, offset = forward_op.inputs[:3]
  batch_mean, batch_variance = forward_op.outputs[1:3]
  # batch_variance carries Bessel's correction (it feeds the moving average);
  # the forward pass divided by the uncorrected variance.
  count = tf.cast(tf.size(inputs, out_type=tf.int64) //
                  tf.size(batch_mean, out_type=tf.int64), tf.float32)
  variance = batch_variance * (tf.maximum(count - 1.0, 1.0) / count)
  # An override, not tf.custom_gradient: its IdentityN would keep grappler
  # from fusing this BatchNorm with the ReLU after it.
  with tf.get_default_graph().gradient_override_map(
      {'FusedBatchNormV3': 'DenseNetReplayedBatchNorm'}):
    return tf.raw_ops.FusedBatchNormV3(
        x=inputs, scale=scale, offset=offset, mean=batch_mean,
        variance=variance, epsilon=forward_op.get_attr('epsilon'),
        data_format=forward_op.get_attr('data_format'), is_training=False)[0]


@tf.RegisterGradient('DenseNetReplayedBatchNorm')
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


def _concat(features):
  return tf.concat(features, axis=3) if len(features) > 1 else features[0]


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

  The concatenation of a dense layer's inputs and its normalised copy grow
  with every layer, so keeping them for the backward pass makes a dense
  block's memory quadratic in its depth. Here the forward pass frees them as
  soon as `build`'s output exists, and the gradient function builds them
  again from the (kept) inputs, once the gradient of the output exists, and
  differentiates that copy (Pleiss et al., "Memory-Efficient Implementation
  of DenseNets", 2017). The copy reuses the variables, so checkpoints are
  interchangeable with the default mode; in training its BatchNorms reuse
  the forward pass's batch statistics (`batch_norm_relu`), so the values
  and gradients are the same.

  Args:
    inputs: list of tensors (a dense layer's input feature maps).
    build: function of a list like `inputs` returning one tensor; it may
      create variables and BatchNorm updates (made once, in the forward
      pass) but nothing random.

  Returns:
    build(inputs).
  """
  var_scope = tf.get_variable_scope()
  # The gradient is built outside the network's arg scope (is_training,
  # BatchNorm epsilon, ...); the copy must be built inside it.
  layer_args = slim.current_arg_scope()

  forward_batch_norms = []

  @tf.custom_gradient
  def recomputed_segment(*segment_inputs):
    with _batch_norm_log_mode(record=forward_batch_norms):
      output = build(list(segment_inputs))

    def grad_fn(output_grad, variables=None):
      # A data dependency on the incoming gradient (a control dependency
      # could be pruned by graph rewrites) keeps the copy from being built
      # during the forward pass, which would keep it alive after all. One
      # input suffices: every recomputed op depends on all of them.
      first = tf.reshape(output_grad, [-1])[0]
      zero = tf.stop_gradient(
          tf.where(tf.math.is_nan(first), first, tf.zeros_like(first)))
      later_inputs = list(segment_inputs)
      later_inputs[-1] += zero
      with tf.variable_scope(var_scope, reuse=True), \
          slim.arg_scope(layer_args), _no_new_update_ops(), \
          _batch_norm_log_mode(replay=iter(forward_batch_norms)):
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


def dense_block(inputs, num_layers, growth_rate, bottleneck=True,
                dropout_keep_prob=None, memory_efficient=False, scope=None,
                end_points=None, as_features=False):
  """`num_layers` dense layers; returns their concatenation with `inputs`.

  With `as_features` it returns the list [inputs, layer 1, ...] instead, for
  a memory-efficient transition_block that concatenates them itself.
  """
  with tf.variable_scope(scope, 'dense_block', [inputs]) as sc:
    features = [inputs]
    for i in range(num_layers):
      name = 'conv_block%d' % (i + 1)
      if memory_efficient and bottleneck:
        features = _gradient_chain(features)
      features.append(conv_block(features, growth_rate, bottleneck,
                                 dropout_keep_prob, memory_efficient,
                                 scope=name))
      _record(end_points, sc, name, features[-1])
    net = tf.concat(features, axis=3)
    _record(end_points, sc, None, net)
    return features if as_features else net


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


def transition_block(inputs, num_outputs, dropout_keep_prob=None,
                     memory_efficient=False, scope=None):
  """BN-ReLU-1x1 conv to `num_outputs` channels, then 2x2 average pool.

  Without dropout the pool runs before the conv: a 1x1 conv is linear per
  pixel and an average pool is linear per channel, so they commute, and the
  conv then sees a quarter of the pixels for the same output (DenseNet-121's
  transitions go from a tenth of its multiply-adds to a fortieth). Dropout
  does not commute with the pool, so with dropout the paper's order stays.

  `inputs` is the dense block's output, or the list of its feature maps; with
  a list and `memory_efficient`, the concat-BN-ReLU is recomputed in the
  backward pass as in the dense layers (the block's full-width concatenation
  and its normalised copy are the largest tensors a block leaves behind).
  """
  pool_first = not _has_dropout(dropout_keep_prob)

  def compress(features):
    return bn_relu_conv(_concat(features), num_outputs, 1, scope='blk',
                        pool_first=pool_first)

  with tf.variable_scope(scope, 'transition_block', [inputs]):
    if memory_efficient and isinstance(inputs, list):
      net = recompute_in_backward(compress, inputs)
    else:
      net = compress(inputs if isinstance(inputs, list) else [inputs])
    if pool_first:
      return net
    return _average_pool(_dropout(net, dropout_keep_prob))


def _average_pool(net):
  return slim.avg_pool2d(net, 2, stride=2, padding='VALID')


def _symmetric_pad(net, amount):
  return tf.pad(net, [[0, 0], [amount, amount], [amount, amount], [0, 0]])


def stem(images, num_outputs, stem_type, end_points=None,
         memory_efficient=False):
  """The layers before the first dense block.

  'imagenet': 7x7/2 conv, BN-ReLU, 3x3/2 max pool (1/4 resolution).
  'cifar': one 3x3 conv (full resolution; the first dense layer's BN-ReLU
    follows).
  'early_downsampling': 3x3 conv, BN-ReLU, 3x3/2 max pool (1/2 resolution).
  With `memory_efficient`, BN-ReLU-pool is recomputed in the backward pass:
  it would keep two full-resolution copies of the conv output.
  """
  scope = tf.get_variable_scope()
  if stem_type == 'imagenet':
    net = slim.conv2d(_symmetric_pad(images, 3), num_outputs, 7, stride=2,
                      padding='VALID', scope='conv1')
  else:
    net = slim.conv2d(images, num_outputs, 3, scope='conv1')
  _record(end_points, scope, 'conv1', net)
  if stem_type == 'cifar':
    return net

  def bn_relu_pool(inputs):
    net = batch_norm_relu(inputs[0])
    # Zero padding is neutral for a max pool after a ReLU.
    return slim.max_pool2d(_symmetric_pad(net, 1), 3, stride=2,
                           padding='VALID', scope='pool1')

  if memory_efficient:
    net = recompute_in_backward(bn_relu_pool, [net])
  else:
    net = bn_relu_pool([net])
  _record(end_points, scope, 'pool1', net)
  return net


def _record(end_points, scope, name, tensor):
  """Stores `tensor` under '<variable scope>/<name>' (stable across graphs)."""
  if end_points is not None:
    key = scope.name
    end_points[key + '/' + name if name else key] = tensor


def _check_data_format(data_format):
  if data_format != 'NHWC':
    raise ValueError(
        'Only data_format=\'NHWC\' is supported on CPU, got %r. The images '
        'are [batch, height, width, channels] either way (pudae\'s NCHW '
        'option only changes the GPU compute layout); pass \'NHWC\'.'
        % (data_format,))


def densenet_from_config(images, config, num_classes, is_training=False,
                         dropout_keep_prob=1.0, scope='densenet', reuse=None,
                         memory_efficient=False, data_format='NHWC'):
  """Builds the DenseNet described by `config`.

  Args:
    images: float32 [batch, height, width, channels] (1 or 3 channels).
    config: a `DenseNetConfig`.
    num_classes: number of classes; 0 (or None) returns the globally pooled
      features [batch, channels] instead of logits.
    is_training: switches BatchNorm to batch statistics and enables dropout.
    dropout_keep_prob: keep probability of the dropout after each conv inside
      the blocks and transitions (the paper's scheme); 1.0 disables it.
    scope: variable scope of the network.
    reuse: whether to reuse the variables of `scope`.
    memory_efficient: recompute every dense layer (the concat-BN-ReLU-1x1
      part only where dropout follows it), the transitions' concat-BN-ReLU
      and the stem's BN-ReLU-pool in the backward pass instead of storing
      their activations: training memory grows linearly instead of
      quadratically with block depth, for some extra time. Same variables
      (checkpoints interchangeable) and gradients.
      Bottleneck ("B") networks only; the others ignore it.
    data_format: 'NHWC', the only layout supported on CPU.

  Returns:
    (logits [batch, num_classes], end_points). end_points holds the stem
    ('<scope>/conv1', '<scope>/pool1'), every dense block, dense layer and
    transition under their scope names, 'global_pool' [batch, channels],
    'Logits' and 'Predictions' (softmax) and pudae's unsqueezed
    '<scope>/logits' and 'predictions' [batch, 1, 1, num_classes], the last
    four only if num_classes.

  Raises:
    ValueError: for an unknown stem or a data_format other than 'NHWC'.
  """
  _check_data_format(data_format)
  if config.stem not in STEM_TYPES:
    raise ValueError('Unknown DenseNet stem %r; valid stems: %s' %
                     (config.stem, ', '.join(STEM_TYPES)))
  if not tf.is_tensor(is_training) and not is_training:
    # Dropout is the identity in inference; building none lets the
    # transitions pool before their conv.
    dropout_keep_prob = None
  end_points = collections.OrderedDict()
  with tf.variable_scope(scope, 'densenet', [images], reuse=reuse) as sc:
    with slim.arg_scope([slim.batch_norm, slim.dropout],
                        is_training=is_training):
      net = _blocks(images, config, dropout_keep_prob,
                    memory_efficient and config.bottleneck, sc, end_points)
      with tf.variable_scope('final_block', values=[net]):
        net = slim.batch_norm(net, activation_fn=tf.nn.relu)
      net = tf.reduce_mean(net, [1, 2], keepdims=True, name='global_pool')
      end_points['global_pool'] = tf.squeeze(net, [1, 2])
      if not num_classes:
        return end_points['global_pool'], end_points
      return _classifier(net, num_classes, sc, end_points), end_points


def _blocks(images, config, dropout_keep_prob, memory_efficient, sc,
            end_points):
  """The stem, then dense blocks with a transition between each two."""
  net = stem(images, config.num_initial_features, config.stem, end_points,
             memory_efficient)
  num_features = config.num_initial_features
  for i, num_layers in enumerate(config.block_layers):
    last_block = i + 1 == len(config.block_layers)
    net = dense_block(net, num_layers, config.growth_rate, config.bottleneck,
                      dropout_keep_prob, memory_efficient,
                      scope='dense_block%d' % (i + 1), end_points=end_points,
                      as_features=memory_efficient and not last_block)
    num_features += num_layers * config.growth_rate
    if not last_block:
      num_features = int(num_features * config.compression)
      net = transition_block(net, num_features, dropout_keep_prob,
                             memory_efficient,
                             scope='transition_block%d' % (i + 1))
      _record(end_points, sc, 'transition_block%d' % (i + 1), net)
  return net


def _classifier(pooled, num_classes, sc, end_points):
  """1x1 conv logits on the pooled features; returns [batch, classes]."""
  logits_map = slim.conv2d(pooled, num_classes, 1,
                           biases_initializer=tf.zeros_initializer(),
                           scope='logits')
  end_points[sc.name + '/logits'] = logits_map
  logits = tf.squeeze(logits_map, [1, 2], name='SpatialSqueeze')
  end_points['Logits'] = logits
  end_points['Predictions'] = tf.nn.softmax(logits, name='Predictions')
  # pudae's end point keeps the 1x1 spatial dims of its logits.
  end_points['predictions'] = tf.reshape(
      end_points['Predictions'], tf.shape(logits_map),
      name='UnsqueezedPredictions')
  return logits


def _named_network(name):
  """Makes the network function registered as `name` from CONFIGS[name]."""
  config = CONFIGS[name]

  def network(images, num_classes=config.num_classes, is_training=False,
              dropout_keep_prob=config.dropout_keep_prob, scope=name,
              reuse=None, memory_efficient=False, data_format='NHWC'):
    return densenet_from_config(images, config, num_classes, is_training,
                                dropout_keep_prob, scope, reuse,
                                memory_efficient, data_format)

  # pudae's order first, so its users' positional calls mean the same here.
  def network_in_pudae_order(images, num_classes=config.num_classes,
                             data_format='NHWC', is_training=False,
                             reuse=None,
                             dropout_keep_prob=config.dropout_keep_prob,
                             scope=name, memory_efficient=False):
    return densenet_from_config(images, config, num_classes, is_training,
                                dropout_keep_prob, scope, reuse,
                                memory_efficient, data_format)

  if name in PUDAE_NETWORKS:
    network = network_in_pudae_order
  network.__name__ = network.__qualname__ = name
  network.__doc__ = (
      '%s: blocks %s, growth rate %d, %d initial features, bottleneck %s, '
      'compression %s, %s stem. See `densenet_from_config` for the arguments.'
      % (name, config.block_layers, config.growth_rate,
         config.num_initial_features, config.bottleneck, config.compression,
         config.stem))
  if name in PUDAE_NETWORKS:
    network.__doc__ += (' Positional order as in pudae/tensorflow-densenet: '
                        '(images, num_classes, data_format, is_training, '
                        'reuse).')
  network.default_image_size = config.default_image_size
  return network


densenet = _named_network('densenet')
densenet121 = _named_network('densenet121')
densenet161 = _named_network('densenet161')
densenet169 = _named_network('densenet169')
densenet201 = _named_network('densenet201')
densenet264 = _named_network('densenet264')
densenet40_k12 = _named_network('densenet40_k12')
densenet100_k12 = _named_network('densenet100_k12')
densenet100_k24 = _named_network('densenet100_k24')
densenet_bc100_k12 = _named_network('densenet_bc100_k12')
densenet_bc250_k24 = _named_network('densenet_bc250_k24')
densenet_bc190_k40 = _named_network('densenet_bc190_k40')
densenet_bc_mini = _named_network('densenet_bc_mini')
