"""The classification web page and JSON API behind `server.py`.

    classifier = inference.Classifier('/tmp/model_freeze.pb')
    app = serving.create_app(classifier, '/tmp/upload')
    server = serving.make_server(app, '127.0.0.1', 5001)
    server.serve_forever()

`GET /` shows an upload form; `POST /` stores the image under a generated
name and shows it with its top classes, scores and the inference time;
`POST /api/classify` answers JSON. Uploads are checked with Pillow before the
model sees them: non-images and truncated files get 400, bodies above the
size limit 413. Only files this server stored can be fetched back, by their
generated names.
"""

import io
import os
import re
import time
import uuid

import flask
from PIL import Image
from werkzeug import exceptions
from werkzeug import serving as werkzeug_serving

from deployment import inference

TEMPLATE_FOLDER = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'templates')
DEFAULT_MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 50 * 1000 * 1000  # larger images are refused, not decoded
UPLOAD_FIELD = 'image'

# Formats both Pillow (validation) and TensorFlow (inference) decode.
_EXTENSIONS = {'JPEG': '.jpg', 'PNG': '.png', 'GIF': '.gif', 'BMP': '.bmp'}
_STORED_NAME = re.compile(r'[0-9a-f]{32}\.(jpg|png|gif|bmp)')


class BadImage(ValueError):
  """The upload is not a complete JPEG, PNG, GIF or BMP image."""


def check_image(data):
  """Returns the file extension of image bytes after decoding them fully.

  Raises:
    BadImage: empty, not an image, an unsupported format, truncated or
      corrupt data, or more than MAX_PIXELS pixels.
  """
  if not data:
    raise BadImage('the upload is empty; choose an image file')
  try:
    with Image.open(io.BytesIO(data)) as image:
      image_format = image.format
      width, height = image.size
      if image_format not in _EXTENSIONS:
        raise BadImage('%s images are not supported; upload JPEG, PNG, GIF '
                       'or BMP' % image_format)
      if width * height > MAX_PIXELS:
        raise BadImage('the image has %dx%d pixels; the limit is %d' %
                       (width, height, MAX_PIXELS))
      image.load()  # raises on truncated or corrupt pixel data
  except BadImage:
    raise
  except Image.UnidentifiedImageError as e:
    raise BadImage('the upload is not an image; upload a JPEG, PNG, GIF or '
                   'BMP file') from e
  except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
    raise BadImage('the image is truncated or corrupt (%s); upload a complete '
                   'JPEG, PNG, GIF or BMP file' %
                   ' '.join(str(e).split())[:120]) from e
  return _EXTENSIONS[image_format]


def store_upload(data, extension, upload_folder):
  """Writes `data` under a fresh random name in `upload_folder`."""
  name = uuid.uuid4().hex + extension
  with open(os.path.join(upload_folder, name), 'xb') as f:
    f.write(data)
  return name


def create_app(classifier, upload_folder, num_top_predictions=5,
               max_upload_bytes=DEFAULT_MAX_UPLOAD_BYTES):
  """Builds the Flask app around an already loaded `inference.Classifier`."""
  upload_folder = os.path.realpath(upload_folder)
  os.makedirs(upload_folder, exist_ok=True)
  app = flask.Flask(__name__, template_folder=TEMPLATE_FOLDER,
                    static_folder=None)
  app.config['MAX_CONTENT_LENGTH'] = max_upload_bytes
  app.config['MAX_FORM_MEMORY_SIZE'] = max_upload_bytes

  def classify(data):
    """-> (file extension, predictions, milliseconds); raises BadImage."""
    extension = check_image(data)
    start = time.perf_counter()
    try:
      predictions = classifier.classify([data], num_top_predictions)[0]
    except inference.ImageError as error:
      raise BadImage(str(error)) from error
    return extension, predictions, (time.perf_counter() - start) * 1000.0

  def page_with(status=200, **values):
    return flask.render_template('index.html',
                                 model_name=classifier.model_name,
                                 **values), status

  @app.get('/')
  def index():
    return page_with()

  @app.post('/')
  def page():
    upload = flask.request.files.get(UPLOAD_FIELD)
    if upload is None:
      return page_with(400, error='choose an image file first')
    data = upload.read()
    try:
      extension, predictions, milliseconds = classify(data)
    except BadImage as error:
      return page_with(400, error=str(error))
    stored_name = store_upload(data, extension, upload_folder)
    return page_with(predictions=predictions, inference_ms=milliseconds,
                     stored_name=stored_name)

  @app.get('/uploads/<name>')
  def uploaded_file(name):
    if not _STORED_NAME.fullmatch(name):
      flask.abort(404)
    return flask.send_from_directory(upload_folder, name)

  @app.post('/api/classify')
  def api_classify():
    upload = flask.request.files.get(UPLOAD_FIELD)
    data = upload.read() if upload is not None else flask.request.get_data()
    try:
      _, predictions, milliseconds = classify(data)
    except BadImage as error:
      return flask.jsonify(error=str(error)), 400
    return flask.jsonify(
        predictions=[{'rank': rank, 'class_id': p.class_id, 'label': p.label,
                      'score': p.score}
                     for rank, p in enumerate(predictions, 1)],
        inference_ms=milliseconds)

  @app.errorhandler(exceptions.RequestEntityTooLarge)
  def too_large(_):
    message = 'the upload is larger than %d bytes' % max_upload_bytes
    if flask.request.path.startswith('/api/'):
      return flask.jsonify(error=message), 413
    return page_with(413, error=message)

  return app


def make_server(app, host='127.0.0.1', port=5001):
  """A threaded WSGI server (no debugger, no reloader); port 0 = any free."""
  return werkzeug_serving.make_server(host, port, app, threaded=True)
