"""`tensorboard --logdir=<train_dir>` serves the curves a training run wrote.

A short LeNet run writes its summaries every second; TensorBoard (installed
from requirements.txt) must start and answer its HTTP data API with the same
`total_loss` and `learning_rate` points as the event files. The run and the
server come from deployment_helpers (the browser's screenshot of the page,
test_browser.py, uses the same ones).
"""

import numpy as np

import deployment_helpers as helpers


def test_the_short_run_writes_several_points_of_each_curve(
    tensorboard_train_dir):
  expected = {tag: helpers.event_scalars(tensorboard_train_dir, tag)
              for tag in helpers.TENSORBOARD_TAGS}
  for tag, points in expected.items():
    assert len(points) >= 3, 'only %d %s summaries: %s' % (len(points), tag,
                                                          points)
    assert 0 <= points[0][0] and points[-1][0] <= 800, points
  rates = [value for _, value in expected['learning_rate']]
  # Polynomial decay from 0.002 over the run: falling, never above it.
  assert rates == sorted(rates, reverse=True) and rates[0] > rates[-1]
  assert 0 < rates[-1] and rates[0] <= np.float32(0.002)
  assert all(value > 0 for _, value in expected['total_loss'])


def test_tensorboard_serves_the_training_scalars(tensorboard_train_dir,
                                                 tmp_path):
  expected = {tag: helpers.event_scalars(tensorboard_train_dir, tag)
              for tag in helpers.TENSORBOARD_TAGS}
  with helpers.running_tensorboard(
      tensorboard_train_dir, str(tmp_path / 'tensorboard.log')) as (process,
                                                                    url):
    served = helpers.wait_for_scalars(process, url, expected)
    assert helpers.get_json(url + 'data/runs') == ['.']
    tags = helpers.get_json(url + 'data/plugin/scalars/tags')['.']
  assert set(helpers.TENSORBOARD_TAGS) <= set(tags), tags
  # The JSON carries the float32 summaries as doubles: equal, not close.
  assert served == expected
