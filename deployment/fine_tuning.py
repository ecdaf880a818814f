"""Fine-tuning: which variables train, and the warm start from a checkpoint.

    variables = fine_tuning.get_variables_to_train('InceptionV3/Logits')
    init_fn = fine_tuning.get_init_fn(checkpoint_path, train_dir,
                                      'InceptionV3/Logits')

The names and flag semantics (--trainable_scopes, --checkpoint_path,
--checkpoint_exclude_scopes, --ignore_missing_vars) are slim's; a variable
that does not fit the checkpoint is one line naming it and the flag to pass.
"""

import tf_compat  # noqa: F401
import tensorflow.compat.v1 as tf
import tf_slim as slim

from deployment.errors import UserError
from deployment import checkpoints


def split_scopes(scopes):
  """'A/B, C' -> ['A/B', 'C']."""
  return [scope.strip() for scope in (scopes or '').split(',')
          if scope.strip()]


def get_variables_to_train(trainable_scopes):
  """Trainable variables under the comma-separated scopes (all when empty).

  Raises:
    UserError: when a scope matches no trainable variable.
  """
  scopes = split_scopes(trainable_scopes)
  if not scopes:
    return tf.trainable_variables()
  variables = []
  for scope in scopes:
    found = tf.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES, scope)
    if not found:
      example = tf.trainable_variables()[0].op.name
      raise UserError('--trainable_scopes: %r matches no trainable variable '
                      '(e.g. %s)' % (scope, example))
    variables.extend(v for v in found if v not in variables)
  return variables


def _excluded(name, exclude_scopes):
  return any(name == scope or name.startswith(scope.rstrip('/') + '/')
             for scope in exclude_scopes)


def _restorable_variables(checkpoint, variables, ignore_missing_vars):
  """Keeps the variables the checkpoint can fill; checks their shapes.

  Raises:
    UserError: for a shape mismatch, or a missing variable without
      --ignore_missing_vars.
  """

  def hint(name):
    if ignore_missing_vars:
      return ('add its scope to --checkpoint_exclude_scopes (e.g. '
              '--checkpoint_exclude_scopes=%s)' % name.rsplit('/', 1)[0])
    return ('add its scope to --checkpoint_exclude_scopes (e.g. '
            '--checkpoint_exclude_scopes=%s) or pass '
            '--ignore_missing_vars=True' % name.rsplit('/', 1)[0])

  by_name = {var.op.name: var for var in variables}
  found = checkpoints.check_variables(
      checkpoint, {name: var.get_shape().as_list()
                   for name, var in by_name.items()}, hint,
      skip_missing=True if ignore_missing_vars else ())
  for name in sorted(set(by_name) - set(found)):
    tf.logging.warning('Variable %s is not in %s; it keeps its initial '
                       'value (--ignore_missing_vars)', name, checkpoint)
  return [var for var in variables if var.op.name in found]


def get_init_fn(checkpoint_path, train_dir, checkpoint_exclude_scopes='',
                ignore_missing_vars=False):
  """Returns the warm-start function for fine-tuning, or None.

  Warm-starting only happens at step 0: when train_dir already holds a
  checkpoint, training resumes from it and --checkpoint_path is ignored
  (and said so).

  Raises:
    UserError: for a missing checkpoint or a variable that does not fit.
  """
  if not checkpoint_path:
    return None
  if train_dir and tf.train.latest_checkpoint(train_dir):
    tf.logging.info('Resuming from %s; ignoring --checkpoint_path=%s, which '
                    'is only used to start a new training run',
                    tf.train.latest_checkpoint(train_dir), checkpoint_path)
    return None
  checkpoint = checkpoints.resolve_readable(checkpoint_path)
  exclude_scopes = split_scopes(checkpoint_exclude_scopes)
  candidates = [var for var in slim.get_model_variables()
                if not _excluded(var.op.name, exclude_scopes)]
  variables = _restorable_variables(checkpoint, candidates,
                                    ignore_missing_vars)
  tf.logging.info('Fine-tuning from %s: restoring %d variables, %d excluded',
                  checkpoint, len(variables),
                  len(slim.get_model_variables()) - len(candidates))
  saver = tf.train.Saver(variables)

  def init_fn(sess):
    saver.restore(sess, checkpoint)

  return init_fn
