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

For training with less memory, pass `memory_efficient=True`: the dense
layers, transitions and stem pooling are recomputed in the backward pass
instead of keeping their activations (same variables, same gradients; figures
in docs/performance.md). That machinery lives in
nets/densenet_memory_efficient.py, which this module reaches only through
`_builders` and imports only when asked.

densenet121, densenet161 and densenet169 also take pudae's arguments in
pudae's order, `(inputs, num_classes, data_format, is_training, reuse)`, and
their end points include pudae's '<scope>/logits' and 'predictions'
([batch, 1, 1, num_classes]), so code written for those checkpoints runs.
"""

import collections

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
                       batch_norm_decay=0.9,
                       batch_norm_epsilon=BATCH_NORM_EPSILON,
                       use_fused_batch_norm=True):
  """Arg scope for every DenseNet: bias-free convs, BatchNorm with scale.

  Args:
    weight_decay: L2 regularisation of conv (and classifier) weights.
    batch_norm_decay: moving-average decay of the BatchNorm statistics.
      0.9 is the paper's (its Torch code's BatchNorm momentum 0.1, also
      torchvision's): the averages follow the weights within ~10 steps, so
      an evaluation after a fast-moving epoch sees the statistics of the
      weights it evaluates (with 0.99 the main job's accuracy lagged and
      swung; docs/main_job.md).
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


def has_dropout(keep_prob):
  """Whether `dropout_keep_prob` asks for dropout (None and 1.0 do not)."""
  return keep_prob is not None and keep_prob < 1.0


def dropout(net, keep_prob):
  """slim.dropout, or `net` itself where `keep_prob` asks for none."""
  if not has_dropout(keep_prob):
    return net
  return slim.dropout(net, keep_prob)


def batch_norm_relu(inputs):
  """ReLU(BatchNorm(inputs)), the pre-activation of every DenseNet conv."""
  return slim.batch_norm(inputs, activation_fn=tf.nn.relu)


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
    return dropout(net, dropout_keep_prob)


def concat_features(features):
  """The channel-wise concatenation [x_0, x_1, ...] of a list of maps."""
  return tf.concat(features, axis=3) if len(features) > 1 else features[0]


def dense_layer(features, growth_rate, bottleneck=True, dropout_keep_prob=None):
  """H_l([x_0, ..., x_{l-1}]) in the caller's variable scope.

  Args:
    features: list of the block input and all earlier layers' outputs.
    growth_rate: k, the number of feature maps this layer adds.
    bottleneck: put a 1x1 conv with 4k outputs ('x1') before the 3x3 conv
      ('x2').
    dropout_keep_prob: dropout after each conv; None or 1.0 for none.

  Returns:
    The k new feature maps [batch, height, width, growth_rate].
  """
  net = concat_features(features)
  if bottleneck:
    net = bn_relu_conv(net, 4 * growth_rate, 1, dropout_keep_prob, scope='x1')
  return bn_relu_conv(net, growth_rate, 3, dropout_keep_prob, scope='x2')


def conv_block(features, growth_rate, bottleneck=True, dropout_keep_prob=None,
               scope=None):
  """One dense layer (`dense_layer`) in its own variable scope.

  Args:
    features: list of the block input and all earlier layers' outputs.
    growth_rate: k, the number of feature maps this layer adds.
    bottleneck: put a 1x1 conv with 4k outputs before the 3x3 conv.
    dropout_keep_prob: dropout after each conv; None or 1.0 for none.
    scope: variable scope, e.g. 'conv_block1'.

  Returns:
    The k new feature maps [batch, height, width, growth_rate].
  """
  with tf.variable_scope(scope, 'conv_block', features):
    return dense_layer(features, growth_rate, bottleneck, dropout_keep_prob)


# The two things memory-efficient training builds differently:
#   add_layer(features, growth_rate, bottleneck, dropout_keep_prob, scope)
#     adds one dense layer to a block: `features` with its maps appended;
#   run(build, inputs) runs a deterministic piece of the stem or of a
#     transition: build(inputs).
# `_builders` picks the paper's plain ones below or, when asked, those of
# nets/densenet_memory_efficient.py, which recompute in the backward pass.
Builders = collections.namedtuple('Builders', ['add_layer', 'run'])


def _add_conv_block(features, growth_rate, bottleneck, dropout_keep_prob,
                    scope):
  return features + [conv_block(features, growth_rate, bottleneck,
                                dropout_keep_prob, scope=scope)]


def _run(build, inputs):
  return build(inputs)


