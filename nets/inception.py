"""The whole Inception family under one name, as slim's `nets.inception`.

  from nets import inception
  with slim.arg_scope(inception.inception_v3_arg_scope()):
    logits, end_points = inception.inception_v3(images, num_classes=1001)

Networks, their trunks (`*_base`), arg scopes and the building blocks of
Inception-v4 and Inception-ResNet-v2, for callers assembling their own.
Papers: see each module.
"""

import tf_compat  # noqa: F401

# pylint: disable=unused-import
from nets.inception_resnet_v2 import block17  # noqa: F401
from nets.inception_resnet_v2 import block35  # noqa: F401
from nets.inception_resnet_v2 import block8  # noqa: F401
from nets.inception_resnet_v2 import inception_resnet_v2  # noqa: F401
from nets.inception_resnet_v2 import inception_resnet_v2_arg_scope  # noqa
from nets.inception_resnet_v2 import inception_resnet_v2_base  # noqa: F401
from nets.inception_utils import inception_arg_scope  # noqa: F401
from nets.inception_v1 import inception_v1  # noqa: F401
from nets.inception_v1 import inception_v1_arg_scope  # noqa: F401
from nets.inception_v1 import inception_v1_base  # noqa: F401
from nets.inception_v2 import inception_v2  # noqa: F401
from nets.inception_v2 import inception_v2_arg_scope  # noqa: F401
from nets.inception_v2 import inception_v2_base  # noqa: F401
from nets.inception_v3 import inception_v3  # noqa: F401
from nets.inception_v3 import inception_v3_arg_scope  # noqa: F401
from nets.inception_v3 import inception_v3_base  # noqa: F401
from nets.inception_v4 import block_inception_a  # noqa: F401
from nets.inception_v4 import block_inception_b  # noqa: F401
from nets.inception_v4 import block_inception_c  # noqa: F401
from nets.inception_v4 import block_reduction_a  # noqa: F401
from nets.inception_v4 import block_reduction_b  # noqa: F401
from nets.inception_v4 import inception_v4  # noqa: F401
from nets.inception_v4 import inception_v4_arg_scope  # noqa: F401
from nets.inception_v4 import inception_v4_base  # noqa: F401
# pylint: enable=unused-import
