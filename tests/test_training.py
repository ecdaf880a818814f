"""Unit tests of the training's modules (in-process, no subprocess).

Learning rate and optimizer, fine-tuning, progress lines, session config and
one-line errors: deployment/{optimization,fine_tuning,progress,
session_config,training_errors}.py.
"""

import collections
import errno
import os

import numpy as np
import pytest
import tensorflow.compat.v1 as tf
import tf_slim as slim

from common_flags import UserError
from deployment import fine_tuning
from deployment import optimization
from deployment import progress
from deployment import session_config
from deployment import training_errors

Params = collections.namedtuple('Params', [
    'learning_rate_decay_type', 'learning_rate', 'end_learning_rate',
    'learning_rate_decay_factor', 'num_epochs_per_decay', 'warmup_epochs',
    'batch_size'])


def rates_at(params, steps, num_samples=100):
  with tf.Graph().as_default():
    step = tf.placeholder(tf.int64, [])
    rate = optimization.configure_learning_rate(params, num_samples, step)
    with tf.Session() as sess:
      return [float(sess.run(rate, {step: s})) for s in steps]


def test_exponential_decay_is_staircase_per_epochs():
  # 100 samples, batch 10, decay every 2 epochs = every 20 steps.
  params = Params('exponential', 0.1, 0.0, 0.5, 2.0, 0.0, 10)
  np.testing.assert_allclose(rates_at(params, [0, 19, 20, 45]),
                             [0.1, 0.1, 0.05, 0.025], rtol=1e-6)


def test_polynomial_decay_reaches_end_rate():
  params = Params('polynomial', 0.1, 0.01, 0.0, 2.0, 0.0, 10)
  np.testing.assert_allclose(rates_at(params, [0, 10, 20, 40]),
                             [0.1, 0.055, 0.01, 0.01], rtol=1e-6)


def test_warmup_ramps_linearly_then_follows_schedule():
  params = Params('fixed', 0.2, 0.0, 0.0, 2.0, 1.0, 10)  # 10 warm-up steps
  np.testing.assert_allclose(rates_at(params, [0, 4, 9, 30]),
                             [0.02, 0.1, 0.2, 0.2], rtol=1e-6)


def test_tiny_dataset_still_gets_a_positive_decay_period():
  params = Params('exponential', 0.1, 0.0, 0.5, 0.01, 0.0, 32)
  assert rates_at(params, [1], num_samples=3) == pytest.approx([0.05])


def test_unknown_decay_type_and_optimizer_name_the_flag():
  with pytest.raises(UserError, match='--learning_rate_decay_type=cosine'):
    rates_at(Params('cosine', 0.1, 0.0, 0.5, 2.0, 0.0, 10), [0])
  params = collections.namedtuple('P', 'optimizer')('adamw')
  with pytest.raises(UserError, match='--optimizer=adamw is not one of'):
    optimization.configure_optimizer(params, 0.1)


def test_every_optimizer_builds_with_slim_hyper_parameters():
  params = collections.namedtuple('P', [
      'optimizer', 'adadelta_rho', 'opt_epsilon',
      'adagrad_initial_accumulator_value', 'adam_beta1', 'adam_beta2',
      'ftrl_learning_rate_power', 'ftrl_initial_accumulator_value',
      'ftrl_l1', 'ftrl_l2', 'momentum', 'rmsprop_decay',
      'rmsprop_momentum'])
  for name in optimization.OPTIMIZERS:
    optimizer = optimization.configure_optimizer(
        params(name, 0.95, 1.0, 0.1, 0.9, 0.999, -0.5, 0.1, 0.0, 0.0, 0.9,
               0.9, 0.9), 0.01)
    assert isinstance(optimizer, tf.train.Optimizer), name
  rmsprop = optimization.configure_optimizer(
      params('rmsprop', 0.95, 1.0, 0.1, 0.9, 0.999, -0.5, 0.1, 0.0, 0.0,
             0.9, 0.8, 0.7), 0.01)
  assert (rmsprop._decay, rmsprop._momentum, rmsprop._epsilon) == (0.8, 0.7,
                                                                   1.0)


def build_two_scopes():
  with tf.variable_scope('Net'):
    slim.model_variable('body/weights', shape=[3, 4])
    slim.model_variable('Logits/weights', shape=[4, 2])


