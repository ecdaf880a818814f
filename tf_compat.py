"""Every repair this fork needs to run tf_slim 1.1.0 on TensorFlow 2.21.

Import this module before anything touches ``tf_slim`` (the ``nets``,
``datasets``, ``preprocessing`` and ``deployment`` packages and every script
do so first). Each repair is idempotent and checks whether it is still needed,
so the module becomes a no-op once upstream catches up. Delete a repair when
its test in ``tests/test_tf_compat.py`` passes without it.

Repairs
-------
1. ``slim.batch_norm`` (and anything else that builds a legacy
   ``tf.compat.v1.layers`` BatchNormalization) lazily imports
   ``tf_keras.legacy_tf_layers.normalization``. Since tf_keras 2.16 that package
   lives at ``tf_keras.src.legacy_tf_layers``, so the import fails with
   ``ModuleNotFoundError``. We register the old module names as aliases of the
   new ones. Can go when TensorFlow's ``python/layers/normalization.py`` points
   at the new path, or tf_keras re-exports the old one.

2. ``tensorflow.python.ops.control_flow_ops`` no longer exports ``case`` and
   ``cond`` (moved to ``control_flow_case.case`` and ``cond.cond``), which
   breaks ``slim.tfexample_decoder`` (``Image`` decoding, ``BoundingBox``),
   ``slim.metrics`` helpers and ``slim.utils.smart_cond``. We put the two
   functions back on the old module. Can go when tf_slim imports them from
   their new homes.

3. Building a large slim graph is quadratic in its number of variables: every
   layer's ``add_weight`` (legacy ``tf.layers``, used by ``slim.conv2d`` and
   ``slim.batch_norm``) puts all global variables into a set, and since TF 2.0
   each ``Variable.__hash__``/``__eq__`` first asks
   ``executing_eagerly_outside_functions()``, which enters ``init_scope``
   (~50 us). Inception-v4 (608 variables) spent two thirds of its 15 s build
   there. In a plain (non-function) graph the answer is always "no", so we
   answer it directly and fall back to TensorFlow's methods everywhere else
   (eager mode, ``tf.function`` bodies): same results, linear build time.
   Can go when ``add_weight`` stops rebuilding the set or the hash gets cheap.

4. ``tensorflow.python.framework.ops`` no longer exports ``Tensor`` (it lives
   in ``framework.tensor``), and ``tf_slim.layers.utils.constant_value`` still
   reads ``ops.Tensor``. slim's BatchNorm calls it whenever its updates go
   anywhere but ``UPDATE_OPS`` (``updates_collections=None`` or a collection
   of the caller's, which every upstream arg scope exposes as
   ``batch_norm_updates_collections``), so those raise ``AttributeError``. We
   put the class back on the old module. Can go when tf_slim imports it from
   ``framework.tensor``.

5. ``slim.learning.train`` stops its Supervisor itself after the final save
   (closing the summary writer) and then leaves ``managed_session``, which
   stops it a second time and logs a STOP event to the closed writer. In TF 1
   the writer dropped that event silently; TF 2's ``FileWriter`` warns
   "Attempting to use a closed FileWriter..." at the end of every training
   run, which reads like a failure after a successful run. We make a stop
   whose writer an earlier stop already closed leave it alone (the event was
   never written in either version). Can go when tf_slim stops the
   Supervisor once or ``FileWriter`` stops warning.

6. Paths are bytes on Linux, and Python keeps the bytes of a name that is
   not UTF-8 (``--train_dir`` under ``LANG=C``, a folder copied from a Latin-1
   disk) as surrogates (PEP 383). TensorFlow's ``compat.as_bytes``/``as_text``,
   which every ``tf.io.gfile`` call and the Saver go through, encode and
   decode strictly, so such a path ends in ``UnicodeEncodeError`` before
   anything is written. We encode and decode UTF-8 with ``surrogateescape``,
   as Python's own ``os.fsencode`` does: the same bytes reach the file
   system, and valid UTF-8 is unchanged. Can go when TensorFlow handles
   surrogates (or takes ``os.fsencode``'d paths everywhere).

Environment defaults
--------------------
``TF_CPP_MIN_LOG_LEVEL`` defaults to 1 so C++ INFO chatter does not bury the
training log; users can still set it themselves.

``TF_ENABLE_ONEDNN_OPTS`` defaults to 1: TensorFlow turns its oneDNN kernels
on by itself only on some CPUs (AVX-512 ones, not AVX2-only ones), and they
make DenseNet-121 training 1.4x faster on two AVX2 cores (3.83 -> 5.38
images/sec, docs/performance.md). Users can still set 0. It must be set before
TensorFlow is first imported, which is why every script imports this module
first.

Library log noise
-----------------
The one place where lines the libraries print are left out of our logs; a
user who sets ``TF_CPP_MIN_LOG_LEVEL=0`` gets every one of them back (and
``--verbosity=1`` the deprecation notices).

- TensorFlow's C++ lines logged while ``import tensorflow`` runs (twice: the
  oneDNN notice ``TF_ENABLE_ONEDNN_OPTS=1`` brings, with the full
  ``tensorflow`` wheel the CUDA stub lines, and absl's "All log messages
  before absl::InitializeLog() is called are written to STDERR") come before
  TensorFlow's logging reads ``TF_CPP_MIN_LOG_LEVEL``, so it does not apply
  to them. We capture stderr during that import and apply the level
  ourselves: an INFO line shows at level 0, a WARNING at 0-1, an ERROR at
  0-2, and everything else (Python output, tracebacks) always. A crash that
  kills the process inside the import (no Python exception) would lose the
  captured lines: rerun with ``TF_CPP_MIN_LOG_LEVEL=0`` to see them. Can go
  when TensorFlow initializes its logging before its first line.
- Deprecation notices ("From <file>: ... is deprecated") that TensorFlow
  logs for calls made inside tensorflow, tf_keras, tf_slim or keras: code we
  cannot change (``Supervisor.__init__`` from slim.learning, ``Ones.__init__``
  from TensorFlow's RMSProp, ``_colocate_with`` from tf_keras' BatchNorm...).
  Notices for calls from our own code still show, so a new one is seen and
  fixed. The same for the Python warnings of that kind (UserWarnings that
  tf_slim's own calls raise): ``layer.apply`` (every slim layer) and
  ``tf.layers.flatten`` (``slim.flatten``, upstream's Inception and CifarNet
  heads). Can go when tf_slim and tf_keras stop calling deprecated
  TensorFlow 1 API.
"""

