"""freeze_graph.py / inference.freeze_graph_def."""

import shutil

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import deployment_helpers as helpers
from deployment import inference

TRAINING_ONLY_OPS = {'VarHandleOp', 'VariableV2', 'AssignVariableOp', 'Assign',
                     'SaveV2', 'RestoreV2', 'ReadVariableOp', 'NoOp'}


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
  work = tmp_path_factory.mktemp('freeze')
  dataset_dir = str(work / 'quiz')
  helpers.write_dataset(dataset_dir)
  train_dir = str(work / 'train')
  checkpoint = helpers.write_checkpoint(train_dir, 'cifarnet')
  spec = inference.spec_from_dataset('cifarnet', 'quiz', dataset_dir)
  graph_def, info = inference.export_graph_def(spec)
  graph_file = str(work / 'cifarnet_inf_graph.pb')
  inference.write_graph_def(graph_def, graph_file)
  return dict(dataset_dir=dataset_dir, train_dir=train_dir, info=info,
              checkpoint=checkpoint, graph_def=graph_def,
              graph_file=graph_file, spec=spec)


def _checkpoint_predictions(exported, images):
  """The unfrozen graph, variables restored by a Saver."""
  with tf.Graph().as_default():
    inference.build_inference_graph(exported['spec'])
    with tf.Session() as sess:
      tf.train.Saver().restore(sess, exported['checkpoint'])
      return sess.run(exported['info']['output_node'] + ':0',
                      {'input:0': images})


def test_frozen_graph_has_constants_only_and_same_output(exported):
  info = exported['info']
  frozen = inference.freeze_graph_def(exported['graph_def'],
                                      exported['train_dir'],
                                      inference.output_node_names(info))
  assert not {n.op for n in frozen.node} & TRAINING_ONLY_OPS
  assert not [n.name for n in frozen.node if n.name.startswith('save')]
  assert len(frozen.node) < len(exported['graph_def'].node)
  images = np.random.RandomState(0).uniform(-1, 1, (3, 32, 32, 3))
  with tf.Graph().as_default():
    tf.import_graph_def(frozen, name='')
    with tf.Session() as sess:
      got = sess.run(info['output_node'] + ':0', {'input:0': images})
  np.testing.assert_allclose(got, _checkpoint_predictions(exported, images),
                             rtol=1e-5, atol=1e-6)
  assert got.shape == (3, helpers.NUM_CLASSES)


def _frozen_output(graph_def, output_node, images):
  with tf.Graph().as_default():
    tf.import_graph_def(graph_def, name='')
    with tf.Session() as sess:
      return sess.run(output_node + ':0', {'input:0': images})


