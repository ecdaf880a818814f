"""Fine-tune a 1001-class NASNet-A Mobile checkpoint to 5 classes through
train_image_classifier.py, re-initialising its classifier (`final_layer`) and
auxiliary head (`aux_7`); the run and the checks are in finetune_helpers."""

import pytest

import finetune_helpers as helpers

EXCLUDE = ['final_layer', 'aux_7']
TRAINABLE = ['final_layer', 'aux_7']
# The auxiliary head's 5x5 pooling needs cell_7 (about 1/16 of the input) to
# be at least 5x5: 67 is the smallest input that allows it.
IMAGE_SIZE = 67


@pytest.fixture(scope='module')
def finetuned(tmp_path_factory):
  return helpers.finetune(tmp_path_factory.mktemp('finetune'), 'nasnet_mobile',
                          EXCLUDE, TRAINABLE, IMAGE_SIZE)


def test_excluded_scopes_start_fresh_with_the_new_class_count(finetuned):
  helpers.assert_excluded_scopes_start_fresh(finetuned, [
      'final_layer/FC/weights', 'aux_7/aux_logits/FC/weights'])


def test_every_other_trainable_variable_keeps_its_checkpoint_value(finetuned):
  helpers.assert_frozen_variables_keep_checkpoint_values(finetuned,
                                                         min_frozen=700)


def test_only_the_trainable_scopes_change(finetuned):
  helpers.assert_only_trainable_scopes_change(finetuned)
