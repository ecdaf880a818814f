"""The classification web page and JSON API behind `server.py`.

    classifier = inference.Classifier('/tmp/model_freeze.pb')
    serving.check_model_answers(classifier, '/tmp/model_freeze.pb')
    app = serving.create_app(classifier, '/tmp/upload')
    server = serving.make_server(app, '127.0.0.1', 5001)
    server.serve_forever()

`GET /` shows an upload form; `POST /` shows the image with its top classes,
scores and the inference time; `POST /api/classify` answers JSON. Uploads are
checked with Pillow before the model sees them: non-images, truncated files
and bytes after an image's end get 400; bodies above the size limit and
images above the pixel limit get 413; requests beyond the in-flight limit get
503 with a Retry-After header.

What bounded input cannot exceed (`Limits`, all set by server.py's flags):

* Memory: at most `max_in_flight` uploads are read and decoded at a time, each
  at most `max_upload_bytes` and `max_pixels` pixels. `request_memory_bytes`
  is what one costs (copies of the body plus `DECODE_BYTES_PER_PIXEL` per
  pixel); `memory_ceiling_bytes` adds every slot and the request buffers of
  `max_connections` open connections (`CONNECTION_MEMORY_BYTES` each: the
  headers and the part of a body waitress keeps in memory). server.py
  prints that total above the loaded model's own footprint when it starts.
* Disk: with `upload_quota_bytes` 0 (the default) nothing is written; the
  page shows a thumbnail from memory. Above 0, uploads are kept in the upload
  folder and the oldest go first once they would pass the quota. waitress
  spools request bodies above `BUFFERED_BODY_BYTES` to temporary files while
  they arrive (at most `max_connections` bodies, deleted when answered).
* Threads and slow clients: waitress reads requests on one I/O thread and
  hands only complete ones to a fixed pool of `max_in_flight + SPARE_THREADS`
  workers, so a slow client holds a connection, never a thread; a connection
  silent for `timeout_s` seconds is closed, and at most `max_connections` are
  open.
"""

import base64
import collections
import functools
import io
import os
import re
import struct
import threading
import time
import uuid

import flask
import waitress
from PIL import Image
from waitress import wasyncore
from werkzeug import exceptions

import tf_compat  # noqa: F401

from deployment import image_limits
from deployment import inference

TEMPLATE_FOLDER = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'templates')
UPLOAD_FIELD = 'image'
RETRY_AFTER_S = 2
THUMBNAIL_SIDE = 320
# Workers beyond the classification slots, so the page and the 503 answers
# still go out while every slot is busy.
SPARE_THREADS = 2
# waitress keeps a request body this large in memory, larger ones on disk,
# and refuses longer request headers (431).
BUFFERED_BODY_BYTES = 512 * 1024
MAX_HEADER_BYTES = 64 * 1024
# Peak bytes per pixel while one image is decoded and preprocessed at full
# size (Pillow's check, then TensorFlow's uint8 and float copies).
# benchmarks/server_memory.py, one 16 MP upload at a time: lenet and cifarnet
# 19.7, inception 29.2, vgg (resnet_v1_50) 31.6; 40 leaves a margin.
DECODE_BYTES_PER_PIXEL = 40
CONNECTION_MEMORY_BYTES = BUFFERED_BODY_BYTES + MAX_HEADER_BYTES
# Copies of the body a request holds at once: the parsed upload, the bytes
# read from it and the string tensor TensorFlow decodes.
BODY_COPIES = 3
# How often waitress looks for silent connections, at most.
_CLEANUP_INTERVAL_S = 5
_POLL_S = 0.25  # how soon serve_forever notices shutdown()
# Room for multipart boundaries and headers around an upload at the limit.
_MULTIPART_SLACK = 64 * 1024

Limits = collections.namedtuple('Limits', [
    'max_upload_bytes',    # request body; above: 413
    'max_pixels',          # width x height (x frames); above: 413
    'max_in_flight',       # uploads read and decoded at once; above: 503
    'upload_quota_bytes',  # uploads kept on disk; 0 keeps none
    'timeout_s',           # a connection silent this long is closed
    'max_connections',     # open connections; more wait to be accepted
])
DEFAULT_LIMITS = Limits(max_upload_bytes=10 * 1024 * 1024,
                        max_pixels=image_limits.DEFAULT_MAX_PIXELS,
                        max_in_flight=2,
                        upload_quota_bytes=0, timeout_s=30,
                        max_connections=100)

# Formats both Pillow (validation) and TensorFlow (inference) decode.
_EXTENSIONS = {'JPEG': '.jpg', 'PNG': '.png', 'GIF': '.gif', 'BMP': '.bmp'}
_STORED_NAME = re.compile(r'[0-9a-f]{32}\.(jpg|png|gif|bmp)')
_PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
# JPEG markers that stand alone, without a length: TEM and RST0-7.
_JPEG_STANDALONE = frozenset([0x01] + list(range(0xD0, 0xD8)))


