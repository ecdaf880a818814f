"""deployment/train_eval.py: epoch schedule, the evaluation hook, CSV, curves."""

import numpy as np
import pytest

from deployment import evaluation
from deployment import train_eval


@pytest.mark.parametrize('start, final, expected', [
    (0, 9, [3, 6, 9]),
    (4, 9, [6, 9]),       # a resumed run first finishes its epoch
    (0, 7, [3, 6, 7]),    # max_number_of_steps inside an epoch
    (9, 9, []),
])
def test_epoch_targets(start, final, expected):
  assert train_eval.epoch_targets(start, 3, final) == expected


def test_steps_per_epoch_rounds_up():
  assert train_eval.steps_per_epoch(24, 8) == 3
  assert train_eval.steps_per_epoch(25, 8) == 4


def test_csv_rows_append_and_curves_render(tmp_path):
  csv_path = str(tmp_path / train_eval.CSV_NAME)
  png_path = str(tmp_path / train_eval.PNG_NAME)
  train_eval.append_row(csv_path, {'step': 3, 'epoch': '1.000', 'loss': '2.1',
                                   'lr': '0.01', 'accuracy': '0.5',
                                   'recall_5': '0.9'})
  train_eval.append_row(csv_path, {'step': 6, 'epoch': '2.000', 'loss': None,
                                   'accuracy': '0.75', 'recall_5': '1'})
  rows = train_eval.read_rows(csv_path)
  assert open(csv_path).readline().strip() == (
      'step,epoch,loss,lr,accuracy,recall_5,mean_loss')
  assert [(r['step'], r['loss'], r['accuracy']) for r in rows] == [
      (3.0, 2.1, 0.5), (6.0, None, 0.75)]
  train_eval.plot_curves(rows, png_path, title='lenet')
  with open(png_path, 'rb') as png:
    assert png.read(8) == b'\x89PNG\r\n\x1a\n'


def _metrics(accuracy, recall_5=1.0):
  return {evaluation.ACCURACY: np.float32(accuracy),
          evaluation.RECALL_5: np.float32(recall_5)}


def test_recorder_writes_a_row_the_curves_and_one_log_line(tmp_path, capsys):
  recorder = train_eval.Recorder(str(tmp_path), images_per_step=8,
                                 num_train_samples=24, title='lenet')
  assert recorder.recorded_steps() == set()
  row = recorder.record(3, _metrics(0.25), loss=2.5, learning_rate=0.01,
                        seconds=1.25)
  assert row['accuracy'] == '0.25' and row['epoch'] == '1.000'
  assert recorder.recorded_steps() == {3}
  out = capsys.readouterr().out
  assert out.startswith('train_eval: step 3 (epoch 1.000): accuracy 0.25, '
                        'recall_5 1, evaluated in 1.2 s; curves in ')
  with open(recorder.png_path, 'rb') as png:
    assert png.read(4) == b'\x89PNG'


class FakeEvaluation(object):
  """Records what was saved and evaluated; accuracy grows with the step."""

  def __init__(self):
    self.saved = []
    self.evaluated = []

  def save(self, step):
    self.saved.append(step)
    return '/train/model.ckpt-%d' % step

  def __call__(self, checkpoint):
    self.evaluated.append(checkpoint)
    step = int(checkpoint.rsplit('-', 1)[1])
    return evaluation.EvalResult(checkpoint, step, _metrics(step / 10.0), 1)


def test_hook_saves_and_evaluates_only_at_the_epoch_ends(tmp_path):
  fake = FakeEvaluation()
  recorder = train_eval.Recorder(str(tmp_path), 8, 24)
  hook = train_eval.EvaluateAtEpochEnds([3, 6, 7], fake, recorder)
  for step in range(1, 8):
    hook(step, 2.0 / step, 0.1, lambda step=step: fake.save(step))
  assert fake.saved == [3, 6, 7]
  assert fake.evaluated == ['/train/model.ckpt-3', '/train/model.ckpt-6',
                            '/train/model.ckpt-7']
  rows = train_eval.read_rows(recorder.csv_path)
  assert [(r['step'], r['accuracy']) for r in rows] == [
      (3.0, pytest.approx(0.3)), (6.0, pytest.approx(0.6)),
      (7.0, pytest.approx(0.7))]
  assert rows[0]['loss'] == pytest.approx(2.0 / 3)
  # The curves' loss: each epoch's mean, not its last batch.
  assert [r['mean_loss'] for r in rows] == [
      pytest.approx((2.0 + 1.0 + 2.0 / 3) / 3, rel=1e-5),
      pytest.approx((0.5 + 0.4 + 2.0 / 6) / 3, rel=1e-5),
      pytest.approx(2.0 / 7, rel=1e-5)]


def test_a_csv_of_an_older_version_keeps_its_columns(tmp_path):
  csv_path = str(tmp_path / train_eval.CSV_NAME)
  with open(csv_path, 'w') as f:
    f.write('step,epoch,loss,lr,accuracy,recall_5\n3,1.0,2.1,0.01,0.5,0.9\n')
  train_eval.append_row(csv_path, {'step': 6, 'epoch': '2.0', 'loss': '1.5',
                                   'accuracy': '0.75', 'recall_5': '1',
                                   'mean_loss': '1.7'})
  rows = train_eval.read_rows(csv_path)
  assert [(r['step'], r['accuracy'], r['mean_loss']) for r in rows] == [
      (3.0, 0.5, None), (6.0, 0.75, None)]
  train_eval.plot_curves(rows, str(tmp_path / 'curves.png'))  # batch losses


def test_the_accuracy_axis_is_fitted_to_the_values():
  bottom, top = train_eval.metric_axis_limits([0.8934, 0.9329, 0.9988])
  assert 0.88 < bottom < 0.8934 and 0.9988 < top < 1.05
  bottom, top = train_eval.metric_axis_limits([0.25, 0.25])
  assert bottom == pytest.approx(0.245) and top == pytest.approx(0.265)


@pytest.mark.parametrize('step, expected', [
    (0, False), (3, True), (4, False), (6, True), (7, True)])
def test_is_epoch_end(step, expected):
  assert train_eval.is_epoch_end(step, 3, 7) == expected
