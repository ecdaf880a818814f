r"""Classifies image files with a frozen graph, SavedModel, .tflite or .onnx.

Each image gets the network's own evaluation preprocessing (stored in the
graph at export) and its top-k class names and scores are printed:

    python label_image.py --graph=/tmp/inception_v4_freeze.pb \
      --image=rose.jpg,tulip.png
    python label_image.py --graph=/tmp/densenet_serving/1 photos/*.jpg

The labels default to <graph without .pb>.label, then to the names recorded
at export. TensorFlow's label_image flags work too, e.g. the slim README's

    python label_image.py --image=flowers.jpg --input_layer=input \
      --output_layer=InceptionV3/Predictions/Reshape_1 \
      --graph=/tmp/frozen_inception_v3.pb --labels=labels.txt \
      --input_mean=0 --input_std=255

(`--input_mean`/`--input_std` replace the graph's own preprocessing by a
resize to the input size and (pixel - mean) / std, as that sample does).
"""

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf

import common_flags
from deployment import image_limits
from deployment import inference

flags = tf.app.flags
flags.DEFINE_string('graph', '', 'Frozen graph (.pb), .tflite, .onnx or '
                    'SavedModel directory.')
flags.DEFINE_string('labels', '', 'Labels file ("id:name" lines); optional.')
flags.DEFINE_list('image', [], 'Image file(s), comma-separated; more may '
                  'follow the flags as arguments.')
flags.DEFINE_integer('top_k', 5, 'How many classes to print per image.')
flags.DEFINE_float('max_megapixels',
                   image_limits.DEFAULT_MAX_PIXELS / 1e6,
                   'Images with more pixels (all frames of a GIF) are '
                   'refused from their header, before they are decoded '
                   '(as server.py does).')
flags.DEFINE_string('input_layer', '', 'Frozen graphs: the input node to '
                    'feed; empty = the one recorded at export ("input").')
flags.DEFINE_string('output_layer', '', 'Frozen graphs: the node whose '
                    'scores are read, e.g. InceptionV3/Predictions/Reshape_1; '
                    'empty = the one recorded at export.')
flags.DEFINE_float('input_mean', None, 'With --input_std: feed each image '
                   'resized to the input size as (pixel - input_mean) / '
                   'input_std instead of the graph\'s own preprocessing.')
flags.DEFINE_float('input_std', None, 'See --input_mean.')
FLAGS = flags.FLAGS


def main(argv):
  common_flags.require_flag(FLAGS, 'graph',
                            'a frozen .pb, .tflite, .onnx or a SavedModel '
                            'directory')
  paths = list(FLAGS.image) + list(argv[1:])
  if not paths:
    raise common_flags.UserError('--image is required: pass one or more '
                                 'image files')
  layers = inference.GraphLayers(FLAGS.input_layer or None,
                                 FLAGS.output_layer or None,
                                 FLAGS.input_mean, FLAGS.input_std)
  classifier = inference.Classifier(FLAGS.graph, FLAGS.labels or None, layers)
  results = inference.classify_files(classifier, paths, FLAGS.top_k,
                                     int(FLAGS.max_megapixels * 1e6))
  for path, predictions in zip(paths, results):
    print(path)
    for rank, prediction in enumerate(predictions, 1):
      print('  %d. %s (%d) %.5f' % (rank, prediction.label,
                                    prediction.class_id, prediction.score))


if __name__ == '__main__':
  common_flags.run_main(main, positional_args=True)  # image paths
