"""Issue 25, round two: flags, devices, encodings and the pixel limit.

Nonsense is refused before anything runs, with one line (`FLAG_RANGES`,
`distributed.check_*`); paths whose bytes are not UTF-8 and names the
terminal cannot print work; label_image.py refuses an image too large to
decode from its header. Most checks run in-process; a few scripts are run
once each to show the wiring, several cases per run where they can share it.
"""

import os
import socket
import struct
import subprocess
import types
import zlib

import pytest
import tensorflow.compat.v1 as tf

import common_flags
from datasets import dataset_utils
from deployment import distributed
from deployment import image_limits
from deployment import inference
from deployment import pipeline
from deployment.errors import UserError
import deployment_helpers as helpers


# --------------------------------------------------------------------------
# Nonsense accepted, or answered vaguely.

# (flag, values its row accepts, values it refuses): the cases and
# the edges of each kind of row.
RANGE_CASES = [
    ('label_smoothing', [0.0, 0.1, 0.99], [1.0, 1.5, -0.1]),
    ('adam_beta1', [0.0, 0.9], [1.0, 1.5, -0.5]),
    ('momentum', [0.0, 0.9], [1.0, -0.1]),
    ('learning_rate_decay_factor', [0.5, 1.0], [0.0, -2.0, 1.5]),
    ('labels_offset', [0, 1], [-1]),
    ('train_image_size', [1, 299, 16384], [0, 16385]),
    ('ftrl_learning_rate_power', [-0.5, 0.0], [0.5]),
    ('opt_epsilon', [1e-8, 1.0], [0.0, -1.0]),
    ('moving_average_decay', [0.0, 0.9999], [1.0, -0.1]),
    ('port', [0, 65535], [-1, 65536]),
    ('quantize_delay', [-1, 0, 1000], [-2]),
    ('save_interval_secs', [0, 10**9], [-1, 10**9 + 1]),
]


def _refusal(name, flag_type, value):
  """The message a value gets from `name`'s check; None when accepted."""
  try:
    common_flags._check_number(flag_type, common_flags.FLAG_RANGES.get(name),  # pylint: disable=protected-access
                               value)
  except common_flags.absl_flags.ValidationError as error:
    return str(error)
  return None


@pytest.mark.parametrize('name,accepted,refused', RANGE_CASES)
def test_each_range_refuses_what_the_flag_cannot_mean(name, accepted,
                                                      refused):
  flag_type = 'float' if isinstance(accepted[0], float) else 'int'
  for value in [None] + accepted:
    assert _refusal(name, flag_type, value) is None, (name, value)
  for value in refused:
    assert _refusal(name, flag_type, value) == (
        common_flags.FLAG_RANGES[name].message), (name, value)


def test_every_number_fits_int64_or_is_finite_even_without_a_row():
  assert _refusal('no_such_flag', 'int', 2**63) == (
      'must fit in 64 bits (at most 9223372036854775807)')
  assert _refusal('no_such_flag', 'int', -2**63) is None
  for value in (float('nan'), float('inf'), -float('inf')):
    assert _refusal('learning_rate', 'float', value) == (
        'must be a finite number')


# Imports every script as a module, as its `python script.py` would define
# its flags (each one's flags removed before the next), and prints the
# numeric flags the range table has no row for.
_LIST_FLAGS_WITHOUT_RANGE = '''
import runpy, sys
import common_flags
flags = common_flags.flags.FLAGS
before = set(flags)
missing = []
for script in sys.argv[1:]:
  runpy.run_path(script, run_name='flag_listing')
  for name in common_flags.numeric_flag_names():
    if name not in before and name not in common_flags.FLAG_RANGES:
      missing.append('%s --%s' % (script, name))
  for name in set(flags) - before:
    delattr(flags, name)
print('MISSING', missing)
'''
SCRIPTS = ['train_image_classifier.py', 'eval_image_classifier.py',
           'train_eval_image_classifier.py', 'export_inference_graph.py',
           'freeze_graph.py', 'label_image.py', 'server.py',
           'download_and_convert_data.py', 'convert_keras_densenet.py',
           'datasets/build_imagenet_data.py']


def test_every_numeric_flag_of_every_script_has_a_range():
  result = helpers.run_python(
      'import sys; sys.argv = [""] + %r\n%s' % (SCRIPTS,
                                                _LIST_FLAGS_WITHOUT_RANGE))
  assert result.returncode == 0, result.stderr[-3000:]
  assert 'MISSING []' in result.stdout.splitlines(), result.stdout[-2000:]


