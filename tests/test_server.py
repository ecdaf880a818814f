"""server.py's app: the page, the JSON API, hostile uploads and clients."""

import base64
import concurrent.futures
import contextlib
import http.client
import io
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import numpy as np
import pytest
from PIL import Image

import deployment_helpers as helpers
from deployment import inference
from deployment import serving

MAX_UPLOAD = 64 * 1024
LIMITS = serving.DEFAULT_LIMITS._replace(max_upload_bytes=MAX_UPLOAD)


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
  work = tmp_path_factory.mktemp('server')
  dataset_dir = str(work / 'quiz')
  helpers.write_dataset(dataset_dir, num_classes=6)
  train_dir = str(work / 'train')
  helpers.write_checkpoint(train_dir, 'lenet', num_classes=6)
  frozen = str(work / 'lenet_freeze.pb')
  spec, _ = helpers.export_frozen(dataset_dir, train_dir, frozen, 'lenet')
  return spec, frozen


@pytest.fixture(scope='module')
def classifier(exported):
  return inference.Classifier(exported[1])


@pytest.fixture
def upload_folder(tmp_path):
  return tmp_path / 'upload'


def _client(classifier, upload_folder, **limits):
  app = serving.create_app(classifier, str(upload_folder),
                           num_top_predictions=5,
                           limits=LIMITS._replace(**limits))
  assert not app.debug
  return app.test_client()


@pytest.fixture
def client(classifier, upload_folder):
  return _client(classifier, upload_folder)


@pytest.fixture
def keeping_client(classifier, upload_folder):
  return _client(classifier, upload_folder, upload_quota_bytes=MAX_UPLOAD)


def _encoded(pixels, image_format='JPEG', **options):
  buffer = io.BytesIO()
  Image.fromarray(pixels).save(buffer, format=image_format, **options)
  return buffer.getvalue()


def _jpeg(seed=0, size=(40, 30), **options):
  pixels = np.random.RandomState(seed).randint(0, 255, size + (3,), np.uint8)
  return _encoded(pixels, **options)


def _png(seed=0, size=(40, 30)):
  pixels = np.random.RandomState(seed).randint(0, 255, size + (3,), np.uint8)
  return _encoded(pixels, 'PNG')


def _upload(client, data, filename='photo.jpg', path='/'):
  return client.post(path, data={'image': (io.BytesIO(data), filename)},
                     content_type='multipart/form-data')


def _image_src(response):
  return re.search(r'<img id="uploaded" src="([^"]+)"',
                   response.get_data(as_text=True)).group(1)


def test_get_shows_upload_form(client):
  response = client.get('/')
  assert response.status_code == 200
  page = response.get_data(as_text=True)
  assert 'enctype="multipart/form-data"' in page
  assert 'type="file"' in page and 'name="image"' in page


def test_post_shows_top5_and_a_thumbnail_and_keeps_nothing(
    client, classifier, upload_folder):
  ramp = np.linspace(0, 255, 450).astype(np.uint8)  # small as a JPEG
  data = _encoded(np.stack([np.tile(ramp, (600, 1))] * 3, axis=-1))
  response = _upload(client, data)
  assert response.status_code == 200
  page = response.get_data(as_text=True)
  labels = re.findall(r'<td class="label">([^<]*)</td>', page)
  scores = [float(s) for s in re.findall(r'<td class="score">([^<]*)</td>',
                                         page)]
  expected = classifier.classify([data], 5)[0]
  assert labels == [p.label for p in expected]
  assert scores == pytest.approx([p.score for p in expected], abs=1e-5)
  assert re.search(r'Inference time: \d+\.\d ms', page)
  prefix = 'data:image/jpeg;base64,'
  src = _image_src(response)
  assert src.startswith(prefix)
  with Image.open(io.BytesIO(base64.b64decode(src[len(prefix):]))) as shown:
    assert shown.size == (240, serving.THUMBNAIL_SIDE)  # 450 wide, 600 high
  assert not upload_folder.exists()


def test_small_image_thumbnail_keeps_its_size(client):
  src = _image_src(_upload(client, _png(1, size=(48, 48)), 'small.png'))
  data = base64.b64decode(src.split(',', 1)[1])
  with Image.open(io.BytesIO(data)) as shown:
    assert shown.size == (48, 48)


def test_quota_keeps_uploads_for_fetching_back(keeping_client,
                                               upload_folder):
  data = _jpeg()
  response = _upload(keeping_client, data)
  assert response.status_code == 200
  stored = os.listdir(upload_folder)
  assert len(stored) == 1 and re.fullmatch(r'[0-9a-f]{32}\.jpg', stored[0])
  assert _image_src(response) == '/uploads/' + stored[0]
  assert keeping_client.get(_image_src(response)).data == data


