from . import assigners  # noqa: F401
from . import samplers  # noqa: F401
