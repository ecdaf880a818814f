"""The course's Inception-v4 baseline: fine-tune a 1001-class checkpoint to 5
classes through train_image_classifier.py with the course's exclude scopes
(the run and the checks are in finetune_helpers)."""

import pytest

import finetune_helpers as helpers

EXCLUDE = ['InceptionV4/Logits', 'InceptionV4/AuxLogits/Aux_logits']
TRAINABLE = ['InceptionV4/Logits', 'InceptionV4/AuxLogits']
IMAGE_SIZE = 75  # the smallest input Inception-v4 accepts: keeps this cheap


@pytest.fixture(scope='module')
def finetuned(tmp_path_factory):
  return helpers.finetune(tmp_path_factory.mktemp('finetune'), 'inception_v4',
                          EXCLUDE, TRAINABLE, IMAGE_SIZE)


def test_excluded_scopes_start_fresh_with_the_new_class_count(finetuned):
  helpers.assert_excluded_scopes_start_fresh(finetuned, [
      'InceptionV4/Logits/Logits/weights',
      'InceptionV4/AuxLogits/Aux_logits/weights'])


def test_every_other_trainable_variable_keeps_its_checkpoint_value(finetuned):
  helpers.assert_frozen_variables_keep_checkpoint_values(finetuned,
                                                         min_frozen=200)


def test_only_the_trainable_scopes_change(finetuned):
  # The aux head's convolutions are restored (not excluded) but trainable:
  # loaded, then moved by training.
  assert not helpers.in_scopes('InceptionV4/AuxLogits/Conv2d_1b_1x1/weights',
                               EXCLUDE)
  helpers.assert_only_trainable_scopes_change(finetuned)
