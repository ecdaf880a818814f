"""A small hyper-parameter set, standing in for TF 1's `HParams`.

NASNet and PNASNet describe each network as a set of named hyper-parameters
(`nasnet.mobile_imagenet_config()` ...), which upstream built with
`tf.contrib.training.HParams`, gone in TensorFlow 2. This class keeps the part
of its interface the configs and their users need:

    config = nasnet.mobile_imagenet_config()
    config.num_cells                        # attribute access
    config.set_hparam('num_cells', 6)       # keeps the type: 6 stays an int
    config.override_from_dict({'use_aux_head': 0})
    config.parse('num_conv_filters=32,data_format=NCHW')
    config.values()                         # {'num_cells': 6, ...}

Every value keeps the type it was added with: an int parameter accepts ints
only, a float one any number (stored as float), a bool one bools only, a str
one strings only; `parse` converts its text to that type. Unknown names raise
ValueError naming the known ones, so a typo cannot silently add a setting.
Lists are not supported (no config here has one).
"""

import numbers

_TRUE_WORDS = ('true', '1')
_FALSE_WORDS = ('false', '0')


def _is_number(value):
  return isinstance(value, numbers.Real) and not isinstance(value, bool)


# What a parameter of each numeric type accepts (bool is an int in Python, but
# not a count or a rate here); any other type accepts instances of itself.
_ACCEPTS = {
    bool: lambda value: isinstance(value, bool),
    int: lambda value: (_is_number(value) and
                        isinstance(value, numbers.Integral)),
    float: _is_number,
}


def _coerce(name, kind, value):
  """`value` as type `kind`, or ValueError if it is not of a compatible type."""
  if kind is type(None):
    return value
  accepts = _ACCEPTS.get(kind, lambda v: isinstance(v, kind))
  if not accepts(value):
    raise ValueError('Hyperparameter %r is a %s; cannot set it to %r' %
                     (name, kind.__name__, value))
  return kind(value) if kind in _ACCEPTS else value


def _from_text(name, kind, text):
  """Parses `text` (from `parse`) as a value of type `kind`."""
  if kind is str or kind is type(None):
    return text
  try:
    if kind is bool:
      word = text.lower()
      if word not in _TRUE_WORDS + _FALSE_WORDS:
        raise ValueError(text)
      return word in _TRUE_WORDS
    return kind(text)
  except ValueError:
    raise ValueError('Hyperparameter %r is a %s; cannot parse %r' %
                     (name, kind.__name__, text)) from None


class HParams(object):
  """Named hyper-parameters with attribute access and type-checked updates."""

  def __init__(self, **values):
    self._types = {}
    for name, value in values.items():
      self.add_hparam(name, value)

  def add_hparam(self, name, value):
    """Adds a new parameter; its type is `value`'s type from now on."""
    if name in self._types or hasattr(self, name):
      raise ValueError('Hyperparameter name %r is already in use' % name)
    self._types[name] = type(value)
    setattr(self, name, value)

  def _check_known(self, name):
    if name not in self._types:
      raise ValueError('Unknown hyperparameter %r; known: %s' %
                       (name, ', '.join(sorted(self._types))))

  def set_hparam(self, name, value):
    """Sets an existing parameter, keeping its type."""
    self._check_known(name)
    setattr(self, name, _coerce(name, self._types[name], value))

  def override_from_dict(self, values_dict):
    """Sets every parameter named in `values_dict`; returns self."""
    for name in values_dict:
      self._check_known(name)
    for name, value in values_dict.items():
      self.set_hparam(name, value)
    return self

  def parse(self, values):
    """Sets parameters from text like 'num_cells=6,data_format=NCHW'.

    Returns:
      self.

    Raises:
      ValueError: on a malformed item, an unknown name or a value that does
        not parse as the parameter's type. Nothing is set then.
    """
    parsed = {}
    for item in filter(None, (part.strip() for part in values.split(','))):
      name, equals, text = (s.strip() for s in item.partition('='))
      if not equals or not name:
        raise ValueError('Malformed hyperparameter item %r in %r; expected '
                         'name=value' % (item, values))
      self._check_known(name)
      parsed[name] = _from_text(name, self._types[name], text)
    return self.override_from_dict(parsed)

  def values(self):
    """A dict {name: value} of every parameter (a copy)."""
    return {name: getattr(self, name) for name in self._types}

  def get(self, name, default=None):
    return getattr(self, name) if name in self._types else default

  def __contains__(self, name):
    return name in self._types

  def __repr__(self):
    return 'HParams(%s)' % ', '.join(
        '%s=%r' % item for item in sorted(self.values().items()))