def test_variables_to_train_filters_by_scope_and_rejects_unknown():
  with tf.Graph().as_default():
    build_two_scopes()
    assert [v.op.name for v in fine_tuning.get_variables_to_train(
        ' Net/Logits ')] == ['Net/Logits/weights']
    assert len(fine_tuning.get_variables_to_train(None)) == 2
    with pytest.raises(UserError, match="'Net/Head' matches no trainable"):
      fine_tuning.get_variables_to_train('Net/Logits,Net/Head')


def save_checkpoint(path, logits_shape):
  with tf.Graph().as_default():
    with tf.variable_scope('Net'):
      slim.model_variable('body/weights', shape=[3, 4])
      slim.model_variable('Logits/weights', shape=logits_shape)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      return tf.train.Saver().save(sess, path)


def test_init_fn_restores_all_but_excluded_scopes(tmp_path):
  checkpoint = save_checkpoint(str(tmp_path / 'src' / 'model.ckpt'), [4, 9])
  with tf.Graph().as_default():
    build_two_scopes()
    with pytest.raises(UserError) as error:
      fine_tuning.get_init_fn(checkpoint, str(tmp_path / 'train'))
    assert ('Net/Logits/weights has shape [4, 2] in the model but [4, 9]'
            in str(error.value))
    assert '--checkpoint_exclude_scopes=Net/Logits' in str(error.value)
    init_fn = fine_tuning.get_init_fn(os.path.dirname(checkpoint),
                                   str(tmp_path / 'train'), 'Net/Logits')
    body = tf.global_variables('Net/body')[0]
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      init_fn(sess)
      restored = sess.run(body)
  saved = tf.train.load_checkpoint(checkpoint).get_tensor('Net/body/weights')
  np.testing.assert_array_equal(restored, saved)


def test_init_fn_is_skipped_when_train_dir_has_a_checkpoint(tmp_path):
  train_dir = str(tmp_path / 'train')
  save_checkpoint(os.path.join(train_dir, 'model.ckpt'), [4, 2])
  with tf.Graph().as_default():
    build_two_scopes()
    assert fine_tuning.get_init_fn('/does/not/matter', train_dir) is None


def test_missing_variable_needs_ignore_missing_vars(tmp_path):
  checkpoint = save_checkpoint(str(tmp_path / 'model.ckpt'), [4, 2])
  with tf.Graph().as_default():
    build_two_scopes()
    slim.model_variable('Net/extra', shape=[1])
    with pytest.raises(UserError, match='Net/extra is not in checkpoint'):
      fine_tuning.get_init_fn(checkpoint, None)
    assert fine_tuning.get_init_fn(checkpoint, None,
                                ignore_missing_vars=True) is not None


class FakeSession(object):
  """Returns loss 2.5 / lr 0.1 and a global step advancing by one per run."""

  def __init__(self):
    self.step = 0

  def run(self, fetches):
    if isinstance(fetches, list):
      self.step += 1
      return 2.5, 0.1
    return self.step


def _run_steps(step_fn, num_steps):
  """Runs `step_fn` on a FakeSession; returns (results, logged lines)."""
  sess = FakeSession()
  lines = []
  original = tf.logging.info
  tf.logging.info = lambda msg, *args: lines.append(msg % args if args
                                                    else msg)
  try:
    results = [step_fn(sess, 'train_op', 'global_step', {})
               for _ in range(num_steps)]
  finally:
    tf.logging.info = original
  return results, lines


def test_progress_line_has_slim_prefix_rate_epoch_and_eta():
  clock = iter(np.arange(0.0, 100.0, 0.5))  # each call 0.5 s later
  step_fn = progress.ProgressStep('lr', images_per_step=8,
                                  num_samples_per_epoch=80,
                                  max_number_of_steps=20,
                                  log_every_n_steps=5,
                                  clock=lambda: next(clock))
  results, lines = _run_steps(step_fn, 20)
  assert [stop for _, stop in results] == [False] * 19 + [True]
  # Step 1 logs too: every run shows its first loss.
  steps = [progress.PROGRESS_LINE_RE.match(line).group('step')
           for line in lines]
  assert steps == ['1', '5', '10', '15', '20']
  match = progress.PROGRESS_LINE_RE.match(lines[2])
  assert match, lines[2]
  assert match.group('step') == '10'
  assert float(match.group('loss')) == 2.5
  assert float(match.group('lr')) == 0.1
  assert float(match.group('epoch')) == 1.0  # 10 steps * 8 / 80
  # Each step takes 1 s of clock in total (two reads of 0.5 s each).
  assert float(match.group('images_per_sec')) == pytest.approx(8.0)
  assert match.group('eta') == '0:00:10'


