r"""Serves a web page (and a JSON API) that classifies uploaded images.

    python server.py --model_file=/tmp/inception_v4_freeze.pb \
      --label_file=/tmp/inception_v4_freeze.label --upload_folder=/tmp/upload

Open http://127.0.0.1:5001/, choose an image and see its top-5 classes, or
POST an image to /api/classify (multipart field "image", or the raw bytes):

    curl -F image=@rose.jpg http://127.0.0.1:5001/api/classify

The server listens on loopback only unless --host says otherwise (e.g.
--host=0.0.0.0 to reach it from the local network, as in the tutorial).
"""

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf

import common_flags
from deployment import inference
from deployment import serving

flags = tf.app.flags
flags.DEFINE_string('model_file', '',
                    'Frozen graph (.pb) or SavedModel directory.')
flags.DEFINE_alias('model_name', 'model_file')  # the tutorial's flag name
flags.DEFINE_string('label_file', '',
                    'Labels ("id:name" lines); default <model>.label, then '
                    'the names recorded at export.')
flags.DEFINE_string('upload_folder', '/tmp/upload',
                    'Where uploaded images are stored (generated names).')
flags.DEFINE_string('host', '127.0.0.1', 'Address to listen on.')
flags.DEFINE_integer('port', 5001, 'Port to listen on (0: any free port).')
flags.DEFINE_integer('num_top_predictions', 5,
                     'Classes shown per image.')
flags.DEFINE_integer('max_upload_mb', 10,
                     'Uploads above this many MiB are refused (413).')
FLAGS = flags.FLAGS


def main(_):
  common_flags.require_flag(FLAGS, 'model_file',
                            'a frozen .pb (freeze_graph.py) or a SavedModel')
  if FLAGS.num_top_predictions < 1:
    raise common_flags.UserError('--num_top_predictions must be at least 1')
  if FLAGS.max_upload_mb < 1:
    raise common_flags.UserError('--max_upload_mb must be at least 1')
  classifier = inference.Classifier(FLAGS.model_file, FLAGS.label_file or None)
  try:
    app = serving.create_app(classifier, FLAGS.upload_folder,
                             FLAGS.num_top_predictions,
                             FLAGS.max_upload_mb * 1024 * 1024)
  except OSError as error:
    raise common_flags.UserError('--upload_folder=%s cannot be created (%s)' %
                                 (FLAGS.upload_folder, error.strerror))
  try:
    server = serving.make_server(app, FLAGS.host, FLAGS.port)
  except OSError as error:
    raise common_flags.UserError('cannot listen on %s:%d (%s); pick another '
                                 '--port or --host' % (FLAGS.host, FLAGS.port,
                                                       error.strerror))
  print('listening on http://%s:%d/' % (FLAGS.host, server.server_port),
        flush=True)
  try:
    server.serve_forever()
  except KeyboardInterrupt:
    pass
  finally:
    server.server_close()


if __name__ == '__main__':
  common_flags.run_main(main)
