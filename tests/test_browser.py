"""The upload page in a real browser: headless Chromium via selenium."""

import os
import re
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

# The README's TensorBoard picture: the two curves every run writes, as
# written (no smoothing; see SHOW_OUTLIERS_JS).
TENSORBOARD_PAGE = ('#scalars&tagFilter=total_loss%7Clearning_rate'
                    '&_smoothingWeight=0')
DOCS_SCREENSHOT = os.path.join(helpers.ROOT, 'docs', 'tensorboard_scalars.png')
# The charts live in nested shadow DOMs: [tag, [path data of its lines]].
CHART_LINES_JS = """
function deep(root, selector, found) {
  for (const element of root.querySelectorAll('*')) {
    if (element.matches(selector)) found.push(element);
    if (element.shadowRoot) deep(element.shadowRoot, selector, found);
  }
  return found;
}
return deep(document, 'tf-scalar-card', []).map(card => [card.tag,
    deep(card.shadowRoot || card, 'path.line', []).map(
        line => line.getAttribute('d') || '')]);
"""

# Unticks "Ignore outliers in chart scaling" (the URL cannot), so the first,
# largest loss stays on the chart; true once it is unticked.
SHOW_OUTLIERS_JS = """
function deep(root, found) {
  for (const element of root.querySelectorAll('*')) {
    if (element.tagName === 'PAPER-CHECKBOX' &&
        element.textContent.includes('Ignore outliers')) found.push(element);
    if (element.shadowRoot) deep(element.shadowRoot, found);
  }
  return found;
}
const boxes = deep(document, []);
boxes.filter(box => box.checked).forEach(box => box.click());
return boxes.length > 0 && boxes.every(box => !box.checked);
"""
# Calls back after the next two frames: the charts have redrawn by then.
AFTER_REDRAW_JS = """
const done = arguments[arguments.length - 1];
requestAnimationFrame(() => requestAnimationFrame(() => done(true)));
"""

webdriver = pytest.importorskip('selenium.webdriver')
if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
  pytest.skip('needs %s and %s (apt-get install chromium chromium-driver, or '
              'scripts/install_system_deps.sh)' % (CHROMIUM, CHROMEDRIVER),
              allow_module_level=True)


@pytest.fixture(scope='module')
def classifier(frozen_lenet):
  return inference.Classifier(frozen_lenet[1])


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


@pytest.fixture(scope='module')
def tensorboard_run(tensorboard_train_dir, tmp_path_factory):
  """(TensorBoard's URL, {tag: [(step, value)]}) of the short training run."""
  expected = {tag: helpers.event_scalars(tensorboard_train_dir, tag)
              for tag in helpers.TENSORBOARD_TAGS}
  log_path = str(tmp_path_factory.mktemp('tensorboard_log') / 'log')
  with helpers.running_tensorboard(tensorboard_train_dir, log_path) as (
      process, url):
    helpers.wait_for_scalars(process, url, expected)
    yield url, expected


def _drawn_points(driver):
  """{tag: vertices of its drawn line}, or None until every chart has one."""
  drawn = {tag: [len(re.findall('[ML]', path)) for path in paths]
           for tag, paths in driver.execute_script(CHART_LINES_JS)}
  wanted = {tag: drawn.get(tag, []) for tag in helpers.TENSORBOARD_TAGS}
  return wanted if all(any(lines) for lines in wanted.values()) else None


def test_tensorboard_scalars_page_draws_the_curves(browser, tensorboard_run,
                                                   tmp_path):
  from selenium.webdriver.support.ui import WebDriverWait  # pylint: disable=g-import-not-at-top
  url, expected = tensorboard_run
  browser.set_window_size(1400, 900)
  browser.get(url + TENSORBOARD_PAGE)
  WebDriverWait(browser, 60).until(_drawn_points)
  WebDriverWait(browser, 30).until(
      lambda driver: driver.execute_script(SHOW_OUTLIERS_JS))
  browser.set_script_timeout(30)
  assert browser.execute_async_script(AFTER_REDRAW_JS)
  # Counted once the outliers are back on the chart: while they are ignored
  # the first, largest losses are left out of the line.
  assert _drawn_points(browser) == {tag: [len(points)]
                                    for tag, points in expected.items()}
  screenshot = str(tmp_path / 'tensorboard_scalars.png')
  assert browser.save_screenshot(screenshot)
  with Image.open(screenshot) as image:
    assert image.width >= 1000 and len(image.getcolors(1 << 20) or ()) > 50
  # Refreshes the README's picture on request only: a test run must not
  # rewrite a tracked file. os.replace: never a half-written PNG.
  if os.environ.get('UPDATE_DOCS_SCREENSHOTS') == '1':
    staged = DOCS_SCREENSHOT + '.tmp'
    shutil.copyfile(screenshot, staged)
    os.replace(staged, DOCS_SCREENSHOT)