def test_format_eta():
  assert progress.format_eta(3725.4) == '1:02:05'
  assert progress.format_eta(-3) == '0:00:00'


ConfigFlags = collections.namedtuple(
    'ConfigFlags', ['num_ps_tasks', 'task', 'xla', 'mixed_precision'])


def test_session_config_without_flags_only_allows_soft_placement():
  # model_deploy's '/device:GPU:0' clone must run on a machine without GPU.
  config = session_config.session_config_from_flags(
      ConfigFlags(0, 0, xla=False, mixed_precision=False))
  assert config == tf.ConfigProto(allow_soft_placement=True)


def test_session_config_xla_turns_on_auto_clustering_on_cpu(monkeypatch):
  monkeypatch.setenv('TF_XLA_FLAGS', '--tf_xla_auto_jit=2')
  config = session_config.session_config_from_flags(
      ConfigFlags(0, 0, xla=True, mixed_precision=False))
  assert (config.graph_options.optimizer_options.global_jit_level ==
          tf.OptimizerOptions.ON_1)
  # The user's own XLA flags are kept.
  assert os.environ['TF_XLA_FLAGS'].split() == [
      '--tf_xla_auto_jit=2', '--tf_xla_cpu_global_jit']


def _rewrites(config):
  from tensorflow.core.protobuf import rewriter_config_pb2  # pylint: disable=g-import-not-at-top
  on = rewriter_config_pb2.RewriterConfig.ON
  options = config.graph_options.rewrite_options
  return (options.auto_mixed_precision == on,
          options.auto_mixed_precision_onednn_bfloat16 == on)


@pytest.mark.parametrize('dtype, expected', [
    ('float16', (True, False)), ('bfloat16', (False, True)),
    (None, (False, False))])
def test_session_config_mixed_precision_rewrite_per_dtype(
    monkeypatch, dtype, expected):
  monkeypatch.setattr(session_config, 'mixed_precision_dtype',
                      lambda clone_on_cpu=False: dtype)
  config = session_config.session_config_from_flags(
      ConfigFlags(1, 2, xla=False, mixed_precision=True))
  assert _rewrites(config) == expected
  assert list(config.device_filters) == ['/job:ps', '/job:worker/task:2']


@pytest.mark.parametrize('flags_line, expected', [
    ('flags\t\t: fpu avx2 avx512f avx512_bf16 avx512_vnni', True),
    ('flags\t\t: fpu avx2 amx_bf16 amx_tile', True),
    ('flags\t\t: fpu avx2 avx512f avx512bw', False)])
def test_cpu_has_bfloat16_reads_cpu_flags(tmp_path, flags_line, expected):
  cpuinfo = tmp_path / 'cpuinfo'
  cpuinfo.write_text('processor\t: 0\nmodel name\t: avx512_bf16 CPU\n%s\n'
                     % flags_line)
  assert session_config.cpu_has_bfloat16(str(cpuinfo)) is expected


def test_cpu_has_bfloat16_without_cpuinfo(tmp_path):
  assert not session_config.cpu_has_bfloat16(str(tmp_path / 'missing'))


@pytest.mark.parametrize('gpus, clone_on_cpu, bf16_cpu, onednn, expected', [
    (['GPU:0'], False, True, '1', 'float16'),
    (['GPU:0'], True, True, '1', 'bfloat16'),
    ([], False, True, '1', 'bfloat16'),
    ([], False, True, '0', None),
    ([], False, False, '1', None)])
def test_mixed_precision_dtype_per_machine(monkeypatch, gpus, clone_on_cpu,
                                           bf16_cpu, onednn, expected):
  monkeypatch.setattr(tf.config, 'list_physical_devices',
                      lambda kind=None: gpus if kind == 'GPU' else [])
  monkeypatch.setattr(session_config, 'cpu_has_bfloat16', lambda: bf16_cpu)
  monkeypatch.setenv('TF_ENABLE_ONEDNN_OPTS', onednn)
  assert session_config.mixed_precision_dtype(clone_on_cpu) == expected


