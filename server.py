r"""Serves a web page (and a JSON API) that classifies uploaded images.

    python server.py --model_file=/tmp/inception_v4_freeze.pb \
      --label_file=/tmp/inception_v4_freeze.label

Open http://127.0.0.1:5001/, choose an image and see its top-5 classes, or
POST an image to /api/classify (multipart field "image", or the raw bytes):

    curl -F image=@rose.jpg http://127.0.0.1:5001/api/classify

The server listens on loopback only unless --host says otherwise (e.g.
--host=0.0.0.0 to reach it from the local network, as in the tutorial). It
runs under waitress, a production WSGI server, and bounds what clients can
take: uploads (--max_upload_mb), decoded pixels (--max_megapixels), uploads
decoded at once (--max_in_flight, the rest get 503), disk (nothing is kept
unless --upload_quota_mb is set) and silent connections (--client_timeout_s,
--max_connections). At start it prints the memory requests can add on top of
the loaded model (see deployment/serving.py).
"""

import resource
import signal
import socket

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf

import common_flags
from deployment import inference
from deployment import interrupts
from deployment import serving

MIB = 1024 * 1024
_DEFAULTS = serving.DEFAULT_LIMITS

flags = tf.app.flags
flags.DEFINE_string('model_file', '',
                    'Frozen graph (.pb), .tflite (LiteRT), .onnx '
                    '(onnxruntime) or SavedModel directory.')
flags.DEFINE_alias('model_name', 'model_file')  # the tutorial's flag name
flags.DEFINE_string('label_file', '',
                    'Labels ("id:name" lines); default <model>.label, then '
                    'the names recorded at export.')
flags.DEFINE_string('upload_folder', '/tmp/upload',
                    'Where uploads are kept when --upload_quota_mb is above '
                    '0 (generated names).')
flags.DEFINE_integer('upload_quota_mb', 0,
                     'MiB of uploads kept in --upload_folder, oldest removed '
                     'first; 0 keeps nothing (the page shows a thumbnail).')
flags.DEFINE_string('host', '127.0.0.1', 'Address to listen on.')
flags.DEFINE_integer('port', 5001, 'Port to listen on (0: any free port).')
flags.DEFINE_integer('num_top_predictions', 5,
                     'Classes shown per image.')
flags.DEFINE_integer('max_upload_mb', _DEFAULTS.max_upload_bytes // MIB,
                     'Uploads above this many MiB are refused (413).')
flags.DEFINE_float('max_megapixels', _DEFAULTS.max_pixels / 1e6,
                   'Images with more pixels (all frames of a GIF) are '
                   'refused (413) before they are decoded.')
flags.DEFINE_integer('max_in_flight', _DEFAULTS.max_in_flight,
                     'Uploads read and classified at once; more get 503 '
                     'with Retry-After.')
flags.DEFINE_integer('client_timeout_s', _DEFAULTS.timeout_s,
                     'A connection silent this many seconds is closed.')
flags.DEFINE_integer('max_connections', _DEFAULTS.max_connections,
                     'Open connections; more wait to be accepted.')
FLAGS = flags.FLAGS


def limits_from_flags():
  """The `serving.Limits` the flags ask for (validated when parsed)."""
  return serving.Limits(
      max_upload_bytes=FLAGS.max_upload_mb * MIB,
      max_pixels=int(FLAGS.max_megapixels * 1e6),
      max_in_flight=FLAGS.max_in_flight,
      upload_quota_bytes=FLAGS.upload_quota_mb * MIB,
      timeout_s=FLAGS.client_timeout_s,
      max_connections=FLAGS.max_connections)


def _memory_line(limits):
  model_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
  return ('memory: %.0f MiB at start-up (the model loaded); requests add at '
          'most %.0f MiB (%d in flight x %.0f MiB, %d connections x %.2f MiB '
          'buffered)' % (
              model_mib, serving.memory_ceiling_bytes(limits) / MIB,
              limits.max_in_flight,
              serving.request_memory_bytes(limits) / MIB,
              limits.max_connections, serving.CONNECTION_MEMORY_BYTES / MIB))


def check_host(host):
  """Refuses a --host nothing can listen on, before the model is loaded."""
  advice = 'e.g. 127.0.0.1 (this machine only) or 0.0.0.0 (every network)'
  if not host.strip():
    raise common_flags.UserError('--host is empty; pass an address to listen '
                                 'on, %s' % advice)
  try:
    socket.getaddrinfo(host, None, type=socket.SOCK_STREAM,
                       flags=socket.AI_PASSIVE)
  except (socket.gaierror, UnicodeError) as error:
    raise common_flags.UserError(
        '--host=%s is neither an IP address nor a name that resolves (%s); '
        'pass an address of this machine, %s' % (
            host, getattr(error, 'strerror', None) or error, advice)
    ) from error


def main(_):
  common_flags.require_flag(FLAGS, 'model_file',
                            'a frozen .pb (freeze_graph.py), a .tflite, an '
                            '.onnx or a SavedModel')
  check_host(FLAGS.host)
  limits = limits_from_flags()
  classifier = inference.Classifier(FLAGS.model_file, FLAGS.label_file or None)
  serving.check_model_answers(classifier, FLAGS.model_file)
  try:
    app = serving.create_app(classifier, FLAGS.upload_folder,
                             FLAGS.num_top_predictions, limits)
  except OSError as error:
    raise common_flags.UserError('--upload_folder=%s cannot be created (%s)' %
                                 (FLAGS.upload_folder, error.strerror))
  try:
    server = serving.make_server(app, FLAGS.host, FLAGS.port)
  except (OSError, ValueError) as error:  # waitress: ValueError for a host
    raise common_flags.UserError('cannot listen on %s:%d (%s); pick another '
                                 '--port or --host' % (
                                     FLAGS.host, FLAGS.port,
                                     getattr(error, 'strerror', None) or
                                     error))
  try:  # from the first line that tells the port, a signal stops it cleanly
    print(_memory_line(limits), flush=True)
    print('listening on http://%s:%d/' % (FLAGS.host, server.server_port),
          flush=True)
    server.serve_forever()
  except KeyboardInterrupt as error:  # Ctrl-C, SIGTERM: exit 130 / 143
    raise interrupts.Interrupted(
        getattr(error, 'signum', signal.SIGINT),
        'the server at http://%s:%d/ stopped; rerun the command to serve '
        'again' % (FLAGS.host, server.server_port)) from error
  finally:
    server.server_close()


if __name__ == '__main__':
  common_flags.run_main(main)
