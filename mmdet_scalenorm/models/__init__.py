from . import task_modules  # noqa: F401
from . import roi_heads  # noqa: F401
from . import test_time_augs  # noqa: F401