# The upload is not a complete JPEG, PNG, GIF or BMP image (400); one with
# more pixels than the server decodes (413).
BadImage = image_limits.BadImage
ImageTooLarge = image_limits.ImageTooLarge


CheckedImage = collections.namedtuple('CheckedImage',
                                      ['extension', 'thumbnail_url'])


def request_memory_bytes(limits):
  """The most one request in flight holds: its body and its decode."""
  return (BODY_COPIES * limits.max_upload_bytes +
          DECODE_BYTES_PER_PIXEL * limits.max_pixels)


def memory_ceiling_bytes(limits):
  """The most all requests together add to the loaded model's memory."""
  return (limits.max_in_flight * request_memory_bytes(limits) +
          limits.max_connections * CONNECTION_MEMORY_BYTES)


def _png_end(data):
  """Offset just past the IEND chunk, or None if there is none."""
  position = len(_PNG_SIGNATURE)
  while position + 8 <= len(data):
    length, kind = struct.unpack('>I4s', data[position:position + 8])
    position += 12 + length  # length, type, data, CRC
    if kind == b'IEND':
      return position
  return None


def _jpeg_end(data):
  """Offset just past the EOI marker, or None if there is none."""
  position = 2  # after SOI
  while position + 1 < len(data):
    if data[position] != 0xFF:
      return None
    marker = data[position + 1]
    if marker == 0xD9:
      return position + 2
    if marker == 0xFF:  # fill byte before a marker
      position += 1
    elif marker in _JPEG_STANDALONE:
      position += 2
    else:
      length, = struct.unpack('>H', data[position + 2:position + 4])
      position += 2 + length
      if marker == 0xDA:  # scan data runs to the next real marker
        position = _after_scan_data(data, position)
  return None


def _after_scan_data(data, position):
  """Offset of the first marker after entropy-coded data at `position`."""
  while True:
    position = data.find(b'\xff', position)
    if position < 0 or position + 1 >= len(data):
      return len(data)
    following = data[position + 1]
    # FF00 is an escaped FF byte and RSTn sits inside the scan.
    if following != 0x00 and not 0xD0 <= following <= 0xD7:
      return position
    position += 2


_END_FINDERS = {'PNG': _png_end, 'JPEG': _jpeg_end}


def _check_nothing_after_end(data, image_format):
  find_end = _END_FINDERS.get(image_format)
  end = find_end(data) if find_end else None
  if end is not None and end < len(data):
    raise BadImage('%d bytes follow the end of the %s image; upload the '
                   'image file alone' % (len(data) - end, image_format))


def _thumbnail_url(image, side):
  """A data: URL of `image` scaled to fit side x side (never enlarged)."""
  thumbnail = image.convert('RGB')
  thumbnail.thumbnail((side, side))
  buffer = io.BytesIO()
  thumbnail.save(buffer, format='JPEG', quality=85)
  return 'data:image/jpeg;base64,' + base64.b64encode(
      buffer.getvalue()).decode('ascii')


def check_image(data, max_pixels=DEFAULT_LIMITS.max_pixels,
                thumbnail_side=None):
  """Decodes image bytes fully once, before the model sees them.

  Args:
    data: the uploaded bytes.
    max_pixels: larger images are refused from their header, undecoded.
    thumbnail_side: if set, also make a thumbnail that fits this square.

  Returns:
    A `CheckedImage`: the file extension and the thumbnail's data: URL (None
    without `thumbnail_side`).

  Raises:
    ImageTooLarge: more than `max_pixels` pixels.
    BadImage: empty, not an image, an unsupported format, truncated or
      corrupt data, or bytes after the image's end (PNG, JPEG).
  """
  if not data:
    raise BadImage('the upload is empty; choose an image file')
  try:
    with Image.open(io.BytesIO(data)) as image:
      if image.format not in _EXTENSIONS:
        raise BadImage('%s images are not supported; upload JPEG, PNG, GIF '
                       'or BMP' % image.format)
      image_limits.check_size(image, max_pixels)
      image.load()  # raises on truncated or corrupt pixel data
      _check_nothing_after_end(data, image.format)
      thumbnail = (_thumbnail_url(image, thumbnail_side) if thumbnail_side
                   else None)
      return CheckedImage(_EXTENSIONS[image.format], thumbnail)
  except BadImage:
    raise
  except Image.DecompressionBombError as e:
    raise image_limits.bomb_error(e, max_pixels) from e
  except Image.UnidentifiedImageError as e:
    raise BadImage('the upload is not an image; upload a JPEG, PNG, GIF or '
                   'BMP file') from e
  except (OSError, SyntaxError, ValueError, struct.error, EOFError) as e:
    raise BadImage('the image is truncated or corrupt (%s); upload a complete '
                   'JPEG, PNG, GIF or BMP file' %
                   ' '.join(str(e).split())[:120]) from e