def test_quota_removes_the_oldest_uploads_first(classifier, upload_folder):
  images = [_png(seed) for seed in range(5)]
  quota = 2 * max(len(data) for data in images) + 10
  client = _client(classifier, upload_folder, upload_quota_bytes=quota)
  names = []
  for data in images:
    names.append(_image_src(_upload(client, data, 'p.png')).split('/')[-1])
    time.sleep(0.01)  # distinct modification times
    kept = os.listdir(upload_folder)
    assert sum(os.path.getsize(upload_folder / n) for n in kept) <= quota
  assert sorted(os.listdir(upload_folder)) == sorted(names[-2:])
  assert client.get('/uploads/' + names[0]).status_code == 404


def test_upload_above_quota_is_shown_not_kept(classifier, upload_folder):
  data = _png()
  client = _client(classifier, upload_folder,
                   upload_quota_bytes=len(data) - 1)
  response = _upload(client, data, 'p.png')
  assert response.status_code == 200
  assert _image_src(response).startswith('data:image/jpeg;base64,')
  assert os.listdir(upload_folder) == []


def test_stored_name_is_generated_and_stays_in_upload_folder(
    keeping_client, upload_folder, tmp_path):
  response = _upload(keeping_client, _jpeg(1), filename='../../escape.jpg')
  assert response.status_code == 200
  assert not (upload_folder.parent.parent / 'escape.jpg').exists()
  assert [n for n in os.listdir(upload_folder) if 'escape' in n] == []
  assert sorted(os.listdir(tmp_path)) == ['upload']


