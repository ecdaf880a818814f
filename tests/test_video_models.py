"""The tool chain with the video networks: still clips, train, export, serve.

slim has no video dataset, so `--num_frames` makes every image a clip of one
repeated frame. One S3D-G trained for two steps on a tiny generated dataset
(4 frames of 32x32) is exported, frozen and served from here.
"""

import types

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import common_flags
import deployment_helpers as helpers
from deployment import inference
from deployment import pipeline as pipeline_lib
from nets import i3d_utils

NUM_FRAMES = 4
IMAGE_SIZE = 32
NUM_CLASSES = 3


def _flags(dataset_dir, model_name='s3dg', num_frames=NUM_FRAMES):
  return types.SimpleNamespace(
      dataset_name='quiz', dataset_split_name='validation',
      dataset_dir=dataset_dir, labels_offset=0, model_name=model_name,
      preprocessing_name=None, use_grayscale=False, num_frames=num_frames,
      num_preprocessing_threads=1)


@pytest.fixture(scope='module')
def dataset_dir(tmp_path_factory):
  path = str(tmp_path_factory.mktemp('quiz'))
  helpers.write_dataset(path, num_classes=NUM_CLASSES)
  return path


@pytest.fixture(scope='module')
def train_dir(dataset_dir, tmp_path_factory):
  path = str(tmp_path_factory.mktemp('train') / 'ckpt')
  result = helpers.run_script(
      'train_image_classifier.py', '--dataset_name=quiz',
      '--dataset_dir=' + dataset_dir, '--train_dir=' + path,
      '--model_name=s3dg', '--num_frames=%d' % NUM_FRAMES,
      '--train_image_size=%d' % IMAGE_SIZE, '--batch_size=2',
      '--max_number_of_steps=2', '--num_readers=1',
      '--num_preprocessing_threads=1')
  assert result.returncode == 0, result.stderr[-3000:]
  checkpoint = tf.train.latest_checkpoint(path)
  assert tf.train.load_checkpoint(checkpoint).get_tensor('global_step') == 2
  return path


def test_still_clips_repeat_each_image_on_a_frames_axis():
  images = np.arange(2 * 3 * 4 * 1, dtype=np.float32).reshape([2, 3, 4, 1])
  with tf.Graph().as_default(), tf.Session() as sess:
    clips = sess.run(i3d_utils.still_clips(tf.constant(images), 5))
  assert clips.shape == (2, 5, 3, 4, 1)
  for frame in range(5):
    np.testing.assert_array_equal(clips[:, frame], images)
  with pytest.raises(ValueError, match='num_frames'):
    i3d_utils.still_clips(tf.constant(images), 0)


@pytest.mark.parametrize('model_name,num_frames,message', [
    ('i3d', None, r'i3d is a video network .*pass --num_frames=N'),
    ('lenet', 4, r'--num_frames=N is for the video networks \(i3d, s3dg\)'),
    ('s3dg', 0, r'--num_frames must be at least 1, got 0'),
])
def test_num_frames_is_required_exactly_for_video_networks(
    model_name, num_frames, message):
  with pytest.raises(common_flags.UserError, match=message):
    pipeline_lib.check_num_frames(model_name, num_frames)


def test_export_makes_a_clip_placeholder_and_records_num_frames():
  graph_def, info = inference.export_graph_def(inference.make_spec(
      'i3d', NUM_CLASSES, image_size=IMAGE_SIZE, num_frames=NUM_FRAMES))
  with tf.Graph().as_default() as graph:
    tf.import_graph_def(graph_def, name='')
    clips = graph.get_tensor_by_name(info['input_node'] + ':0')
    output = graph.get_tensor_by_name(info['output_node'] + ':0')
  assert clips.shape.as_list() == [None, NUM_FRAMES, IMAGE_SIZE,
                                   IMAGE_SIZE, 3]
  assert output.shape.as_list() == [None, NUM_CLASSES]
  assert inference.read_info(graph_def, 'test')['num_frames'] == NUM_FRAMES
  _, image_info = inference.export_graph_def(inference.make_spec('lenet', 2))
  assert image_info['num_frames'] is None
  with pytest.raises(inference.UserError, match='--is_video_model'):
    inference.export_graph_def(inference.make_spec('i3d', NUM_CLASSES))
  with pytest.raises(inference.UserError, match='at least 1, got 0'):
    inference.export_graph_def(inference.make_spec('i3d', NUM_CLASSES,
                                                   num_frames=0))