class UploadStore(object):
  """Keeps uploads under generated names, oldest removed past a quota."""

  def __init__(self, folder, quota_bytes):
    self.folder = os.path.realpath(folder)
    self.quota_bytes = quota_bytes
    self._lock = threading.Lock()  # one writer prunes at a time
    os.makedirs(self.folder, exist_ok=True)

  def keep(self, data, extension):
    """Stores `data`; returns its name, or None if it alone passes the quota."""
    if len(data) > self.quota_bytes:
      return None
    name = uuid.uuid4().hex + extension
    with self._lock:
      with open(os.path.join(self.folder, name), 'xb') as f:
        f.write(data)
      self._prune()
    return name

  def _prune(self):
    stored = []
    for entry in os.scandir(self.folder):
      if _STORED_NAME.fullmatch(entry.name):
        stat = entry.stat()
        stored.append((stat.st_mtime_ns, entry.name, stat.st_size))
    total = sum(size for _, _, size in stored)
    for _, name, size in sorted(stored):
      if total <= self.quota_bytes:
        break
      os.remove(os.path.join(self.folder, name))
      total -= size


def _blank_png():
  buffer = io.BytesIO()
  Image.new('RGB', (8, 8), (128, 128, 128)).save(buffer, format='PNG')
  return buffer.getvalue()


def check_model_answers(classifier, model_path):
  """Classifies one blank image, so a model that cannot answer fails now.

  (`inference.Classifier` already refuses a graph that is not frozen.)

  Raises:
    inference.ModelError: naming `model_path`, when the model fails.
  """
  try:
    classifier.classify([_blank_png()], 1)
  except inference.ModelError as error:
    raise inference.ModelError('%s: %s' % (model_path, error)) from error


def _only_with_a_free_slot(slots, view, busy_answer):
  """`view`, run only while a slot is free; else `busy_answer()` with 503."""

  @functools.wraps(view)
  def guarded(*args, **kwargs):
    if not slots.acquire(blocking=False):
      response = flask.make_response(busy_answer(), 503)
      response.headers['Retry-After'] = str(RETRY_AFTER_S)
      return response
    try:
      return view(*args, **kwargs)
    finally:
      slots.release()

  return guarded


class _Views(object):
  """The pages and API of one app, around its classifier, limits and store."""

  def __init__(self, classifier, num_top_predictions, limits, store):
    self._classifier = classifier
    self._num_top_predictions = num_top_predictions
    self._limits = limits
    self._store = store
    self.busy_message = ('the server is busy (%d uploads are being '
                         'classified); try again in %d s' %
                         (limits.max_in_flight, RETRY_AFTER_S))

  def _classify(self, data, thumbnail_side=None):
    """-> (CheckedImage, predictions, milliseconds); raises BadImage."""
    checked = check_image(data, self._limits.max_pixels, thumbnail_side)
    start = time.perf_counter()
    try:
      predictions = self._classifier.classify(
          [data], self._num_top_predictions)[0]
    except inference.ImageError as error:
      raise BadImage(str(error)) from error
    return checked, predictions, (time.perf_counter() - start) * 1000.0

  def _page_with(self, status=200, **values):
    return flask.render_template('index.html',
                                 model_name=self._classifier.model_name,
                                 **values), status

  def _error(self, message, status):
    if flask.request.path.startswith('/api/'):
      return flask.jsonify(error=message), status
    return self._page_with(status, error=message)

  def _bad_image(self, error):
    return self._error(str(error),
                       413 if isinstance(error, ImageTooLarge) else 400)

  def index(self):
    return self._page_with()

  def busy_page(self):
    return self._page_with(error=self.busy_message)[0]

  def busy_json(self):
    return flask.jsonify(error=self.busy_message)

  def page(self):
    upload = flask.request.files.get(UPLOAD_FIELD)
    if upload is None:
      return self._page_with(400, error='choose an image file first')
    data = upload.read()
    keep = self._store is not None and len(data) <= self._store.quota_bytes
    try:
      checked, predictions, milliseconds = self._classify(
          data, None if keep else THUMBNAIL_SIDE)
    except BadImage as error:
      return self._bad_image(error)
    stored_name = self._store.keep(data, checked.extension) if keep else None
    image_url = (flask.url_for('uploaded_file', name=stored_name)
                 if stored_name else checked.thumbnail_url)
    return self._page_with(predictions=predictions,
                           inference_ms=milliseconds, image_url=image_url)

  def uploaded_file(self, name):
    if self._store is None or not _STORED_NAME.fullmatch(name):
      flask.abort(404)
    return flask.send_from_directory(self._store.folder, name)

  def api_classify(self):
    upload = flask.request.files.get(UPLOAD_FIELD)
    data = upload.read() if upload is not None else flask.request.get_data()
    try:
      _, predictions, milliseconds = self._classify(data)
    except BadImage as error:
      return self._bad_image(error)
    return flask.jsonify(
        predictions=[{'rank': rank, 'class_id': p.class_id, 'label': p.label,
                      'score': p.score}
                     for rank, p in enumerate(predictions, 1)],
        inference_ms=milliseconds)

  def too_large(self, _):
    return self._error('the upload is larger than %d bytes (this server\'s '
                       'limit)' % self._limits.max_upload_bytes, 413)


