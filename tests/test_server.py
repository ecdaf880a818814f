"""server.py's app: the page, the JSON API, hostile uploads, concurrency."""

import concurrent.futures
import io
import json
import os
import re
import threading
import urllib.request

import numpy as np
import pytest
from PIL import Image

import deployment_helpers as helpers
from deployment import inference
from deployment import serving

MAX_UPLOAD = 64 * 1024
# Loopback only: never route through an http_proxy from the environment.
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@pytest.fixture(scope='module')
def classifier(tmp_path_factory):
  work = tmp_path_factory.mktemp('server')
  dataset_dir = str(work / 'quiz')
  helpers.write_dataset(dataset_dir, num_classes=6)
  train_dir = str(work / 'train')
  helpers.write_checkpoint(train_dir, 'lenet', num_classes=6)
  frozen = str(work / 'lenet_freeze.pb')
  helpers.export_frozen(dataset_dir, train_dir, frozen, 'lenet')
  return inference.Classifier(frozen)


@pytest.fixture
def upload_folder(tmp_path):
  return tmp_path / 'upload'


@pytest.fixture
def client(classifier, upload_folder):
  app = serving.create_app(classifier, str(upload_folder),
                           num_top_predictions=5, max_upload_bytes=MAX_UPLOAD)
  assert not app.debug
  return app.test_client()


def _jpeg(seed=0, size=(40, 30)):
  pixels = np.random.RandomState(seed).randint(0, 255, size + (3,), np.uint8)
  buffer = io.BytesIO()
  Image.fromarray(pixels).save(buffer, format='JPEG')
  return buffer.getvalue()


def _upload(client, data, filename='photo.jpg', path='/'):
  return client.post(path, data={'image': (io.BytesIO(data), filename)},
                     content_type='multipart/form-data')


def test_get_shows_upload_form(client):
  response = client.get('/')
  assert response.status_code == 200
  page = response.get_data(as_text=True)
  assert 'enctype="multipart/form-data"' in page
  assert 'type="file"' in page and 'name="image"' in page


def test_post_shows_image_top5_scores_and_time(client, classifier,
                                               upload_folder):
  data = _jpeg()
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
  src = re.search(r'<img id="uploaded" src="([^"]+)"', page).group(1)
  stored = os.listdir(upload_folder)
  assert len(stored) == 1 and re.fullmatch(r'[0-9a-f]{32}\.jpg', stored[0])
  assert src == '/uploads/' + stored[0]
  assert client.get(src).data == data


def test_stored_name_is_generated_and_stays_in_upload_folder(
    client, upload_folder, tmp_path):
  response = _upload(client, _jpeg(1), filename='../../escape.jpg')
  assert response.status_code == 200
  assert not (tmp_path / 'escape.jpg').exists()
  assert not (upload_folder.parent.parent / 'escape.jpg').exists()
  assert [n for n in os.listdir(upload_folder) if 'escape' in n] == []
  assert sorted(os.listdir(tmp_path)) == ['upload']


@pytest.mark.parametrize('path', ['/', '/api/classify'])
def test_non_image_and_truncated_image_get_400(client, upload_folder, path):
  truncated = _jpeg(2, size=(200, 200))
  truncated = truncated[:len(truncated) // 2]
  for data in (b'%PDF-1.4 not an image', truncated, b''):
    response = _upload(client, data, path=path)
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert 'image' in text
  assert not upload_folder.exists() or os.listdir(upload_folder) == []


@pytest.mark.parametrize('path', ['/', '/api/classify'])
def test_upload_above_limit_gets_413(client, upload_folder, path):
  response = _upload(client, b'\xff' * (MAX_UPLOAD + 1), path=path)
  assert response.status_code == 413
  assert str(MAX_UPLOAD) in response.get_data(as_text=True)
  assert os.listdir(upload_folder) == []


def test_no_listing_and_no_path_tricks(client, upload_folder):
  _upload(client, _jpeg(3))
  (upload_folder.parent / 'secret.txt').write_text('secret')
  for url in ('/uploads/', '/uploads', '/uploads/..%2Fsecret.txt',
              '/uploads/../secret.txt', '/static/', '/templates/index.html',
              '/uploads/%s.jpg' % ('0' * 32)):
    response = client.get(url)
    assert response.status_code == 404, url
    assert b'secret' not in response.data


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


def test_concurrent_requests_over_http_agree(classifier, upload_folder):
  app = serving.create_app(classifier, str(upload_folder))
  server = serving.make_server(app, '127.0.0.1', 0)
  thread = threading.Thread(target=server.serve_forever, daemon=True)
  thread.start()
  try:
    url = 'http://127.0.0.1:%d/api/classify' % server.server_port
    images = [_jpeg(seed) for seed in range(4)] * 3

    def post(data):
      request = urllib.request.Request(url, data=data,
                                       headers={'Content-Type': 'image/jpeg'})
      with _NO_PROXY.open(request, timeout=60) as response:
        return json.loads(response.read())['predictions']

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
      answers = list(pool.map(post, images))
    for data, answer in zip(images, answers):
      expected = classifier.classify([data], 5)[0]
      assert [p['class_id'] for p in answer] == [p.class_id for p in expected]
  finally:
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)
  assert not thread.is_alive()