_PAPER_BUILDERS = Builders(add_layer=_add_conv_block, run=_run)


def _builders(memory_efficient):
  """The model's one hook into nets/densenet_memory_efficient.py.

  That module (the recomputation machinery) is imported only when asked for.
  """
  if not memory_efficient:
    return _PAPER_BUILDERS
  # Here, not at the top: it imports this module, and plain networks never
  # need it.
  from nets import densenet_memory_efficient  # pylint: disable=g-import-not-at-top
  return densenet_memory_efficient.BUILDERS


def dense_block(inputs, num_layers, growth_rate, bottleneck=True,
                dropout_keep_prob=None, memory_efficient=False, scope=None,
                end_points=None):
  """`num_layers` dense layers, each reading all earlier feature maps.

  Args:
    inputs: the block input x_0 [batch, height, width, channels].
    num_layers: L, the number of dense layers.
    growth_rate: k, the feature maps each layer adds.
    bottleneck: 1x1 conv before each 3x3 conv ("B").
    dropout_keep_prob: dropout after each conv; None or 1.0 for none.
    memory_efficient: recompute the layers in the backward pass instead of
      keeping their activations (nets/densenet_memory_efficient.py); only
      with `bottleneck`, ignored without.
    scope: variable scope, e.g. 'dense_block1'.
    end_points: dict that gets every layer's output and the block's.

  Returns:
    The concatenation [x_0, x_1, ..., x_L], with channels + L * k channels.
  """
  add_layer = _builders(memory_efficient and bottleneck).add_layer
  with tf.variable_scope(scope, 'dense_block', [inputs]) as sc:
    features = [inputs]
    for i in range(num_layers):
      name = 'conv_block%d' % (i + 1)
      features = add_layer(features, growth_rate, bottleneck,
                           dropout_keep_prob, name)
      _record(end_points, sc, name, features[-1])
    net = tf.concat(features, axis=3)
    _record(end_points, sc, None, net)
    return net


def transition_block(inputs, num_outputs, dropout_keep_prob=None,
                     memory_efficient=False, scope=None):
  """BN-ReLU-1x1 conv to `num_outputs` channels, then 2x2 average pool.

  Without dropout the pool runs before the conv: a 1x1 conv is linear per
  pixel and an average pool is linear per channel, so they commute, and the
  conv then sees a quarter of the pixels for the same output (DenseNet-121's
  transitions go from a tenth of its multiply-adds to a fortieth). Dropout
  does not commute with the pool, so with dropout the paper's order stays.

  Args:
    inputs: a dense block's output [batch, height, width, channels].
    num_outputs: output channels (compression * channels).
    dropout_keep_prob: dropout after the conv; None or 1.0 for none.
    memory_efficient: recompute BN-ReLU-(pool-)conv in the backward pass,
      from the feature maps the block concatenated.
    scope: variable scope, e.g. 'transition_block1'.

  Returns:
    [batch, height // 2, width // 2, num_outputs].
  """
  pool_first = not has_dropout(dropout_keep_prob)

  def compress(net):
    return bn_relu_conv(net, num_outputs, 1, scope='blk',
                        pool_first=pool_first)

  with tf.variable_scope(scope, 'transition_block', [inputs]):
    net = _builders(memory_efficient).run(compress, inputs)
    if pool_first:
      return net
    return _average_pool(dropout(net, dropout_keep_prob))


def _average_pool(net):
  return slim.avg_pool2d(net, 2, stride=2, padding='VALID')


def _symmetric_pad(net, amount):
  return tf.pad(net, [[0, 0], [amount, amount], [amount, amount], [0, 0]])


def _bn_relu_max_pool(net):
  net = batch_norm_relu(net)
  # Zero padding is neutral for a max pool after a ReLU.
  return slim.max_pool2d(_symmetric_pad(net, 1), 3, stride=2,
                         padding='VALID', scope='pool1')


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
  net = _builders(memory_efficient).run(_bn_relu_max_pool, net)
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
      and the stem's BN-ReLU-pool in the backward pass
      (nets/densenet_memory_efficient.py) instead of storing their
      activations: training memory grows linearly instead of
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
    net = dense_block(net, num_layers, config.growth_rate, config.bottleneck,
                      dropout_keep_prob, memory_efficient,
                      scope='dense_block%d' % (i + 1), end_points=end_points)
    num_features += num_layers * config.growth_rate
    if i + 1 < len(config.block_layers):
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


# One line per CONFIGS row rather than a loop: each public name stays a
# plain assignment that imports, linters and readers can find.
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