def test_training_refuses_each_nonsense_value_in_one_line():
  bad = ['--label_smoothing=1.5', '--labels_offset=-1',
         '--learning_rate_decay_factor=-2', '--adam_beta1=1.5',
         '--max_number_of_steps=%d' % 2**64, '--learning_rate=nan']
  error = helpers.error_line(helpers.run_script('train_image_classifier.py',
                                                *bad))
  assert error.startswith('ERROR: flag --')
  for flag in bad:
    name = flag.split('=')[0]
    assert name + '=' in error, (flag, error)
  assert 'must fit in 64 bits' in error and 'must be a finite number' in error


def test_train_eval_refuses_an_empty_eval_dir():
  error = helpers.error_line(helpers.run_script(
      'train_eval_image_classifier.py', '--eval_dir=', '--train_dir=/tmp/x'))
  assert error == ("ERROR: flag --eval_dir=: is empty; pass a path, or leave "
                   "the flag out for its default")


@pytest.mark.parametrize('size,flag', [(1, '--train_image_size'),
                                       (3, '--eval_image_size')])
def test_too_small_images_name_the_smallest_size_the_network_takes(size,
                                                                   flag):
  network_fn, _ = pipeline.network_and_preprocessing(
      'lenet', 5, is_training=False, image_size_flag=flag)
  with tf.Graph().as_default():
    with pytest.raises(UserError) as raised:
      network_fn(tf.placeholder(tf.float32, [2, size, size, 1]))
  # LeNet: two 2x2 VALID poolings (4 builds, 3 does not); default 28.
  assert str(raised.value) == (
      '%s=%d: images of %dx%d pixels are too small for --model_name=lenet; '
      'the smallest size it takes is 4 (its default is 28)' %
      (flag, size, size, size))
  with tf.Graph().as_default():  # the smallest size builds
    network_fn(tf.placeholder(tf.float32, [2, 4, 4, 1]))


def test_eval_script_says_the_image_size_is_too_small(tmp_path):
  dataset_dir = str(tmp_path / 'quiz')
  helpers.write_dataset(dataset_dir)
  train_dir = str(tmp_path / 'train')
  helpers.write_checkpoint(train_dir, 'lenet')
  error = helpers.error_line(helpers.run_script(
      'eval_image_classifier.py', '--dataset_name=quiz',
      '--dataset_dir=' + dataset_dir, '--dataset_split_name=validation',
      '--model_name=lenet', '--checkpoint_path=' + train_dir,
      '--eval_dir=' + str(tmp_path / 'eval'), '--eval_image_size=3'))
  assert error == ('ERROR: --eval_image_size=3: images of 3x3 pixels are too '
                   'small for --model_name=lenet; the smallest size it takes '
                   'is 4 (its default is 28)')


def _write(path, data):
  with open(path, 'wb') as f:
    f.write(data)
  return path


def test_a_labels_file_of_random_bytes_is_named_as_not_a_labels_file(
    tmp_path):
  random_bytes = _write(str(tmp_path / 'labels.txt'),
                        b'\x8f\xff\x00garbage\x93' * 20)
  with pytest.raises(UserError) as raised:
    inference.read_labels(random_bytes)  # label_image.py --labels
  assert str(raised.value).startswith(
      random_bytes + ' is not a labels file: byte 0 is not UTF-8 text')
  # Export reads the class names of --dataset_dir: the same line, not a
  # complaint about a split.
  dataset_dir = str(tmp_path / 'quiz')
  helpers.write_dataset(dataset_dir)
  _write(os.path.join(dataset_dir, 'labels.txt'), b'\x8f\xff' * 10)
  with pytest.raises(UserError, match=r'labels.txt is not a labels file'):
    inference.spec_from_dataset('lenet', 'quiz', dataset_dir)
  text = _write(str(tmp_path / 'notes.txt'), b'just some notes\n')
  with pytest.raises(ValueError, match="is not a labels file: line 1 is "
                     "'just some notes'"):
    dataset_utils.read_label_file(os.path.dirname(text), 'notes.txt')


# --------------------------------------------------------------------------
# Distributed and device flags.


