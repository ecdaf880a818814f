"""Everything about checkpoints and train_dirs, in one place.

* `resolve_readable(path)`: the checkpoint a `--checkpoint_path` (a prefix or
  a directory) names, skipping a truncated or corrupt newest one.
* `checkpoint_step`, `step_from_name`: the global step of a checkpoint.
* `newest_readable(train_dir)`: the newest checkpoint that reads completely.
* `localize_state(train_dir)`: rewrites the `checkpoint` state file with
  names relative to train_dir, so a copied or moved train_dir only ever
  reads and rotates its own files.
* `TrainDirLock`: one training per train_dir at a time.
* `check_variables`: variables against a checkpoint, with one wording for
  training, evaluation and freezing.
* Train-dir bookkeeping: `prepare_train_dir` (created and writable),
  `saved_global_step` (where a rerun resumes), and the final step a finished
  training records (`finish_train_dir`, `read_final_step`,
  `clear_final_step`) so an evaluation loop knows it saw the last checkpoint.
"""

import datetime
import errno
import fcntl
import glob
import numbers
import os
import re
import socket

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf
from google.protobuf import text_format
from tensorflow.python.checkpoint import checkpoint_management

from deployment import output_files
from deployment.errors import tensorflow_reason
from deployment.errors import UserError

STATE_FILE = 'checkpoint'
LOCK_FILE = '.train_dir.lock'
# Left behind by a save that failed half way (e.g. a full disk).
TEMPORARY_PATTERNS = ('*.tempstate*', '*_temp*/part-*', '%s.tmp*' % STATE_FILE)


def step_from_name(prefix):
  """The global step in a 'model.ckpt-1234' name, or None."""
  match = re.search(r'-(\d+)$', prefix or '')
  return int(match.group(1)) if match else None


def checkpoint_step(prefix):
  """The saved global step of a checkpoint; its name's step without one."""
  reader = tf.train.load_checkpoint(prefix)
  if reader.has_tensor(tf.GraphKeys.GLOBAL_STEP):
    return int(reader.get_tensor(tf.GraphKeys.GLOBAL_STEP))
  return step_from_name(prefix)


def unreadable_reason(prefix):
  """Why the checkpoint cannot be read in full (one line), or None if it can.

  Every tensor is read, since a truncated data file only shows there.
  """
  try:
    reader = tf.train.load_checkpoint(prefix)
    for name in reader.get_variable_to_shape_map():
      reader.get_tensor(name)
  # The reader raises IndexError for a short data file, others elsewhere.
  except (tf.errors.OpError, ValueError, IOError, IndexError,
          RuntimeError) as error:
    text = getattr(error, 'message', None) or str(error)
    return ' '.join(text.split())[:160]
  return None


def read_state(directory):
  """The state file's names as written (TF's reader makes them absolute).

  Returns:
    (model_checkpoint_path, [all_model_checkpoint_paths]), or None when the
    file is missing or unparsable.
  """
  path = os.path.join(directory, STATE_FILE)
  try:
    with tf.io.gfile.GFile(path) as handle:
      state = text_format.Parse(handle.read(),
                                checkpoint_management.CheckpointState())
  except (tf.errors.OpError, text_format.ParseError, UnicodeDecodeError):
    return None
  return (state.model_checkpoint_path,
          list(state.all_model_checkpoint_paths))


def list_checkpoints(directory):
  """The checkpoints of `directory`, oldest first, resolved inside it.

  The state file may hold absolute paths of where the directory used to be
  (a copy or a move); only their base names count. Checkpoints the state
  file does not list (it may be lost) are found by their index files.
  """
  names = []
  state = read_state(directory)
  if state:
    names.extend(os.path.basename(p) for p in state[1] + [state[0]])
  try:
    index_files = tf.io.gfile.glob(os.path.join(glob.escape(directory),
                                                '*.index'))
  except tf.errors.NotFoundError:
    index_files = []
  names.extend(os.path.basename(p)[:-len('.index')] for p in index_files)
  unique = []
  for name in names:
    if name not in unique and tf.io.gfile.exists(
        os.path.join(directory, name + '.index')):
      unique.append(name)
  unique.sort(key=lambda n: (step_from_name(n) is not None,
                             step_from_name(n) or 0))
  return [os.path.join(directory, name) for name in unique]


