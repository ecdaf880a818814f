"""Each tf_compat repair is needed and works.

Every test here fails if its repair is removed from tf_compat.py (the
subprocess tests check that the breakage is real without the repair, so a test
that starts passing there tells us the repair can go).
"""

import io
import os
import textwrap

import numpy as np
import pytest
import tensorflow.compat.v1 as tf
import tf_slim as slim
from PIL import Image

import deployment_helpers as helpers
import tf_compat


def test_every_repair_is_applied_on_this_tensorflow():
  assert tf_compat.APPLIED == ['tf_keras.legacy_tf_layers alias',
                               'control_flow_ops.case/cond',
                               'graph-mode Variable hash',
                               'framework.ops.Tensor',
                               'closed FileWriter warning',
                               'non-UTF-8 paths']
  assert tf_compat.apply() == []  # idempotent


def test_batch_norm_training_step_updates_moving_statistics():
  batch = np.random.RandomState(0).normal(3.0, 2.0, (8, 4, 4, 3))
  with tf.Graph().as_default():
    inputs = tf.constant(batch, tf.float32)
    outputs = slim.batch_norm(inputs, decay=0.5, is_training=True,
                              scope='bn')
    update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    assert len(update_ops) == 2
    moving_mean = slim.get_variables_by_name('bn/moving_mean')[0]
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      sess.run(update_ops)
      mean_after_step = sess.run(moving_mean)
      normalised = sess.run(outputs)
  # decay 0.5 from a zero start: half of the batch mean.
  np.testing.assert_allclose(mean_after_step, 0.5 * batch.mean(axis=(0, 1, 2)),
                             rtol=1e-4)
  np.testing.assert_allclose(normalised.mean(axis=(0, 1, 2)), 0, atol=1e-4)


def _encoded(image_format, pixels):
  buffer = io.BytesIO()
  Image.fromarray(pixels).save(buffer, format=image_format)
  return buffer.getvalue()


@pytest.mark.parametrize('image_format', ['PNG', 'JPEG'])
def test_tfexample_decoder_decodes_encoded_image(image_format):
  pixels = np.random.RandomState(1).randint(0, 256, (6, 5, 3), np.uint8)
  if image_format == 'JPEG':
    pixels[:] = 128  # flat colour survives JPEG exactly
  example = tf.train.Example(features=tf.train.Features(feature={
      'image/encoded': tf.train.Feature(bytes_list=tf.train.BytesList(
          value=[_encoded(image_format, pixels)])),
      'image/format': tf.train.Feature(bytes_list=tf.train.BytesList(
          value=[image_format.lower().encode()])),
  }))
  keys_to_features = {
      'image/encoded': tf.FixedLenFeature((), tf.string, default_value=''),
      'image/format': tf.FixedLenFeature((), tf.string, default_value='png'),
  }
  decoder = slim.tfexample_decoder.TFExampleDecoder(
      keys_to_features, {'image': slim.tfexample_decoder.Image(channels=3)})
  with tf.Graph().as_default():
    [image] = decoder.decode(tf.constant(example.SerializeToString()),
                             ['image'])
    with tf.Session() as sess:
      decoded = sess.run(image)
  np.testing.assert_array_equal(decoded, pixels)


def test_batch_norm_is_broken_without_the_repair():
  result = helpers.run_python("""
      import tensorflow.compat.v1 as tf
      import tf_slim as slim
      with tf.Graph().as_default():
        slim.batch_norm(tf.zeros([2, 3, 3, 4]), is_training=True)
      """)
  assert result.returncode != 0 and 'tf_keras' in result.stderr, (
      'slim.batch_norm works without tf_compat: repair 1 can go')