def create_app(classifier, upload_folder, num_top_predictions=5,
               limits=DEFAULT_LIMITS):
  """Builds the Flask app around an already loaded `inference.Classifier`.

  Args:
    classifier: the model, already checked (`check_model_answers`).
    upload_folder: where uploads are kept when `limits.upload_quota_bytes`
      is above 0 (created then); unused otherwise.
    num_top_predictions: classes per answer.
    limits: the `Limits` the app (and `make_server`) enforce.
  """
  app = flask.Flask(__name__, template_folder=TEMPLATE_FOLDER,
                    static_folder=None)
  app.config['MAX_CONTENT_LENGTH'] = limits.max_upload_bytes
  app.config['MAX_FORM_MEMORY_SIZE'] = limits.max_upload_bytes
  app.config['SERVING_LIMITS'] = limits
  store = (UploadStore(upload_folder, limits.upload_quota_bytes)
           if limits.upload_quota_bytes > 0 else None)
  views = _Views(classifier, num_top_predictions, limits, store)
  # One set of slots for both upload routes: the limit is on the process.
  slots = threading.BoundedSemaphore(limits.max_in_flight)
  app.add_url_rule('/', 'index', views.index, methods=['GET'])
  app.add_url_rule('/', 'page', _only_with_a_free_slot(
      slots, views.page, views.busy_page), methods=['POST'])
  app.add_url_rule('/uploads/<name>', 'uploaded_file', views.uploaded_file,
                   methods=['GET'])
  app.add_url_rule('/api/classify', 'api_classify', _only_with_a_free_slot(
      slots, views.api_classify, views.busy_json), methods=['POST'])
  app.register_error_handler(exceptions.RequestEntityTooLarge,
                             views.too_large)
  return app


class Server(object):
  """waitress serving one app, with socketserver's start and stop calls."""

  def __init__(self, app, host, port, limits):
    self._map = {}
    self._stopping = threading.Event()
    self._stopped = threading.Event()
    self._stopped.set()
    # waitress refuses bodies well past the app's limit before buffering
    # them (chunked ones too); the app answers the rest with its message.
    self._waitress = waitress.create_server(
        app, map=self._map, host=host, port=port,
        threads=limits.max_in_flight + SPARE_THREADS,
        connection_limit=limits.max_connections,
        channel_timeout=limits.timeout_s,
        cleanup_interval=max(1, min(_CLEANUP_INTERVAL_S, limits.timeout_s)),
        max_request_body_size=limits.max_upload_bytes + _MULTIPART_SLACK,
        inbuf_overflow=BUFFERED_BODY_BYTES,
        max_request_header_size=MAX_HEADER_BYTES)

  @property
  def server_port(self):
    """The port listened on (the real one when 0 was asked for)."""
    # A host name with several addresses gets one socket per address.
    listening = getattr(self._waitress, 'effective_listen', None)
    port = listening[0][1] if listening else self._waitress.effective_port
    return int(port)  # waitress keeps it as text

  def serve_forever(self):
    """Answers requests until `shutdown()` is called from another thread."""
    self._stopping.clear()
    self._stopped.clear()
    try:
      while not self._stopping.is_set():
        wasyncore.loop(timeout=_POLL_S, map=self._map, count=1)
    finally:
      self._stopped.set()

  def shutdown(self):
    """Stops `serve_forever` and waits for it to return."""
    self._stopping.set()
    self._stopped.wait()

  def server_close(self):
    """Closes the listening socket and connections, stops the workers."""
    self._waitress.task_dispatcher.shutdown()
    wasyncore.close_all(self._map)


def make_server(app, host='127.0.0.1', port=5001):
  """A waitress server for `app` under its `Limits`; port 0 = any free."""
  return Server(app, host, port, app.config['SERVING_LIMITS'])
