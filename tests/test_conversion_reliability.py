"""A dataset is never replaced by a worse one: kills, bad sources, names."""

import errno
import io
import json
import os
import re
import signal
import warnings

import numpy as np
import pytest
import tensorflow.compat.v1 as tf
from PIL import Image

import deployment_helpers
from datasets import conversion_progress
from datasets import convert_dataset
from datasets import convert_folder
from datasets import dataset_factory
from datasets import dataset_utils
from datasets import fake_data
from datasets import staged_output

QUIET = lambda _: None  # noqa: E731


def _photo(path, size=(6, 5), seed=0, pil_format='PNG'):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  pixels = np.random.RandomState(seed).randint(0, 256, size[::-1] + (3,))
  Image.fromarray(pixels.astype(np.uint8)).save(path, format=pil_format)


def _photo_folder(root, classes=('cat', 'dog'), per_class=2):
  for label, name in enumerate(classes):
    for i in range(per_class):
      _photo(os.path.join(root, name, 'img_%d.png' % i), seed=10 * label + i)
  return root


def _snapshot(directory):
  """{relative path: bytes} of every file, hidden ones included."""
  files = {}
  for root, _, names in os.walk(directory):
    for name in names:
      path = os.path.join(root, name)
      with open(path, 'rb') as f:
        files[os.path.relpath(path, directory)] = f.read()
  return files


def _visible(snapshot):
  return {path: data for path, data in snapshot.items()
          if not path.startswith('.')}


def test_overwrite_with_only_unusable_files_keeps_the_old_dataset(tmp_path):
  source = _photo_folder(str(tmp_path / 'pets'))
  convert_dataset.convert('pets', str(tmp_path), validation_size=1, log=QUIET)
  before = _snapshot(str(tmp_path))
  for name in ('cat', 'dog'):
    for i in range(2):
      with open(os.path.join(source, name, 'img_%d.png' % i), 'wb') as f:
        f.write(b'not a picture')
  logs = []
  with pytest.raises(staged_output.ConversionError, match='No usable image'):
    convert_dataset.convert('pets', str(tmp_path), validation_size=1,
                            overwrite=True, log=logs.append)
  after = _snapshot(str(tmp_path))
  assert {k: v for k, v in after.items() if not k.startswith('pets/')} == {
      k: v for k, v in before.items() if not k.startswith('pets/')}
  assert any('Skipped' in line for line in logs)


def test_split_left_empty_by_skipped_files_is_refused(tmp_path):
  source = _photo_folder(str(tmp_path / 'src'), per_class=3)
  out = str(tmp_path / 'out')
  files = convert_folder.split_files(
      convert_folder.list_files(source, ['cat', 'dog']), 1, seed=0)
  (held_out, _), = files['validation']
  with open(held_out, 'wb') as f:
    f.write(b'')
  with pytest.raises(staged_output.ConversionError,
                     match='Split validation .* 0 images'):
    convert_folder.convert_folder(source, out, 'pets', validation_size=1,
                                  log=QUIET)
  assert os.listdir(out) == []


def test_validation_size_zero_writes_no_validation_split(tmp_path):
  source = _photo_folder(str(tmp_path / 'src'))
  out = str(tmp_path / 'out')
  result = convert_folder.convert_folder(source, out, 'pets',
                                         validation_size=0, log=QUIET)
  assert result['splits_to_sizes'] == {'train': 4}
  assert not [name for name in os.listdir(out) if 'validation' in name]
  with pytest.raises(ValueError, match='valid splits: train'):
    dataset_factory.get_dataset('pets', 'validation', out)


@pytest.mark.parametrize('validation_size', [None, 0])
def test_overwrite_that_would_empty_a_split_changes_nothing(tmp_path,
                                                           validation_size):
  """3 images leave the default 10 % (or 0) no validation image."""
  out = str(tmp_path / 'out')
  convert_folder.convert_folder(
      _photo_folder(str(tmp_path / 'big'), per_class=3), out, 'pets',
      validation_size=2, log=QUIET)
  before = _snapshot(out)
  small = _photo_folder(str(tmp_path / 'small'), classes=('cat', 'dog'),
                        per_class=2)
  os.remove(os.path.join(small, 'dog', 'img_1.png'))
  with pytest.raises(staged_output.ConversionError,
                     match='Split validation of .pets. would hold 0 images'):
    convert_dataset.convert('pets', out, source_dir=small,
                            validation_size=validation_size, overwrite=True,
                            log=QUIET)
  assert _snapshot(out) == before