@pytest.mark.parametrize('collection', [None, 'my_updates'])
def test_batch_norm_updates_outside_update_ops(collection):
  """Repair 4: slim's BatchNorm with updates_collections other than UPDATE_OPS."""
  with tf.Graph().as_default():
    inputs = tf.constant(np.full((4, 2, 2, 3), 6.0), tf.float32)
    outputs = slim.batch_norm(inputs, decay=0.5, is_training=True,
                              updates_collections=collection, scope='bn')
    moving_mean = slim.get_variables_by_name('bn/moving_mean')[0]
    # None: the update runs with the layer's output; a collection: with it.
    updates = tf.get_collection(collection) if collection else []
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      sess.run([outputs] + updates)
      mean = sess.run(moving_mean)
  assert len(updates) == (2 if collection else 0)
  np.testing.assert_allclose(mean, [3.0] * 3, rtol=1e-5)


def test_constant_value_is_broken_without_the_repair():
  result = helpers.run_python("""
      import tensorflow.compat.v1 as tf
      from tf_slim.layers import utils
      with tf.Graph().as_default():
        utils.constant_value(tf.constant(True))
      """)
  assert result.returncode != 0 and (
      "has no attribute 'Tensor'" in result.stderr), (
      'tf_slim reads ops.Tensor without tf_compat: repair 4 can go')


def test_tfexample_decoder_is_broken_without_the_repair():
  result = helpers.run_python("""
      import tensorflow.compat.v1 as tf
      import tf_slim as slim
      decoder = slim.tfexample_decoder.TFExampleDecoder(
          {'image/encoded': tf.FixedLenFeature((), tf.string),
           'image/format': tf.FixedLenFeature((), tf.string)},
          {'image': slim.tfexample_decoder.Image()})
      with tf.Graph().as_default():
        decoder.decode(tf.constant(b''), ['image'])
      """)
  assert result.returncode != 0 and 'control_flow_ops' in result.stderr and (
      'case' in result.stderr), (
      'tfexample_decoder works without tf_compat: repair 2 can go')


def _context_walks_for_conv_bn_layers(num_layers, monkeypatch):
  """How often building `num_layers` conv+BatchNorm layers asks for the
  outermost execution context (the expensive call repair 3 avoids)."""
  from tensorflow.python.framework import ops
  calls = []
  original = ops.executing_eagerly_outside_functions

  def counting():
    calls.append(1)
    return original()

  monkeypatch.setattr(ops, 'executing_eagerly_outside_functions', counting)
  with tf.Graph().as_default():
    net = tf.zeros([1, 4, 4, 2])
    with slim.arg_scope([slim.conv2d], normalizer_fn=slim.batch_norm,
                        weights_regularizer=slim.l2_regularizer(1e-4)):
      for index in range(num_layers):
        net = slim.conv2d(net, 2, [1, 1], scope='conv%d' % index)
  monkeypatch.undo()
  return len(calls)


def test_graph_building_cost_grows_linearly_with_the_layers(monkeypatch):
  small = _context_walks_for_conv_bn_layers(20, monkeypatch)
  large = _context_walks_for_conv_bn_layers(40, monkeypatch)
  assert large < 2.5 * small  # quadratic growth would give ~4x


def test_graph_building_is_quadratic_without_the_repair(monkeypatch):
  from tensorflow.python.ops import variables
  monkeypatch.setattr(variables.Variable, '__hash__',
                      variables.Variable.__hash__.tf_original)
  monkeypatch.setattr(variables.Variable, '__eq__',
                      variables.Variable.__eq__.tf_original)
  small = _context_walks_for_conv_bn_layers(20, monkeypatch)
  monkeypatch.setattr(variables.Variable, '__hash__',
                      variables.Variable.__hash__.tf_original)
  monkeypatch.setattr(variables.Variable, '__eq__',
                      variables.Variable.__eq__.tf_original)
  large = _context_walks_for_conv_bn_layers(40, monkeypatch)
  assert large > 3 * small, 'Variable hashing is cheap now: repair 3 can go'