import importlib
import importlib.util
import logging
import os
import re
import sys
import tempfile
import warnings

# Whether the user asked for every library line (see "Library log noise").
VERBOSE = os.environ.get('TF_CPP_MIN_LOG_LEVEL') == '0'
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '1')
os.environ.setdefault('TF_ENABLE_ONEDNN_OPTS', '1')

_LEGACY_LAYER_MODULES = ('base', 'convolutional', 'core', 'normalization',
                         'pooling', 'variable_scope_shim')


def _alias_tf_keras_legacy_layers():
  """Repair 1: make ``tf_keras.legacy_tf_layers.*`` importable again."""
  try:
    importlib.import_module('tf_keras.legacy_tf_layers')
    return False  # upstream layout works, nothing to do
  except ImportError:
    pass
  try:
    new_package = importlib.import_module('tf_keras.src.legacy_tf_layers')
  except ImportError as error:
    raise ImportError(
        'tf_compat: slim.batch_norm needs the tf-keras package that matches '
        'TensorFlow, installed without its dependencies so that it does not '
        'add a second TensorFlow (pip install --no-deps -r '
        'requirements-no-deps.txt, or pip install --no-deps '
        '"tf-keras==2.21.*"): %s' % error) from error
  sys.modules['tf_keras.legacy_tf_layers'] = new_package
  for name in _LEGACY_LAYER_MODULES:
    sys.modules['tf_keras.legacy_tf_layers.' + name] = importlib.import_module(
        'tf_keras.src.legacy_tf_layers.' + name)
  return True


def _restore_control_flow_case_and_cond():
  """Repair 2: give ``control_flow_ops`` its ``case`` and ``cond`` back."""
  from tensorflow.python.ops import control_flow_ops
  repaired = False
  if not hasattr(control_flow_ops, 'case'):
    from tensorflow.python.ops import control_flow_case
    control_flow_ops.case = control_flow_case.case
    repaired = True
  if not hasattr(control_flow_ops, 'cond'):
    from tensorflow.python.ops import cond as cond_module
    control_flow_ops.cond = cond_module.cond
    repaired = True
  return repaired


