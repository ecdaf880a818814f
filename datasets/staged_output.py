"""Writes a converted dataset all at once or not at all.

A converter writes every file into a hidden staging folder inside
`dataset_dir` (same filesystem, so moves are renames) and only when all of
them are written moves them into place:

    with staged_output.StagedDataset(dataset_dir, 'my_flower_5',
                                     overwrite=False) as staged:
      write shards, <name>_labels.txt and metadata under staged.path

An exception (or a kill) before the end leaves `dataset_dir` as it was: the
staging folder is removed, or ignored by readers and swept by the next run.
An existing dataset is only replaced with `overwrite=True`, and never by one
with an empty split.

The swap itself is journaled. Before the first rename a journal
(`.<name>.commit.json`) names the complete staging folder, the old files and
the new ones; from then on the swap only goes forward. A kill at any instant
leaves either the old dataset (no journal yet) or a journal that the next
run, or the next read (`recover`), finishes. A rename that fails in-process
(not a kill) puts the old dataset back instead.
"""

import errno
import glob
import json
import os
import shutil

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf

from datasets import dataset_factory
from datasets import dataset_utils
from deployment import interrupts
from deployment import output_files


class ConversionError(Exception):
  """A conversion cannot go on; the message says what the user should do."""


REPORT_SUFFIX = '_conversion_report.txt'
_JOURNAL = '.%s.commit.json'


def existing_dataset_files(dataset_dir, dataset_name):
  """Files in `dataset_dir` that belong to the dataset called `dataset_name`.

  Uses the dataset's own metadata when present, so `my_flower` does not claim
  the files of `my_flower_5` in the same folder.
  """
  try:
    metadata = dataset_utils.read_metadata(dataset_dir, dataset_name)
  except ValueError:
    metadata = None
  if metadata is not None:
    pattern, splits = metadata['file_pattern'], metadata['splits_to_sizes']
  elif dataset_name in dataset_factory.SPECS:
    spec = dataset_factory.SPECS[dataset_name]
    pattern, splits = spec.file_pattern, spec.splits_to_sizes
  else:
    pattern = dataset_name + '_%s_*.tfrecord'
    splits = ('train', 'validation')
  files = set()
  for split_name in splits:
    split_pattern = pattern.replace('%s', split_name)
    files.update(glob.glob(os.path.join(dataset_dir, split_pattern)))
  for own_file in (dataset_utils.metadata_path(dataset_dir, dataset_name),
                   dataset_utils.labels_path(dataset_dir, dataset_name),
                   os.path.join(dataset_dir, dataset_name + REPORT_SUFFIX)):
    if os.path.isfile(own_file):
      files.add(own_file)
  return sorted(files)


def convert_unless_present(dataset_dir, dataset_name, convert, *args,
                           **kwargs):
  """slim's `run()`: `convert(*args, **kwargs)` unless the dataset is there.

  Returns:
    What `convert` returns; None, saying so as upstream, when `dataset_dir`
    already holds `dataset_name`.
  """
  if existing_dataset_files(dataset_dir, dataset_name):
    print('Dataset files already exist. Exiting without re-creating them.')
    return None
  return convert(*args, **kwargs)


def _journal_path(dataset_dir, dataset_name):
  return os.path.join(dataset_dir, _JOURNAL % dataset_name)


def _write_journal(path, journal):
  """Writes the journal so that it either exists whole or not at all."""
  with output_files.replacing(path) as f:
    json.dump(journal, f, indent=2, sort_keys=True)


