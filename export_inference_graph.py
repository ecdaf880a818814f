r"""Saves a GraphDef of a network for inference, optionally frozen.

The graph's float input placeholder is `input` ([batch_size, image_size,
image_size, channels]); the output is the network's predictions under
upstream's node name (InceptionV4/Logits/Predictions,
InceptionV3/Predictions/Reshape_1, MobilenetV1/Predictions/Reshape_1,
resnet_v1_50/predictions/Reshape_1; VGG, AlexNet and OverFeat, which have no
softmax upstream, get one named Predictions), which is printed. The graph also carries the network's evaluation
preprocessing (`encoded_image` -> `preprocessed_image`; the network's own, or
--preprocessing_name's: pass the one it was trained and evaluated with) and
an `inference_info` node, so label_image.py and server.py need nothing else.

    python export_inference_graph.py --model_name=inception_v4 \
      --dataset_name=flowers --dataset_dir=/data/flowers \
      --output_file=/tmp/inception_v4_inf_graph.pb

With --checkpoint_path the written graph is frozen (variables folded into
constants) and the class names go next to it as <output_file>.label; add
--saved_model_dir for a SavedModel that TF Serving can serve:

    python export_inference_graph.py --model_name=densenet_bc_mini \
      --preprocessing_name=lenet --dataset_name=fashion_mnist \
      --checkpoint_path=runs/densenet_bc_mini/ckpt \
      --output_file=/tmp/densenet_freeze.pb \
      --saved_model_dir=/tmp/densenet_serving/1

A network trained with --moving_average_decay (the main job) is exported
with the same flag, so the graph holds the averaged weights it was
evaluated with.

A network trained with --quantize_delay (quantization-aware training) is
exported with --quantize: the graph holds its folded BatchNorms and FakeQuant
ops with the trained ranges, ready for an int8 TFLite conversion.

--output_format=tflite or onnx writes the network (from --checkpoint_path)
as a LiteRT or ONNX file instead of the .pb, with `inference_info` inside
it, so label_image.py, server.py and eval_image_classifier.py --model_file
run it as they run the .pb. LiteRT takes --tflite_quantization: float32,
float16, dynamic (int8 weights) or int8 (int8 throughout, calibrated on
--calibration_images images of --dataset_split_name through the graph's own
evaluation preprocessing; a --quantize graph uses its trained ranges):

    python export_inference_graph.py --model_name=densenet_bc_mini \
      --preprocessing_name=lenet --dataset_name=fashion_mnist \
      --dataset_dir=/data/fashion_mnist --moving_average_decay=0.998 \
      --checkpoint_path=runs/densenet_bc_mini/ckpt --output_format=tflite \
      --tflite_quantization=int8 --output_file=/tmp/densenet_int8.tflite

A video network (i3d, s3dg) takes clips: --is_video_model --num_frames=N
makes the placeholder [batch_size, N, image_size, image_size, channels] and
records N in `inference_info`; its SavedModel sees each image as a still
clip:

    python export_inference_graph.py --model_name=s3dg --is_video_model \
      --num_frames=64 --dataset_name=flowers --dataset_dir=/data/flowers \
      --output_file=/tmp/s3dg_inf_graph.pb
"""

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf

import common_flags
from deployment import inference
from deployment import model_conversion
from deployment import pipeline

flags = tf.app.flags
common_flags.define_network_flags(
    preprocessing_note='The exported graph embeds it and records it in '
    'inference_info.')
common_flags.define_dataset_name_flags(
    'Directory of the converted dataset: its labels.txt names the classes. '
    'Optional for registered datasets.')
common_flags.define_moving_average_flag(common_flags.EXPORT_AVERAGES_NOTE)
common_flags.define_quantize_flag()
flags.adopt_module_key_flags(common_flags)  # --help lists them too
flags.DEFINE_boolean('is_training', False,
                     'Whether to save out a training-focused version of the '
                     'model.')
flags.DEFINE_integer('image_size', None,
                     'The image size to use; the network default if None.')
flags.DEFINE_integer('batch_size', None,
                     'Batch size of the input placeholder; None = any.')
flags.DEFINE_string('output_file', '', 'Where to save the resulting file.')
flags.DEFINE_bool('write_text_graphdef', False,
                  'Whether to write a text version of the GraphDef.')
flags.DEFINE_string('checkpoint_path', '',
                    'A checkpoint (or a training directory: its latest '
                    'checkpoint) to freeze into the graph.')
flags.DEFINE_string('saved_model_dir', '',
                    'Also write a SavedModel here (needs --checkpoint_path); '
                    'must not exist yet.')
flags.DEFINE_integer('top_k', 5,
                     'Classes the SavedModel signature returns per image.')
flags.DEFINE_bool('is_video_model', False,
                  'Whether the network takes 5-D clips [batch, num_frames, '
                  'size, size, channels] (i3d, s3dg) instead of images.')
flags.DEFINE_integer('num_frames', None,
                     'Frames per clip of the input placeholder; required '
                     'with --is_video_model, ignored without it.')
flags.DEFINE_enum('output_format', 'pb', ['pb', 'tflite', 'onnx'],
                  'pb: the GraphDef (slim\'s); tflite: LiteRT; onnx: ONNX '
                  '(opset %d). tflite and onnx need --checkpoint_path.' %
                  model_conversion.ONNX_OPSET)