def _fast_graph_variable_hash_and_eq():
  """Repair 3: make Variable hashing O(1) while building a plain graph."""
  from tensorflow.python.eager import context
  from tensorflow.python.framework import ops
  from tensorflow.python.ops import variables
  variable_class = variables.Variable
  if getattr(variable_class.__hash__, 'tf_compat_repair', False):
    return False
  tf_hash = variable_class.__hash__
  tf_eq = variable_class.__eq__

  # Called millions of times while a big network is built (NASNet-A Large:
  # 1.7 M), so the modules are bound here, not imported per call.
  def _in_plain_graph():
    """True while building a TF1-style graph (not eager, not a tf.function)."""
    return (not context.executing_eagerly() and
            not ops.get_default_graph().building_function)

  def __hash__(self):  # pylint: disable=invalid-name
    # What TF's own method returns in a plain graph, without the context walk.
    return id(self) if _in_plain_graph() else tf_hash(self)

  def __eq__(self, other):  # pylint: disable=invalid-name
    return self is other if _in_plain_graph() else tf_eq(self, other)

  __hash__.tf_compat_repair = True
  __hash__.tf_original = tf_hash
  __eq__.tf_original = tf_eq
  variable_class.__hash__ = __hash__
  variable_class.__eq__ = __eq__
  return True


def _restore_ops_tensor():
  """Repair 4: give ``framework.ops`` its ``Tensor`` back."""
  from tensorflow.python.framework import ops
  if hasattr(ops, 'Tensor'):
    return False
  from tensorflow.python.framework import tensor
  ops.Tensor = tensor.Tensor
  return True


def _stop_supervisor_once():
  """Repair 5: a second Supervisor.stop leaves the closed writer alone."""
  from tensorflow.python.summary.writer import writer
  from tensorflow.python.training import supervisor
  if not hasattr(writer.FileWriter, '_warn_if_event_writer_is_closed'):
    return False
  tf_stop = supervisor.Supervisor.stop
  if hasattr(tf_stop, 'tf_original'):
    return False

  def stop(self, threads=None, close_summary_writer=True,
           ignore_live_threads=False):
    summary_writer = self._summary_writer  # pylint: disable=protected-access
    if getattr(summary_writer, '_closed', False):
      close_summary_writer = False  # an earlier stop logged STOP and closed it
    return tf_stop(self, threads, close_summary_writer, ignore_live_threads)

  stop.tf_original = tf_stop
  supervisor.Supervisor.stop = stop
  return True


def _surrogate_escaped_paths():
  """Repair 6: compat.as_bytes/as_text round-trip non-UTF-8 path bytes."""
  from tensorflow.python.util import compat
  if hasattr(compat.as_bytes, 'tf_original'):
    return False
  try:
    compat.as_bytes('\udcff')
    return False  # TensorFlow handles surrogates itself
  except UnicodeEncodeError:
    pass
  tf_as_bytes, tf_as_text = compat.as_bytes, compat.as_text

  def as_bytes(bytes_or_text, encoding='utf-8'):
    if isinstance(bytes_or_text, str) and _is_utf8(encoding):
      return bytes_or_text.encode('utf-8', 'surrogateescape')
    return tf_as_bytes(bytes_or_text, encoding)

  def as_text(bytes_or_text, encoding='utf-8'):
    if isinstance(bytes_or_text, bytes) and _is_utf8(encoding):
      return bytes_or_text.decode('utf-8', 'surrogateescape')
    return tf_as_text(bytes_or_text, encoding)

  as_bytes.tf_original, as_text.tf_original = tf_as_bytes, tf_as_text
  compat.as_bytes = as_bytes
  compat.as_text = compat.as_str = as_text
  _file_io_with_bytes_paths()
  _session_feeds_surrogate_strings_as_bytes()
  return True


