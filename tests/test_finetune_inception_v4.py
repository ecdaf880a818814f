"""The course's Inception-v4 baseline: fine-tune a 1001-class checkpoint to 5
classes through train_image_classifier.py with the course's exclude scopes
(the case, the run and the checks are in finetune_helpers)."""

import finetune_helpers as helpers


class TestInceptionV4FineTune(helpers.FineTuneChecks):
  CASE = helpers.INCEPTION_V4
