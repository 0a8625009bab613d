"""mmdet-scalenorm: SNIP, SNIPER-style chips and ISN for MMDetection 3.x.

Importing this package registers every component into mmdet's registries, so a config needs only
``custom_imports = dict(imports=['mmdet_scalenorm'], allow_failed_imports=False)``.
"""
from .version import __version__  # noqa: F401
from . import scale  # noqa: F401
from . import ops  # noqa: F401
from . import datasets  # noqa: F401
from . import models  # noqa: F401
from . import evaluation  # noqa: F401
from . import apis  # noqa: F401
