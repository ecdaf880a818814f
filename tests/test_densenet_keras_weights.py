"""nets/densenet_keras_weights.py: Keras DenseNet121 -> our densenet121."""


import numpy as np
import pytest
import tensorflow.compat.v1 as tf
import tf_slim as slim

import deployment_helpers
from nets import densenet
from nets import densenet_keras_weights as converter


# Not the Keras epsilon, so the variance shift is exercised.
OUR_EPSILON = 1e-3


@pytest.fixture(scope='module')
def keras_densenet121():
  """A random Keras DenseNet121 whose BatchNorms are not the identity."""
  model = converter.load_keras_densenet('densenet121', weights=None)
  rng = np.random.RandomState(0)
  for layer in model.layers:
    if type(layer).__name__ == 'BatchNormalization':
      size = layer.get_weights()[0].shape
      layer.set_weights([rng.uniform(0.5, 1.5, size),  # gamma
                         rng.normal(0, 0.1, size),  # beta
                         rng.normal(0, 0.1, size),  # moving mean
                         rng.uniform(0.5, 1.5, size)])  # moving variance
  dense = model.get_layer('predictions')
  kernel, bias = dense.get_weights()
  dense.set_weights([kernel, rng.normal(0, 0.1, bias.shape)])
  return model


@pytest.fixture(scope='module')
def our_densenet121():
  """Our densenet121, built once; returns run(checkpoint, image) -> outputs."""
  graph = tf.Graph()
  with graph.as_default():
    images = tf.placeholder(tf.float32, [1, 224, 224, 3])
    with slim.arg_scope(densenet.densenet_arg_scope(
        batch_norm_epsilon=OUR_EPSILON)):
      _, end_points = densenet.densenet121(images, num_classes=1000)
    fetches = {'logits': end_points['Logits'],
               'pool1': end_points['densenet121/pool1']}
    saver = tf.train.Saver()
  sess = tf.Session(graph=graph)

  def run(checkpoint_path, image):
    with graph.as_default():
      saver.restore(sess, checkpoint_path)
      return sess.run(fetches, {images: image})

  yield run
  sess.close()


def _convert(model, input_preprocessing, directory):
  values = converter.keras_weights_by_slim_name(
      model, 'densenet121', OUR_EPSILON, input_preprocessing)
  return converter.save_checkpoint(values, 'densenet121',
                                   str(directory / 'model.ckpt'), OUR_EPSILON)


def test_converted_densenet121_reproduces_keras_logits(
    keras_densenet121, our_densenet121, tmp_path):
  image = np.random.RandomState(1).normal(0, 1, (1, 224, 224, 3))
  image = image.astype(np.float32)
  expected = keras_densenet121(image, training=False).numpy()
  checkpoint = _convert(keras_densenet121, 'keras', tmp_path)
  ours = our_densenet121(checkpoint, image)['logits']
  assert ours.shape == (1, 1000)
  assert np.abs(expected).max() > 0.1  # a real signal, not all zeros
  np.testing.assert_allclose(ours, expected, atol=1e-4, rtol=1e-4)


def test_inception_folding_matches_keras_away_from_the_padded_border(
    keras_densenet121, our_densenet121, tmp_path):
  import keras  # pylint: disable=g-import-not-at-top
  rgb = np.random.RandomState(2).uniform(0, 255, (1, 224, 224, 3))
  keras_input = keras.applications.densenet.preprocess_input(rgb.copy())
  inception_input = (rgb / 127.5 - 1.0).astype(np.float32)
  stem = keras.Model(keras_densenet121.input,
                     keras_densenet121.get_layer('pool1').output)
  expected = stem(keras_input.astype(np.float32), training=False).numpy()
  checkpoint = _convert(keras_densenet121, 'inception', tmp_path)
  ours = our_densenet121(checkpoint, inception_input)['pool1']
  # Pool outputs 0, 1 and 55 reach into the 7x7 conv's zero padding.
  interior = (slice(None), slice(2, 55), slice(2, 55))
  np.testing.assert_allclose(ours[interior], expected[interior], atol=1e-4,
                             rtol=1e-4)
  assert not np.allclose(ours[:, 0], expected[:, 0], atol=1e-4)


def test_every_keras_layer_maps_to_one_variable(keras_densenet121):
  values = converter.keras_weights_by_slim_name(keras_densenet121,
                                                'densenet121')
  assert values['densenet121/logits/weights'].shape == (1, 1, 1024, 1000)
  assert values['densenet121/dense_block4/conv_block16/x2/Conv/weights'].shape \
      == (3, 3, 128, 32)
  # One value per variable of the community checkpoint (its manifest: 606).
  assert len(values) == 606


def test_wrong_depth_is_reported_by_name(keras_densenet121, tmp_path):
  values = converter.keras_weights_by_slim_name(keras_densenet121,
                                                'densenet121')
  del values['densenet121/dense_block3/conv_block24/x2/Conv/weights']
  with pytest.raises(ValueError, match='missing from the Keras model: '
                     'densenet121/dense_block3/conv_block24/x2/Conv/weights'):
    converter.save_checkpoint(values, 'densenet121', str(tmp_path / 'x'))


def test_non_densenet_layer_and_unknown_model_are_rejected():
  import keras  # pylint: disable=g-import-not-at-top
  model = keras.Sequential([keras.Input((4,)),
                            keras.layers.Dense(2, name='dense_head')])
  with pytest.raises(ValueError, match="'dense_head' has weights"):
    converter.keras_weights_by_slim_name(model, 'densenet121')
  with pytest.raises(ValueError, match='densenet121, densenet169, '
                     'densenet201'):
    converter.load_keras_densenet('densenet161', weights=None)


def test_script_reports_a_corrupt_weights_file_in_one_line(tmp_path):
  weights = tmp_path / 'densenet121.h5'
  weights.write_bytes(b'not an HDF5 file')
  result = deployment_helpers.run_script(
      'convert_keras_densenet.py', '--keras_weights=%s' % weights,
      '--output_path=%s' % (tmp_path / 'out' / 'model.ckpt'), timeout=120)
  assert result.returncode == 1
  assert 'Traceback' not in result.stderr
  last_line = result.stderr.strip().splitlines()[-1]
  assert last_line.startswith('ERROR: --keras_weights=')
  assert str(weights) in last_line
