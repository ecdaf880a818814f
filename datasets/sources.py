"""Finding, downloading and unpacking the published dataset archives.

Online users get the archive downloaded from its published URL. Offline
(this project's machines, hosted jobs without network) `--source_dir` points
at an archive or an unpacked folder already on disk.
"""

import os
import shutil
import tarfile
import urllib.error
import urllib.request

from datasets import staged_output
from deployment import output_files


def download(url, dest_dir, log=print):
  """Downloads `url` into `dest_dir` (kept across runs); returns the path.

  The file is written under a temporary name and renamed when complete, so
  an interrupted download is never mistaken for the archive.
  """
  path = os.path.join(dest_dir, url.rsplit('/', 1)[-1])
  if os.path.isfile(path):
    log('Using the already downloaded %s' % path)
    return path
  log('Downloading %s' % url)
  try:
    os.makedirs(dest_dir, exist_ok=True)
    with urllib.request.urlopen(url, timeout=60) as response, \
        output_files.replacing(path, binary=True) as out:
      shutil.copyfileobj(response, out, length=1 << 20)
  except (urllib.error.URLError, OSError) as error:
    raise staged_output.ConversionError(
        'Could not download %s (%s). Without network, fetch it elsewhere and '
        'pass --source_dir=<the file or its unpacked folder>.' %
        (url, getattr(error, 'reason', error))) from error
  log('Downloaded %s (%d bytes)' % (path, os.path.getsize(path)))
  return path


def extract_tar(archive, dest_dir):
  """Unpacks a .tar/.tgz safely (no paths outside `dest_dir`)."""
  try:
    with tarfile.open(archive) as tar:
      tar.extractall(dest_dir, filter='data')
  except (tarfile.TarError, OSError, EOFError) as error:
    raise staged_output.ConversionError(
        'Cannot unpack %s (%s); download it again.' % (archive, error)
    ) from error


def require_file(path, what):
  if not os.path.isfile(path):
    raise staged_output.ConversionError('%s not found: %s' % (what, path))
  return path


def _inner_folder(folder, inner_name):
  nested = os.path.join(folder, inner_name)
  return nested if os.path.isdir(nested) else folder


def unpacked_folder(source_dir, work_dir, url, inner_name, what, log=print):
  """The folder of a dataset's files, from wherever `--source_dir` points.

  Args:
    source_dir: None (download `url`), the archive, the folder it unpacks
      to (`inner_name`) or that folder's parent.
    work_dir: where the download goes and the archive is unpacked.
    url: the published archive.
    inner_name: the folder the archive unpacks to ('flower_photos').
    what: the archive in words, for the error when it is missing.
    log: where the download lines go.

  Raises:
    staged_output.ConversionError: no such archive, or it cannot be had.
  """
  if source_dir and os.path.isdir(source_dir):
    return _inner_folder(source_dir, inner_name)
  archive = source_dir or download(url, work_dir, log)
  require_file(archive, '%s (--source_dir)' % what)
  extract_tar(archive, work_dir)
  return _inner_folder(work_dir, inner_name)