# ---------------------------------------------------------------------------
# The swap survives a kill at any instant.


def _write_fake_dataset(directory, name, num_train_shards, tag):
  """A dataset of plain files (no TensorFlow: this runs in forked children)."""
  for shard in range(num_train_shards):
    path = os.path.join(directory, dataset_utils.shard_filename(
        name, 'train', shard, num_train_shards))
    with open(path, 'wb') as f:
      f.write(b'%s train %d' % (tag, shard))
  with open(os.path.join(directory, dataset_utils.shard_filename(
      name, 'validation', 0, 1)), 'wb') as f:
    f.write(b'%s validation' % tag)
  dataset_utils.write_label_file({0: tag.decode() + '_a', 1: 'b'}, directory,
                                 dataset_utils.labels_filename(name))
  dataset_utils.write_metadata(directory, name,
                               {'train': num_train_shards, 'validation': 1},
                               2, name + '_%s_*.tfrecord', tag=tag.decode())


_MUTATIONS = ('replace', 'rename', 'remove', 'unlink', 'rmdir')


def _convert_killed_at(dataset_dir, step):
  """Forks a run that SIGKILLs itself before its `step`-th file operation.

  Returns:
    True when the run was killed, False when it finished first.
  """
  with warnings.catch_warnings():
    warnings.simplefilter('ignore', DeprecationWarning)  # fork + threads
    pid = os.fork()
  if pid == 0:
    try:
      calls = [0]

      def killing(real):
        def operation(*args, **kwargs):
          if calls[0] == step:
            os.kill(os.getpid(), signal.SIGKILL)
          calls[0] += 1
          return real(*args, **kwargs)
        return operation

      for name in _MUTATIONS:
        setattr(os, name, killing(getattr(os, name)))
      with staged_output.StagedDataset(dataset_dir, 'pets',
                                       overwrite=True) as staged:
        _write_fake_dataset(staged.path, 'pets', 3, b'new')
    finally:
      os._exit(0)  # pylint: disable=protected-access
  _, status = os.waitpid(pid, 0)
  return os.WIFSIGNALED(status)


def _expected_datasets(tmp_path):
  new_dir = tmp_path / 'expected_new'
  new_dir.mkdir()
  _write_fake_dataset(str(new_dir), 'pets', 3, b'new')
  return _snapshot(str(new_dir))


def test_a_kill_at_any_step_of_the_swap_leaves_old_or_new(tmp_path):
  dataset_dir = tmp_path / 'data'
  dataset_dir.mkdir()
  _write_fake_dataset(str(dataset_dir), 'pets', 2, b'old')
  old, new = _snapshot(str(dataset_dir)), _expected_datasets(tmp_path)
  outcomes, journaled = set(), 0
  for step in range(100):
    if step:
      for path in os.listdir(dataset_dir):
        os.remove(os.path.join(dataset_dir, path))
      _write_fake_dataset(str(dataset_dir), 'pets', 2, b'old')
    killed = _convert_killed_at(str(dataset_dir), step)
    journaled += os.path.exists(dataset_dir / '.pets.commit.json')
    staged_output.recover(str(dataset_dir), 'pets')
    staged_output.StagedDataset(str(dataset_dir), 'pets')._sweep_stale_staging()
    after = _snapshot(str(dataset_dir))
    assert after in (old, new), 'step %d left %s' % (step, sorted(after))
    outcomes.add('old' if after == old else 'new')
    if not killed:
      break
  assert not killed, 'the run never finished'
  assert outcomes == {'old', 'new'} and journaled >= 5


def test_next_read_finishes_an_interrupted_swap(tmp_path):
  dataset_dir = tmp_path / 'data'
  dataset_dir.mkdir()
  _write_fake_dataset(str(dataset_dir), 'pets', 2, b'old')
  new = _expected_datasets(tmp_path)
  step = 0
  while not os.path.exists(dataset_dir / '.pets.commit.json'):
    assert _convert_killed_at(str(dataset_dir), step), 'no journaled step'
    step += 2  # a later step than the journal rename
  # Half-swapped now; the reader finishes the swap before reading.
  descriptor = dataset_factory.get_dataset('pets', 'train', str(dataset_dir))
  assert descriptor.num_samples == 3 and len(descriptor.data_sources) == 3
  assert descriptor.labels_to_names == {0: 'new_a', 1: 'b'}
  assert _visible(_snapshot(str(dataset_dir))) == new


