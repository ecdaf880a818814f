"""Trains a model on a dataset (slim's flags, names and defaults).

    python train_image_classifier.py --dataset_name=quiz \
        --dataset_dir=/data/quiz --model_name=densenet \
        --train_dir=/output/ckpt --learning_rate=0.1 --optimizer=rmsprop \
        --batch_size=16 --clone_on_cpu=True

Rerunning the same command after an interruption resumes from the last
checkpoint in --train_dir. --checkpoint_path only warm-starts a new run.
Distributed runs read the cluster from TF_CONFIG (see deployment/distributed.py).
"""

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf

import common_flags
from deployment import training
import training_flags

flags = tf.app.flags

training_flags.define_training_flags()

# So that --help (not only --helpfull) lists the shared flags too.
flags.adopt_module_key_flags(common_flags)
flags.adopt_module_key_flags(training_flags)

FLAGS = flags.FLAGS


def main(argv):
  del argv  # run_main refuses unknown flags and arguments
  training.train_from_flags(training_flags.config_from_flags(FLAGS))


if __name__ == '__main__':
  common_flags.run_main(main)