def _roll_forward(dataset_dir, journal):
  """Completes a journaled swap from any state it was stopped in.

  Every step is skipped when already done, so a kill during recovery is
  recovered by the next call in the same way.
  """
  names = [journal['staging'], journal['backup']] + journal['old'] + (
      journal['new'])
  if any(not name or os.path.basename(name) != name for name in names):
    raise ValueError('the journal names files outside the folder')
  staging = os.path.join(dataset_dir, journal['staging'])
  backup = os.path.join(dataset_dir, journal['backup'])
  new_names = set(journal['new'])
  lost = [name for name in new_names
          if not os.path.isfile(os.path.join(staging, name))
          and not os.path.isfile(os.path.join(dataset_dir, name))]
  if lost:
    # Someone removed the staged files: going on would drop the old ones too.
    raise ValueError('new file %s is gone from %s' % (lost[0], staging))
  os.makedirs(backup, exist_ok=True)
  for name in journal['old']:
    current = os.path.join(dataset_dir, name)
    # A new file of the same name that is no longer staged is already in.
    still_old = name not in new_names or os.path.isfile(
        os.path.join(staging, name))
    if os.path.isfile(current) and still_old:
      os.replace(current, os.path.join(backup, name))
  for name in journal['new']:
    staged = os.path.join(staging, name)
    if os.path.isfile(staged):
      os.replace(staged, os.path.join(dataset_dir, name))
  shutil.rmtree(backup, ignore_errors=True)
  shutil.rmtree(staging, ignore_errors=True)


def recover(dataset_dir, dataset_name):
  """Finishes a swap that a kill interrupted; returns True if there was one.

  Raises:
    ConversionError: the journal is unreadable or the folder not writable.
  """
  path = _journal_path(dataset_dir, dataset_name)
  try:
    journal = dataset_utils.read_json(path)
    if journal is None:
      return False
    _roll_forward(dataset_dir, journal)
    os.remove(path)
  except (OSError, ValueError, KeyError, TypeError) as error:
    raise ConversionError(
        'Cannot finish the interrupted conversion of %r recorded in %s (%s); '
        'make %s writable, or delete the dataset and convert it again.' %
        (dataset_name, path, error, dataset_dir)) from error
  return True


def _split_sizes(directory, dataset_name):
  """{split: size} of the dataset's metadata in `directory`; {} without."""
  try:
    metadata = dataset_utils.read_metadata(directory, dataset_name)
  except ValueError:
    return {}
  return dict(metadata['splits_to_sizes']) if metadata else {}


def _empty_splits(staging_dir, dataset_name, dataset_dir):
  """Splits the staged dataset leaves empty, or drops from the old one."""
  new_sizes = _split_sizes(staging_dir, dataset_name)
  if not new_sizes:
    return []
  old_splits = set(_split_sizes(dataset_dir, dataset_name))
  return sorted(split for split in set(new_sizes) | old_splits
                if new_sizes.get(split, 0) <= 0)


def _write_failure(error, dataset_dir):
  """One line for an OSError/TensorFlow error raised while writing."""
  reason = getattr(error, 'strerror', None) or getattr(
      error, 'message', None) or str(error)
  if getattr(error, 'errno', None) == errno.ENOSPC or (
      'No space left' in reason):
    advice = 'free some space (or pick another --dataset_dir) and run again'
  else:
    advice = 'fix that and run again'
  where = getattr(error, 'filename', None) or dataset_dir
  return ConversionError(
      'Writing the dataset failed at %s: %s; nothing was changed in %s, %s.'
      % (where, reason.splitlines()[0] if reason else error, dataset_dir,
         advice))