def test_a_failed_rename_puts_the_old_dataset_back(tmp_path, monkeypatch):
  dataset_dir = str(tmp_path)
  _write_fake_dataset(dataset_dir, 'pets', 2, b'old')
  old = _snapshot(dataset_dir)
  real_replace, calls = os.replace, [0]

  def failing_replace(src, dst):
    calls[0] += 1
    if calls[0] == 4:  # journal, two old files, then this one
      raise OSError(errno.EIO, 'Input/output error', src)
    return real_replace(src, dst)

  monkeypatch.setattr(os, 'replace', failing_replace)
  with pytest.raises(staged_output.ConversionError, match='Input/output'):
    with staged_output.StagedDataset(dataset_dir, 'pets', True) as staged:
      _write_fake_dataset(staged.path, 'pets', 3, b'new')
  assert _snapshot(dataset_dir) == old


# ---------------------------------------------------------------------------
# Labels of two datasets in one folder.


def test_two_datasets_in_one_folder_keep_their_own_labels(tmp_path):
  _photo_folder(str(tmp_path / 'pets'), classes=('cat', 'dog'))
  _photo_folder(str(tmp_path / 'food'), classes=('apple', 'bread', 'soup'))
  convert_dataset.convert('pets', str(tmp_path), validation_size=1, log=QUIET)
  convert_dataset.convert('food', str(tmp_path), validation_size=1, log=QUIET)
  names = {name: dataset_factory.get_dataset(
      name, 'train', str(tmp_path)).labels_to_names for name in ('pets',
                                                                 'food')}
  assert names == {'pets': {0: 'cat', 1: 'dog'},
                   'food': {0: 'apple', 1: 'bread', 2: 'soup'}}
  # slim's plain labels.txt stays the first dataset's, for tools expecting it.
  assert dataset_utils.read_label_file(str(tmp_path)) == names['pets']
  insects = _photo_folder(str(tmp_path / 'insects'), classes=('ant', 'bee'))
  convert_dataset.convert('pets', str(tmp_path), source_dir=insects,
                          validation_size=1, overwrite=True, log=QUIET)
  assert dataset_utils.read_label_file(str(tmp_path)) == {0: 'ant', 1: 'bee'}


def test_plain_labels_file_of_a_dataset_made_elsewhere_is_read(tmp_path):
  (tmp_path / 'labels.txt').write_text('0:left\n1:right\n')
  dataset_utils.write_metadata(str(tmp_path), 'arrows', {'train': 1}, 2,
                               'arrows_%s.tfrecord')
  (tmp_path / 'arrows_train.tfrecord').write_bytes(b'')
  descriptor = dataset_factory.get_dataset('arrows', 'train', str(tmp_path))
  assert descriptor.labels_to_names == {0: 'left', 1: 'right'}


# ---------------------------------------------------------------------------
# Names that would not round-trip.


def test_class_folder_name_with_a_newline_is_refused(tmp_path):
  _photo_folder(str(tmp_path / 'src'), classes=('cat', 'two\nlines'))
  with pytest.raises(staged_output.ConversionError,
                     match="'two\\\\nlines'.*control character"):
    convert_folder.convert_folder(str(tmp_path / 'src'), str(tmp_path / 'o'),
                                  'pets', log=QUIET)
  assert not (tmp_path / 'o').exists()


@pytest.mark.parametrize('name', ['../x', 'a/b', '.hidden', 'x%d', 'a*',
                                  ' pad'])
def test_dataset_names_that_break_file_names_are_refused(tmp_path, name):
  _photo_folder(str(tmp_path / 'src'))
  out = tmp_path / 'out' / 'inner'
  with pytest.raises(staged_output.ConversionError, match='--dataset_name'):
    convert_dataset.convert(name, str(out), source_dir=str(tmp_path / 'src'),
                            log=QUIET)
  assert not (tmp_path / 'out').exists()


# ---------------------------------------------------------------------------
# One line instead of a traceback.


