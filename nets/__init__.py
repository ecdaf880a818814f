"""Network definitions (one module per family) and the nets_factory registry."""
import tf_compat  # noqa: F401  (must run before tf_slim is used)