@pytest.mark.parametrize('path', ['/', '/api/classify'])
def test_non_image_and_truncated_image_get_400(keeping_client, upload_folder,
                                               path):
  truncated = _jpeg(2, size=(200, 200))
  truncated = truncated[:len(truncated) // 2]
  for data in (b'%PDF-1.4 not an image', truncated, b''):
    response = _upload(keeping_client, data, path=path)
    assert response.status_code == 400
    assert 'image' in response.get_data(as_text=True)
  assert os.listdir(upload_folder) == []


@pytest.mark.parametrize('path', ['/', '/api/classify'])
def test_bytes_after_the_image_end_get_400_and_are_not_kept(
    keeping_client, upload_folder, path):
  for data, name in ((_png(3) + b'\0' * 5000, 'PNG'),
                     (_jpeg(3) + b'payload' * 100, 'JPEG')):
    response = _upload(keeping_client, data, path=path)
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert 'follow the end of the %s image' % name in text
  assert os.listdir(upload_folder) == []


@pytest.mark.parametrize('options', [
    dict(progressive=True), dict(optimize=True), dict(quality=10),
    dict(restart_marker_blocks=2)])
def test_complete_jpegs_of_every_kind_pass_the_end_check(client, options):
  assert serving.check_image(_jpeg(4, size=(64, 80), **options)).extension == (
      '.jpg')
  assert _upload(client, _jpeg(4, **options)).status_code == 200


def test_png_with_chunks_after_the_pixels_passes(client):
  from PIL import PngImagePlugin  # pylint: disable=g-import-not-at-top
  info = PngImagePlugin.PngInfo()
  info.add_text('comment', 'x' * 300, zip=True)
  pixels = np.zeros((20, 20, 3), np.uint8)
  data = _encoded(pixels, 'PNG', pnginfo=info)
  assert _upload(client, data, 'p.png').status_code == 200


def test_default_pixel_limit_refuses_a_small_file_of_a_huge_image(client):
  buffer = io.BytesIO()
  Image.new('1', (7000, 7000)).save(buffer, format='PNG')
  data = buffer.getvalue()
  assert len(data) < MAX_UPLOAD  # the upload limit alone lets it through
  for path in ('/', '/api/classify'):
    response = _upload(client, data, 'huge.png', path=path)
    assert response.status_code == 413
    text = response.get_data(as_text=True)
    assert '7000x7000' in text and 'at most 16.0 megapixels' in text


def test_pixel_limit_counts_every_gif_frame(classifier, upload_folder):
  client = _client(classifier, upload_folder, max_pixels=1000)
  frames = [Image.new('RGB', (20, 20), (40 * i, 0, 0)) for i in range(3)]
  buffer = io.BytesIO()
  frames[0].save(buffer, format='GIF', save_all=True,
                 append_images=frames[1:])
  response = _upload(client, buffer.getvalue(), 'a.gif', path='/api/classify')
  assert response.status_code == 413
  assert 'x 3 frames' in response.get_json()['error']
  one_frame = io.BytesIO()
  frames[0].save(one_frame, format='GIF')
  assert _upload(client, one_frame.getvalue(), 'b.gif').status_code == 200


@pytest.mark.parametrize('path', ['/', '/api/classify'])
def test_upload_above_limit_gets_413(keeping_client, upload_folder, path):
  response = _upload(keeping_client, b'\xff' * (MAX_UPLOAD + 1), path=path)
  assert response.status_code == 413
  assert str(MAX_UPLOAD) in response.get_data(as_text=True)
  assert os.listdir(upload_folder) == []


def test_no_listing_and_no_path_tricks(keeping_client, client,
                                       upload_folder):
  _upload(keeping_client, _jpeg(3))
  (upload_folder.parent / 'secret.txt').write_text('secret')
  for url in ('/uploads/', '/uploads', '/uploads/..%2Fsecret.txt',
              '/uploads/../secret.txt', '/static/', '/templates/index.html',
              '/uploads/%s.jpg' % ('0' * 32)):
    response = keeping_client.get(url)
    assert response.status_code == 404, url
    assert b'secret' not in response.data
  stored = os.listdir(upload_folder)[0]
  assert client.get('/uploads/' + stored).status_code == 404  # keeps none


def test_api_returns_json_predictions(client, classifier):
  data = _jpeg(4)
  response = client.post('/api/classify', data=data,
                         content_type='image/jpeg')
  assert response.status_code == 200
  answer = response.get_json()
  expected = classifier.classify([data], 5)[0]
  assert [p['label'] for p in answer['predictions']] == [
      p.label for p in expected]
  assert [p['rank'] for p in answer['predictions']] == [1, 2, 3, 4, 5]
  scores = [p['score'] for p in answer['predictions']]
  assert scores == sorted(scores, reverse=True) and sum(scores) <= 1.0 + 1e-6
  assert answer['inference_ms'] > 0


class _BlockingClassifier(object):
  """Holds every classify call until released, to fill the slots."""
  model_name = 'blocking'

  def __init__(self, real):
    self._real = real
    self.entered = threading.Semaphore(0)
    self.release = threading.Event()

  def classify(self, images, top_k):
    self.entered.release()
    assert self.release.wait(30)
    return self._real.classify(images, top_k)


def test_requests_beyond_the_in_flight_limit_get_503(classifier,
                                                     upload_folder):
  blocking = _BlockingClassifier(classifier)
  app = serving.create_app(blocking, str(upload_folder),
                           limits=LIMITS._replace(max_in_flight=2))
  with concurrent.futures.ThreadPoolExecutor(2) as pool:
    held = [pool.submit(_upload, app.test_client(), _jpeg(seed),
                        path='/api/classify') for seed in range(2)]
    for _ in held:
      assert blocking.entered.acquire(timeout=30)
    for path in ('/api/classify', '/'):
      busy = _upload(app.test_client(), _jpeg(), path=path)
      assert busy.status_code == 503
      assert busy.headers['Retry-After'] == str(serving.RETRY_AFTER_S)
      assert 'busy' in busy.get_data(as_text=True)
    assert app.test_client().get('/').status_code == 200
    blocking.release.set()
    assert [f.result().status_code for f in held] == [200, 200]
  assert _upload(app.test_client(), _jpeg(), path='/api/classify'
                 ).status_code == 200  # the slots are free again


@contextlib.contextmanager
def _serving(app):
  """Runs `app` under `serving.make_server` on a free loopback port."""
  server = serving.make_server(app, '127.0.0.1', 0)
  thread = threading.Thread(target=server.serve_forever, daemon=True)
  thread.start()
  try:
    yield server.server_port
  finally:
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)
  assert not thread.is_alive()


def _post(port, data, timeout=60):
  request = urllib.request.Request(
      'http://127.0.0.1:%d/api/classify' % port, data=data,
      headers={'Content-Type': 'image/jpeg'})
  with helpers.NO_PROXY.open(request, timeout=timeout) as response:
    return json.loads(response.read())['predictions']


def test_concurrent_requests_over_http_agree(classifier, upload_folder):
  app = serving.create_app(classifier, str(upload_folder),
                           limits=LIMITS._replace(max_in_flight=6))
  with _serving(app) as port:
    images = [_jpeg(seed) for seed in range(4)] * 3
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
      answers = list(pool.map(lambda data: _post(port, data), images))
  for data, answer in zip(images, answers):
    expected = classifier.classify([data], 5)[0]
    assert [p['class_id'] for p in answer] == [p.class_id for p in expected]


