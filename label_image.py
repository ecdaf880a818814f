r"""Classifies image files with a frozen graph, SavedModel, .tflite or .onnx.

Each image gets the network's own evaluation preprocessing (stored in the
graph at export) and its top-k class names and scores are printed:

    python label_image.py --graph=/tmp/inception_v4_freeze.pb \
      --image=rose.jpg,tulip.png
    python label_image.py --graph=/tmp/densenet_serving/1 photos/*.jpg

The labels default to <graph without .pb>.label, then to the names recorded
at export.
"""

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf

import common_flags
from deployment import inference

flags = tf.app.flags
flags.DEFINE_string('graph', '', 'Frozen graph (.pb), .tflite, .onnx or '
                    'SavedModel directory.')
flags.DEFINE_string('labels', '', 'Labels file ("id:name" lines); optional.')
flags.DEFINE_list('image', [], 'Image file(s), comma-separated; more may '
                  'follow the flags as arguments.')
flags.DEFINE_integer('top_k', 5, 'How many classes to print per image.')
common_flags.require_positive('top_k')
FLAGS = flags.FLAGS


def main(argv):
  common_flags.require_flag(FLAGS, 'graph',
                            'a frozen .pb, .tflite, .onnx or a SavedModel '
                            'directory')
  paths = list(FLAGS.image) + list(argv[1:])
  if not paths:
    raise common_flags.UserError('--image is required: pass one or more '
                                 'image files')
  classifier = inference.Classifier(FLAGS.graph, FLAGS.labels or None)
  results = inference.classify_files(classifier, paths, FLAGS.top_k)
  for path, predictions in zip(paths, results):
    print(path)
    for rank, prediction in enumerate(predictions, 1):
      print('  %d. %s (%d) %.5f' % (rank, prediction.label,
                                    prediction.class_id, prediction.score))


if __name__ == '__main__':
  common_flags.run_main(main, positional_args=True)  # image paths