def latest_listed(directory):
  """The newest checkpoint of `directory` by name, unchecked; None if none."""
  prefixes = list_checkpoints(directory)
  return prefixes[-1] if prefixes else None


def newest_readable(directory):
  """The newest checkpoint of `directory` that reads, or None if it has none.

  Skipped (broken) newer ones are logged as warnings naming them.

  Raises:
    UserError: when the directory has checkpoints but none is readable.
  """
  prefixes = list_checkpoints(directory)
  for prefix in reversed(prefixes):
    reason = unreadable_reason(prefix)
    if reason is None:
      return prefix
    tf.logging.warning('Checkpoint %s is truncated or corrupt (%s); trying an '
                       'older one', prefix, reason)
  if prefixes:
    raise UserError(
        '%s holds %d checkpoint(s) but none is readable (newest: %s); '
        'restore them from a backup or train into another directory' %
        (directory, len(prefixes), os.path.basename(prefixes[-1])))
  return None


def resolve_readable(path, flag_name='checkpoint_path'):
  """The readable checkpoint prefix that `path` (prefix or directory) names.

  Raises:
    UserError: one line naming the flag when there is none.
  """
  if not path:
    raise UserError('--%s is empty; pass a checkpoint file or a directory '
                    'holding checkpoints' % flag_name)
  if tf.gfile.IsDirectory(path):
    latest = newest_readable(path)
    if not latest:
      raise UserError('--%s=%s: the directory holds no checkpoint; train '
                      'first or point at a .ckpt file' % (flag_name, path))
    return latest
  if path.endswith('.index') or path.endswith('.meta'):
    path = path.rsplit('.', 1)[0]
  if not tf.io.gfile.glob(path + '.index'):
    raise UserError('--%s=%s: no such checkpoint (expected a .ckpt prefix '
                    'or a directory)' % (flag_name, path))
  reason = unreadable_reason(path)
  if reason:
    raise UserError('--%s=%s is not a readable checkpoint (%s); pass a '
                    'complete one or its directory' % (flag_name, path,
                                                       reason))
  return path


def write_state(directory, prefixes):
  """Replaces the state file: `prefixes` (newest last) by base name only."""
  names = [os.path.basename(p) for p in prefixes]
  state = checkpoint_management.CheckpointState(
      model_checkpoint_path=names[-1], all_model_checkpoint_paths=names)
  path = os.path.join(directory, STATE_FILE)
  with tf.io.gfile.GFile(path + '.tmp', 'w') as handle:
    handle.write(text_format.MessageToString(state))
  tf.io.gfile.rename(path + '.tmp', path, overwrite=True)


def localize_state(directory):
  """Makes the state file name only this directory's readable checkpoints.

  Returns the newest readable checkpoint (None when there is none). Broken
  newer checkpoints are left on disk but no longer listed, so a resume
  restores the last good one.
  """
  newest = newest_readable(directory)
  if newest is None:
    return None
  prefixes = list_checkpoints(directory)
  kept = prefixes[:prefixes.index(newest) + 1]
  names = [os.path.basename(p) for p in kept]
  if read_state(directory) != (names[-1], names):
    write_state(directory, kept)
  return newest


def remove_temporaries(directory):
  """Deletes what a failed save left; returns the removed paths."""
  removed = []
  for pattern in TEMPORARY_PATTERNS:
    for path in glob.glob(os.path.join(glob.escape(directory), pattern)):
      try:
        os.remove(path)
        removed.append(path)
      except OSError:
        pass
  for path in glob.glob(os.path.join(glob.escape(directory), '*_temp*')):
    if os.path.isdir(path) and not os.listdir(path):
      os.rmdir(path)
  return removed


def is_disk_full(error):
  """Whether an exception is a full disk (or quota) while writing."""
  if isinstance(error, OSError) and error.errno in (errno.ENOSPC,
                                                    errno.EDQUOT):
    return True
  text = str(getattr(error, 'message', '') or error)
  return 'No space left on device' in text or 'Disk quota exceeded' in text


# Starts the message of a failed save (also how the training's log filter
# recognises it in the Supervisor's thread).
SAVE_FAILED = 'cannot save checkpoint'