def test_unreadable_class_folder_is_one_line(tmp_path, monkeypatch):
  source = _photo_folder(str(tmp_path / 'src'))
  locked = os.path.join(source, 'dog')
  real_listdir = os.listdir

  def listdir(path='.'):
    if os.path.abspath(path) == locked:
      raise PermissionError(errno.EACCES, 'Permission denied', path)
    return real_listdir(path)

  monkeypatch.setattr(os, 'listdir', listdir)
  with pytest.raises(staged_output.ConversionError,
                     match='Cannot read folder .*dog .Permission denied'):
    convert_folder.convert_folder(source, str(tmp_path / 'out'), 'pets',
                                  log=QUIET)


@pytest.mark.skipif(os.geteuid() == 0, reason='root reads chmod 000 folders')
def test_chmod_000_class_folder_is_one_line(tmp_path):
  source = _photo_folder(str(tmp_path / 'src'))
  os.chmod(os.path.join(source, 'dog'), 0)
  try:
    with pytest.raises(staged_output.ConversionError, match='Cannot read'):
      convert_folder.convert_folder(source, str(tmp_path / 'out'), 'pets',
                                    log=QUIET)
  finally:
    os.chmod(os.path.join(source, 'dog'), 0o755)


def test_unreadable_image_file_is_skipped_and_reported(tmp_path, monkeypatch):
  source = _photo_folder(str(tmp_path / 'src'), per_class=2)
  locked = os.path.join(source, 'dog', 'img_1.png')
  real_open = open

  def guarded_open(path, *args, **kwargs):
    if path == locked:
      raise PermissionError(errno.EACCES, 'Permission denied', path)
    return real_open(path, *args, **kwargs)

  monkeypatch.setattr('builtins.open', guarded_open)
  result = convert_folder.convert_folder(source, str(tmp_path / 'out'),
                                         'pets', validation_size=0, log=QUIET)
  assert result['skipped'] == [(locked, 'unreadable: Permission denied')]
  assert result['splits_to_sizes'] == {'train': 3}


def test_full_disk_is_one_line_and_keeps_the_old_dataset(tmp_path,
                                                         monkeypatch):
  _photo_folder(str(tmp_path / 'pets'))
  convert_dataset.convert('pets', str(tmp_path), validation_size=1, log=QUIET)
  before = _snapshot(str(tmp_path))

  def no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, 'No space left on device', 'pets_meta.json')

  monkeypatch.setattr(dataset_utils, 'write_metadata', no_space)
  with pytest.raises(staged_output.ConversionError,
                     match='No space left on device.*free some space'):
    convert_dataset.convert('pets', str(tmp_path), validation_size=1,
                            overwrite=True, log=QUIET)
  assert _snapshot(str(tmp_path)) == before


def test_tensorflow_write_error_is_one_line(tmp_path, monkeypatch):
  source = _photo_folder(str(tmp_path / 'src'))

  class FullWriter(object):
    def __init__(self, path):
      del path

    def __enter__(self):
      return self

    def __exit__(self, *unused):
      return False

    def write(self, record):
      del record
      raise tf.errors.ResourceExhaustedError(None, None,
                                             'No space left on device')

  monkeypatch.setattr(tf.io, 'TFRecordWriter', FullWriter)
  with pytest.raises(staged_output.ConversionError, match='free some space'):
    convert_folder.convert_folder(source, str(tmp_path / 'out'), 'pets',
                                  log=QUIET)
  assert os.listdir(tmp_path / 'out') == []


@pytest.mark.parametrize('size', [float('nan'), float('inf'), -1.0, 2.5])
def test_bad_validation_sizes_are_one_line(tmp_path, size):
  source = _photo_folder(str(tmp_path / 'src'))
  with pytest.raises(staged_output.ConversionError, match='validation_size'):
    convert_folder.convert_folder(source, str(tmp_path / 'out'), 'pets',
                                  validation_size=size, log=QUIET)


@pytest.mark.parametrize('field, value, message', [
    ('channels', 5, 'channels is 5'),
    ('file_pattern', 7, 'file_pattern is 7'),
    ('file_pattern', '../up_%s', 'outside the folder'),
    ('file_pattern', 'x_%d', 'no other %'),
    ('num_classes', 0, 'num_classes is 0'),
    ('splits_to_sizes', {'train': -2}, "split 'train' has -2"),
])
def test_bad_metadata_is_one_line_naming_the_file(tmp_path, field, value,
                                                  message):
  path = dataset_utils.write_metadata(str(tmp_path), 'pets', {'train': 1}, 2,
                                      'pets_%s.tfrecord')
  (tmp_path / 'pets_train.tfrecord').write_bytes(b'')
  with open(path) as f:
    metadata = json.load(f)
  metadata[field] = value
  with open(path, 'w') as f:
    json.dump(metadata, f)
  with pytest.raises(ValueError) as raised:
    dataset_factory.get_dataset('pets', 'train', str(tmp_path))
  assert message in str(raised.value) and 'pets_metadata.json' in str(
      raised.value)
  assert '\n' not in str(raised.value)


