"""I3D, the Inflated 3-D Inception-v1 (Carreira & Zisserman 2017, "Quo Vadis,
Action Recognition? A New Model and the Kinetics Dataset",
https://arxiv.org/abs/1705.07750).

Inception-v1 with every k x k filter inflated to k x k x k: full 3-D
convolutions from Conv2d_2c_3x3 on, a 7x7x7 first layer and no gating. The
trunk and classifier are S3D-G's (`nets.s3dg`) with those settings; the arg
scope's `separable_conv3d` turns it into S3D without gating.
"""

import tf_compat  # noqa: F401
import tf_slim as slim

from nets import i3d_utils
from nets import s3dg

# What makes the S3D-G trunk I3D.
_I3D_TRUNK = {
    'first_temporal_kernel_size': 7,
    'temporal_conv_startat': 'Conv2d_2c_3x3',
    'gating_startat': None,
}


def i3d_arg_scope(weight_decay=1e-7, batch_norm_decay=0.999,
                  batch_norm_epsilon=0.001, use_renorm=False,
                  separable_conv3d=False):
  """Arg scope of I3D (`i3d_utils.video_arg_scope`); full 3-D by default."""
  return i3d_utils.video_arg_scope(weight_decay, batch_norm_decay,
                                   batch_norm_epsilon, use_renorm,
                                   separable_conv3d)


def i3d_base(inputs, final_endpoint='Mixed_5c', scope='InceptionV1'):
  """The I3D trunk up to `final_endpoint` (one of `s3dg.END_POINTS`).

  Returns:
    (net, end_points).
  """
  return s3dg.s3dg_base(inputs, final_endpoint=final_endpoint, scope=scope,
                        **_I3D_TRUNK)


def i3d(inputs, num_classes=1000, dropout_keep_prob=0.8, is_training=True,
        prediction_fn=slim.softmax, spatial_squeeze=True, reuse=None,
        scope='InceptionV1'):
  """I3D classifier.

  Args:
    inputs: float clips [batch, frames, height, width, 3], 224x224 frames
      for the released Kinetics model (64 frames).
    num_classes: number of classes; 0 or None returns the pooled 1024-d
      features, averaged over time, instead of logits.
    dropout_keep_prob: fraction of pooled features kept while training.
    is_training: BatchNorm uses batch statistics and dropout is active.
    prediction_fn: turns logits into `end_points['Predictions']`.
    spatial_squeeze: squeeze logits to [batch, num_classes].
    reuse: whether to reuse the variables of `scope`.
    scope: variable scope of every variable.

  Returns:
    (logits, end_points).
  """
  return s3dg.s3dg(inputs, num_classes=num_classes,
                   dropout_keep_prob=dropout_keep_prob,
                   is_training=is_training, prediction_fn=prediction_fn,
                   spatial_squeeze=spatial_squeeze, reuse=reuse, scope=scope,
                   **_I3D_TRUNK)


i3d.default_image_size = 224