class _BytesPathsForStrOnlyCalls(object):
  """`_pywrap_file_io` that takes and reports non-UTF-8 paths.

  file_io hands the reader and Stat a str, which pybind11 encodes strictly
  (it takes the same path as bytes); and a failing call whose message holds
  such a path raises UnicodeDecodeError instead of TensorFlow's error, so
  `gfile.Exists` of a missing file raised. That error is rebuilt here:
  NotFoundError when the path is missing, UnknownError otherwise; and a
  listing of such names is read with os.listdir.
  """

  def __init__(self, pywrap, only=None):
    self._pywrap = pywrap
    self._only = only  # the names of the calls to adapt; None: all of them

  def __getattr__(self, name):
    call = getattr(self._pywrap, name)
    if self._only is not None and name not in self._only:
      return call
    if not callable(call) or isinstance(call, type) and name not in (
        'BufferedInputStream',):
      return call

    def with_bytes_paths(*args, **kwargs):
      args = [_path_bytes(arg) for arg in args]
      try:
        return call(*args, **kwargs)
      except UnicodeDecodeError:
        if name == 'GetChildren' and os.path.isdir(args[0]):
          # The names listed, not an error, were not UTF-8.
          return [os.fsdecode(child) for child in os.listdir(args[0])]
        raise _error_for_paths(name, args) from None

    return with_bytes_paths


def _error_for_paths(call_name, args):
  from tensorflow.python.framework import errors  # pylint: disable=g-import-not-at-top
  paths = [arg for arg in args if isinstance(arg, bytes)]
  shown = ', '.join(os.fsdecode(path).encode('utf-8', 'backslashreplace')
                    .decode('utf-8') for path in paths)
  if paths and not os.path.lexists(paths[0]):
    return errors.NotFoundError(None, None, '%s not found' % shown)
  return errors.UnknownError(None, None, '%s failed on %s' % (call_name,
                                                                shown))


def _path_bytes(path):
  return path.encode('utf-8', 'surrogateescape') if isinstance(
      path, str) else path


def _file_io_with_bytes_paths():
  from tensorflow.python.lib.io import file_io
  from tensorflow.python.training import saver
  file_io._pywrap_file_io = _BytesPathsForStrOnlyCalls(file_io._pywrap_file_io)  # pylint: disable=protected-access
  # The Saver measures each checkpoint file it wrote, by a str name.
  saver.metrics = _BytesPathsForStrOnlyCalls(saver.metrics,
                                             only=('CalculateFileSize',))
  # The Supervisor logs each checkpoint's path into the events file, in a
  # protobuf string field, which must be UTF-8: the path is shown there
  # with U+FFFD for the bytes that are not.
  from tensorflow.python.training import supervisor
  supervisor.SessionLog = _session_log_with_printable_path()


def _session_log_with_printable_path():
  """`SessionLog(...)` with the bytes of a non-UTF-8 path replaced.

  Built on first use, not at import: importing event_pb2 imports TensorFlow,
  which must happen inside `_import_tensorflow_at_log_level`.
  """
  from tensorflow.core.util.event_pb2 import SessionLog  # pylint: disable=g-import-not-at-top

  class SessionLogWithPrintablePath(object):
    START, STOP, CHECKPOINT = (SessionLog.START, SessionLog.STOP,
                               SessionLog.CHECKPOINT)

    def __new__(cls, checkpoint_path='', **kwargs):
      printable = _path_bytes(checkpoint_path).decode('utf-8', 'replace')
      return SessionLog(checkpoint_path=printable, **kwargs)

  return SessionLogWithPrintablePath


def _session_feeds_surrogate_strings_as_bytes():
  """Session.run feeds a str path with surrogates as its bytes.

  The Saver feeds the checkpoint path as a str, which the session converts
  to a string tensor strictly ("Unable to convert element to UTF-8").
  """
  from tensorflow.python.client import session
  tf_run = session.BaseSession.run

  def run(self, fetches, feed_dict=None, options=None, run_metadata=None):
    if feed_dict:
      feed_dict = {key: _surrogate_str_as_bytes(value)
                   for key, value in feed_dict.items()}
    return tf_run(self, fetches, feed_dict, options, run_metadata)

  run.tf_original = tf_run
  session.BaseSession.run = run


def _surrogate_str_as_bytes(value):
  if isinstance(value, str):
    try:
      value.encode('utf-8')
    except UnicodeEncodeError:
      return value.encode('utf-8', 'surrogateescape')
  return value


def _is_utf8(encoding):
  import codecs  # pylint: disable=g-import-not-at-top
  return codecs.lookup(encoding).name == 'utf-8'