def test_script_prints_one_line_for_nan_validation_size(tmp_path):
  _photo_folder(str(tmp_path / 'pets'))
  result = deployment_helpers.run_script(
      'download_and_convert_data.py', '--dataset_name=pets',
      '--dataset_dir=%s' % tmp_path, '--validation_size=nan', timeout=120)
  assert result.returncode == 1 and 'Traceback' not in result.stderr
  lines = [line for line in result.stderr.splitlines()
           if line.startswith('ERROR: ')]
  assert len(lines) == 1 and '--validation_size' in lines[0]


# ---------------------------------------------------------------------------
# Silent oddities made loud.


def test_empty_class_folder_is_refused_by_name(tmp_path):
  source = _photo_folder(str(tmp_path / 'src'))
  os.makedirs(os.path.join(source, 'emu'))
  with pytest.raises(staged_output.ConversionError,
                     match='Class folder .*emu holds no files'):
    convert_folder.convert_folder(source, str(tmp_path / 'out'), 'pets',
                                  log=QUIET)


def test_single_class_is_refused(tmp_path):
  source = _photo_folder(str(tmp_path / 'src'), classes=('cat',))
  with pytest.raises(staged_output.ConversionError, match='at least 2'):
    convert_folder.convert_folder(source, str(tmp_path / 'out'), 'pets',
                                  log=QUIET)


def test_images_in_sub_folders_are_reported_as_skipped(tmp_path):
  source = _photo_folder(str(tmp_path / 'src'))
  _photo(os.path.join(source, 'cat', 'more', 'deeper', 'x.png'))
  _photo(os.path.join(source, 'dog', 'more', 'y.png'))
  logs = []
  result = convert_folder.convert_folder(source, str(tmp_path / 'out'),
                                         'pets', validation_size=0,
                                         log=logs.append)
  nested = sorted(os.path.relpath(path, source)
                  for path, _ in result['skipped'])
  assert nested == ['cat/more/deeper/x.png', 'dog/more/y.png']
  assert result['splits_to_sizes'] == {'train': 4}
  assert 'skipped 2 files' in logs[-1]
  assert 'cat/more/deeper/x.png: in a sub-folder' in open(
      result['report']).read()


@pytest.mark.parametrize('shards', [0, -3])
def test_non_positive_num_shards_is_one_line(tmp_path, shards):
  _photo_folder(str(tmp_path / 'pets'))
  with pytest.raises(staged_output.ConversionError, match='--num_shards'):
    convert_dataset.convert('pets', str(tmp_path), num_shards=shards,
                            log=QUIET)


def test_large_images_are_downsized_and_logged(tmp_path):
  source = str(tmp_path / 'src')
  _photo(os.path.join(source, 'cat', 'wide.jpg'), size=(40, 20),
         pil_format='JPEG')
  _photo(os.path.join(source, 'dog', 'tall.png'), size=(10, 32))
  _photo(os.path.join(source, 'dog', 'small.png'), size=(8, 8))
  logs = []
  out = str(tmp_path / 'out')
  result = convert_dataset.convert('pets', out, source_dir=source,
                                   validation_size=0, max_image_side=16,
                                   log=logs.append)
  assert sorted((os.path.basename(path), before, after)
                for path, before, after in result['downsized']) == [
                    ('tall.png', (10, 32), (5, 16)),
                    ('wide.jpg', (40, 20), (16, 8))]
  assert any(line.startswith('Downsized 2 images to at most 16 px')
             for line in logs)
  descriptor = dataset_factory.get_dataset('pets', 'train', out)
  formats, shapes = set(), set()
  for record in tf.data.TFRecordDataset(descriptor.data_sources):
    example = tf.train.Example.FromString(record.numpy())
    feature = example.features.feature
    formats.add(feature['image/format'].bytes_list.value[0])
    image = Image.open(io.BytesIO(feature['image/encoded'].bytes_list.value[0]))
    shapes.add((image.format, image.size))
  assert shapes == {('JPEG', (16, 8)), ('PNG', (5, 16)), ('PNG', (8, 8))}
  assert formats == {b'jpeg', b'png'}
  with pytest.raises(staged_output.ConversionError, match='--max_image_side'):
    convert_dataset.convert('pets', out, source_dir=source, max_image_side=0,
                            log=QUIET)


