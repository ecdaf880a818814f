"""Registry of every network: one row per name holding everything about it.

A row names the module, the network function, its arg scope function and the
preprocessing the released checkpoint was trained with. Modules are imported
on first use, so asking for one network does not build (or import) the
others. The image size lives on the function (`default_image_size`), as in
slim.

    network_fn = nets_factory.get_network_fn('densenet121', num_classes=5,
                                             is_training=True)
    logits, end_points = network_fn(images)
    network_fn.default_image_size  # 224

Upstream slim's `networks_map` and `arg_scopes_map` are views of the rows.
"""

import collections
import collections.abc
import functools
import importlib

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import densenet

Network = collections.namedtuple(
    'Network', ['module', 'function', 'arg_scope', 'preprocessing'])


def _family(module, arg_scope, preprocessing, functions):
  """Rows for `{factory name: function name}` sharing module and scope."""
  return {name: Network(module, function, arg_scope, preprocessing)
          for name, function in functions.items()}


def _same_names(*names):
  return {name: name for name in names}


NETWORKS = {
    # DenseNet: every row of the paper-style table in nets/densenet.py. The
    # course preprocessed its DenseNet like Inception.
    **_family('nets.densenet', 'densenet_arg_scope', 'inception',
              _same_names(*densenet.CONFIGS)),
    # Small reference networks.
    **_family('nets.lenet', 'lenet_arg_scope', 'lenet', _same_names('lenet')),
    **_family('nets.cifarnet', 'cifarnet_arg_scope', 'cifarnet',
              _same_names('cifarnet')),
    # The slim model zoo; preprocessing as upstream's preprocessing_factory
    # maps it (AlexNet/OverFeat, absent there, get VGG's like the other
    # ImageNet classics).
    **_family('nets.alexnet', 'alexnet_v2_arg_scope', 'vgg',
              _same_names('alexnet_v2')),
    **_family('nets.overfeat', 'overfeat_arg_scope', 'vgg',
              _same_names('overfeat')),
    **_family('nets.vgg', 'vgg_arg_scope', 'vgg',
              _same_names('vgg_a', 'vgg_16', 'vgg_19')),
    **{name: Network('nets.' + name, name, name + '_arg_scope', 'inception')
       for name in ('inception_v1', 'inception_v2', 'inception_v3',
                    'inception_v4', 'inception_resnet_v2')},
    **_family('nets.resnet_v1', 'resnet_arg_scope', 'vgg', _same_names(
        'resnet_v1_50', 'resnet_v1_101', 'resnet_v1_152', 'resnet_v1_200')),
    **_family('nets.resnet_v2', 'resnet_arg_scope', 'vgg', _same_names(
        'resnet_v2_50', 'resnet_v2_101', 'resnet_v2_152', 'resnet_v2_200')),
    **_family('nets.mobilenet_v1', 'mobilenet_v1_arg_scope', 'inception',
              _same_names('mobilenet_v1', 'mobilenet_v1_075',
                          'mobilenet_v1_050', 'mobilenet_v1_025')),
    **_family('nets.mobilenet.mobilenet_v2', 'training_scope', 'inception', {
        'mobilenet_v2': 'mobilenet',
        'mobilenet_v2_140': 'mobilenet_v2_140',
        'mobilenet_v2_035': 'mobilenet_v2_035'}),
    **_family('nets.mobilenet.mobilenet_v3', 'training_scope', 'inception', {
        'mobilenet_v3_small': 'small',
        'mobilenet_v3_large': 'large',
        'mobilenet_v3_small_minimalistic': 'small_minimalistic',
        'mobilenet_v3_large_minimalistic': 'large_minimalistic',
        'mobilenet_edgetpu': 'edge_tpu',
        'mobilenet_edgetpu_075': 'edge_tpu_075'}),
    'nasnet_cifar': Network('nets.nasnet.nasnet', 'build_nasnet_cifar',
                            'nasnet_cifar_arg_scope', 'cifarnet'),
    'nasnet_mobile': Network('nets.nasnet.nasnet', 'build_nasnet_mobile',
                             'nasnet_mobile_arg_scope', 'inception'),
    'nasnet_large': Network('nets.nasnet.nasnet', 'build_nasnet_large',
                            'nasnet_large_arg_scope', 'inception'),
    'pnasnet_mobile': Network('nets.nasnet.pnasnet', 'build_pnasnet_mobile',
                              'pnasnet_mobile_arg_scope', 'inception'),
    'pnasnet_large': Network('nets.nasnet.pnasnet', 'build_pnasnet_large',
                             'pnasnet_large_arg_scope', 'inception'),
    # Video networks: 5-D input [batch, frames, height, width, 3]; each frame
    # is preprocessed like an Inception image.
    **_family('nets.i3d', 'i3d_arg_scope', 'inception', _same_names('i3d')),
    **_family('nets.s3dg', 's3dg_arg_scope', 'inception', _same_names('s3dg')),
}

VIDEO_NETWORKS = frozenset({'i3d', 's3dg'})


def network_names():
  return sorted(NETWORKS)


def check_name(name):
  """Raises ValueError naming the valid choices when `name` is unknown."""
  if name not in NETWORKS:
    raise ValueError('Unknown model_name %r; valid names: %s' %
                     (name, ', '.join(network_names())))


def _attribute(name, field):
  check_name(name)
  row = NETWORKS[name]
  return getattr(importlib.import_module(row.module), getattr(row, field))


def get_network_and_arg_scope(name):
  """Returns the (network function, arg scope function) registered as `name`."""
  return _attribute(name, 'function'), _attribute(name, 'arg_scope')


def preprocessing_name(name):
  """The preprocessing registered for network `name`."""
  check_name(name)
  return NETWORKS[name].preprocessing


class _LazyMap(collections.abc.Mapping):
  """Upstream's name -> function dicts, importing a module only when read."""

  def __init__(self, field):
    self._field = field

  def __getitem__(self, name):
    if name not in NETWORKS:
      raise KeyError(name)
    return _attribute(name, self._field)

  def __iter__(self):
    return iter(NETWORKS)

  def __len__(self):
    return len(NETWORKS)


networks_map = _LazyMap('function')
arg_scopes_map = _LazyMap('arg_scope')


def predictions(logits, end_points):
  """The class probabilities of a network's `(logits, end_points)`.

  Each family keeps upstream's end point keys: most hold the softmax as
  'Predictions', the ResNets as 'predictions', and VGG, AlexNet and OverFeat
  hold none, so they get a softmax of `logits` here, named 'Predictions'.
  """
  for key in ('Predictions', 'predictions'):
    if key in end_points:
      return end_points[key]
  return tf.nn.softmax(logits, name='Predictions')


def get_network_fn(name, num_classes, weight_decay=0.0, is_training=False):
  """Returns `network_fn(images, **kwargs) -> (logits, end_points)`.

  Args:
    name: a registered network name (see `network_names()`).
    num_classes: number of classes; 0 or None returns the pooled features
      instead of logits where the network supports it.
    weight_decay: L2 regularisation passed to the network's arg scope.
    is_training: switches BatchNorm and dropout to training behaviour.

  Raises:
    ValueError: if `name` is not registered.
  """
  func, arg_scope_fn = get_network_and_arg_scope(name)

  @functools.wraps(func)
  def network_fn(images, **kwargs):
    with slim.arg_scope(arg_scope_fn(weight_decay=weight_decay)):
      return func(images, num_classes=num_classes, is_training=is_training,
                  **kwargs)

  network_fn.default_image_size = getattr(func, 'default_image_size', 224)
  return network_fn
