"""slim_walkthrough.ipynb, executed headless top to bottom, its outputs checked.

The notebook reads Fashion-MNIST from WALKTHROUGH_DATA_DIR; here that is the
first images of the Debian package's files (real clothes, converted in
seconds), or random IDX files where the package is missing. Its step counts
are shrunk with WALKTHROUGH_STEPS.
"""

import os
import re

import nbclient
import nbformat

import deployment_helpers as helpers
from datasets import convert_dataset
from datasets import download_and_convert_mnist
from datasets import fake_data

NOTEBOOK = os.path.join(helpers.ROOT, 'slim_walkthrough.ipynb')
DEBIAN_DIR = download_and_convert_mnist.DEBIAN_DIRS['fashion_mnist']
SIZES = {'train': 2000, 'test': 500}
STEPS = 40
ACCURACY = re.compile(r'^eval/Accuracy\[([0-9.e-]+)\]$', re.M)


def _write_fashion_mnist(data_dir, idx_dir):
  """Converts a small Fashion-MNIST into data_dir; True if the images are real."""
  os.makedirs(idx_dir)
  real = os.path.isfile(os.path.join(DEBIAN_DIR, 't10k-labels-idx1-ubyte.gz'))
  if real:
    fake_data.write_idx_subset(DEBIAN_DIR, idx_dir, SIZES)
  else:
    fake_data.write_idx_files(idx_dir, SIZES)
  convert_dataset.convert('fashion_mnist', data_dir, source_dir=idx_dir,
                          log=lambda *_: None)
  return real


def _outputs(notebook):
  """(all stream text, number of PNG figures) of an executed notebook."""
  text, figures = [], 0
  for cell in notebook.cells:
    for output in cell.get('outputs', []):
      if output.output_type == 'stream':
        text.append(output.text)
      elif 'image/png' in output.get('data', {}):
        figures += 1
  return ''.join(text), figures


def test_the_walkthrough_runs_top_to_bottom(tmp_path, monkeypatch):
  data_dir = str(tmp_path / 'fashion_mnist')
  real = _write_fashion_mnist(data_dir, str(tmp_path / 'idx'))
  for name, value in helpers.script_env({
      'WALKTHROUGH_DIR': str(tmp_path / 'walkthrough'),
      'WALKTHROUGH_DATA_DIR': data_dir,
      'WALKTHROUGH_STEPS': STEPS}).items():
    monkeypatch.setenv(name, value)
  notebook = nbformat.read(NOTEBOOK, as_version=4)
  nbclient.NotebookClient(
      notebook, timeout=600, kernel_name='python3',
      resources={'metadata': {'path': helpers.ROOT}}).execute()
  text, figures = _outputs(notebook)

  # 1: the small network's end points, by slim's layer scopes.
  for name in ('conv1', 'pool1', 'conv2', 'pool2', 'fc3', 'logits'):
    assert re.search(r'^end point small_cnn/%s ' % name, text, re.M), name
  # 2: growth rate and connectivity, read from DenseNet's graph.
  assert 'growth rate k (channels each dense layer adds): {12}' in text
  assert re.search(r'^conv_block1 +reads pool1 +\(24 channels\)$', text, re.M)
  assert re.search(r'^conv_block6 +reads pool1, conv_block1, conv_block2, '
                   r'conv_block3, conv_block4, conv_block5 +\(84 channels\)$',
                   text, re.M)
  # 3 and 4: the provider's split, then STEPS recorded training steps.
  assert 'fashion_mnist train split: %d images, 10 classes' % SIZES[
      'train'] in text
  assert re.search(r'^trained %d steps, final loss [0-9.]+' % STEPS, text,
                   re.M)
  # 5 and 6: the course's accuracy lines, after training and fine-tuning.
  accuracies = [float(a) for a in ACCURACY.findall(text)]
  assert len(accuracies) == 2, text[-3000:]
  assert all(0.0 <= a <= 1.0 for a in accuracies)
  if real:  # chance is 0.1: the network learnt something in STEPS steps
    assert accuracies[0] > 0.2, accuracies
  assert re.search(r'densenet_bc_mini/conv1/weights +unchanged \(frozen\)',
                   text)
  assert re.search(r'densenet_bc_mini/logits/weights +changed \(trained\)',
                   text)
  # 7: label_image.py's top-5 of the exported model.
  assert re.search(r'^  1\. .+ \(\d\) [0-9.]+$', text, re.M), text[-2000:]
  # The connectivity matrix, the examples, the loss curve, the test image.
  assert figures >= 4