def test_moving_averages_are_frozen_instead_of_the_weights(exported,
                                                           tmp_path):
  train_dir = str(tmp_path / 'averaged')
  # Same weights as the fixture's checkpoint (seed 1), averages = weights / 2.
  checkpoint = helpers.write_checkpoint(train_dir, 'cifarnet',
                                        averages_scale=0.5)
  nodes = inference.output_node_names(exported['info'])
  output = exported['info']['output_node']
  images = np.random.RandomState(2).uniform(-1, 1, (3, 32, 32, 3))
  weights = _frozen_output(inference.freeze_graph_def(
      exported['graph_def'], train_dir, nodes), output, images)
  averages = _frozen_output(inference.freeze_graph_def(
      exported['graph_def'], train_dir, nodes, moving_averages=True),
                            output, images)
  with tf.Graph().as_default():
    inference.build_inference_graph(exported['spec'])
    ema = tf.train.ExponentialMovingAverage(0.998)
    with tf.Session() as sess:
      tf.train.Saver(ema.variables_to_restore()).restore(sess, checkpoint)
      evaluated = sess.run(output + ':0', {'input:0': images})
  np.testing.assert_allclose(averages, evaluated, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(weights, _checkpoint_predictions(exported, images),
                             rtol=1e-5, atol=1e-6)
  assert np.abs(averages - weights).max() > 1e-3


def test_moving_averages_of_a_checkpoint_without_them_is_a_user_error(
    exported):
  with pytest.raises(inference.UserError,
                     match='holds no moving averages.*--moving_average_decay'):
    inference.freeze_graph_def(exported['graph_def'], exported['train_dir'],
                               inference.output_node_names(exported['info']),
                               moving_averages=True)


def test_wrong_class_count_names_variable_and_shapes(exported, tmp_path):
  other = str(tmp_path / 'other')
  helpers.write_checkpoint(other, 'cifarnet', num_classes=9)
  with pytest.raises(inference.UserError, match=r'shape \[.*9\].*class count'):
    inference.freeze_graph_def(exported['graph_def'], other,
                               inference.output_node_names(exported['info']))


def test_missing_checkpoint_is_a_user_error(exported, tmp_path):
  with pytest.raises(inference.UserError, match='no checkpoint'):
    inference.freeze_graph_def(exported['graph_def'], str(tmp_path),
                               inference.output_node_names(exported['info']))


def test_truncated_latest_checkpoint_falls_back_to_the_older_one(exported,
                                                                 tmp_path):
  train_dir = tmp_path / 'train'
  shutil.copytree(exported['train_dir'], str(train_dir))
  helpers.write_checkpoint(str(train_dir / 'newer'), 'cifarnet', seed=2)
  # A newer step whose data file was cut short (a full disk, a kill).
  for path in (train_dir / 'newer').iterdir():
    if path.name.startswith('model.ckpt-7'):
      target = train_dir / path.name.replace('-7', '-9')
      data = path.read_bytes()
      target.write_bytes(data[:len(data) // 2] if '.data-' in path.name
                         else data)
  tf.train.update_checkpoint_state(str(train_dir), 'model.ckpt-9',
                                   ['model.ckpt-7', 'model.ckpt-9'])
  output_nodes = inference.output_node_names(exported['info'])
  frozen = inference.freeze_graph_def(exported['graph_def'], str(train_dir),
                                      output_nodes)
  images = np.random.RandomState(1).uniform(-1, 1, (2, 32, 32, 3))
  with tf.Graph().as_default():
    tf.import_graph_def(frozen, name='')
    with tf.Session() as sess:
      got = sess.run(exported['info']['output_node'] + ':0',
                     {'input:0': images})
  # Step 7's weights (seed 1), not the cut-short step 9's (seed 2).
  np.testing.assert_allclose(got, _checkpoint_predictions(exported, images),
                             rtol=1e-5, atol=1e-6)


def test_garbage_checkpoint_is_one_line(exported, tmp_path):
  garbage = tmp_path / 'model.ckpt'
  (tmp_path / 'model.ckpt.index').write_bytes(b'not an sstable at all')
  (tmp_path / 'model.ckpt.data-00000-of-00001').write_bytes(b'\0' * 64)
  with pytest.raises(inference.UserError) as caught:
    inference.freeze_graph_def(exported['graph_def'], str(garbage),
                               inference.output_node_names(exported['info']))
  message = str(caught.value)
  assert '\n' not in message and str(garbage) in message
  assert 'pass a complete one' in message  # says what to do


def test_script_freezes_prints_output_and_writes_labels(exported, tmp_path):
  output = str(tmp_path / 'my_cifarnet_freeze.pb')
  result = helpers.run_script(
      'freeze_graph.py', '--input_graph=' + exported['graph_file'],
      '--input_checkpoint=' + exported['train_dir'], '--input_binary=true',
      '--output_graph=' + output,
      '--output_node_name=' + exported['info']['output_node'])
  assert result.returncode == 0, result.stderr
  assert 'Output node: %s' % exported['info']['output_node'] in result.stdout
  with open(str(tmp_path / 'my_cifarnet_freeze.label')) as f:
    assert f.read().splitlines() == [
        '%d:class_%d' % (i, i) for i in range(helpers.NUM_CLASSES)]
  frozen = inference.read_graph_def(output)
  assert inference.read_info(frozen, output) == exported['info']
  assert not {n.op for n in frozen.node} & TRAINING_ONLY_OPS


# Freezing keeps the functions a 1-channel graph calls:
# test_export_inference_graph.py::test_frozen_graph_classifies_png_and_jpeg.