def _post_chunked(port, data, chunk=4096):
  """-> (status, body), or (None, b'') if the server hung up mid-upload."""
  connection = http.client.HTTPConnection('127.0.0.1', port, timeout=60)
  try:
    chunks = (data[i:i + chunk] for i in range(0, len(data), chunk))
    connection.request('POST', '/api/classify', body=chunks,
                       headers={'Content-Type': 'image/png'},
                       encode_chunked=True)
    response = connection.getresponse()
    return response.status, response.read()
  except (ConnectionResetError, BrokenPipeError):
    return None, b''
  finally:
    connection.close()


def test_chunked_upload_over_the_limit_gets_413_not_a_cut(classifier,
                                                          upload_folder):
  app = serving.create_app(classifier, str(upload_folder), limits=LIMITS)
  small = _png(5)
  large = _png(5, size=(200, 200))
  assert len(small) < MAX_UPLOAD < len(large) < MAX_UPLOAD + 64 * 1024
  with _serving(app) as port:
    status, body = _post_chunked(port, small)
    assert status == 200 and b'predictions' in body
    status, body = _post_chunked(port, large)
    assert status == 413 and str(MAX_UPLOAD).encode() in body
    # Far past the limit waitress stops reading: a 413, or a reset when
    # the client is still sending, never an answer.
    status, _ = _post_chunked(port, large * 40)
    assert status in (413, None)


def test_slow_clients_hold_no_thread_and_are_timed_out(classifier,
                                                       upload_folder):
  app = serving.create_app(classifier, str(upload_folder),
                           limits=LIMITS._replace(timeout_s=1))
  with _serving(app) as port:
    threads_serving = threading.active_count()
    slow = []
    for _ in range(40):
      connection = socket.create_connection(('127.0.0.1', port), timeout=10)
      connection.sendall(b'POST /api/classify HTTP/1.1\r\nHost: x\r\n'
                         b'Content-Length: 1000\r\n\r\npart of the body')
      slow.append(connection)
    assert _post(port, _jpeg(6), timeout=30)  # others are still answered
    # werkzeug's threaded server had one more thread per connection here.
    assert threading.active_count() <= threads_serving
    deadline = time.time() + 15
    for connection in slow:  # each closed by the server: recv sees EOF
      connection.settimeout(max(0.1, deadline - time.time()))
      assert connection.recv(1024) == b''
      connection.close()


def _run_server(*args):
  return helpers.run_script('server.py', *args, timeout=120)


def _one_error_line(result):
  assert result.returncode == 1
  assert 'Traceback' not in result.stderr, result.stderr
  errors = [line for line in result.stderr.splitlines()
            if line.startswith('ERROR: ')]
  assert len(errors) == 1, result.stderr
  return errors[0]


# 99999 used to listen on another port silently, -5 (same check) and abc
# ended in tracebacks.
@pytest.mark.parametrize('port', ['99999', 'abc'])
def test_bad_port_is_one_error_line(port):
  error = _one_error_line(_run_server('--model_file=/nonexistent.pb',
                                      '--port=' + port))
  assert '--port' in error


def test_unfrozen_graph_is_refused_at_start(exported, tmp_path):
  spec, _ = exported
  graph_def, _ = inference.export_graph_def(spec)
  unfrozen = str(tmp_path / 'lenet_unfrozen.pb')
  inference.write_graph_def(graph_def, unfrozen)
  error = _one_error_line(_run_server('--model_file=' + unfrozen, '--port=0'))
  assert 'not frozen' in error
  assert 'freeze_graph.py --input_graph=' + unfrozen in error


def test_server_py_prints_its_memory_ceiling_and_real_port(exported):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2', CUDA_VISIBLE_DEVICES='')
  process = subprocess.Popen(
      [sys.executable, os.path.join(helpers.ROOT, 'server.py'),
       '--model_file=' + exported[1], '--port=0', '--max_in_flight=3',
       '--max_megapixels=2'], cwd=helpers.ROOT, env=env,
      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
  try:
    memory_line = process.stdout.readline()
    listening_line = process.stdout.readline()
    port = int(re.fullmatch(r'listening on http://127\.0\.0\.1:(\d+)/\n',
                            listening_line).group(1))
    assert port != 0 and _post(port, _jpeg(7))
  finally:
    process.terminate()
    process.wait(timeout=30)
  limits = serving.DEFAULT_LIMITS._replace(max_in_flight=3,
                                           max_pixels=2 * 1000 * 1000)
  match = re.match(r'memory: \d+ MiB at start-up \(the model loaded\); '
                   r'requests add at most (\d+) MiB \(3 in flight',
                   memory_line)
  assert match, memory_line
  assert int(match.group(1)) == round(
      serving.memory_ceiling_bytes(limits) / 2**20)
