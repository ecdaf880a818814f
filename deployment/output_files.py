"""Every file a script writes appears whole or not at all.

    output_files.write_output('/models/lenet.pb', data, '--output_file')
    with output_files.replacing(path) as f:      # the low-level form
      f.write(text)
    with output_files.new_directory('/serving/1', '--saved_model_dir') as tmp:
      builder = tf.saved_model.builder.SavedModelBuilder(tmp) ...

The data goes to a temporary file beside the target, is synced and renamed
over it; a failure at any point (a read-only folder, a path below a regular
file, a full disk, `ulimit -f`, a kill) leaves the previous file as it was
and removes the temporary. `write_output` and `new_directory` report a
failure as one-line UserError naming the flag, the path and the cause.
Datasets are written the same way a whole folder at a time
(`datasets/staged_output.py`).
"""

import contextlib
import errno
import os
import resource
import shutil

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf

from deployment.errors import tensorflow_reason
from deployment.errors import UserError


def _partial_path(path):
  return '%s.partial-%d' % (path, os.getpid())


@contextlib.contextmanager
def replacing(path, binary=False):
  """Yields a file to write; it replaces `path` when the block succeeds.

  Raises what the file system raises (OSError); the old `path` is then
  unchanged and no temporary is left.
  """
  partial = _partial_path(path)
  # 'x': never write into (or later remove) something already there.
  handle = open(partial, 'xb' if binary else 'x',
                encoding=None if binary else 'utf-8')
  try:
    with handle:
      yield handle
      handle.flush()
      os.fsync(handle.fileno())
    os.replace(partial, path)
  finally:
    if os.path.lexists(partial):
      os.remove(partial)


def file_size_limit_hint(unlimited='the filesystem\'s largest file is '
                         'smaller'):
  """Advice when the process may not write files past a size (`ulimit -f`).

  `unlimited` is what to say when the process has no such limit.
  """
  limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
  if limit == resource.RLIM_INFINITY:
    return unlimited
  return ('this process may not write files above %d bytes (ulimit -f); '
          'raise the limit (ulimit -f unlimited)' % limit)


_ADVICE = {
    errno.EACCES: 'pass a path you may write to',
    errno.EPERM: 'pass a path you may write to',
    errno.EROFS: 'the file system is read-only; pass a writable path',
    errno.ENOTDIR: 'a part of the path is a file, not a folder; fix the path',
    errno.EEXIST: 'a part of the path is a file, not a folder; fix the path',
    errno.ENOSPC: 'the disk is full; free some space or write elsewhere',
    errno.EDQUOT: 'the disk quota is used up; free some space or write '
                  'elsewhere',
    errno.EISDIR: 'it is a directory; pass a file name',
}


def output_error(what, path, error):
  """The one-line UserError of a failed write of `path` (flag `what`)."""
  reason = getattr(error, 'strerror', None) or tensorflow_reason(error)
  code = getattr(error, 'errno', None)
  if code == errno.EFBIG or 'File too large' in reason:
    advice = file_size_limit_hint()
  else:
    advice = _ADVICE.get(code, 'pass a writable path')
  kept = ('the existing %s is unchanged' % os.path.basename(path)
          if os.path.exists(path) else 'nothing was written')
  return UserError('cannot write %s (%s); %s, and no temporary file was '
                   'left: %s' % (_named(what, path), reason, kept, advice))


def _named(what, path):
  """'--output_file=x.pb' for a flag, 'the labels file x.label' otherwise."""
  return '%s=%s' % (what, path) if what.startswith('--') else '%s %s' % (
      what, path)


def _make_parent(path):
  parent = os.path.dirname(os.path.abspath(path))
  os.makedirs(parent, exist_ok=True)


def write_output(path, data, what):
  """Writes `data` (bytes or str) to `path` whole, making its folder.

  Args:
    path: the file; a remote one (`gs://...`) is written by TensorFlow's
      file system, which replaces objects whole itself.
    data: the contents.
    what: how the user named the file, for the message ('--output_file').

  Raises:
    UserError: one line naming `what`, `path` and the cause.
  """
  if os.path.isdir(path):
    raise UserError('%s is a directory (%s); pass the file to write, e.g. '
                    '%s' % (path, what, os.path.join(path, 'model.pb')))
  binary = isinstance(data, bytes)
  try:
    if '://' in path:
      with tf.io.gfile.GFile(path, 'wb' if binary else 'w') as handle:
        handle.write(data)
      return
    _make_parent(path)
    with replacing(path, binary=binary) as handle:
      handle.write(data)
  except (OSError, tf.errors.OpError) as error:
    raise output_error(what, path, error) from error


@contextlib.contextmanager
def new_directory(path, what):
  """Yields a temporary folder that becomes `path` when the block succeeds.

  `path` must not exist. On any failure the temporary folder is removed.

  Raises:
    UserError: naming `what` when `path` exists or the folder cannot be
      written or renamed.
  """
  if os.path.lexists(path):
    raise UserError('%s already exists; pick a new directory' %
                    _named(what, path))
  partial = os.path.join(os.path.dirname(os.path.abspath(path)),
                         '.%s.partial-%d' % (os.path.basename(
                             os.path.abspath(path)), os.getpid()))
  try:
    _make_parent(path)
    yield partial
    os.rename(partial, path)
  except (OSError, tf.errors.OpError) as error:
    raise output_error(what, path, error) from error
  finally:
    shutil.rmtree(partial, ignore_errors=True)
