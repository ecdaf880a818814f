"""deployment/train_eval.py: epoch schedule, log parsing, CSV, curves."""

import io
import sys

import pytest

from deployment import evaluation
from deployment import train_eval
from deployment import training


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


def test_flag_args_skip_none_and_spell_booleans_as_platforms_do():
  assert train_eval.flag_args({'b': None, 'clone_on_cpu': True, 'a': 0.5}) == [
      '--a=0.5', '--clone_on_cpu=True']


def test_flag_value_reads_both_spellings():
  assert train_eval.flag_value(['--num_clones=2'], 'num_clones') == '2'
  assert train_eval.flag_value(['--num_clones', '3'], 'num_clones') == '3'
  assert train_eval.flag_value(['--x=1'], 'num_clones', 1) == 1


def test_train_log_keeps_the_last_progress_line():
  step = training.ProgressStep(learning_rate=None, images_per_step=8,
                               num_samples_per_epoch=24, max_number_of_steps=6)
  log = train_eval.TrainLog()
  for number, loss in ((1, 2.5), (2, 1.25)):
    log('INFO:tensorflow:' + step.progress_line(number, loss, 0.1, 0.005, 0.1))
  log('INFO:tensorflow:Saving checkpoint to path /tmp/model.ckpt')
  assert (float(log.loss), float(log.lr)) == (1.25, 0.005)


def test_eval_log_reads_the_printed_metric_lines():
  log = train_eval.EvalLog()
  log(evaluation.format_metric(evaluation.ACCURACY, 0.25) + '\n')
  log('2017-12-1 23:03:04.327097: I logging_ops.cc:79] eval/Recall_5[1]\n')
  assert log.metrics == {'accuracy': '0.25', 'recall_5': '1'}


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
      'step,epoch,loss,lr,accuracy,recall_5')
  assert [(r['step'], r['loss'], r['accuracy']) for r in rows] == [
      (3.0, 2.1, 0.5), (6.0, None, 0.75)]
  train_eval.plot_curves(rows, png_path, title='lenet')
  with open(png_path, 'rb') as png:
    assert png.read(8) == b'\x89PNG\r\n\x1a\n'


def test_run_streaming_copies_lines_live_and_returns_the_status():
  out = io.StringIO()
  seen = []
  status = train_eval.run_streaming(
      [sys.executable, '-c',
       'import sys; print("one"); sys.stderr.write("two\\n"); sys.exit(3)'],
      seen.append, out)
  assert status == 3
  assert sorted(seen) == ['one\n', 'two\n']
  assert sorted(out.getvalue().splitlines()) == ['one', 'two']