@pytest.mark.skipif(not session_config.cpu_has_bfloat16(),
                    reason='this CPU has no native bfloat16 math')
def test_bfloat16_rewrite_changes_the_math_within_bfloat16_precision():
  """On a bfloat16 CPU the rewrite really runs the network in bfloat16 (the
  logits change) and stays within bfloat16's precision of float32."""
  from nets import densenet  # pylint: disable=g-import-not-at-top
  images = np.random.RandomState(0).uniform(
      -1, 1, (8, 28, 28, 1)).astype(np.float32)
  with tf.Graph().as_default():
    tf.set_random_seed(0)
    with slim.arg_scope(densenet.densenet_arg_scope()):
      logits, _ = densenet.densenet_bc_mini(tf.constant(images),
                                            is_training=True)
    results = {}
    for dtype in ('float32', 'bfloat16'):
      config = tf.ConfigProto()
      session_config.enable_mixed_precision(
          config, dtype if dtype != 'float32' else None)
      with tf.Session(config=config) as sess:
        sess.run(tf.global_variables_initializer())
        results[dtype] = sess.run(logits)
  difference = np.abs(results['bfloat16'] - results['float32'])
  assert difference.max() > 1e-5
  scale = np.abs(results['float32']).max()
  assert difference.max() < 0.1 * scale, (difference.max(), scale)


def test_after_step_hook_sees_each_step_and_is_left_out_of_the_rate():
  """train_eval evaluates inside the hook; that time is not training time."""
  now = [0.0]

  def clock():
    now[0] += 0.5  # each read 0.5 s later: a step costs 1 s
    return now[0]

  calls = []

  def after_step(step, loss, learning_rate, save):
    calls.append((step, loss, learning_rate, save()))
    if step == 2:
      now[0] += 100.0  # a long evaluation

  step_fn = progress.ProgressStep(
      'lr', images_per_step=8, num_samples_per_epoch=80,
      max_number_of_steps=4, log_every_n_steps=4, clock=clock,
      after_step=after_step,
      save_checkpoint=lambda sess, step: 'ckpt-%d' % step)
  _, lines = _run_steps(step_fn, 4)
  assert calls == [(step, 2.5, 0.1, 'ckpt-%d' % step) for step in (1, 2, 3, 4)]
  last = progress.PROGRESS_LINE_RE.match(lines[-1])
  assert last.group('step') == '4'
  # Window steps 2-4: 1 s of step each, plus the hook's first clock read
  # (0.5 s); the 100 s evaluation is left out (with it: 24 / 104.5 s).
  assert float(last.group('images_per_sec')) == pytest.approx(24 / 4.5,
                                                              abs=0.05)


def test_last_step_logs_even_off_the_logging_interval():
  step_fn = progress.ProgressStep('lr', images_per_step=8,
                                  num_samples_per_epoch=80,
                                  max_number_of_steps=6,
                                  log_every_n_steps=10)
  _, lines = _run_steps(step_fn, 6)
  assert [progress.PROGRESS_LINE_RE.match(line).group('step')
          for line in lines] == ['1', '6']


def test_full_disk_is_one_line_and_leaves_no_temporary_files(tmp_path):
  """The in-process half of the full-disk case (the real one needs root)."""
  train_dir = str(tmp_path)
  save_checkpoint(os.path.join(train_dir, 'model.ckpt-3'), [4, 2])
  leftover = os.path.join(train_dir, 'model.ckpt-5_temp_abc.tempstate123')
  open(leftover, 'w').close()
  with pytest.raises(UserError) as error:
    with training_errors.user_errors_from_training(train_dir):
      raise OSError(errno.ENOSPC, 'No space left on device')
  assert 'disk of --train_dir=%s is full' % train_dir in str(error.value)
  assert 'model.ckpt-3 is kept' in str(error.value)
  assert not os.path.exists(leftover)


def test_other_errors_pass_through_unchanged(tmp_path):
  with pytest.raises(OSError, match='Permission denied'):
    with training_errors.user_errors_from_training(str(tmp_path)):
      raise OSError(errno.EACCES, 'Permission denied')