def save_failure(save_path, error):
  """The one-line UserError of a checkpoint save that failed.

  What the save left half written is removed and the checkpoint kept named.
  """
  directory = os.path.dirname(save_path) or '.'
  remove_temporaries(directory)
  try:
    kept = localize_state(directory)
  except UserError:
    kept = None
  reason = tensorflow_reason(error)
  if 'File too large' in reason or getattr(error, 'errno', None) == (
      errno.EFBIG):
    reason += ': ' + output_files.file_size_limit_hint()
  return UserError(
      '%s %s (%s); training stopped, %s. Fix that and rerun the same command '
      'to resume' % (SAVE_FAILED, save_path, reason[:300],
                     'the last good checkpoint %s is kept' %
                     os.path.basename(kept) if kept else
                     'no checkpoint was saved'))


class CheckedSaver(tf.train.Saver):
  """A Saver whose failed save is an error naming the file and the cause.

  TensorFlow reports a file over the size limit (`ulimit -f`, EFBIG) as
  OutOfRangeError, which the Supervisor's coordinator takes for the end of
  the input: the training would exit 0 without its checkpoint. A full disk
  is left to the training's own one-line report.
  """

  def save(self, sess, save_path, global_step=None, *args, **kwargs):
    name = save_path
    if global_step is not None:
      # Read once: the step may move on while the save runs (a tensor or
      # variable); an int is the step itself, as tf.train.Saver takes it.
      if not isinstance(global_step, numbers.Integral):
        global_step = tf.train.global_step(sess, global_step)
      name = '%s-%d' % (save_path, global_step)
    try:
      return super(CheckedSaver, self).save(sess, save_path, global_step,
                                            *args, **kwargs)
    except (tf.errors.OpError, OSError) as error:
      if is_disk_full(error):
        raise
      raise save_failure(name, error) from error


class TrainDirLock(object):
  """An exclusive `flock` on train_dir's lock file for one training run.

  The kernel drops the lock when the process ends in any way, so a killed
  run never leaves the directory locked; the file's text (pid, host, start
  time) only names the holder in the message.
  """

  def __init__(self, directory):
    self.path = os.path.join(directory, LOCK_FILE)
    self._handle = None

  def acquire(self):
    """Takes the lock. Raises UserError naming the run that holds it."""
    if '://' in self.path:
      tf.logging.info('%s is remote: no lock against a second training',
                      os.path.dirname(self.path))
      return self
    try:
      handle = open(self.path, 'a+')
    except OSError as error:
      raise UserError('cannot open the lock file %s (%s); move it away or '
                      'pass another --train_dir' %
                      (self.path, error.strerror)) from error
    try:
      fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
      handle.seek(0)
      holder = ' '.join(handle.read().split()) or 'another process'
      handle.close()
      raise UserError(
          '%s is in use by another training (%s); wait for it to end, stop '
          'it, or pass another --train_dir' %
          (os.path.dirname(self.path), holder)) from error
    handle.seek(0)
    handle.truncate()
    handle.write('pid %d on host %s since %s\n' % (
        os.getpid(), socket.gethostname(),
        datetime.datetime.now().strftime('%Y-%m-%d %H:%M:%S')))
    handle.flush()
    self._handle = handle
    return self

  def release(self):
    if self._handle:
      self._handle.close()
      self._handle = None

  def __enter__(self):
    return self.acquire()

  def __exit__(self, *unused_exc):
    self.release()


def describe(shapes):
  """'variables under LeNet/ (12 variables)': what a checkpoint holds."""
  scopes = {}
  for name in shapes:
    if name == tf.GraphKeys.GLOBAL_STEP:
      continue
    scope = name.split('/', 1)[0]
    scopes[scope] = scopes.get(scope, 0) + 1
  if not scopes:
    return 'no model variables'
  main_scope = max(sorted(scopes), key=scopes.get)
  return 'variables under %s/ (%d variables)' % (main_scope, len(shapes))