def test_variable_hash_and_eq_keep_tensorflow_semantics():
  with tf.Graph().as_default():
    first, second = tf.Variable(1.0), tf.Variable(1.0)
    assert hash(first) == id(first)
    assert first == first and first != second
    assert {first: 1, second: 2}[second] == 2
  eager = tf.Variable([1.0, 2.0])  # tests run eagerly outside graphs
  with pytest.raises(TypeError, match='unhashable'):
    hash(eager)
  np.testing.assert_array_equal(eager == tf.constant([1.0, 3.0]),
                                [True, False])


@pytest.mark.parametrize('user_value,expected', [(None, 'True'),
                                                 ('0', 'False')])
def test_onednn_is_on_unless_the_user_turns_it_off(user_value, expected):
  done = helpers.run_python(
      """
      import tf_compat
      from tensorflow.python.util import _pywrap_util_port
      print(_pywrap_util_port.IsMklEnabled())
      """, env={'TF_ENABLE_ONEDNN_OPTS': user_value})
  assert done.returncode == 0, done.stderr
  assert done.stdout.split()[-1] == expected


_ONE_TRAINING_STEP = """
    import tensorflow.compat.v1 as tf
    import tf_slim as slim
    tf.disable_eager_execution()
    with tf.Graph().as_default():
      tf.train.get_or_create_global_step()
      weight = tf.Variable(1.0)
      train_op = slim.learning.create_train_op(
          tf.square(weight), tf.train.GradientDescentOptimizer(0.1))
      slim.learning.train(train_op, LOGDIR, number_of_steps=1)
    """


def _one_training_step(logdir, with_tf_compat):
  prelude = 'import tf_compat\n' if with_tf_compat else ''
  return helpers.run_python(prelude + 'LOGDIR = %r\n' % logdir +
                            textwrap.dedent(_ONE_TRAINING_STEP))


def test_training_ends_without_the_closed_writer_warning(tmp_path):
  result = _one_training_step(str(tmp_path), with_tf_compat=True)
  assert result.returncode == 0, result.stderr[-2000:]
  assert (tmp_path / 'model.ckpt-1.index').exists()
  assert 'closed FileWriter' not in result.stderr


def test_training_ends_with_the_warning_without_the_repair(tmp_path):
  result = _one_training_step(str(tmp_path), with_tf_compat=False)
  assert result.returncode == 0, result.stderr[-2000:]
  assert 'Attempting to use a closed FileWriter' in result.stderr, (
      'slim.learning.train ends without the warning: repair 5 can go')


def test_non_utf8_paths_round_trip_through_tensorflow(tmp_path):
  directory = os.path.join(str(tmp_path), os.fsdecode(b'caf\xe9'))
  tf.io.gfile.makedirs(directory)
  path = os.path.join(directory, 'state')
  with tf.io.gfile.GFile(path, 'w') as f:
    f.write('saved')
  with tf.io.gfile.GFile(path) as f:  # the reader took only str before
    assert f.read() == 'saved'
  assert os.listdir(os.fsencode(str(tmp_path))) == [b'caf\xe9']
  assert tf.io.gfile.listdir(str(tmp_path)) == [os.fsdecode(b'caf\xe9')]
  assert tf.io.gfile.stat(path).length == 5
  assert not tf.io.gfile.exists(path + '.missing')  # NotFound, not a crash


def test_non_utf8_paths_are_refused_without_the_repair(tmp_path,
                                                       monkeypatch):
  from tensorflow.python.lib.io import file_io  # pylint: disable=g-import-not-at-top
  from tensorflow.python.util import compat  # pylint: disable=g-import-not-at-top
  monkeypatch.setattr(compat, 'as_bytes', compat.as_bytes.tf_original)
  monkeypatch.setattr(file_io, '_pywrap_file_io',
                      file_io._pywrap_file_io._pywrap)  # pylint: disable=protected-access
  with pytest.raises(UnicodeEncodeError):
    tf.io.gfile.makedirs(os.path.join(str(tmp_path), os.fsdecode(b'caf\xe9')))
