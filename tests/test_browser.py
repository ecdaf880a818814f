"""The upload page in a real browser: headless Chromium via selenium."""

import os
import shutil
import tempfile
import threading

import numpy as np
import pytest
from PIL import Image

import deployment_helpers as helpers
from deployment import inference
from deployment import serving

CHROMIUM = '/usr/bin/chromium'
CHROMEDRIVER = '/usr/bin/chromedriver'
HEADLESS_FLAGS = ('--headless', '--no-sandbox', '--disable-gpu',
                  '--disable-quic', '--no-first-run',
                  '--disable-background-networking',
                  '--disable-component-update', '--disable-sync',
                  '--disable-dev-shm-usage')

webdriver = pytest.importorskip('selenium.webdriver')
if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
  pytest.skip('needs %s and %s (apt-get install chromium chromium-driver, or '
              'scripts/install_system_deps.sh)' % (CHROMIUM, CHROMEDRIVER),
              allow_module_level=True)


@pytest.fixture(scope='module')
def classifier(tmp_path_factory):
  work = tmp_path_factory.mktemp('browser')
  dataset_dir = str(work / 'quiz')
  helpers.write_dataset(dataset_dir, num_classes=7)
  train_dir = str(work / 'train')
  helpers.write_checkpoint(train_dir, 'lenet', num_classes=7)
  frozen = str(work / 'lenet_freeze.pb')
  helpers.export_frozen(dataset_dir, train_dir, frozen, 'lenet')
  return inference.Classifier(frozen)


@pytest.fixture
def server_url(classifier, tmp_path):
  app = serving.create_app(classifier, str(tmp_path / 'upload'))
  server = serving.make_server(app, '127.0.0.1', 0)
  thread = threading.Thread(target=server.serve_forever, daemon=True)
  thread.start()
  yield 'http://127.0.0.1:%d/' % server.server_port
  server.shutdown()
  server.server_close()
  thread.join(timeout=10)


@pytest.fixture
def browser():
  from selenium.webdriver.chrome.options import Options  # pylint: disable=g-import-not-at-top
  from selenium.webdriver.chrome.service import Service  # pylint: disable=g-import-not-at-top
  profile = tempfile.mkdtemp(prefix='chromium-profile-')
  options = Options()
  options.binary_location = CHROMIUM
  for flag in HEADLESS_FLAGS + ('--user-data-dir=' + profile,):
    options.add_argument(flag)
  driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
  driver.set_page_load_timeout(60)
  try:
    yield driver
  finally:
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def test_upload_in_browser_shows_top5(browser, server_url, classifier,
                                      tmp_path):
  from selenium.webdriver.common.by import By  # pylint: disable=g-import-not-at-top
  from selenium.webdriver.support.ui import WebDriverWait  # pylint: disable=g-import-not-at-top
  pixels = np.random.RandomState(5).randint(0, 255, (48, 48, 3), np.uint8)
  image_path = tmp_path / 'sunflower.png'
  Image.fromarray(pixels).save(str(image_path))
  browser.get(server_url)
  assert browser.find_element(By.ID, 'classify').is_displayed()
  browser.find_element(By.ID, 'image').send_keys(str(image_path))
  browser.find_element(By.ID, 'classify').click()
  # The click only starts the form's submission: wait for the result page,
  # or a slow first request finds the rows of the form page (none).
  rows = WebDriverWait(browser, 60).until(
      lambda driver: driver.find_elements(By.CSS_SELECTOR,
                                          '#predictions tr.prediction'))
  labels = [row.find_element(By.CLASS_NAME, 'label').text for row in rows]
  scores = [float(row.find_element(By.CLASS_NAME, 'score').text)
            for row in rows]
  expected = classifier.classify([image_path.read_bytes()], 5)[0]
  assert labels == [p.label for p in expected]
  assert scores == pytest.approx([p.score for p in expected], abs=1e-5)
  assert 'Inference time' in browser.find_element(By.ID, 'inference-time').text
  shown = browser.find_element(By.ID, 'uploaded')
  assert browser.execute_script(
      'return arguments[0].complete && arguments[0].naturalWidth', shown) == 48