def _deployment(**values):
  flags = dict(task=0, worker_replicas=1, sync_replicas=False,
               replicas_to_aggregate=1, master='')
  flags.update(values)
  return types.SimpleNamespace(**flags)


@pytest.mark.parametrize('values,cluster,message', [
    (dict(sync_replicas=True, replicas_to_aggregate=2), None,
     '--sync_replicas waits for --replicas_to_aggregate=2 gradients per step, '
     'but only --worker_replicas=1 worker(s) send one each'),
    (dict(task=1, worker_replicas=2), None,
     '--task=1 is a worker of a distributed run, but there is no cluster'),
    (dict(task=1), None, '--task=1 must be below --worker_replicas=1'),
])
def test_impossible_worker_settings_are_refused(values, cluster, message):
  with pytest.raises(UserError) as raised:
    distributed.check_replicas(_deployment(**values), cluster)
  assert str(raised.value).startswith(message)


def test_possible_worker_settings_pass():
  distributed.check_replicas(_deployment(sync_replicas=True))
  distributed.check_replicas(
      _deployment(task=1, worker_replicas=2, sync_replicas=True,
                  replicas_to_aggregate=2), cluster=('spec', 'worker', 1))
  distributed.check_replicas(_deployment(task=1),  # a ps serves only
                             cluster=('spec', 'ps', 1))


def test_more_gpu_clones_than_gpus_say_how_to_run_on_cpu(monkeypatch):
  monkeypatch.setattr(tf.config, 'list_physical_devices', lambda kind: [])
  with pytest.raises(UserError) as raised:
    distributed.check_clone_devices(2, clone_on_cpu=False)
  assert str(raised.value) == (
      '--num_clones=2 puts one clone on each GPU, but TensorFlow sees 0 '
      'GPU(s) here; add --clone_on_cpu=True to run the clones on the CPU, or '
      'pass --num_clones=1')
  distributed.check_clone_devices(2, clone_on_cpu=True)
  distributed.check_clone_devices(1, clone_on_cpu=False)


def test_an_unreachable_master_is_named_after_a_bounded_wait(monkeypatch):
  [port] = helpers.free_loopback_ports()  # nothing listens there
  logged = []
  monkeypatch.setattr(tf.logging, 'info',
                      lambda message, *args: logged.append(message % args))
  with pytest.raises(UserError) as raised:
    distributed.wait_for_master('grpc://127.0.0.1:%d' % port, timeout_s=2)
  assert str(raised.value).startswith(
      '--master=grpc://127.0.0.1:%d: nothing accepts connections at '
      '127.0.0.1:%d after 2 s' % (port, port))
  assert logged and logged[0].startswith(
      'waiting for the TensorFlow master at grpc://127.0.0.1:%d' % port)
  with socket.socket() as listening:  # a master that answers: no wait
    listening.bind(('127.0.0.1', 0))
    listening.listen(1)
    distributed.wait_for_master(
        'grpc://127.0.0.1:%d' % listening.getsockname()[1], timeout_s=1)
  distributed.wait_for_master('', timeout_s=1)  # in process: nothing to wait


@pytest.mark.parametrize('host,message', [
    ('', 'ERROR: --host is empty; pass an address to listen on'),
    ('256.1.1.1', 'ERROR: --host=256.1.1.1 is neither an IP address nor a '
     'name that resolves'),
])
def test_server_refuses_a_host_it_cannot_listen_on(host, message):
  error = helpers.error_line(helpers.run_script(
      'server.py', '--model_file=/nonexistent/model.pb', '--host=' + host))
  assert error.startswith(message), error


# --------------------------------------------------------------------------
# Encodings, and the impossible sync run (one training serves both).


def test_sync_run_refused_up_front_when_it_could_never_step(tmp_path):
  error = helpers.error_line(helpers.run_script(
      'train_image_classifier.py', '--sync_replicas=True',
      '--replicas_to_aggregate=2', '--train_dir=' + str(tmp_path)))
  assert error.startswith('ERROR: --sync_replicas waits for '
                          '--replicas_to_aggregate=2 gradients per step')