def apply():
  """Applies every repair; returns the names of those that were needed."""
  needed = []
  if _alias_tf_keras_legacy_layers():
    needed.append('tf_keras.legacy_tf_layers alias')
  if _restore_control_flow_case_and_cond():
    needed.append('control_flow_ops.case/cond')
  if _fast_graph_variable_hash_and_eq():
    needed.append('graph-mode Variable hash')
  if _restore_ops_tensor():
    needed.append('framework.ops.Tensor')
  if _stop_supervisor_once():
    needed.append('closed FileWriter warning')
  if _surrogate_escaped_paths():
    needed.append('non-UTF-8 paths')
  return needed


# --------------------------------------------------------------------------
# Library log noise (see the module docstring).

# absl's C++ log prefix: severity letter, then MMDD.
_CPP_LOG_LINE = re.compile(r'^([IWEF])\d{4} ')
_CPP_SEVERITY = 'IWEF'
_ABSL_PRE_INIT_NOTICE = ('WARNING: All log messages before absl::InitializeLog() '
                         'is called are written to STDERR')
LIBRARY_PYTHON_WARNINGS = (r'`layer\.apply` is deprecated',
                           r'`tf\.layers\.flatten` is deprecated')


def _min_log_level():
  try:
    return int(os.environ.get('TF_CPP_MIN_LOG_LEVEL', '0'))
  except ValueError:
    return 0


def _shown_at_level(line, level):
  """Whether TF_CPP_MIN_LOG_LEVEL=level lets a captured stderr line through."""
  if level > 0 and line.rstrip('\n') == _ABSL_PRE_INIT_NOTICE:
    return False
  match = _CPP_LOG_LINE.match(line)
  return not match or _CPP_SEVERITY.index(match.group(1)) >= level


def _import_tensorflow_at_log_level():
  """Imports TensorFlow, its import-time C++ lines filtered by the level."""
  level = _min_log_level()
  if 'tensorflow' in sys.modules or level == 0:
    importlib.import_module('tensorflow')
    return
  sys.stderr.flush()
  real_stderr = os.dup(2)
  with tempfile.TemporaryFile() as captured:
    os.dup2(captured.fileno(), 2)
    try:
      importlib.import_module('tensorflow')
    finally:
      sys.stderr.flush()
      os.dup2(real_stderr, 2)
      os.close(real_stderr)
      captured.seek(0)
      lines = captured.read().decode('utf-8', 'replace').splitlines(True)
      sys.stderr.write(''.join(line for line in lines
                               if _shown_at_level(line, level)))
      sys.stderr.flush()


class _LibraryDeprecationFilter(logging.Filter):
  """Drops TensorFlow's deprecation notices about calls in library code."""

  def __init__(self, library_dirs):
    super().__init__()
    self._library_dirs = tuple(os.path.join(d, '') for d in library_dirs)

  def filter(self, record):
    if VERBOSE or logging.getLogger('absl').getEffectiveLevel() < logging.INFO:
      return True
    message = str(record.msg)
    if not message.startswith('From ') or 'deprecated' not in message:
      return True
    caller = record.args[0] if record.args else message[5:]
    return not str(caller).startswith(self._library_dirs)


def _library_dirs():
  dirs = []
  for name in ('tensorflow', 'tf_keras', 'tf_slim', 'keras'):
    spec = importlib.util.find_spec(name)
    if spec and spec.submodule_search_locations:
      dirs.extend(os.path.realpath(d) for d in spec.submodule_search_locations)
      dirs.extend(spec.submodule_search_locations)
  return dirs


def _quiet_library_noise():
  """Installs the filters of "Library log noise"; False when verbose."""
  if VERBOSE:
    return False
  tf_logger = logging.getLogger('tensorflow')
  if not any(isinstance(f, _LibraryDeprecationFilter)
             for f in tf_logger.filters):
    tf_logger.addFilter(_LibraryDeprecationFilter(_library_dirs()))
  for message in LIBRARY_PYTHON_WARNINGS:
    warnings.filterwarnings('ignore', message=message, category=UserWarning)
  return True


_import_tensorflow_at_log_level()
APPLIED = apply()
QUIETED = _quiet_library_noise()
