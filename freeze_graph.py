r"""Freezes an exported inference graph with a checkpoint; no bazel needed.

Folds the variables into constants, keeps only what the output needs and
drops training-only nodes, prints the output node, and writes the class
names next to the frozen graph (<output_graph without .pb>.label).

    python freeze_graph.py --input_graph=/tmp/inception_v4_inf_graph.pb \
      --input_checkpoint=/tmp/train --output_graph=/tmp/inception_v4_freeze.pb

The output node is read from the exported graph; --output_node_names
overrides it (the tutorial's --output_node_name works too).
"""

import os

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf

import common_flags
from deployment import inference

flags = tf.app.flags
flags.DEFINE_string('input_graph', '',
                    'GraphDef written by export_inference_graph.py.')
flags.DEFINE_boolean('input_binary', True,
                     'Whether --input_graph is binary (False: text).')
flags.DEFINE_string('input_checkpoint', '',
                    'Checkpoint prefix, or a training directory (its latest '
                    'checkpoint).')
flags.DEFINE_string('output_graph', '', 'Where to write the frozen graph.')
flags.DEFINE_string('output_node_names', '',
                    'Comma-separated nodes to keep; empty = the exported '
                    'output, preprocessing and info nodes.')
flags.DEFINE_alias('output_node_name', 'output_node_names')
flags.DEFINE_string('labels_file', '',
                    'labels.txt to copy next to the frozen graph; empty = '
                    'the class names recorded at export, if any.')
common_flags.define_moving_average_flag(common_flags.EXPORT_AVERAGES_NOTE)
FLAGS = flags.FLAGS


def main(_):
  common_flags.require_flag(FLAGS, 'input_graph',
                            'the .pb written by export_inference_graph.py')
  common_flags.require_flag(FLAGS, 'input_checkpoint',
                            'a checkpoint prefix or training directory')
  common_flags.require_flag(FLAGS, 'output_graph',
                            'where to write the frozen .pb')
  graph_def = inference.read_graph_def(FLAGS.input_graph, FLAGS.input_binary)
  info = inference.read_info(graph_def, FLAGS.input_graph)
  output_nodes = inference.output_node_names(info)
  if FLAGS.output_node_names:
    requested = [n.strip() for n in FLAGS.output_node_names.split(',')
                 if n.strip()]
    output_nodes = requested + [n for n in output_nodes if n not in requested]
  frozen = inference.freeze_graph_def(
      graph_def, FLAGS.input_checkpoint, output_nodes,
      moving_averages=bool(FLAGS.moving_average_decay))
  inference.write_graph_def(frozen, FLAGS.output_graph, flag='--output_graph')
  print('Wrote frozen graph (%d nodes) to %s' % (len(frozen.node),
                                                 FLAGS.output_graph))
  print('Output node: %s' % info['output_node'])
  labels = (inference.read_labels(FLAGS.labels_file) if FLAGS.labels_file
            else inference.labels_from_info(info))
  if labels:
    labels_file = inference.labels_path_for(FLAGS.output_graph)
    inference.write_labels(labels, labels_file)
    print('Wrote labels to %s' % labels_file)
  else:
    print('No class names known: pass --labels_file to write %s' %
          os.path.basename(inference.labels_path_for(FLAGS.output_graph)))


if __name__ == '__main__':
  common_flags.run_main(main)