_PROGRESS_LINE = re.compile(
    r'Converted (\d+)/(\d+) images \((\d+)%\), (\d+\.\d) images/sec, '
    r'ETA (\d+:\d\d:\d\d)$')


def progress_counts(logs, total):
  """The counts of a conversion's `Converted N/M` lines, checked.

  Every such line has the shared format and the total `total`; the counts
  rise, and the last line says all of them, 100% and nothing left.
  Shared with the ImageNet build's test.
  """
  matches = [_PROGRESS_LINE.match(line) for line in logs
             if line.startswith('Converted ')]
  assert matches and all(matches), logs
  counts = [int(match.group(1)) for match in matches]
  assert {int(match.group(2)) for match in matches} == {total}
  assert counts == sorted(set(counts)) and counts[-1] == total
  assert matches[-1].group(3, 5) == ('100', '0:00:00')
  return counts


def test_progress_lines_count_and_give_an_eta(tmp_path):
  source = _photo_folder(str(tmp_path / 'src'), per_class=3)
  logs = []
  convert_folder.convert_folder(source, str(tmp_path / 'out'), 'pets',
                                validation_size=2, log=logs.append)
  assert progress_counts(logs, 6) == [1, 2, 3, 4, 5, 6]


class _FakeClock(object):

  def __init__(self):
    self.now = 1000.0

  def __call__(self):
    return self.now


def test_progress_every_5_percent_with_rate_and_eta():
  clock, logs = _FakeClock(), []
  progress = conversion_progress.ConversionProgress(200, logs.append, clock)
  for _ in range(20):
    clock.now += 0.5  # 2 images/sec
    progress.step()
  assert logs == ['Converted 10/200 images (5%), 2.0 images/sec, ETA 0:01:35',
                  'Converted 20/200 images (10%), 2.0 images/sec, '
                  'ETA 0:01:30']
  progress.step(180)
  assert progress_counts(logs, 200) == [10, 20, 200]


def test_progress_line_at_least_every_30_seconds():
  clock, logs = _FakeClock(), []
  progress = conversion_progress.ConversionProgress(1000, logs.append, clock)
  clock.now += 29
  progress.step()
  assert logs == []
  clock.now += 1
  progress.step()
  assert logs == ['Converted 2/1000 images (0%), 0.1 images/sec, ETA 4:09:30']


def test_fashion_mnist_conversion_logs_progress_to_100_percent(tmp_path):
  source = tmp_path / 'idx'
  source.mkdir()
  fake_data.write_idx_files(str(source), {'train': 5, 'test': 3})
  logs = []
  sizes = convert_dataset.convert('fashion_mnist', str(tmp_path / 'out'),
                                  source_dir=str(source), log=logs.append)
  assert sizes == {'train': 5, 'test': 3}
  assert progress_counts(logs, 8) == list(range(1, 9))


def test_recovery_never_drops_the_old_files_when_staging_is_gone(tmp_path):
  dataset_dir = tmp_path / 'data'
  dataset_dir.mkdir()
  _write_fake_dataset(str(dataset_dir), 'pets', 2, b'old')
  old = _snapshot(str(dataset_dir))
  # Renames 0 and 1 put the staged labels and metadata in place, 2 the
  # journal: killed right after it.
  assert _convert_killed_at(str(dataset_dir), 3)
  staging, = [path for path in os.listdir(dataset_dir)
              if path.startswith('.pets.partial-')]
  for name in os.listdir(dataset_dir / staging):
    os.remove(dataset_dir / staging / name)
  with pytest.raises(staged_output.ConversionError, match='is gone from'):
    staged_output.recover(str(dataset_dir), 'pets')
  # Every old file is still there, in place or set aside in the backup.
  kept = {os.path.basename(path): data
          for path, data in _snapshot(str(dataset_dir)).items()
          if '.pets.partial-' not in path}
  assert {name: kept.get(name) for name in old} == old
