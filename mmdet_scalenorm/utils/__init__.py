from .checkpoint import allow_full_checkpoint_load  # noqa: F401
from .config import set_data_root, use_tta  # noqa: F401
from .launch import prepare_cpu_launch  # noqa: F401