class StagedDataset(object):
  """Context manager: a staging folder that becomes the dataset on success."""

  def __init__(self, dataset_dir, dataset_name, overwrite=False):
    self.dataset_dir = dataset_dir
    self.dataset_name = dataset_name
    self.overwrite = overwrite
    self._prefix = '.%s.' % dataset_name
    self.path = os.path.join(dataset_dir,
                             '%spartial-%d' % (self._prefix, os.getpid()))
    self._backup = os.path.join(dataset_dir,
                                '%sprevious-%d' % (self._prefix, os.getpid()))
    self._journal = _journal_path(dataset_dir, dataset_name)

  def __enter__(self):
    try:
      os.makedirs(self.dataset_dir, exist_ok=True)
    except OSError as error:
      raise ConversionError('Cannot create --dataset_dir %s (%s); choose a '
                            'writable folder.' % (self.dataset_dir,
                                                  error.strerror)) from error
    recover(self.dataset_dir, self.dataset_name)
    existing = existing_dataset_files(self.dataset_dir, self.dataset_name)
    if existing and not self.overwrite:
      raise ConversionError(
          'Dataset %r already exists in %s (%d files, e.g. %s); pass '
          '--overwrite to replace it.' %
          (self.dataset_name, self.dataset_dir, len(existing),
           os.path.basename(existing[0])))
    self._sweep_stale_staging()
    try:
      os.makedirs(self.path)
    except OSError as error:
      raise ConversionError('Cannot write to --dataset_dir %s (%s); choose a '
                            'writable folder.' % (self.dataset_dir,
                                                  error.strerror)) from error
    return self

  def __exit__(self, exc_type, exc_value, traceback):
    try:
      if exc_type is None:
        self._commit()
      elif issubclass(exc_type, (OSError, tf.errors.OpError)):
        raise _write_failure(exc_value, self.dataset_dir) from exc_value
    finally:
      if not os.path.exists(self._journal):
        shutil.rmtree(self.path, ignore_errors=True)
    return False

  def _sweep_stale_staging(self):
    """Removes what a run killed before its journal existed left behind."""
    for kind in ('partial-*', 'commit.json.partial*'):
      pattern = os.path.join(self.dataset_dir, glob.escape(self._prefix) + kind)
      for stale in glob.glob(pattern):
        if os.path.isdir(stale):
          shutil.rmtree(stale, ignore_errors=True)
        else:
          os.remove(stale)

  def _check_not_empty(self):
    empty = _empty_splits(self.path, self.dataset_name, self.dataset_dir)
    if empty:
      raise ConversionError(
          'Split %s of %r would hold 0 images (too few usable images for '
          '--validation_size, or see the skipped files above); nothing was '
          'written and %s was left as it was. Add images or change '
          '--validation_size.' %
          (', '.join(empty), self.dataset_name, self.dataset_dir))

  def _commit(self):
    # Ctrl-C or SIGTERM waits for the swap to end: it is short, and a
    # finished swap needs no recovery by the next run.
    with interrupts.deferred():
      self._swap_in()

  def _swap_in(self):
    self._check_not_empty()
    new_names = sorted(os.listdir(self.path))
    old_names = [os.path.basename(path) for path in existing_dataset_files(
        self.dataset_dir, self.dataset_name)]
    old_names += [name for name in new_names if name not in old_names and
                  os.path.isfile(os.path.join(self.dataset_dir, name))]
    journal = {'staging': os.path.basename(self.path),
               'backup': os.path.basename(self._backup),
               'old': sorted(old_names), 'new': new_names}
    try:
      _write_journal(self._journal, journal)
    except OSError as error:
      raise _write_failure(error, self.dataset_dir) from error
    try:
      _roll_forward(self.dataset_dir, journal)
    except OSError as error:
      self._roll_back(journal)
      raise _write_failure(error, self.dataset_dir) from error
    except Exception:
      self._roll_back(journal)
      raise
    os.remove(self._journal)

  def _roll_back(self, journal):
    """Puts the old files back after an in-process failure of a rename."""
    for name in journal['new']:
      target = os.path.join(self.dataset_dir, name)
      if not os.path.isfile(os.path.join(self.path, name)) and (
          os.path.isfile(target)):
        os.replace(target, os.path.join(self.path, name))
    for name in journal['old']:
      saved = os.path.join(self._backup, name)
      if os.path.isfile(saved):
        os.replace(saved, os.path.join(self.dataset_dir, name))
    os.remove(self._journal)
    shutil.rmtree(self._backup, ignore_errors=True)