def check_variables(checkpoint, wanted, hint, skip_missing=()):
  """Checks `wanted` ({name: shape list}) against a checkpoint.

  Args:
    checkpoint: a checkpoint prefix.
    wanted: the variables the model needs, by checkpoint name.
    hint: what to do, appended to the message; a string, or a function of
      the variable's name returning one.
    skip_missing: names that may be absent (left out of the result), or
      True for all of them.

  Returns:
    The names of `wanted` the checkpoint holds, sorted.

  Raises:
    UserError: for the first absent or differently shaped variable.
  """
  shapes = tf.train.load_checkpoint(checkpoint).get_variable_to_shape_map()
  found = []
  for name in sorted(wanted):
    what_to_do = hint(name) if callable(hint) else hint
    if name not in shapes:
      if skip_missing is True or name in skip_missing:
        continue
      raise UserError('variable %s is not in checkpoint %s (which holds %s); '
                      '%s' % (name, checkpoint, describe(shapes), what_to_do))
    model_shape = list(wanted[name])
    if list(shapes[name]) != model_shape:
      raise UserError('variable %s has shape %s in the model but %s in '
                      'checkpoint %s; %s' % (name, model_shape,
                                             list(shapes[name]), checkpoint,
                                             what_to_do))
    found.append(name)
  return found


def prepare_train_dir(train_dir):
  """Creates train_dir and checks it is writable before any graph is built.

  Raises:
    UserError: naming --train_dir when it cannot be created or written.
  """
  try:
    tf.gfile.MakeDirs(train_dir)
  except tf.errors.OpError as error:
    raise UserError('--train_dir=%s cannot be created (%s); pass a writable '
                    'directory' % (train_dir, error.message)) from error
  _check_bookkeeping_files(train_dir)
  probe = os.path.join(train_dir, '.write_test')
  try:
    with tf.gfile.GFile(probe, 'w') as handle:
      handle.write('ok')
    tf.gfile.Remove(probe)
  except tf.errors.OpError as error:
    raise UserError('--train_dir=%s is not writable; pass a writable '
                    'directory (e.g. /output/ckpt)' % train_dir) from error


def _check_bookkeeping_files(train_dir):
  """Raises UserError when a file training keeps is something else."""
  if '://' in train_dir:
    return
  kept_there = {STATE_FILE: 'list of checkpoints',
                LOCK_FILE: 'lock against a second training',
                FINAL_STEP_FILE: 'final step'}
  for name, what in sorted(kept_there.items()):
    path = os.path.join(train_dir, name)
    if os.path.lexists(path) and not os.path.isfile(path):
      raise UserError(
          '%s should be the file where training keeps its %s, but it is a '
          '%s; move it away (or pass another --train_dir)' %
          (path, what,
           'directory' if os.path.isdir(path) else 'broken link or special '
           'file'))


def saved_global_step(train_dir):
  """The step training resumes from; makes the state file train_dir's own.

  A copied or moved train_dir's state file names the old place: rewritten
  with relative names, the run restores and rotates only its own files. A
  broken newest checkpoint is passed over (with a warning).
  """
  latest = localize_state(train_dir)
  return checkpoint_step(latest) if latest else None


# Written by the chief once training reached --max_number_of_steps, so an
# evaluation loop knows it has seen the last checkpoint.
FINAL_STEP_FILE = 'final_step'


def read_final_step(train_dir):
  """The final step the training recorded in `train_dir`, or None."""
  try:
    with tf.gfile.GFile(os.path.join(train_dir, FINAL_STEP_FILE)) as marker:
      return int(marker.read().strip())
  except (tf.errors.NotFoundError, ValueError):
    return None


def clear_final_step(train_dir):
  """Removes FINAL_STEP_FILE: a run that trains further makes it stale."""
  marker = os.path.join(train_dir, FINAL_STEP_FILE)
  if tf.gfile.Exists(marker):
    tf.gfile.Remove(marker)


def finish_train_dir(train_dir):
  """Points `checkpoint` at the newest step and writes FINAL_STEP_FILE.

  The Supervisor's timer thread may finish its first save after the final
  one, leaving the `checkpoint` file naming an older step; evaluation and
  resumption must see the last one. Both files are replaced atomically.

  Returns:
    The final global step, or None when train_dir holds no checkpoint.
  """
  newest = localize_state(train_dir)
  if newest is None:
    return None
  final_step = checkpoint_step(newest)
  marker = os.path.join(train_dir, FINAL_STEP_FILE)
  with tf.gfile.GFile(marker + '.tmp', 'w') as handle:
    handle.write('%d\n' % final_step)
  tf.gfile.Rename(marker + '.tmp', marker, overwrite=True)
  return final_step
