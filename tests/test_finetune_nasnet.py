"""Fine-tune a 1001-class NASNet-A Mobile checkpoint to 5 classes through
train_image_classifier.py, re-initialising its classifier (`final_layer`) and
auxiliary head (`aux_7`); the case, the run and the checks are in
finetune_helpers."""

import finetune_helpers as helpers


class TestNasnetMobileFineTune(helpers.FineTuneChecks):
  CASE = helpers.NASNET_MOBILE