def test_sync_training_in_a_non_utf8_train_dir_under_lang_c_ends(tmp_path):
  dataset_dir = str(tmp_path / 'quiz')
  helpers.write_dataset(dataset_dir)
  train_dir = os.path.join(os.fsencode(str(tmp_path)), b'run_\xff\xe9')
  command = helpers.script_command(
      'train_image_classifier.py', '--dataset_name=quiz',
      '--dataset_dir=' + dataset_dir, '--model_name=lenet',
      '--max_number_of_steps=3', '--batch_size=2', '--clone_on_cpu=True',
      '--num_readers=1', '--num_preprocessing_threads=1',
      '--sync_replicas=True', '--replicas_to_aggregate=1')
  # Bytes in argv, as a shell passes them; LANG=C: no UTF-8 locale.
  result = subprocess.run(
      [os.fsencode(arg) for arg in command] + [b'--train_dir=' + train_dir],
      cwd=helpers.ROOT, env=helpers.script_env({'LANG': 'C', 'LC_ALL': None}),
      stdin=subprocess.DEVNULL, capture_output=True, timeout=300,
      check=False)
  stderr = result.stderr.decode('utf-8', 'replace')
  assert result.returncode == 0, stderr[-3000:]
  assert 'Traceback' not in stderr
  saved = os.listdir(train_dir)
  assert b'model.ckpt-3.index' in saved, saved


def _write_labels(path, names):
  with open(path, 'w', encoding='utf-8') as f:
    f.write(''.join('%d:%s\n' % (i, name) for i, name in enumerate(names)))
  return path


# --------------------------------------------------------------------------
# Memory: the pixel limit before decoding, and printing what the terminal
# cannot encode (one label_image.py run each).


def _huge_png(path, side):
  """A valid grey PNG of side x side zero pixels, about side**2/1000 bytes."""
  def chunk(kind, data):
    body = kind + data
    return struct.pack('>I', len(data)) + body + struct.pack(
        '>I', zlib.crc32(body) & 0xffffffff)

  compressor = zlib.compressobj(9)
  row = b'\x00' * (side + 1)  # filter byte + pixels
  idat = b''.join(compressor.compress(row * 500) for _ in range(side // 500))
  idat += compressor.flush()
  with open(path, 'wb') as f:
    f.write(b'\x89PNG\r\n\x1a\n' +
            chunk(b'IHDR', struct.pack('>IIBBBBB', side, side, 8, 0, 0, 0,
                                       0)) +
            chunk(b'IDAT', idat) + chunk(b'IEND', b''))
  return path


class _MustNotDecode(object):
  def classify(self, encoded_images, top_k):
    raise AssertionError('decoded although above the pixel limit')


@pytest.fixture(scope='module')
def bomb(tmp_path_factory):
  """The issue's 20000x20000 PNG (400 megapixels, under 1 MB on disk)."""
  return _huge_png(str(tmp_path_factory.mktemp('bomb') / 'bomb.png'), 20000)


def test_classify_files_refuses_a_pixel_bomb_before_decoding(bomb):
  assert os.path.getsize(bomb) < 1024 * 1024
  with pytest.raises(inference.ImageError) as raised:
    inference.classify_files(_MustNotDecode(), [bomb], 1,
                             image_limits.DEFAULT_MAX_PIXELS)
  assert str(raised.value).startswith(bomb + ': the image has')


def test_label_image_refuses_a_pixel_bomb_and_prints_any_class_name(
    frozen_lenet, bomb, tmp_path):
  spec, frozen = frozen_lenet
  names = ['rosé', 'tulipán', 'ひまわり', 'daisy', 'dandelion', 'iris']
  labels = _write_labels(str(tmp_path / 'names.label'), names)
  small = _huge_png(str(tmp_path / 'small.png'), 500)
  ascii_env = {'PYTHONIOENCODING': 'ascii'}
  result = helpers.run_script('label_image.py', '--graph=' + frozen,
                              '--labels=' + labels, '--top_k=6', small,
                              env=ascii_env)
  assert result.returncode == 0, result.stderr[-3000:]
  assert 'ros? ' in result.stdout and '???? ' in result.stdout
  assert spec.num_classes == len(names)
  error = helpers.error_line(helpers.run_script(
      'label_image.py', '--graph=' + frozen, small, bomb, env=ascii_env))
  # Above twice Pillow's own limit its header check speaks first.
  assert error.startswith('ERROR: %s: the image has more pixels than '
                          'Pillow decodes (Image size (400000000 pixels)' %
                          bomb), error
  assert error.endswith('at most 16.0 megapixels are decoded '
                        '(--max_megapixels)'), error