flags.DEFINE_enum('tflite_quantization', 'float32',
                  list(model_conversion.QUANTIZATIONS),
                  'With --output_format=tflite: float32, float16 (float16 '
                  'weights), dynamic (int8 weights, float activations) or '
                  'int8 (int8 weights, activations, input and output; '
                  'calibrated on --calibration_images of the dataset split).')
flags.DEFINE_integer('calibration_images', 100,
                     'Images of --dataset_split_name that calibrate int8.')
flags.DEFINE_string('dataset_split_name', 'train',
                    'The split whose images calibrate int8.')
FLAGS = flags.FLAGS


def _video_num_frames():
  """Frames per clip with --is_video_model; None exports an image model."""
  if not FLAGS.is_video_model:
    return None
  if FLAGS.num_frames is None:
    raise common_flags.UserError('--is_video_model needs --num_frames=N, the '
                                 'frames per clip of the input')
  return FLAGS.num_frames


def _calibration(info):
  """The int8 calibration images, when int8 LiteRT is asked for."""
  if (FLAGS.output_format != 'tflite' or
      FLAGS.tflite_quantization != 'int8'):
    return None
  if not FLAGS.dataset_dir:
    raise common_flags.UserError(
        '--tflite_quantization=int8 needs --dataset_dir: its '
        '--dataset_split_name images calibrate the ranges')
  dataset = pipeline.load_dataset(FLAGS.dataset_name, FLAGS.dataset_split_name,
                                  FLAGS.dataset_dir)
  return model_conversion.CalibrationSet(dataset, info,
                                         FLAGS.calibration_images)


def _write_runtime_model(frozen, info):
  """Writes the .tflite or .onnx of --output_format."""
  if FLAGS.is_video_model:
    raise common_flags.UserError('--output_format=%s takes image networks; '
                                 'export video networks as pb' %
                                 FLAGS.output_format)
  if FLAGS.output_format == 'tflite':
    data = model_conversion.tflite_model(
        frozen, info, FLAGS.tflite_quantization, _calibration(info),
        batch_size=FLAGS.batch_size)
    what = 'LiteRT (%s)' % FLAGS.tflite_quantization
  else:
    data = model_conversion.onnx_model(frozen, info)
    what = 'ONNX (opset %d)' % model_conversion.ONNX_OPSET
  model_conversion.write_model(data, FLAGS.output_file)
  print('Wrote %s model to %s' % (what, FLAGS.output_file))


def main(_):
  common_flags.require_flag(FLAGS, 'output_file',
                            'where to write the GraphDef (.pb)')
  if FLAGS.output_format != 'pb' and not FLAGS.checkpoint_path:
    raise common_flags.UserError('--output_format=%s needs --checkpoint_path '
                                 '(the weights to convert)' %
                                 FLAGS.output_format)
  if FLAGS.saved_model_dir and not FLAGS.checkpoint_path:
    raise common_flags.UserError('--saved_model_dir needs --checkpoint_path '
                                 '(the weights to save)')
  spec = inference.spec_from_dataset(
      FLAGS.model_name, FLAGS.dataset_name, FLAGS.dataset_dir,
      labels_offset=FLAGS.labels_offset, image_size=FLAGS.image_size,
      batch_size=FLAGS.batch_size, is_training=FLAGS.is_training,
      use_grayscale=FLAGS.use_grayscale, num_frames=_video_num_frames(),
      preprocessing_name=FLAGS.preprocessing_name, quantize=FLAGS.quantize)
  graph_def, info = inference.export_graph_def(spec)
  if FLAGS.checkpoint_path:
    graph_def = inference.freeze_graph_def(
        graph_def, FLAGS.checkpoint_path, inference.output_node_names(info),
        moving_averages=bool(FLAGS.moving_average_decay))
  if FLAGS.output_format == 'pb':
    inference.write_graph_def(graph_def, FLAGS.output_file,
                              as_text=FLAGS.write_text_graphdef)
    print('Wrote %s graph to %s' % (
        'frozen' if FLAGS.checkpoint_path else 'inference', FLAGS.output_file))
  else:
    _write_runtime_model(graph_def, info)
  print('Input node: %s' % info['input_node'])
  print('Output node: %s' % info['output_node'])
  print('Preprocessing: %s' % info['preprocessing_name'])
  if FLAGS.checkpoint_path and spec.labels_to_names:
    labels_file = inference.labels_path_for(FLAGS.output_file)
    inference.write_labels(spec.labels_to_names, labels_file)
    print('Wrote labels to %s' % labels_file)
  if FLAGS.saved_model_dir:
    k = inference.export_saved_model(
        spec, FLAGS.checkpoint_path, FLAGS.saved_model_dir, top_k=FLAGS.top_k,
        moving_averages=bool(FLAGS.moving_average_decay))
    print('Wrote SavedModel (serving_default: %s -> top-%d classes, '
          'class_names, probabilities) to %s' % (
              inference.SERVING_INPUT_KEY, k, FLAGS.saved_model_dir))


if __name__ == '__main__':
  common_flags.run_main(main)
