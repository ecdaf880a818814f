"""deployment package."""
import tf_compat  # noqa: F401  (must run before tf_slim is used)