def test_script_is_video_model_without_frames_is_a_one_line_error(tmp_path):
  output = tmp_path / 'i3d.pb'
  result = helpers.run_script(
      'export_inference_graph.py', '--model_name=i3d', '--is_video_model',
      '--dataset_name=cifar10', '--output_file=%s' % output)
  assert result.returncode == 1
  assert 'Traceback' not in result.stderr
  last = result.stderr.strip().splitlines()[-1]
  assert last.startswith('ERROR: --is_video_model needs --num_frames=N')
  assert not output.exists()


def test_trained_video_model_evaluates_from_image_batches(dataset_dir,
                                                          train_dir):
  # What evaluation (and training) build: image batches in, clips inside.
  pipeline = common_flags.build_pipeline(_flags(dataset_dir),
                                         is_training=False,
                                         image_size=IMAGE_SIZE)
  with tf.Graph().as_default():
    images, _ = common_flags.make_batches(
        _flags(dataset_dir), pipeline, is_training=False, batch_size=2)
    _, end_points = pipeline.network_fn(images)
    with tf.Session() as sess:
      tf.train.Saver().restore(sess, tf.train.latest_checkpoint(train_dir))
      first_layer, probabilities = sess.run(
          [end_points['Conv2d_1a_7x7'], end_points['Predictions']])
  assert images.shape.as_list() == [None, IMAGE_SIZE, IMAGE_SIZE, 3]
  assert first_layer.shape[:2] == (2, NUM_FRAMES // 2)
  assert probabilities.shape == (2, NUM_CLASSES)
  np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
  with pytest.raises(common_flags.UserError, match='video network'):
    common_flags.build_pipeline(_flags(dataset_dir, num_frames=None),
                                is_training=False)


def test_trained_video_model_exports_frozen_and_as_saved_model(
    dataset_dir, train_dir, tmp_path):
  spec = inference.spec_from_dataset('s3dg', 'quiz', dataset_dir,
                                     image_size=IMAGE_SIZE,
                                     num_frames=NUM_FRAMES)
  graph_def, info = inference.export_graph_def(spec)
  frozen = inference.freeze_graph_def(graph_def, train_dir,
                                      inference.output_node_names(info))
  encoded = helpers.split_examples(dataset_dir, 'validation')[0][0]
  with tf.Graph().as_default() as graph, tf.Session() as sess:
    tf.import_graph_def(frozen, name='')
    assert not [n for n in frozen.node if n.op in ('VarHandleOp',
                                                    'VariableV2')]
    image = sess.run(info['preprocessed_node'] + ':0',
                     {info['encoded_input_node'] + ':0': encoded})
    clip = np.repeat(image[None, None], NUM_FRAMES, axis=1)
    probabilities = sess.run(info['output_node'] + ':0',
                             {info['input_node'] + ':0': clip})
  assert probabilities.shape == (1, NUM_CLASSES)
  # label_image.py / server.py on the frozen graph make the same still clip.
  frozen_path = str(tmp_path / 's3dg_frozen.pb')
  inference.write_graph_def(frozen, frozen_path)
  [from_frozen] = inference.Classifier(frozen_path).classify([encoded], 2)
  np.testing.assert_allclose([p.score for p in from_frozen],
                             np.sort(probabilities[0])[::-1][:2], rtol=1e-4)

  export_dir = str(tmp_path / 'serving' / '1')
  inference.export_saved_model(spec, train_dir, export_dir, top_k=2)
  predictions = inference.Classifier(export_dir).classify([encoded], top_k=2)
  served = [p.score for p in predictions[0]]
  np.testing.assert_allclose(served, np.sort(probabilities[0])[::-1][:2],
                             rtol=1e-4)
