"""benchmarks/densenet_step_breakdown.py: the table of where a step's time goes.

The timings are the benchmark's; here that every executed op lands in the
row it belongs to and the table adds up, on 2 steps of batch 4.
"""
import os
import re
import sys

import pytest

from conftest import ROOT
import deployment_helpers as helpers
from common_flags import UserError
from datasets import fake_data

sys.path.insert(0, os.path.join(ROOT, 'benchmarks'))
import densenet_step_breakdown as breakdown  # noqa: E402

TABLE_ROW = re.compile(r'^\| (.+?) \| ([\d.]+) \| ([\d.]+) \| (.*) \|$', re.M)


def _rows(report):
  """{category: (ms per step, share %, top op types)} of a printed table."""
  return {name: (float(ms), float(share), top)
          for name, ms, share, top in TABLE_ROW.findall(report)}


# Real ops of the step: the type the step stats name, the node, the row's
# constant in the benchmark.
EXAMPLES = """
    _MklNativeConv2D                x/conv1/Conv2D                 CONV_FORWARD
    Conv2D                          x/conv1/Conv2D                 CONV_FORWARD
    _FusedConv2D                    x/logits/BiasAdd               CONV_FORWARD
    _MklNativeConv2DBackpropFilter  g/x/Conv2D_grad/F              CONV_BACKWARD
    Conv2DBackpropInput             g/x/Conv2D_grad/I              CONV_BACKWARD
    _MklNativeFusedBatchNormEx      x/BatchNorm/FusedBatchNorm     BN_FORWARD
    AssignSubVariableOp             x/BatchNorm/AssignMovingAvg/A  BN_FORWARD
    _MklFusedBatchNormGradV3        g/x/BatchNorm_grad             BN_BACKWARD
    ReluGrad                        g/x/Relu_grad/ReluGrad         RELU
    ConcatV2                        x/dense_block1/concat          CONCAT
    Slice                           g/x/block1/concat_grad/S       CONCAT
    Slice                           g/x/Pad_grad/Slice_1           OTHER
    _MklNativeAvgPoolGrad           g/x/AvgPool_grad               POOLING
    Mean                            x/global_pool                  POOLING
    ResourceApplyMomentum           Momentum/update_x/Apply        OPTIMIZER
    Mul                             x/kernel/Regularizer/l2        OPTIMIZER
    IteratorGetNext                 IteratorGetNext                INPUT
    SoftmaxCrossEntropyWithLogits   loss/xentropy                  OTHER
"""


@pytest.mark.parametrize(
    'op_type, node_name, row',
    [line.split() for line in EXAMPLES.strip().splitlines()])
def test_ops_land_in_their_rows(op_type, node_name, row):
  assert breakdown.category_of(op_type, node_name) == getattr(breakdown, row)


def test_addn_of_a_weight_decay_gradient_is_the_optimizers():
  decay = ['gradients/x/Conv2D_grad/F',
           'gradients/x/kernel/Regularizer/l2_regularizer/L2Loss_grad/mul']
  assert (breakdown.category_of('AddN', 'gradients/AddN_3', decay) ==
          breakdown.OPTIMIZER)
  reused = ['gradients/x/concat_grad/Slice', 'gradients/y/BatchNorm_grad']
  assert (breakdown.category_of('AddN', 'gradients/AddN_4', reused) ==
          breakdown.CONCAT)


def test_script_prints_every_row_and_the_shares_add_up():
  output = helpers.succeeds(
      os.path.join('benchmarks', 'densenet_step_breakdown.py'),
      '--batch_size=4', '--steps=2', '--trace_steps=1', '--warmup_steps=0',
      '--threads=2')
  rows = _rows(output)
  assert set(rows) == set(breakdown.CATEGORIES)
  shares = [share for _, share, _ in rows.values()]
  assert sum(shares) == pytest.approx(100, abs=1)
  # The step convolves, normalises and concatenates for real; a constant
  # batch needs no reader.
  for category in (breakdown.CONV_FORWARD, breakdown.CONV_BACKWARD,
                   breakdown.BN_FORWARD, breakdown.BN_BACKWARD,
                   breakdown.CONCAT, breakdown.OPTIMIZER):
    assert rows[category][0] > 0, category
  assert rows[breakdown.INPUT][0] == 0
  shown = [ms for _, ms, _, _ in TABLE_ROW.findall(output)]
  assert shown == sorted(shown, key=float, reverse=True)
  assert 'batch 4 of 28x28x1' in output
  assert 'TF_ENABLE_ONEDNN_OPTS=' in output
  assert re.search(r'wall: [\d.]+ ms/step, [\d.]+ images/sec', output)


def test_reader_input_is_traced_as_input(tmp_path):
  fake_data.write_fake_dataset(
      str(tmp_path), 'fashion_mnist', num_classes=10,
      images_per_class={'train': 1}, image_format='png',
      image_shape=(28, 28, 1))
  result = breakdown.measure(batch_size=4, steps=1, trace_steps=1,
                             dataset_dir=str(tmp_path), threads=2,
                             warmup_steps=0)
  assert result['op_times'][breakdown.INPUT]['IteratorGetNext'] > 0
  assert result['input_alone_s'] > 0
  report = breakdown.format_report(result)
  assert 'tf.data over %s' % tmp_path in report
  assert 'The reader by itself' in report


def test_missing_dataset_dir_is_a_one_line_error(tmp_path):
  with pytest.raises(UserError, match='--dataset_dir=.*does not exist'):
    breakdown.measure(batch_size=4, steps=1, trace_steps=1,
                      dataset_dir=str(tmp_path / 'nothing'))
