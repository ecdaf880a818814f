"""Registry of every network: a plain map from name to where it is defined.

Modules are imported on first use, so asking for one network does not build
(or import) the others.

    network_fn = nets_factory.get_network_fn('densenet121', num_classes=5,
                                             is_training=True)
    logits, end_points = network_fn(images)
    network_fn.default_image_size  # 224
"""

import functools
import importlib

import tf_compat  # noqa: F401
import tf_slim as slim

# name -> (module, network function, arg scope function)
NETWORKS = {
    # The DenseNet family (nets/densenet.py).
    'densenet': ('nets.densenet', 'densenet', 'densenet_arg_scope'),
    'densenet121': ('nets.densenet', 'densenet121', 'densenet_arg_scope'),
    'densenet161': ('nets.densenet', 'densenet161', 'densenet_arg_scope'),
    'densenet169': ('nets.densenet', 'densenet169', 'densenet_arg_scope'),
    'densenet201': ('nets.densenet', 'densenet201', 'densenet_arg_scope'),
    'densenet264': ('nets.densenet', 'densenet264', 'densenet_arg_scope'),
    'densenet40_k12': ('nets.densenet', 'densenet40_k12', 'densenet_arg_scope'),
    'densenet100_k12': ('nets.densenet', 'densenet100_k12',
                        'densenet_arg_scope'),
    'densenet100_k24': ('nets.densenet', 'densenet100_k24',
                        'densenet_arg_scope'),
    'densenet_bc100_k12': ('nets.densenet', 'densenet_bc100_k12',
                           'densenet_arg_scope'),
    'densenet_bc250_k24': ('nets.densenet', 'densenet_bc250_k24',
                           'densenet_arg_scope'),
    'densenet_bc190_k40': ('nets.densenet', 'densenet_bc190_k40',
                           'densenet_arg_scope'),
    'densenet_bc_mini': ('nets.densenet', 'densenet_bc_mini',
                         'densenet_arg_scope'),
    # Small reference networks.
    'lenet': ('nets.lenet', 'lenet', 'lenet_arg_scope'),
    'cifarnet': ('nets.cifarnet', 'cifarnet', 'cifarnet_arg_scope'),
    # The slim model zoo, loadable from the released checkpoints.
    'inception_v1': ('nets.inception_v1', 'inception_v1',
                     'inception_v1_arg_scope'),
    'inception_v3': ('nets.inception_v3', 'inception_v3',
                     'inception_v3_arg_scope'),
    'inception_v4': ('nets.inception_v4', 'inception_v4',
                     'inception_v4_arg_scope'),
    'inception_resnet_v2': ('nets.inception_resnet_v2', 'inception_resnet_v2',
                            'inception_resnet_v2_arg_scope'),
    'resnet_v1_50': ('nets.resnet_v1', 'resnet_v1_50', 'resnet_arg_scope'),
    'resnet_v1_101': ('nets.resnet_v1', 'resnet_v1_101', 'resnet_arg_scope'),
    'resnet_v2_50': ('nets.resnet_v2', 'resnet_v2_50', 'resnet_arg_scope'),
    'vgg_16': ('nets.vgg', 'vgg_16', 'vgg_arg_scope'),
    'vgg_19': ('nets.vgg', 'vgg_19', 'vgg_arg_scope'),
    'mobilenet_v1': ('nets.mobilenet_v1', 'mobilenet_v1',
                     'mobilenet_v1_arg_scope'),
}


def network_names():
  return sorted(NETWORKS)


def check_name(name):
  """Raises ValueError naming the valid choices when `name` is unknown."""
  if name not in NETWORKS:
    raise ValueError('Unknown model_name %r; valid names: %s' %
                     (name, ', '.join(network_names())))


def get_network_and_arg_scope(name):
  """Returns the (network function, arg scope function) registered as `name`."""
  check_name(name)
  module_name, fn_name, scope_name = NETWORKS[name]
  module = importlib.import_module(module_name)
  return getattr(module, fn_name), getattr(module, scope_name)


def get_network_fn(name, num_classes, weight_decay=0.0, is_training=False):
  """Returns `network_fn(images, **kwargs) -> (logits, end_points)`.

  Args:
    name: a registered network name (see `network_names()`).
    num_classes: number of classes; 0 returns the pooled features instead of
      logits where the network supports it.
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
