"""Writes a converted dataset all at once or not at all.

A converter writes every file into a hidden staging folder inside
`dataset_dir` (same filesystem, so moves are renames) and only when all of
them are written moves them into place:

    with staged_output.StagedDataset(dataset_dir, 'my_flower_5',
                                     overwrite=False) as staged:
      write shards, labels.txt and metadata under staged.path

An exception (or a kill) before the end leaves `dataset_dir` as it was: the
staging folder is removed, or ignored by readers and swept by the next run.
An existing dataset is only replaced with `overwrite=True`; its files are set
aside first and put back if moving the new ones in fails.
"""

import glob
import os
import shutil

from datasets import dataset_factory
from datasets import dataset_utils


class ConversionError(Exception):
  """A conversion cannot go on; the message says what the user should do."""


REPORT_SUFFIX = '_conversion_report.txt'


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
    files.update(glob.glob(os.path.join(dataset_dir, pattern % split_name)))
  for own_file in (dataset_utils.metadata_path(dataset_dir, dataset_name),
                   os.path.join(dataset_dir, dataset_name + REPORT_SUFFIX)):
    if os.path.isfile(own_file):
      files.add(own_file)
  return sorted(files)


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

  def __enter__(self):
    try:
      os.makedirs(self.dataset_dir, exist_ok=True)
    except OSError as error:
      raise ConversionError('Cannot create --dataset_dir %s (%s); choose a '
                            'writable folder.' % (self.dataset_dir,
                                                  error.strerror)) from error
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
    finally:
      shutil.rmtree(self.path, ignore_errors=True)
    return False

  def _sweep_stale_staging(self):
    """Removes staging folders a killed run left behind."""
    pattern = glob.escape(self._prefix) + 'partial-*'
    for stale in glob.glob(os.path.join(self.dataset_dir, pattern)):
      shutil.rmtree(stale, ignore_errors=True)

  def _commit(self):
    new_names = sorted(os.listdir(self.path))
    old_files = existing_dataset_files(self.dataset_dir, self.dataset_name)
    old_files += [os.path.join(self.dataset_dir, name) for name in new_names
                  if os.path.isfile(os.path.join(self.dataset_dir, name))
                  and os.path.join(self.dataset_dir, name) not in old_files]
    os.makedirs(self._backup)
    moved_in = []
    try:
      for old_file in old_files:
        os.replace(old_file,
                   os.path.join(self._backup, os.path.basename(old_file)))
      for name in new_names:
        target = os.path.join(self.dataset_dir, name)
        os.replace(os.path.join(self.path, name), target)
        moved_in.append(target)
    except BaseException:
      self._restore(moved_in)
      raise
    shutil.rmtree(self._backup, ignore_errors=True)

  def _restore(self, moved_in):
    for target in moved_in:
      os.remove(target)
    for name in os.listdir(self._backup):
      os.replace(os.path.join(self._backup, name),
                 os.path.join(self.dataset_dir, name))
    shutil.rmtree(self._backup, ignore_errors=True)
